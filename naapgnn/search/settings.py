"""The settings of one ``naapgnn search`` run, as the library takes them (the CLI only builds them)."""
from __future__ import annotations

from dataclasses import dataclass, replace

from naapgnn.data.channels import check_full_epochs
from naapgnn.errors import NaapgnnError
from naapgnn.search.problem import PREDICTORS

STRATEGY_CHOICES = ("predictor", "random", "evolution", "compare", "early-stop", "enlarged")


# The strategies that read each option; one given (away from its default) to another strategy is refused, as its
# report would not show it and a user would take it for applied. --processes only sets how the work is spread.
READ_BY = {
    "n_train": ("predictor", "compare"),
    "top_k": ("predictor",),
    "trials": tuple(s for s in STRATEGY_CHOICES if s != "enlarged"),
    "budget": ("early-stop", "enlarged"),
    "thresholds": ("early-stop",),
    "max_trainings": ("compare", "random", "evolution"),
    "population": ("predictor", "compare", "evolution"),
    "sample": ("predictor", "compare", "evolution"),
    "warmup": ("early-stop",),
    "top": ("enlarged",),
    "checkpoint": ("enlarged",),
}


@dataclass(frozen=True)
class SearchSettings:
    """What to simulate and how (each field is the ``naapgnn search`` option of the same name).

    Attributes
    ----------
    strategy : one of :data:`STRATEGY_CHOICES`
    predictor : "auto", "forest" or "gnn"
        "auto": gnn for the predictor and enlarged strategies, forest for the others.
    n_train : tuple of int or None
        Labels of predictor-guided search (None: 20 for predictor, 10 20 50 for compare).
    top_k : int
        Predictor strategy: top predicted architectures trained.
    trials : int
        Seeds (search) or candidate orders (early-stop).
    budget : tuple of int or None
        Early-stop: epochs before the decision (None: 3 6 9); enlarged: 0 only.
    thresholds : tuple of float
        Early-stop: stop when mean + z * std < best so far.
    max_trainings : int
        Trainings shown in the comparison table and plot.
    population, sample : int
        Evolution's population P and tournament size S.
    warmup : int
        Early-stop: first candidates trained fully to label the predictor.
    top : int
        Enlarged: architectures listed.
    checkpoint : str or None
        Enlarged: a saved budget-0 GNNPredictor to use instead of fitting one.
    processes : int
        Enlarged: worker processes.
    seed : int
    fresh : bool
        Forget the trials an interrupted run saved.
    progress : bool
        Show progress bars.
    data : str or None
        The ``--data`` the problem was read from (only shown in :meth:`command`; None: NAAP-440's default).
    full_epochs : int or None
        Epochs of a full training when the curves hold only the first epochs of longer runs (what the problem
        was read with, :attr:`naapgnn.search.problem.SearchProblem.training_epochs`; shown in :meth:`command`).
    target_scale : "fraction" or "percent"
        How the ``--data`` file gives its targets (only shown in :meth:`command`).
    """

    strategy: str = "compare"
    predictor: str = "auto"
    n_train: tuple | None = None
    top_k: int = 10
    trials: int = 100
    budget: tuple | None = None
    thresholds: tuple = (0.0, 1.0, 2.0, 3.0, 4.0)
    max_trainings: int = 200
    population: int = 20
    sample: int = 5
    warmup: int = 20
    top: int = 20
    checkpoint: str | None = None
    processes: int = 2
    seed: int = 0
    fresh: bool = False
    progress: bool = True
    data: str | None = None
    full_epochs: int | None = None
    target_scale: str = "fraction"

    def checked(self) -> "SearchSettings":
        """These settings with "auto" resolved; one clear line for any that cannot work."""
        if self.strategy not in STRATEGY_CHOICES:
            raise NaapgnnError(f"unknown strategy {self.strategy!r} (expected {', '.join(STRATEGY_CHOICES)})")
        if self.trials < 1:
            raise NaapgnnError(f"--trials must be >= 1, got {self.trials}")
        if self.top_k < 1:
            raise NaapgnnError(f"--top-k must be >= 1, got {self.top_k}")
        if self.max_trainings < 1:
            raise NaapgnnError(f"--max-trainings must be >= 1, got {self.max_trainings}")
        if self.population < 2 or not 1 <= self.sample <= self.population:
            raise NaapgnnError(f"--population must be >= 2 and --sample between 1 and it, got {self.population} "
                               f"and {self.sample}")
        for value, flag in ((self.processes, "--processes"), (self.top, "--top")):
            if value < 1:
                raise NaapgnnError(f"{flag} must be >= 1, got {value}")
        check_full_epochs(self.full_epochs)
        self._check_read()
        for name in ("n_train", "budget", "thresholds"):  # a value given twice would run, and count, twice
            values = list(getattr(self, name) or ())
            twice = next((v for i, v in enumerate(values) if v in values[:i]), None)
            if twice is not None:
                raise NaapgnnError(f"--{name.replace('_', '-')}: {twice:g} is given twice; give each value once")
        if self.strategy == "enlarged" and self.checkpoint is not None and self.predictor not in ("auto", "gnn"):
            raise NaapgnnError(f"--predictor {self.predictor}: with --checkpoint the enlarged space is ranked by the "
                               "checkpoint's GNNPredictor; leave it out")
        bad_z = next((z for z in self.thresholds if not z >= 0 or z == float("inf")), None)
        if bad_z is not None:
            raise NaapgnnError(f"--thresholds: {bad_z:g}: each Z must be a finite number >= 0 (a candidate stops when "
                               "its predicted mean + Z x std is below the best so far; below 0 it would stop those "
                               "predicted to beat it)")
        if self.budget is not None:
            if any(b < 0 for b in self.budget):
                raise NaapgnnError(f"--budget: {min(self.budget)} is negative; give a number of epochs")
            if self.strategy == "enlarged" and list(self.budget) != [0]:
                raise NaapgnnError("--budget: the enlarged space has no training curves; only budget 0 "
                                   "(zero training) applies")
            if self.strategy == "early-stop" and 0 in self.budget:
                raise NaapgnnError("--budget: early stopping decides after k >= 1 epochs")
        if self.strategy == "predictor" and self.n_train is not None and len(self.n_train) != 1:
            raise NaapgnnError("--n-train: the predictor strategy takes one N (use --strategy compare for several)")
        if self.predictor not in ("auto", *PREDICTORS):
            raise NaapgnnError(f"unknown predictor {self.predictor!r} (expected auto, {', '.join(PREDICTORS)})")
        if self.predictor != "auto":
            return self
        return replace(self, predictor="gnn" if self.strategy in ("predictor", "enlarged") else "forest")

    def _check_read(self) -> None:
        """One line for an option set away from its default that this strategy does not read."""
        default = SearchSettings()
        for name, strategies in READ_BY.items():
            if self.strategy not in strategies and getattr(self, name) != getattr(default, name):
                raise NaapgnnError(f"--{name.replace('_', '-')} is read by --strategy {' and '.join(strategies)} "
                                   f"only, not {self.strategy}; leave it out")

    def command(self) -> str:
        """The ``naapgnn search`` command line that reproduces these results."""
        default = SearchSettings()
        parts = ["naapgnn search", f"--strategy {self.strategy}"] + ([f"--data {self.data}"] if self.data else [])
        parts += [f"--target-scale {self.target_scale}"] if self.target_scale != default.target_scale else []
        parts += [f"--full-epochs {self.full_epochs}"] if self.full_epochs else []
        if self.strategy in ("predictor", "compare") and self.n_train:
            parts.append("--n-train " + " ".join(str(v) for v in self.n_train))
        if self.strategy == "predictor":
            parts.append(f"--top-k {self.top_k}")
        if self.strategy != "enlarged":
            parts.append(f"--trials {self.trials}")
        if self.strategy in ("compare", "random", "evolution") and self.max_trainings != default.max_trainings:
            parts.append(f"--max-trainings {self.max_trainings}")
        if self.strategy in ("compare", "evolution") and (self.population, self.sample) != (default.population,
                                                                                          default.sample):
            parts.append(f"--population {self.population} --sample {self.sample}")
        if self.strategy == "early-stop" and self.warmup != default.warmup:
            parts.append(f"--warmup {self.warmup}")
        if self.budget:
            parts.append("--budget " + " ".join(str(b) for b in self.budget))
        if self.strategy == "early-stop":
            parts.append("--thresholds " + " ".join(f"{z:g}" for z in self.thresholds))
        parts += [f"--predictor {self.predictor}"] if self.strategy not in ("random", "evolution") else []
        parts.append(f"--seed {self.seed}")
        if self.strategy == "enlarged" and self.checkpoint:
            parts.append(f"--checkpoint {self.checkpoint}")
        if self.strategy == "enlarged" and self.top != default.top:
            parts.append(f"--top {self.top}")
        return " ".join(parts)
