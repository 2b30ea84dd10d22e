"""The trainer's background writer: order kept, a failed write stops the later ones and is raised."""
from __future__ import annotations

import threading

import pytest

from naapgnn.trainer.writer import BackgroundWriter


def test_writes_run_in_the_order_queued_off_the_calling_thread():
    done, threads = [], set()

    def write(i):
        threads.add(threading.get_ident())
        done.append(i)

    with BackgroundWriter() as writer:
        for i in range(50):
            writer.submit(write, i)
        writer.wait()
        assert done == list(range(50))
        writer.submit(write, 50)
    assert done == list(range(51)) and threading.get_ident() not in threads


def test_a_failed_write_stops_the_later_ones_and_is_raised_by_the_next_submit():
    done, release = [], threading.Event()

    def fail():
        release.wait()
        raise OSError("No space left on device")

    writer = BackgroundWriter()
    writer.submit(fail)
    writer.submit(done.append, 1)  # queued behind the failing write: never run
    release.set()
    with pytest.raises(OSError, match="No space left"):
        writer.wait()
    with pytest.raises(OSError, match="No space left"):
        writer.submit(done.append, 2)
    with pytest.raises(OSError, match="No space left"):
        writer.close()
    assert done == []


def test_leaving_with_an_exception_waits_for_the_writes_and_keeps_that_exception():
    done, release = [], threading.Event()
    with pytest.raises(KeyError):
        with BackgroundWriter() as writer:
            writer.submit(lambda: release.wait() and done.append("written"))
            writer.submit(lambda: (_ for _ in ()).throw(OSError("disk")))
            release.set()
            raise KeyError("stop")
    assert done == ["written"]
