"""Bad input to zero-cost scoring and to the enlarged search: one line naming what is wrong and where.

Networks too large for memory are refused from their shapes (the machine's memory is faked, so the numbers do
not depend on where the tests run) or when an allocation fails (simulated: nothing large is ever allocated).
"""
import json
import math

import pytest
import torch

from naapgnn.arch.format import parse_architecture
from naapgnn.cli import main
from naapgnn.data.records import Record
from naapgnn.errors import NaapgnnError
from naapgnn.models import zero_cost, zero_cost_memory
from naapgnn.models.zero_cost import load_images, score_architectures

HUGE_CONV = {"layers": [{"op": "conv", "out_channels": 10 ** 9, "kernel_size": 3, "stride": 2}]}
WIDE_1X1 = {"layers": [{"op": "conv", "out_channels": 10 ** 9, "kernel_size": 3, "stride": 32}]}  # weights >> output
HUGE_PADDING = {"layers": [{"op": "conv", "out_channels": 8, "kernel_size": 3, "padding": 3000}]}
SMALL = {"layers": [{"op": "conv", "out_channels": 8, "kernel_size": 3, "stride": 2}]}
ALLOCATOR = ("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: you tried "
             "to allocate 108000000000 bytes. Error code 12 (Cannot allocate memory)")


def _record(arch, rid="n4", line=5):
    return Record(id=rid, arch=parse_architecture(arch), line=line)


@pytest.fixture
def two_gb(monkeypatch):
    """A machine of 2 GB whatever this one has."""
    monkeypatch.setattr(zero_cost_memory, "memory_bytes", lambda device="cpu": 2 * 10 ** 9)


def test_weights_beyond_memory_are_refused_before_building(two_gb, monkeypatch):
    from naapgnn.arch.profiling import profile

    monkeypatch.setattr(zero_cost, "_built", lambda *a: pytest.fail("built a network that cannot fit"))
    params = profile(parse_architecture(WIDE_1X1))[0]
    needs = (8 * params + 4 * 64 * 10 ** 9) / 1e9  # weights built and copied, float32; a 1x1 output on 64 images
    with pytest.raises(NaapgnnError) as err:
        score_architectures([_record(WIDE_1X1)], "naswot")
    assert str(err.value) == (
        f"naswot: record 'n4' (line 5): the network does not fit in memory (needs at least {needs:,.1f} GB, mostly "
        f"for its {params:,} parameters; this machine has 2.0 GB); too large to score")
    with pytest.raises(NaapgnnError, match=r"^synflow: record 'n4' \(line 5\): the network does not fit in memory"):
        score_architectures([_record(WIDE_1X1)], "synflow")


def test_activations_beyond_memory_name_the_layer_and_the_images(two_gb):
    with pytest.raises(NaapgnnError) as err:
        score_architectures([SMALL, HUGE_PADDING], "naswot")  # not records: named by position
    assert str(err.value).startswith(
        "naswot: architecture 1: the network does not fit in memory (needs at least 74.5 GB, mostly for layer 0's "
        "output of 8x6030x6030 on 64 images; this machine has 2.0 GB)")
    with pytest.raises(NaapgnnError, match=r"layer 0's output of 8x6030x6030 on 1 image; this machine has 2\.0 GB"):
        score_architectures([HUGE_PADDING], "synflow")  # 8 bytes a value: 2.3 GB


def test_networks_that_fit_are_scored_as_before(two_gb):
    scores = score_architectures([_record(SMALL)], "naswot", batch_size=4)
    assert scores.shape == (1,) and math.isfinite(scores[0])


@pytest.mark.parametrize("score", ["naswot", "synflow"])
@pytest.mark.parametrize("where, error, said", [
    ("_built", RuntimeError(ALLOCATOR), "tried to allocate 108.0 GB building it"),
    ("_built", MemoryError(), "out of memory building it"),
    ("score", torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (GPU 0)"),
     "tried to allocate 20.00 GiB scoring it"),
])
def test_a_failed_allocation_is_one_line_naming_the_record(score, where, error, said, monkeypatch):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(zero_cost, score if where == "score" else where, fail)
    with pytest.raises(NaapgnnError) as err:
        score_architectures([_record(SMALL)], score, batch_size=4)
    assert str(err.value) == (f"{score}: record 'n4' (line 5): the network does not fit in memory ({said}); "
                              "too large to score")


def test_other_runtime_errors_pass_through(monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    monkeypatch.setattr(zero_cost, "naswot", fail)
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        score_architectures([_record(SMALL)], "naswot", batch_size=4)


@pytest.mark.parametrize("n", [0, 1, -3])
def test_a_naswot_batch_below_two_names_the_option(n, tmp_path):
    said = (f"--zc-batch-size (batch_size): NASWOT compares pairs of images, so it needs at least 2, got {n}")
    with pytest.raises(NaapgnnError) as err:
        score_architectures([SMALL], "naswot", batch_size=n)
    assert str(err.value) == said
    with pytest.raises(NaapgnnError, match=r"^--zc-batch-size \(batch_size\)"):
        load_images(tmp_path, n=n)  # before the CIFAR-10 folder is looked for


def _benchmark(path, huge=None):
    """A JSON Lines benchmark of 20 small conv networks; ``huge`` replaces line 5's architecture."""
    lines = []
    for i in range(20):
        width, depth = 8 + i, 1 + i % 2
        arch = {"layers": [{"op": "conv", "out_channels": width, "kernel_size": 3, "stride": 2}] * depth}
        final = 0.5 + 0.1 * depth + 0.002 * width + 0.001 * i
        lines.append({"id": f"n{i}", "arch": huge if huge and i == 4 else arch, "target": round(final, 4),
                      "curve": {"accuracy": [round(final * (1 - math.exp(-(e + 1) / 4)), 4) for e in range(5)]},
                      "split": "test" if i % 5 == 0 else "train"})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


@pytest.mark.parametrize("argv, said", [
    ([], "naapgnn evaluate: error: naswot: record 'n4' (line 5): the network does not fit in memory (needs at "
         "least "),
    (["--zc-batch-size", "1"], "naapgnn evaluate: error: --zc-batch-size: NASWOT compares pairs of "
                               "images, so it needs at least 2, got 1\n"),
])
def test_evaluate_says_it_in_one_line(argv, said, tmp_path, capsys):
    data = _benchmark(tmp_path / "bench.jsonl", huge=HUGE_CONV if not argv else None)
    assert main(["evaluate", "--data", str(data), "--predictors", "synflow", "--budgets", "0", "--jobs", "1",
                 "--quiet", "--inner-folds", "0", "--protocol", "repeated", "--repeats", "2",
                 "-o", str(tmp_path / "ev"), *argv]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("error:") == 1
    last = err.splitlines(keepends=True)[-1]
    assert last.startswith(said) and (argv or last.endswith("too large to score\n"))


# --- enlarged search with a checkpoint -------------------------------------------------------


class _Fitted:
    """What the check reads of a fitted GNNPredictor."""

    def __init__(self, names):
        self.hparam_names_ = names


def test_a_checkpoint_that_reads_hparams_is_refused_naming_them():
    from naapgnn.search.runs import check_reads_no_hparams

    with pytest.raises(NaapgnnError) as err:
        check_reads_no_hparams(_Fitted(["lr", "optimizer=adam", "optimizer=sgd"]), "ck0")
    assert str(err.value) == ("--checkpoint ck0: trained on hyperparameters lr, optimizer, which NAAP-440 schemes "
                              "do not give; train on NAAP-440 (or records without hparams) to rank its space")
    with pytest.raises(NaapgnnError, match=r"^--checkpoint ck1: trained on hyperparameter naswot, which"):
        check_reads_no_hparams(_Fitted(["naswot"]), "ck1")
    check_reads_no_hparams(_Fitted([]), "ck2")  # NAAP-440's own: ranks
    check_reads_no_hparams(object(), "ck3")  # a checkpoint saved before hparams were read


def test_enlarged_refuses_a_saved_checkpoint_of_another_benchmark(tmp_path):
    from naapgnn.data.records import load_jsonl
    from naapgnn.models.gnn import GNNPredictor
    from naapgnn.search.runs import enlarged_model

    data = _benchmark(tmp_path / "bench.jsonl")
    lines = [json.loads(line) for line in data.read_text().splitlines()]
    for i, line in enumerate(lines):
        line["hparams"] = {"lr": (0.01, 0.1)[i % 2], "optimizer": ("sgd", "adam")[i % 3 > 0]}
    data.write_text("".join(json.dumps(line) + "\n" for line in lines))
    records = load_jsonl(data)
    tiny = dict(n_ensemble=1, max_epochs=2, hidden=8, blend_forest=0.0, n_threads=1)
    GNNPredictor(budget=0, **tiny).fit(records, [r.target for r in records]).save(tmp_path / "ck")
    with pytest.raises(NaapgnnError, match=r"^--checkpoint \S+ck: trained on hyperparameters lr, optimizer, which"):
        enlarged_model(None, 5, checkpoint=str(tmp_path / "ck"))


@pytest.mark.parametrize("given, said", [
    ("nope", "--checkpoint {}: no such folder"),
    ("file.txt", "--checkpoint {}: a file, not a checkpoint folder (give the folder naapgnn train wrote)"),
])
def test_search_checks_the_checkpoint_before_reading_naap440(given, said, tmp_path, capsys, monkeypatch):
    import naapgnn.search.problem as problem

    monkeypatch.setattr(problem, "load_problem", lambda *a, **k: pytest.fail("read (or downloaded) NAAP-440 first"))
    (tmp_path / "file.txt").write_text("x")
    path = str(tmp_path / given)
    assert main(["search", "--strategy", "enlarged", "--checkpoint", path, "-o", str(tmp_path / "se")]) == 2
    assert capsys.readouterr().err == f"naapgnn search: error: {said.format(path)}\n"
