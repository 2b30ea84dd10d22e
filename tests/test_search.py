"""Search simulations on NAAP-440: strategies, early-stopping accounting, CLI outputs."""
import numpy as np
import pytest

from naapgnn.arch.space import NAAP440_RULES, BlockOptions, SpaceRules, naap440_search_space
from naapgnn.data.naap440 import NUM_EPOCHS
from naapgnn.errors import NaapgnnError
from naapgnn.models.forest import PerLayerForest
from naapgnn.search.compare import compare_strategies
from naapgnn.search.early_stop import early_stop_run, early_stop_study
from naapgnn.search.problem import SearchProblem, best_so_far, make_predictor, ranks_of, trainings_to_rank
from naapgnn.search.space_ranking import rank_space
from naapgnn.search.settings import SearchSettings
from naapgnn.search.strategies import (
    mutations, neighbour_table, predictor_guided, random_search, regularized_evolution, scheme_key,
)

FULL_EPOCHS = NUM_EPOCHS  # a full NAAP-440 training


def search_forest(budget=0, n_estimators=64, random_state=None, **params):
    """The search's per-layer forest (as make_predictor builds it) with a few trees."""
    return make_predictor("forest", budget, random_state, n_estimators=n_estimators, **params)


@pytest.fixture(scope="module")
def problem(naap440):
    from naapgnn.data.records import records_from_naap440

    return SearchProblem(records_from_naap440(naap440))


@pytest.fixture(scope="module")
def space():
    return naap440_search_space()


class Oracle:
    """A predictor that knows the answer: accuracy is the feature; constant uncertainty."""

    def __init__(self, std=0.0):
        self.std = std

    def fit(self, X, y):
        return self

    def predict(self, X, return_std=False):
        mean = np.asarray(X, dtype=float)
        return (mean, np.full_like(mean, self.std)) if return_std else mean


def test_problem_matches_dataset(problem, naap440):
    assert problem.n == len(naap440) == 440
    assert problem.full_epochs == FULL_EPOCHS
    assert np.array_equal(problem.accuracy, naap440["MaxAccuracy"].to_numpy())
    assert problem.best == naap440["MaxAccuracy"].max()
    assert problem.schemes == list(naap440["scheme"])
    assert (problem.ranks == 1).sum() == (naap440["MaxAccuracy"] == naap440["MaxAccuracy"].max()).sum()


def test_ranks_share_ties():
    assert ranks_of(np.array([0.5, 0.7, 0.7, 0.1])).tolist() == [3, 1, 1, 4]


def test_every_mutation_kept_is_in_the_space(space):
    keys = {scheme_key(s) for s in space}
    table = neighbour_table(space)
    dropped = 0
    for i, scheme in enumerate(space):
        assert table[i], f"scheme {i} has no neighbour"
        raw = {scheme_key(m) for ms in mutations(scheme).values() for m in ms}
        dropped += len(raw - keys)
        for group in table[i]:
            for j in group:
                assert scheme_key(space[j]) in keys and j != i
                assert _one_change(scheme, space[j]), (scheme, space[j])
    assert dropped > 0  # the space's rules do reject some raw mutations (e.g. a residual across a width change)


def _one_change(a, b) -> bool:
    if len(a) == len(b):
        diffs = [(x, y) for x, y in zip(a, b) if x != y]
        return len(diffs) == 1 and sum(diffs[0][0][k] != diffs[0][1][k] for k in diffs[0][0]) == 1
    short, long_ = sorted((a, b), key=len)
    return len(long_) == len(short) + 1 and long_[:-1] == short


def test_evolution_children_are_mutations_within_the_space(problem, space):
    neighbours = neighbour_table(space)
    log = []
    order = regularized_evolution(neighbours, problem.accuracy, 440, np.random.default_rng(3),
                                  population_size=10, sample_size=3, log=log)
    assert sorted(order.tolist()) == list(range(440))  # every training a new architecture
    keys = {scheme_key(s) for s in space}
    mutated = 0
    for parent, child in log:
        assert scheme_key(space[child]) in keys
        if parent is not None:
            assert any(child in group for group in neighbours[parent])
            mutated += 1
    assert mutated > 300  # most children come from mutations, not the random fallback


def test_random_search_best_is_monotone(problem):
    order = random_search(problem.n, 200, np.random.default_rng(0))
    assert len(set(order.tolist())) == 200
    curve = best_so_far(problem.accuracy, order)
    assert curve.tolist() == [problem.accuracy[order[:t + 1]].max() for t in range(200)]


def test_trainings_to_rank(problem):
    order = np.argsort(problem.accuracy)  # worst first: the best comes last
    assert trainings_to_rank(problem.ranks, order, 1) == 440 - (problem.ranks == 1).sum() + 1
    assert trainings_to_rank(problem.ranks, order[:10], 1) is None


def test_predictor_guided_with_an_oracle_trains_the_best_next(problem):
    order = predictor_guided(problem.accuracy, problem.accuracy, 20, Oracle(), np.random.default_rng(1))
    assert sorted(order.tolist()) == list(range(440))
    rest = order[20:]
    assert np.all(np.diff(problem.accuracy[rest]) <= 0)
    with pytest.raises(NaapgnnError, match="n-train"):
        predictor_guided(problem.accuracy, problem.accuracy, 440, Oracle(), np.random.default_rng(1))


def test_compare_is_reproducible_and_forest_beats_random(problem):
    kw = dict(trials=4, n_train=[20], seed=5, progress=False)
    a = compare_strategies(problem, **kw)
    b = compare_strategies(problem, **kw)
    assert set(a.orders) == {"random", "evolution", "predictor N=20"}
    for name in a.orders:
        assert np.array_equal(a.orders[name], b.orders[name])
        assert a.orders[name].shape == (4, 440)
        assert all(sorted(row) == list(range(440)) for row in a.orders[name].tolist())  # every training new
        for trial, order in enumerate(a.orders[name]):
            assert a.curves(name)[trial].tolist() == best_so_far(problem.accuracy, order).tolist()
    # 20 labels + 10 predicted: the forest should find better than 30 random trainings on average
    assert a.curves("predictor N=20")[:, 29].mean() > a.curves("random")[:, 29].mean()


def test_gnn_predictor_plugs_in(problem):
    result = compare_strategies(problem, trials=1, n_train=[10], predictor="gnn", strategies=["predictor"],
                                progress=False)
    order = result.orders["predictor N=10"][0]
    assert sorted(order.tolist()) == list(range(440))
    # after its 10 random labels, the GNN's first picks are far better than the space on average
    assert problem.accuracy[order[10:20]].mean() > problem.accuracy.mean() + 0.03


def test_forest_uncertainty_and_residual_target(problem):
    records = problem.records
    model = search_forest(budget=3, n_estimators=16, random_state=0).fit(records[:100], problem.accuracy[:100])
    assert isinstance(model, PerLayerForest) and model.curve == "gain"  # the one per-layer forest
    mean, std = model.predict(records[100:], return_std=True)
    assert mean.shape == std.shape == (340,) and np.all(std >= 0)
    # the gain target lets it predict above every training label (the best is not among them)
    assert problem.accuracy[:100].max() < problem.best
    assert mean.max() > problem.accuracy[:100].max()


@pytest.mark.parametrize("rule,z", [("predictor", 0.0), ("predictor", 1.0), ("curve", 0.0)])
def test_early_stop_accounting(problem, rule, z):
    budget = 3
    model = search_forest(budget=budget, n_estimators=16)
    features = model.featurize(problem.records)
    order = np.random.default_rng(2).permutation(problem.n)
    run = early_stop_run(problem.accuracy, order, budget, rule, z, features,
                         lambda i: search_forest(budget=budget, n_estimators=16, random_state=i),
                         warmup=20, curve=problem.stopping_curve(budget), full_epochs=FULL_EPOCHS)
    assert run.kept + run.stopped == problem.n
    assert run.epochs == budget * run.stopped + FULL_EPOCHS * run.kept
    assert run.kept >= 20 and run.stopped > 0
    assert run.best_rank == problem.ranks[np.flatnonzero(problem.accuracy == run.best_found)[0]]


def test_early_stop_never_stopping_costs_full_training(problem):
    order = np.arange(problem.n)
    run = early_stop_run(problem.accuracy, order, 3, "predictor", 1e9, problem.accuracy,
                         lambda i: Oracle(std=1.0), warmup=5, full_epochs=FULL_EPOCHS)
    assert (run.kept, run.stopped, run.epochs) == (440, 0, 440 * FULL_EPOCHS)
    assert run.best_found == problem.best and run.best_rank == 1
    # an exact oracle keeps exactly the running records after the warm-up
    run = early_stop_run(problem.accuracy, order, 3, "predictor", 0.0, problem.accuracy, lambda i: Oracle(), warmup=5,
                         full_epochs=FULL_EPOCHS)
    records = np.sum(problem.accuracy[5:] >= np.maximum.accumulate(problem.accuracy)[4:-1])
    assert run.kept == 5 + records and run.best_found == problem.best
    with pytest.raises(NaapgnnError, match="budget"):
        early_stop_run(problem.accuracy, order, 0, features=problem.accuracy, make_model=lambda i: Oracle(),
                       full_epochs=FULL_EPOCHS)


def test_a_resumed_early_stop_study_gives_the_same_rows_in_the_same_columns(problem, tmp_path, monkeypatch):
    import pandas as pd

    from naapgnn.search import early_stop

    kw = dict(budgets=[3], thresholds=[0.0], trials=2, warmup=20, progress=False, cache_dir=tmp_path,
              predictor=lambda b, s: search_forest(budget=b, n_estimators=8, random_state=s))
    full = early_stop_study(problem, **kw)
    trial_rows = early_stop._trial_rows

    def killed_at_trial_1(t, *args):
        if t == 1:
            raise KeyboardInterrupt
        return trial_rows(t, *args)

    monkeypatch.setattr(early_stop, "_trial_rows", killed_at_trial_1)
    with pytest.raises(KeyboardInterrupt):
        early_stop_study(problem, **kw)
    monkeypatch.setattr(early_stop, "_trial_rows", trial_rows)
    resumed = early_stop_study(problem, **kw)  # trial 0 read back from the log
    assert [list(r) for r in resumed] == [list(early_stop.ROW_COLUMNS)] * len(full)
    assert pd.DataFrame(resumed).equals(pd.DataFrame(full))


def test_early_stop_study_rows(problem):
    rows = early_stop_study(problem, budgets=[3], thresholds=[0.0, 2.0], trials=1,
                            predictor=lambda b, s: search_forest(budget=b, n_estimators=8, random_state=s),
                            progress=False)
    assert [(r["rule"], r["z"] == r["z"] and r["z"]) for r in rows] == [("curve", False), ("predictor", 0.0),
                                                                       ("predictor", 2.0)]
    for r in rows:
        assert r["epochs"] == 3 * r["stopped"] + 90 * r["kept"]
        assert r["regret"] == pytest.approx(problem.best - r["best_found"])


def test_rank_space_on_a_small_space(problem):
    rules = SpaceRules(
        blocks=NAAP440_RULES.blocks + (BlockOptions(kernel_size=(1,), width=(48,), stride=(1,)),),
        min_blocks=4, max_stages=3,
    )
    model = search_forest(n_estimators=8, max_blocks=5, random_state=0).fit(problem.records, problem.accuracy)
    ranking = rank_space(model, rules, problem.schemes, problem.accuracy, top=5, processes=1, progress=False)
    n_four = sum(len(s) == 4 for s in naap440_search_space())
    assert ranking.n == 2 * n_four
    assert ranking.novelty_counts["in the training schemes"] == n_four
    assert ranking.novelty_counts["deeper"] == n_four
    assert list(ranking.top["rank"]) == [1, 2, 3, 4, 5]
    assert np.all(np.diff(ranking.top["predicted"].to_numpy()) <= 0)
    assert set(ranking.seconds) == {"enumerate", "predict", "total"}
    from naapgnn.search.tables import enlarged_markdown, enlarged_stdout

    settings = SearchSettings(strategy="enlarged", predictor="forest")
    report = enlarged_markdown(ranking, settings, problem, 1.0, "forest")
    assert f"a predictor trained on the 440 architectures of {problem.name} (final accuracy" in report
    assert "1 process)" in report and "spread of the forest's trees" in report
    assert "1 process)" in enlarged_stdout(ranking, settings, 1.0, "forest")
    assert "all are listed" not in enlarged_stdout(ranking, settings, 1.0, "forest")
    asked_more = SearchSettings(strategy="enlarged", predictor="forest", top=ranking.n + 1)
    assert (f"note: --top {ranking.n + 1:,} is more than the {ranking.n:,} schemes: all are listed"
            in enlarged_stdout(ranking, asked_more, 1.0, "forest"))
    loaded = enlarged_markdown(ranking, SearchSettings(strategy="enlarged", checkpoint="m0"), problem, 1.0, "gnn")
    assert "by the checkpoint m0, loaded" in loaded and "spread of the ensemble's members" in loaded


def test_cli_writes_reports(tmp_path, data_dir):
    from naapgnn.cli import main

    out = tmp_path / "search"
    common = ["--data", str(data_dir), "--out", str(out), "--quiet"]
    assert main(["search", "--strategy", "compare", "--trials", "3", "--n-train", "10", "--max-trainings", "40",
                 *common]) == 0
    assert main(["search", "--strategy", "predictor", "--trials", "3", "--n-train", "10", "--top-k", "5",
                 "--predictor", "forest", *common]) == 0
    assert main(["search", "--strategy", "early-stop", "--trials", "1", "--budget", "3", "--thresholds", "0",
                 *common]) == 0
    for name in ("compare.md", "compare.csv", "compare.png", "compare_efficiency.csv", "predictor.md", "predictor.csv",
                 "predictor.png", "early_stop.md", "early_stop.csv", "early_stop_summary.csv", "early_stop.png"):
        assert (out / name).stat().st_size > 0, name
    assert [p.name for p in out.glob(".*")] == [".naapgnn.lock"]  # resume files removed after a finished run
    text = (out / "compare.md").read_text()
    assert "3 trials" in text and "random" in text and "evolution" in text and "predictor N=10" in text
    import pandas as pd

    frame = pd.read_csv(out / "compare.csv")
    assert frame.trainings.max() == 40 and set(frame.strategy) == {"random", "evolution", "predictor N=10"}
    per_trial = pd.read_csv(out / "predictor.csv")
    assert len(per_trial) == 3 and (per_trial.trainings == 15).all()
    # The sample-efficiency table is computed from the trials' counts written beside it: 3 trials per strategy
    # and rank target, their median the report's.
    needed = pd.read_csv(out / "compare_efficiency.csv")
    assert list(needed.columns) == ["strategy", "rank_target", "trial", "trainings"]
    assert set(needed.strategy) == set(frame.strategy)
    assert (needed.groupby(["strategy", "rank_target"]).size() == 3).all()
    best = needed[(needed.strategy == "random") & (needed.rank_target == 1)].trainings
    row = next(line.split("|") for line in text.splitlines() if line.replace(" ", "").startswith("|random|thebest|"))
    assert row[4].strip() == f"{best.median():g}"
    assert "each trial's trainings to reach each target" in text
    for name in ("compare.md", "predictor.md"):  # the few-trials note, in every strategy's report
        assert "with 3 trials a 95% interval (Student's t) is wide" in (out / name).read_text()
    # every figure with its interval over trials: the mean rank after 40 trainings, the share that found a top 5
    from naapgnn.search.summary import wilson

    last = frame[(frame.strategy == "random") & (frame.trainings == 40)].iloc[0]
    cells = [next(line.split("|") for line in text.split(heading, 1)[1].splitlines() if "| random" in line)[-2].strip()
             for heading in ("## Mean rank", "## Share of trials")]
    assert cells[0] == f"{last.best_rank_mean:.1f} ± {last.best_rank_ci:.1f}" and not np.isnan(last.best_rank_ci)
    low, high = wilson(round(3 * last.p_rank_le_5), 3)
    assert cells[1] == f"{last.p_rank_le_5:.0%} ({low:.0%}–{high:.0%})"


def test_cli_errors(tmp_path, data_dir, capsys):
    from naapgnn.cli import main

    common = ["--data", str(data_dir), "--out", str(tmp_path), "--quiet"]
    assert main(["search", "--strategy", "early-stop", "--budget", "0", *common]) == 2
    assert "early stopping decides after k >= 1 epochs" in capsys.readouterr().err
    assert main(["search", "--strategy", "predictor", "--n-train", "435", "--top-k", "10", *common]) == 2
    assert "exceeds the 440 architectures" in capsys.readouterr().err
    assert main(["search", "--strategy", "enlarged", "--budget", "3", *common]) == 2
    assert "only budget 0" in capsys.readouterr().err
    assert main(["search", "--strategy", "early-stop", "--budget", "95", "--trials", "1", *common]) == 2
    assert "more than a full training (90)" in capsys.readouterr().err


def test_enlarged_checkpoint_drops_the_blended_forest(problem, tmp_path):
    from naapgnn.arch.format import parse_architecture
    from naapgnn.data.records import Record
    from naapgnn.models.gnn import GNNPredictor
    from naapgnn.search.runs import enlarged_model

    tiny = dict(n_ensemble=2, max_epochs=3, forest_trees=5, n_threads=1, blend_forest=0.5, forest="per_layer")
    GNNPredictor(budget=0, **tiny).fit(problem.records[:20], problem.accuracy[:20]).save(tmp_path / "b0")
    model, label = enlarged_model(problem, 5, checkpoint=str(tmp_path / "b0"))
    assert model.forest_ is None and "GNN ensemble only" in label
    five = [{"kernel_size": 3, "width": 16, "stride": 2, "residual": False}] * 2 + \
        [{"kernel_size": 3, "width": 32, "stride": 1, "residual": False}] * 3
    mean, std = model.predict([Record(id="x", arch=parse_architecture(five))], return_std=True)
    assert np.isfinite(mean).all() and np.isfinite(std).all()
    GNNPredictor(budget=3, **tiny).fit(problem.records[:20], problem.accuracy[:20]).save(tmp_path / "b3")
    with pytest.raises(NaapgnnError, match="needs budget 0"):
        enlarged_model(problem, 5, checkpoint=str(tmp_path / "b3"))


def test_enlarged_novelty_is_measured_against_what_the_checkpoint_saw(problem):
    from types import SimpleNamespace

    from naapgnn.data.configurations import configuration_keys
    from naapgnn.search.runs import checkpoint_training_schemes
    from naapgnn.search.tables import enlarged_markdown

    keys = configuration_keys(problem.records)
    part = SimpleNamespace(training_configurations_=keys[:30] + ["f" * 16, "e" * 16])
    schemes, accuracy, note = checkpoint_training_schemes(part, problem)
    assert schemes == problem.schemes[:30] and np.array_equal(accuracy, problem.accuracy[:30])
    assert note == f"the checkpoint was trained on 30 of the 440 architectures of {problem.name} and 2 " \
                   "configurations from elsewhere"
    elsewhere = SimpleNamespace(training_configurations_=["f" * 16])
    schemes, accuracy, note = checkpoint_training_schemes(elsewhere, problem)
    assert schemes == [] and len(accuracy) == 0 and "trained on 0 of the 440" in note
    old = SimpleNamespace()
    schemes, _, note = checkpoint_training_schemes(old, problem)
    assert schemes is problem.schemes and "keeps no list of its training records" in note

    rules = SpaceRules(blocks=NAAP440_RULES.blocks, min_blocks=4, max_stages=3)
    model = search_forest(n_estimators=4, random_state=0).fit(problem.records, problem.accuracy)
    ranking = rank_space(model, rules, [], [], top=3, processes=1, progress=False)
    assert ranking.novelty_counts == {"in the training schemes": 0, "outside the training data": ranking.n}
    assert set(ranking.top["novelty"]) == {"no training scheme"}
    settings = SearchSettings(strategy="enlarged", checkpoint="m0")
    report = enlarged_markdown(ranking, settings, problem, 1.0, "gnn", note)
    assert "loaded (the checkpoint keeps no list" in report
    assert f"None of the {ranking.n:,} candidates is among the predictor's training architectures" in report
    assert "novelty (vs the 0 training schemes)" in report and "best measured training accuracy" not in report


def test_rank_space_in_worker_processes_ranks_as_in_one(problem):
    rules = SpaceRules(blocks=NAAP440_RULES.blocks, min_blocks=4, max_stages=3)
    model = search_forest(n_estimators=8, random_state=0).fit(problem.records, problem.accuracy)
    one = rank_space(model, rules, problem.schemes, problem.accuracy, top=10, processes=1, chunk_size=50,
                     progress=False)
    two = rank_space(model, rules, problem.schemes, problem.accuracy, top=10, processes=2, chunk_size=50,
                     progress=False)
    assert two.processes == 2 and two.n == one.n > 100  # several chunks spread over the workers
    assert np.array_equal(one.mean, two.mean) and np.array_equal(one.std, two.std)
    assert one.top.equals(two.top)


def test_an_interrupted_study_resumes_and_fresh_starts_over(problem, tmp_path, capsys):
    from naapgnn.search.compare import compare_strategies as run
    from naapgnn.search.trials import trial_keys, trial_log

    kw = dict(trials=2, strategies=["random"], seed=7, cache_dir=tmp_path, progress=False)
    full = run(problem, **kw)
    assert not list(tmp_path.glob(".*"))  # a finished study removes its log
    config = {"study": "compare", "trials": 2, "n_train": [], "predictor": "forest", "seed": 7, "population": 20,
              "sample": 5, "data": problem.fingerprint(), "strategies": ["random"]}
    saved = list(range(problem.n))[::-1]
    trial_log(tmp_path, "compare").put(trial_keys(config, 2)[0], {"random": saved})  # trial 0 done before a kill
    resumed = run(problem, **kw)
    assert "resuming 1 of 2 trials" in capsys.readouterr().err
    assert resumed.orders["random"][0].tolist() == saved
    assert np.array_equal(resumed.orders["random"][1], full.orders["random"][1])
    trial_log(tmp_path, "compare").put(trial_keys(config, 2)[0], {"random": saved})
    fresh = run(problem, fresh=True, **kw)
    assert "resuming" not in capsys.readouterr().err
    assert np.array_equal(fresh.orders["random"], full.orders["random"])
    trial_log(tmp_path, "compare").put(trial_keys(config, 2)[0], {"random": saved})  # a run of 2 trials killed
    more = run(problem, **{**kw, "trials": 3})  # a rerun asking for 3 reuses its trial 0, seeded alike
    assert "resuming 1 of 3 trials" in capsys.readouterr().err and more.orders["random"][0].tolist() == saved
    assert np.array_equal(more.orders["random"][1], full.orders["random"][1]) and not list(tmp_path.glob(".*"))


def test_a_study_resumes_only_on_the_same_data(problem, tmp_path, capsys):
    from dataclasses import replace

    from naapgnn.search.compare import compare_strategies as run
    from naapgnn.search.problem import SearchProblem
    from naapgnn.search.trials import trial_keys, trial_log

    kw = dict(trials=2, strategies=["random"], seed=7, cache_dir=tmp_path, progress=False)
    other = SearchProblem([replace(r, target=1.0 - r.target) for r in problem.records])  # as many records
    assert other.n == problem.n and other.fingerprint() != problem.fingerprint()
    assert problem.fingerprint() == SearchProblem(list(problem.records)).fingerprint()

    config = {"study": "compare", "trials": 2, "n_train": [], "predictor": "forest", "seed": 7, "population": 20,
              "sample": 5, "data": problem.fingerprint(), "strategies": ["random"]}
    trial_log(tmp_path, "compare").put(trial_keys(config, 2)[0], {"random": list(range(problem.n))[::-1]})
    run(other, **kw)
    assert "resuming" not in capsys.readouterr().err  # the trial saved for the first data is not reused


def test_enlarged_refuses_layer_graph_records(tmp_path, capsys):
    import json
    from pathlib import Path

    from naapgnn.cli import main

    graph = json.loads((Path(__file__).resolve().parents[1] / "graphs" / "vgg_like.json").read_text())
    bench = tmp_path / "graphs.jsonl"
    bench.write_text("".join(json.dumps({"id": f"g{i}", "arch": graph, "target": 0.5 + i / 100}) + "\n"
                             for i in range(12)))
    assert main(["search", "--strategy", "enlarged", "--data", str(bench), "--out", str(tmp_path / "o"),
                 "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--strategy enlarged: the space it ranks is NAAP-440's" in err and "12 of the 12 records" in err
    assert "\n" not in err


def _renamed(records, rename: dict, negate: tuple = ()):
    from dataclasses import replace

    return [replace(r, curve={rename.get(c, c): (-v if c in negate else v) for c, v in r.curve.items()})
            for r in records]


def replace_curve(record, curve: dict):
    from dataclasses import replace

    return replace(record, curve=curve)


def test_stopping_curve_stands_in_for_accuracy_when_the_records_lack_it(problem):
    from naapgnn.features.curves import ranking_channel

    accuracy = problem.stopping_curve(5)
    assert ranking_channel(problem.records) == ("accuracy", 1.0)
    np.testing.assert_array_equal(accuracy, [r.curve["accuracy"][:5] for r in problem.records])
    # a benchmark naming it train_accuracy: the same values
    renamed = SearchProblem(_renamed(problem.records, {"accuracy": "train_accuracy"}))
    assert ranking_channel(renamed.records) == ("train_accuracy", 1.0)
    np.testing.assert_array_equal(renamed.stopping_curve(5), accuracy)
    # only losses: the first shared one, negated (lower is better)
    only_loss = [replace_curve(r, {"loss_mean": r.curve["loss_mean"]}) for r in problem.records]
    assert ranking_channel(only_loss) == ("loss_mean", -1.0)
    np.testing.assert_array_equal(SearchProblem(only_loss).stopping_curve(3),
                                  [-r.curve["loss_mean"][:3] for r in problem.records])
    with pytest.raises(NaapgnnError, match="share no measured curve channel"):
        SearchProblem([replace_curve(r, {}) for r in problem.records]).stopping_curve(3)


def test_early_stop_study_runs_on_records_without_an_accuracy_channel(problem):
    renamed = SearchProblem(_renamed(problem.records, {"accuracy": "train_accuracy"}))
    rows = early_stop_study(renamed, budgets=(3,), thresholds=(1.0,), trials=1, predictor="baker", warmup=100, progress=False)
    same = early_stop_study(problem, budgets=(3,), thresholds=(1.0,), trials=1, predictor="baker", warmup=100, progress=False)
    assert [r["rule"] for r in rows] == ["curve", "predictor"]
    assert rows[0] == same[0]  # the curve rule reads the same values under the other name


def test_a_budget_beyond_the_shortest_curve_is_named(problem):
    records = list(problem.records)
    records[5] = replace_curve(records[5], {k: v[:10] for k, v in records[5].curve.items()})
    short = SearchProblem(records)
    short.check_budget(10)
    with pytest.raises(NaapgnnError, match=f"--budget: 11 epochs, but record {records[5].id!r} \\(the shortest\\) "
                                           f"has only 10 epochs of curve, and 1 of the {len(records)} records fewer"):
        short.check_budget(11)


def test_the_curve_gain_forest_anchors_on_an_accuracy_of_any_name_and_scale(problem):
    from naapgnn.search.curve_forest import CurveGainForest

    records = problem.records[:30]
    anchor = CurveGainForest(budget=4).featurize(records)[:, 0]
    np.testing.assert_allclose(anchor, [r.curve["accuracy"][:4].max() for r in records])
    percent = [replace_curve(r, {"val_acc": 100 * r.curve["accuracy"], "loss_mean": r.curve["loss_mean"]})
               for r in records]
    np.testing.assert_allclose(CurveGainForest(budget=4).featurize(percent)[:, 0], anchor)
    only_loss = [replace_curve(r, {"loss_mean": r.curve["loss_mean"]}) for r in records]
    assert not CurveGainForest(budget=4).featurize(only_loss)[:, 0].any()  # no accuracy: no anchor
    # an error rate in percent, the only channel that could hold the accuracy: one minus it
    error = [replace_curve(r, {"top1_err": 100 * (1 - r.curve["accuracy"]), "loss_mean": r.curve["loss_mean"]})
             for r in records]
    np.testing.assert_allclose(CurveGainForest(budget=4).featurize(error)[:, 0], anchor)


def test_the_curve_gain_forest_reads_a_null_hyperparameter_as_the_mean_of_those_given(problem):
    import dataclasses
    import math

    from naapgnn.search.curve_forest import CurveGainForest

    records = [dataclasses.replace(r, hparams={"momentum": 0.9 if i % 2 else math.nan})
               for i, r in enumerate(problem.records[:30])]
    from naapgnn.search.curve_forest import _hparams

    np.testing.assert_allclose(_hparams(records)[:, 0], 0.9)  # the only value given
    assert np.isfinite(CurveGainForest(budget=4).featurize(records)).all()
    records[0] = dataclasses.replace(records[0], hparams={})  # absent, not null: an error
    with pytest.raises(NaapgnnError, match=f"record {records[0].id!r}: no hparam 'momentum'"):
        CurveGainForest(budget=4).featurize(records)


def test_an_error_rate_is_compared_lower_is_better_by_the_curve_rule(problem):
    from naapgnn.features.curves import ranking_channel

    error = [replace_curve(r, {"valid_error": 1 - r.curve["accuracy"]}) for r in problem.records]
    assert ranking_channel(error) == ("valid_error", -1.0)
    np.testing.assert_allclose(SearchProblem(error).stopping_curve(3),
                               [r.curve["accuracy"][:3] - 1 for r in problem.records])


def test_early_stop_orders_in_worker_processes_give_the_same_rows(problem, tmp_path):
    import pandas as pd

    kw = dict(budgets=[3], thresholds=[1.0], trials=3, predictor="forest", warmup=100, progress=False)
    serial = pd.DataFrame(early_stop_study(problem, **kw))
    parallel = pd.DataFrame(early_stop_study(problem, processes=2, cache_dir=tmp_path, **kw))
    pd.testing.assert_frame_equal(parallel, serial)
    assert list(serial.trial) == [0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize("settings", [
    SearchSettings(strategy="early-stop", data="bench.jsonl", target_scale="percent", full_epochs=90, warmup=30,
                   budget=(3, 6), thresholds=(1.0, 2.5), trials=7, predictor="gnn", seed=4),
    SearchSettings(strategy="compare", data="bench.jsonl", n_train=(10, 30), population=12, sample=3,
                   max_trainings=150, trials=5),
    SearchSettings(strategy="enlarged", predictor="gnn", budget=(0,), top=7, checkpoint="m0"),
])
def test_the_command_a_report_prints_reads_back_as_the_same_settings(settings):
    from naapgnn.cli import build_parser
    from naapgnn.cli.search import settings_from

    line = settings.command()
    assert line.startswith("naapgnn search ")
    args = build_parser().parse_args(line.split()[1:])
    assert settings_from(args).checked() == settings.checked()


def test_intervals_of_few_trials_are_student_t_and_median_ranks_keep_their_half():
    from naapgnn.search.summary import mean_ci, wilson
    from naapgnn.search.tables import predictor_stdout

    mean, half = mean_ci([1.0, 2.0])  # t(0.975, 1) = 12.706: two trials say little
    assert mean == 1.5 and half == pytest.approx(12.7062 * np.std([1, 2], ddof=1) / np.sqrt(2), rel=1e-4)
    assert mean_ci(np.arange(200.0))[1] == pytest.approx(1.972 * np.std(np.arange(200), ddof=1) / np.sqrt(200),
                                                        rel=1e-3)
    assert np.isnan(mean_ci([3.0])[1])
    assert wilson(3, 10) == pytest.approx((0.1078, 0.6032), abs=1e-4) and wilson(10, 10)[1] == pytest.approx(1.0)
    row = {"strategy": "gnn", "best": 0.9, "ci": 0.01, "rank_mean": 4.0, "rank_ci": 0.8, "rank_median": 1.5,
           "p_best": 0.5, "p_best_ci": (0.25, 0.75), "p_top": 1.0, "p_top_ci": (0.9, 1.0)}
    printed = predictor_stdout([row], SearchSettings(), n_train=20).splitlines()[-1]
    assert printed.split() == ["gnn", "0.9000", "±", "0.0100", "4.0", "±", "0.8", "1.5", "50%", "(25%–75%)", "100%",
                               "(90%–100%)"]


def test_settings_that_kept_only_the_warmup_are_named():
    """A rule that stops every candidate after the warm-up in every order reports the warm-up's best: say so."""
    import pandas as pd

    from naapgnn.search.early_stop_tables import warmup_only_note

    summary = pd.DataFrame({"rule": ["predictor", "predictor", "curve"], "z": [0.0, 3.0, 0.0],
                            "budget": [3, 3, 6], "kept": [20.0, 37.5, 20.0]})
    assert warmup_only_note(summary, 20) == (
        "kept no candidate after the first 20 in any order: predictor, z = 0 at k = 3; curve rule (no predictor) "
        "at k = 6; those rows give the best of the first 20, not a choice of the rule at that budget.")
    assert warmup_only_note(summary[summary.kept > 20], 20) == ""


def _small_benchmark(path, n=20):
    import json

    from naapgnn.data.deep_resnets import resnet_layers

    rows = [{"id": f"r{i}", "arch": resnet_layers(1 + i % 3, 4 + 2 * (i // 3), 3), "target": 0.3 + 0.02 * i,
             "curve": {"accuracy": [round((0.3 + 0.02 * i) * e / 6, 4) for e in range(1, 7)]}} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_a_space_too_small_for_a_share_above_the_best_and_few_trainings_still_report(tmp_path):
    """20 architectures: the top 5% is the best itself; --max-trainings 5: no point at 10 trainings to plot."""
    from naapgnn.cli import main

    data = _small_benchmark(tmp_path / "small.jsonl")
    out = tmp_path / "out"
    assert main(["search", "--strategy", "random", "--trials", "2", "--data", str(data), "--out", str(out),
                 "--max-trainings", "5", "--quiet"]) == 0
    assert "(the best of 20)" in (out / "random.md").read_text() and (out / "random.png").stat().st_size > 0
    assert [p.name for p in out.glob(".*")] == [".naapgnn.lock"]


def test_trials_stay_saved_until_the_outputs_are_written(tmp_path, monkeypatch):
    from naapgnn.cli import main
    from naapgnn.search import figures

    data = _small_benchmark(tmp_path / "small.jsonl", 24)
    out = tmp_path / "out"

    def broken(*args, **kwargs):
        raise MemoryError("no room for the figure")

    monkeypatch.setattr(figures, "plot_compare", broken)
    with pytest.raises(MemoryError):
        main(["search", "--strategy", "random", "--trials", "2", "--data", str(data), "--out", str(out), "--quiet"])
    assert (out / ".compare.partial.jsonl").stat().st_size > 0  # the finished trials, for the rerun


def test_early_stop_trials_stay_saved_until_its_outputs_are_written(tmp_path, monkeypatch, capsys):
    from naapgnn.cli import main
    from naapgnn.search import figures

    data = _small_benchmark(tmp_path / "small.jsonl", 24)
    out = tmp_path / "out"
    argv = ["search", "--strategy", "early-stop", "--trials", "2", "--budget", "2", "--warmup", "5", "--data",
            str(data), "--out", str(out), "--quiet"]
    plot = figures.plot_early_stop
    monkeypatch.setattr(figures, "plot_early_stop", lambda *a, **k: (_ for _ in ()).throw(MemoryError("no room")))
    with pytest.raises(MemoryError):
        main(argv)
    assert (out / ".early-stop.partial.jsonl").stat().st_size > 0
    monkeypatch.setattr(figures, "plot_early_stop", plot)
    capsys.readouterr()
    assert main(argv) == 0
    said = capsys.readouterr()
    assert "resuming 2 of 2 trials" in said.err
    few = "with 2 trials a 95% interval (Student's t) is wide and may reach past any value a search can give"
    assert f"note: {few}" in said.out and few in (out / "early_stop.md").read_text()
    assert said.out.startswith("early stopping, 2 random orders, predictor: ")
    assert not (out / ".early-stop.partial.jsonl").exists() or not (out / ".early-stop.partial.jsonl").read_text()


def test_search_options_a_run_would_refuse_late_are_named(tmp_path, capsys, data_dir):
    from naapgnn.cli import main

    data = _small_benchmark(tmp_path / "small.jsonl", 24)
    common = ["--data", str(data), "--trials", "1", "--quiet"]
    assert main(["search", "--strategy", "predictor", "--n-train", "2", "--predictor", "gnn", "--top-k", "2",
                 "--out", str(tmp_path / "p"), *common]) == 2
    assert "error: --n-train 2: GNNPredictor: need at least 4 training architectures, got 2" in capsys.readouterr().err
    assert main(["search", "--strategy", "evolution", "--population", "1000", "--data", str(data_dir), "--trials",
                 "1", "--quiet", "--out", str(tmp_path / "e")]) == 2
    assert "error: --population 1000: evolution needs fewer than the 440 architectures" in capsys.readouterr().err
    assert main(["search", "--strategy", "enlarged", "--top", "0", "--out", str(tmp_path / "t")]) == 2
    assert "error: --top must be >= 1, got 0" in capsys.readouterr().err
    assert main(["search", "--strategy", "random", "--predictor", "gnn", "--out", str(tmp_path / "r"), *common]) == 0
    assert "1 trials, predictor: none (random search and evolution read none)" in capsys.readouterr().out
    assert "--predictor" not in (tmp_path / "r" / "random.md").read_text()


def test_few_trials_say_their_intervals_are_wide():
    from naapgnn.search.tables import few_trials_note

    assert few_trials_note(2).startswith("with 2 trials a 95% interval (Student's t) is wide")
    assert few_trials_note(1) is None and few_trials_note(5) is None and few_trials_note(100) is None


@pytest.mark.parametrize("strategy, where", [("early-stop", "early_stop.early_stop_run"),
                                             ("predictor", "compare.predictor_guided")])
def test_only_too_few_records_are_blamed_on_the_option_that_sets_their_number(tmp_path, capsys, monkeypatch,
                                                                               strategy, where):
    """--warmup / --n-train are named for a model refusing too few training records, not for any other error."""
    import importlib

    from naapgnn.cli import main
    from naapgnn.errors import NaapgnnError, TooFewRecordsError

    module, name = where.split(".")
    data = _small_benchmark(tmp_path / "small.jsonl", 24)
    option = {"early-stop": "--warmup 5", "predictor": "--n-train 6"}[strategy]
    argv = ["search", "--strategy", strategy, "--data", str(data), "--trials", "1", "--quiet", "--predictor", "forest",
            *option.split(), *(["--budget", "2"] if strategy == "early-stop" else ["--top-k", "2"])]
    for error, said in [(NaapgnnError("hparams: 'lr' is not a number"), "error: hparams: 'lr' is not a number"),
                        (TooFewRecordsError("need at least 9"), f"error: {option}: need at least 9")]:
        monkeypatch.setattr(importlib.import_module(f"naapgnn.search.{module}"), name,
                            lambda *a, error=error, **k: (_ for _ in ()).throw(error))
        assert main([*argv, "--out", str(tmp_path / f"{strategy}{len(said)}")]) == 2
        assert capsys.readouterr().err.strip().endswith(said)


def test_a_search_over_seeds_of_one_configuration_says_each_record_is_a_candidate(tmp_path, capsys, load_script):
    """A tester's search over 3 seeds per configuration reported 'found the best 0%' while it found the best
    configuration every trial: the best record was a lucky seed. Said once, on screen."""
    from naapgnn.cli import main

    data = tmp_path / "seeds.jsonl"
    assert load_script("seed_repeated_probe").main([str(data), "--configurations", "30"]) == 0
    capsys.readouterr()
    assert main(["search", "--strategy", "random", "--data", str(data), "--trials", "2", "--quiet",
                 "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert out.count("note: 30 configurations (architecture and hyperparameters) have more than one record (90 "
                     "records, seeds most likely): each record is a candidate of its own") == 1
