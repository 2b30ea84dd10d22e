"""Checkpoints and logs written on one background thread, in the order they were queued.

A group of networks on a GPU need not wait while their files are pickled, written
and fsynced after every epoch: the training thread copies each state to host
memory and queues it here. One worker keeps the order on disk the order queued, and
after a failed write nothing later is written, so a killed or failed run leaves,
for every network, the files of a completed epoch, as synchronous writes would.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable


class BackgroundWriter:
    """Run queued writes one at a time on a background thread.

    Use as a context manager: leaving it waits for every queued write and raises
    the first that failed (unless another exception is already on its way).
    """

    def __init__(self):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="naapgnn-writer")
        self._error: BaseException | None = None
        self._queued: list[Future] = []

    def submit(self, write: Callable, *args) -> None:
        """Queue ``write(*args)``; raises the error of an earlier write, if one failed."""
        self._raise_error()
        self._queued.append(self._pool.submit(self._run, write, args))

    def wait(self) -> None:
        """Wait for the writes queued so far (so that no more than one epoch's are ever pending)."""
        for future in self._queued:
            future.result()
        self._queued = []
        self._raise_error()

    def _run(self, write: Callable, args: tuple) -> None:
        if self._error is not None:
            return
        try:
            write(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the training thread
            self._error = exc

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        """Wait for every queued write; raise the first that failed."""
        self.__exit__(None, None, None)

    def __enter__(self) -> "BackgroundWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._pool.shutdown(wait=True)
        if exc_type is None:
            self._raise_error()
