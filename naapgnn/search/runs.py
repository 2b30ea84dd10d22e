"""One ``naapgnn search`` run: simulate, write ``OUT/<strategy>.md``, ``.csv`` and ``.png``, and say what to print."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from naapgnn.errors import NaapgnnError
from naapgnn.io import staged_writes, write_text_atomic
from naapgnn.search import early_stop_tables, figures, summary, tables
from naapgnn.search.compare import compare_strategies
from naapgnn.search.early_stop import early_stop_study, naap_cycle_curves
from naapgnn.search.neighbours import NO_NEIGHBOURS, has_neighbours
from naapgnn.search.problem import SearchProblem, make_predictor
from naapgnn.search.settings import SearchSettings
from naapgnn.search.space_ranking import rank_space
from naapgnn.search.strategies import check_n_train

DEFAULT_N_TRAIN = {"predictor": (20,), "compare": (10, 20, 50)}
DEFAULT_BUDGETS = (3, 6, 9)


@dataclass(frozen=True)
class RunOutput:
    """What a run printed (``text``) and the files it wrote."""

    text: str
    written: list


def run_search(settings: SearchSettings, problem: SearchProblem, out: str | Path) -> RunOutput:
    """Run the study of ``settings.strategy`` on ``problem`` and write its reports into ``out``."""
    settings = settings.checked()
    too_long = [b for b in settings.budget or () if b > problem.full_epochs]
    if too_long:
        raise NaapgnnError(f"--budget: {too_long[0]} epochs is more than {_full_training(problem)} "
                           f"({problem.full_epochs})")
    run = {"predictor": run_predictor, "random": run_compare, "evolution": run_compare, "compare": run_compare,
           "early-stop": run_early_stop, "enlarged": run_enlarged}[settings.strategy]
    done = run(settings, problem, Path(out))
    repeated = _repeated_note(problem) if settings.strategy != "enlarged" else ""
    return RunOutput(repeated + done.text, done.written)


def _repeated_note(problem: SearchProblem) -> str:
    """A note where some configuration has more than one record (seeds): each record is a candidate of its own."""
    import numpy as np

    from naapgnn.data.configurations import configuration_groups

    groups = configuration_groups(problem.records)
    if groups is None:
        return ""
    counts = np.bincount(groups)
    return (f"note: {int((counts > 1).sum())} configurations (architecture and hyperparameters) have more than one "
            f"record ({int(counts[counts > 1].sum())} records, seeds most likely): each record is a candidate of its "
            "own, so a search may train one configuration more than once, and 'the best' is the best record, perhaps "
            "a lucky seed\n")


def _compare(settings: SearchSettings, problem: SearchProblem, out: Path, n_train, strategies):
    return compare_strategies(problem, trials=settings.trials, n_train=n_train, predictor=settings.predictor,
                              seed=settings.seed, population_size=settings.population, sample_size=settings.sample,
                              strategies=strategies, cache_dir=out, fresh=settings.fresh,
                              progress=settings.progress, keep_trials=True)


def run_compare(settings: SearchSettings, problem: SearchProblem, out: Path) -> RunOutput:
    """Strategies "compare", "random" and "evolution": best found against trainings, over the trials."""
    strategies, note = _runnable(problem, {"compare": ("random", "evolution", "predictor"), "random": ("random",),
                                           "evolution": ("evolution",)}[settings.strategy], settings.strategy)
    n_train, dropped = _n_train(settings, problem, "compare") if "predictor" in strategies else ([], "")
    note += dropped
    result = _compare(settings, problem, out, n_train, strategies)
    max_t = min(settings.max_trainings, problem.n)
    frame = summary.compare_frame(result, max_t)
    needed = summary.efficiency_frame(result)
    eff = summary.efficiency_rows(needed)
    paths = [out / f"{settings.strategy}.{ext}" for ext in ("md", "csv", "png")] + [
        out / f"{settings.strategy}_efficiency.csv"]
    with staged_writes():  # the outputs land together
        write_text_atomic(paths[0], tables.compare_markdown(result, frame, eff, settings, problem, max_t))
        write_text_atomic(paths[1], frame.to_csv(index=False, float_format="%.6g"))
        figures.plot_compare(frame, result, paths[2], problem, settings.predictor)
        write_text_atomic(paths[3], needed.to_csv(index=False))
    text = tables.compare_stdout(frame, eff, result, settings, problem, max_t)
    result.discard_trials()
    return RunOutput(note + text, paths)


def _n_train(settings: SearchSettings, problem: SearchProblem, strategy: str) -> tuple[list[int], str]:
    """``--n-train``, or the default of ``strategy`` less the values the benchmark is too small for, and a note
    naming those; an error naming the default when none is left (the user gave no --n-train)."""
    if settings.n_train:
        return list(settings.n_train), ""
    default = DEFAULT_N_TRAIN[strategy]
    kept = [v for v in default if v < problem.n]
    for v in kept or default:
        check_n_train(v, problem.n, default)
    dropped = [v for v in default if v not in kept]
    if not dropped:
        return kept, ""
    return kept, (f"note: --n-train's default {' '.join(map(str, default))} less {' '.join(map(str, dropped))}: "
                  f"the benchmark holds only {problem.n} architectures\n")


def _runnable(problem: SearchProblem, strategies: tuple, asked: str) -> tuple[tuple, str]:
    """``strategies`` less evolution when no finder knows which of ``problem``'s architectures are one mutation
    apart (unless evolution alone was ``asked`` for: it then refuses), and a note when it is left out."""
    if "evolution" not in strategies or asked == "evolution" or has_neighbours(problem):
        return strategies, ""
    return (tuple(s for s in strategies if s != "evolution"),
            f"note: evolution is left out: it needs to know which architectures are one mutation apart, and these "
            f"records are {NO_NEIGHBOURS}\n")


def run_predictor(settings: SearchSettings, problem: SearchProblem, out: Path) -> RunOutput:
    """Strategy "predictor" (Wen et al.): what N labels + the top K predicted find, against random and evolution."""
    n_train = _n_train(settings, problem, "predictor")[0][0]
    if n_train + settings.top_k > problem.n:
        given = "" if settings.n_train else f" (default {n_train})"
        raise NaapgnnError(f"--n-train{given} + --top-k = {n_train + settings.top_k} exceeds the {problem.n} "
                           "architectures")
    strategies, note = _runnable(problem, ("random", "evolution", "predictor"), settings.strategy)
    result = _compare(settings, problem, out, [n_train], strategies)
    frame = summary.predictor_frame(result, problem, n_train, settings.top_k)
    top = tables.top_text(problem.n)[0]
    found = summary.predictor_summary(frame, top)
    paths = [out / "predictor.md", out / "predictor.csv", out / "predictor.png"]
    with staged_writes():  # the outputs land together
        write_text_atomic(paths[1], frame.to_csv(index=False))
        write_text_atomic(paths[0], tables.predictor_markdown(found, settings, problem, n_train, result))
        figures.plot_predictor_ranks(frame, paths[2], n_train, settings.top_k, settings.predictor, problem.n)
    result.discard_trials()
    return RunOutput(note + tables.predictor_stdout(found, settings, n_train, top), paths)


def run_early_stop(settings: SearchSettings, problem: SearchProblem, out: Path) -> RunOutput:
    """Strategy "early-stop" (Baker et al.): epochs saved and regret, per budget and threshold."""
    import pandas as pd

    budgets, note = (settings.budget, "") if settings.budget else _default_budgets(problem)
    rows = early_stop_study(problem, budgets=budgets, thresholds=settings.thresholds,
                            trials=settings.trials, predictor=settings.predictor, warmup=settings.warmup,
                            seed=settings.seed, cache_dir=out, fresh=settings.fresh, progress=settings.progress,
                            processes=settings.processes, keep_trials=True)
    costs = summary.early_stop_summary(rows, problem)
    paths = [out / "early_stop.md", out / "early_stop.csv", out / "early_stop_summary.csv", out / "early_stop.png"]
    with staged_writes():  # the outputs land together
        write_text_atomic(paths[1], pd.DataFrame(rows).to_csv(index=False, float_format="%.6g"))
        write_text_atomic(paths[2], costs.to_csv(index=False, float_format="%.6g"))
        write_text_atomic(paths[0], early_stop_tables.early_stop_markdown(costs, settings, problem,
                                                               cyclic=naap_cycle_curves(problem)))
        figures.plot_early_stop(costs, paths[3], problem, settings.trials, settings.predictor)
    rows.discard()
    text = early_stop_tables.early_stop_stdout(costs, settings, problem)
    return RunOutput(note + _cut_short_note(problem) + text, paths)


def _cut_short_note(problem: SearchProblem) -> str:
    """A note when the costs take the curves for full trainings though most targets lie above their curves
    (:func:`naapgnn.data.channels.cut_short_note`) and no ``--full-epochs`` says how long the runs were."""
    from naapgnn.data.channels import cut_short_note

    note = None if problem.training_epochs else cut_short_note(problem.records, problem.full_epochs)
    return f"note: {note}\n" if note else ""


def _default_budgets(problem: SearchProblem) -> tuple[tuple[int, ...], str]:
    """:data:`DEFAULT_BUDGETS` that leave epochs to save and that every curve holds, else the longest budget that
    does (an error follows from the study's own check when there is none); and a note when not all three."""
    from naapgnn.data.channels import first_logged_epoch
    from naapgnn.data.gaps import budgets_within, logged_epochs, moved_budgets_words

    shortest = min(r.num_epochs for r in problem.records)
    top, first = min(problem.full_epochs - 1, shortest), first_logged_epoch(problem.records)
    within = tuple(b for b in budgets_within(DEFAULT_BUDGETS, top, first) if b)
    logged = logged_epochs(problem.records)
    held = tuple(b for b in budgets_within(DEFAULT_BUDGETS, top, first, logged) if b) or within \
        or (min(max(top, 1), max(first, 1)),)
    if held == DEFAULT_BUDGETS:
        return held, ""
    late = f"; some record logs its first value at epoch {first}" if first > 1 else ""
    late += f"; {moved_budgets_words(logged)}" if held != within else ""
    left = ", ".join(str(b) for b in DEFAULT_BUDGETS if b not in held)
    steps = f" (counted in steps of {first} epoch{'s' * (first != 1)})" if set(within) - set(DEFAULT_BUDGETS) else ""
    kept = (f"{steps} kept{f', {left} left out' if left else ''}" if set(held) <= set(DEFAULT_BUDGETS)
            else f"{steps} instead of {', '.join(map(str, DEFAULT_BUDGETS))}")
    return held, (f"note: budgets {', '.join(map(str, held))}{kept}: "
                  f"{_full_training(problem)} is {problem.full_epochs} "
                  f"epochs and the shortest curve {shortest}{late} (--budget to choose)\n")


def run_enlarged(settings: SearchSettings, problem: SearchProblem, out: Path) -> RunOutput:
    """Strategy "enlarged": predict every scheme of :func:`naapgnn.arch.space.enlarged_rules` with zero training."""
    import time

    from naapgnn.arch.space import enlarged_rules

    if any(s is None for s in problem.schemes):
        raise NaapgnnError("--strategy enlarged: the space it ranks is NAAP-440's; it trains on NAAP-440 schemes, and "
                           f"{sum(s is None for s in problem.schemes)} of the {len(problem.schemes)} records are "
                           "layer graphs, not schemes")
    rules = enlarged_rules()
    start = time.perf_counter()
    model, label = enlarged_model(problem, len(rules.blocks), predictor=settings.predictor, seed=settings.seed,
                                  checkpoint=settings.checkpoint)
    fit_seconds = time.perf_counter() - start
    schemes, accuracy, trained_on = (checkpoint_training_schemes(model, problem) if settings.checkpoint else
                                     (problem.schemes, problem.accuracy, ""))
    ranking = rank_space(model, rules, schemes, accuracy, top=settings.top,
                         processes=settings.processes, progress=settings.progress)
    paths = [out / "enlarged.md", out / "enlarged.csv"]
    with staged_writes():  # the outputs land together
        write_text_atomic(paths[1], ranking.top.to_csv(index=False, float_format="%.6g"))
        write_text_atomic(paths[0], tables.enlarged_markdown(ranking, settings, problem, fit_seconds, label,
                                                             trained_on))
    return RunOutput(tables.enlarged_stdout(ranking, settings, fit_seconds, label, trained_on), paths)


def checkpoint_training_schemes(model, problem: SearchProblem):
    """The schemes of ``problem`` a loaded checkpoint was trained on, their accuracies, and a sentence saying so.

    Novelty is measured against what the checkpoint saw, which need not be NAAP-440's 440: a checkpoint trained on
    another benchmark saw none of them. A checkpoint saved before it kept its training configurations' digests
    cannot tell; the 440 stand in for its training data, and the sentence says so.
    """
    import numpy as np

    from naapgnn.data.configurations import configuration_keys

    trained = getattr(model, "training_configurations_", None)
    if trained is None:
        return problem.schemes, problem.accuracy, (
            f"the checkpoint keeps no list of its training records (saved by an older naapgnn): novelty below is "
            f"measured against the {problem.n} architectures of {problem.name}, which it may not have seen")
    trained, keys = set(trained), configuration_keys(problem.records)
    inside = np.array([key in trained for key in keys], dtype=bool)
    schemes = [s for s, keep in zip(problem.schemes, inside) if keep]
    others = len(trained - set(keys))
    where = f"{int(inside.sum())} of the {problem.n} architectures of {problem.name}"
    if others:
        where += f" and {others} configuration{'s' * (others != 1)} from elsewhere"
    return schemes, np.asarray(problem.accuracy)[inside], f"the checkpoint was trained on {where}"


def enlarged_model(problem: SearchProblem, max_blocks: int, predictor: str = "gnn", seed: int = 0,
                   checkpoint: str | None = None):
    """The fitted budget-0 model for the enlarged space, and a description of it.

    Parameters
    ----------
    problem : the architectures it is fitted on (when not loaded)
    max_blocks : int
        The deepest scheme it will predict.
    predictor : "gnn" or "forest"
    seed : int
    checkpoint : str, optional
        A saved budget-0 GNNPredictor to load instead.
    """
    if checkpoint:
        return _loaded_gnn(checkpoint)
    if predictor == "forest":
        model = make_predictor("forest", 0, seed, max_blocks=max_blocks)
        label = tables.predictor_label("forest") + f", fitted on all {problem.n} NAAP-440 architectures"
    else:
        model = make_predictor("gnn", 0, seed, fast=False, blend_forest=0.0, n_threads=1)
        label = (f"GNNPredictor (naapgnn.models.gnn) with its default hyperparameters except blend_forest=0 "
                 f"(the graph network alone); uncertainty = spread of the "
                 f"ensemble; budget 0; fitted on all {problem.n} NAAP-440 architectures")
    return model.fit(problem.records, problem.accuracy), label


def _loaded_gnn(checkpoint: str):
    from naapgnn.models.gnn import GNNPredictor

    model = GNNPredictor.load(checkpoint)
    if int(model.budget) != 0:
        raise NaapgnnError(f"--checkpoint {checkpoint}: a budget-{model.budget} checkpoint; the enlarged space "
                           "needs budget 0 (its candidates have no training curve)")
    check_reads_no_hparams(model, checkpoint)
    label = f"GNNPredictor loaded from {checkpoint}"
    if getattr(model, "forest_", None) is not None and model.forest == "per_layer":
        # The blended per-layer forest has one slot per block seen in training (4) and cannot
        # read 5-block schemes, so only the GNN ensemble predicts here.
        model.forest_, model.blend_forest, model.blend_share_ = None, 0.0, 0.0
        model.remember_params()  # the model now predicts without its forest
        label += " (GNN ensemble only: its blended per-layer forest cannot read 5-block schemes)"
    return model, label


def check_reads_no_hparams(model, checkpoint: str) -> None:
    """Refuse a checkpoint that reads hyperparameters (its ``hparam_names_``: ``lr``, a category's indicators
    ``optimizer=adam``, ...): the enlarged space's schemes give none, so each would be read as its training mean
    and every scheme ranked as if trained with that mean recipe, silently (``predict`` flags it per record)."""
    from naapgnn.data.hparams import given_name

    read = list(dict.fromkeys(map(given_name, getattr(model, "hparam_names_", None) or ())))
    if read:
        several = len(read) > 1
        raise NaapgnnError(f"--checkpoint {checkpoint}: trained on hyperparameter{'s' * several} {', '.join(read)}, "
                           f"which NAAP-440 schemes do not give; train on NAAP-440 (or records without hparams) to "
                           "rank its space")


def _full_training(problem: SearchProblem) -> str:
    """What ``full_epochs`` is: a full training, or the longest where some runs stopped early."""
    return "a full training" if problem.equal_runs else "the longest training"
