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


def test_a_queued_checkpoint_is_a_snapshot_that_training_cannot_change(tmp_path):
    """On CPU ``.cpu()`` returns the tensor itself: the queued state must be a copy, or the writer thread
    pickles weights (and batch-norm statistics) that the next epoch is already changing."""
    import torch

    from naapgnn.arch.space import naap440_search_space
    from naapgnn.trainer.group import _Run
    from naapgnn.trainer.jobs import Recipe, TrainOptions, make_jobs, prepare_out_dir

    job = make_jobs(naap440_search_space(), prepare_out_dir(tmp_path), [1])[0]
    run = _Run(job, Recipe(epochs=1), TrainOptions(device="cpu"), "cpu")
    run.model(torch.randn(4, 3, 32, 32)).sum().backward()
    run.optimizer.step()  # momentum buffers in the optimizer's state

    class Held:
        def submit(self, write, path, state):
            self.state = state

    held = Held()
    run.checkpoint(Recipe(epochs=1), TrainOptions(device="cpu"), held)
    before = {k: v.clone() for k, v in run.model.state_dict().items()}
    momentum = [s["momentum_buffer"].clone() for s in run.optimizer.state_dict()["state"].values()]
    with torch.no_grad():
        for tensor in [*run.model.state_dict().values(), *(s["momentum_buffer"] for s in run.optimizer.state.values())]:
            tensor.add_(1)
    assert all(torch.equal(held.state["model"][k], before[k]) for k in before)
    assert all(torch.equal(s["momentum_buffer"], m)
               for s, m in zip(held.state["optimizer"]["state"].values(), momentum))
