"""Checkpoint folders of :class:`naapgnn.models.gnn.GNNPredictor`.

A checkpoint is a folder: ``config.json`` (hyperparameters, normalisation
statistics, training domain, uncertainty calibration, versions), ``weights.pt`` (the ensemble members' state
dicts), when a forest is blended ``forest.joblib``, when the gate chose a kernel stack ("architecture",
"hparams", "robust", "nonlinear", "svr", "svr_statistics", "svr_values" or "svr_no_graph") ``stack.joblib``, and when
that is mixed with the
budget-0 kernel stack ``stack_budget0.joblib``. :func:`save` writes the folder beside its destination and renames it into place, so
an interrupted save
leaves any previous checkpoint intact; :func:`load` refuses, in one line, a
checkpoint that does not fit this code.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from naapgnn.data.channels import schedule_alias
from naapgnn.errors import NaapgnnError
from naapgnn.features.curves import curve_feature_names, values_and_differences_names
from naapgnn.models.checkpoint_versions import CHECKPOINT_FORMAT, CHECKPOINT_VERSION, check_versions
from naapgnn.models.curve_stack import CURVE_KINDS, KERNEL_INPUTS, STACK_KINDS, CurveStack
from naapgnn.models.inputs import statistic_columns
from naapgnn.io import current_umask, fsync_file

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.pt"
FOREST_FILE = "forest.joblib"
STACK_FILE = "stack.joblib"
STACK_BUDGET0_FILE = "stack_budget0.joblib"
STACK_OTHER_FILE = "stack_other_{}.joblib"  # the further kinds of a mean of curve stacks, in the config's order
KERNEL_KINDS = tuple(KERNEL_INPUTS)  # the gate's kinds with a fitted model

_TENSOR_STATE = ("node_mean", "node_std", "attr_mean", "attr_std")
_ARRAY_STATE = ("curve_mean", "curve_std", "hparam_mean", "hparam_std", "value_mean", "value_std")

__all__ = ["save", "load", "check_replaceable", "CHECKPOINT_FORMAT", "CHECKPOINT_VERSION"]


def check_replaceable(path) -> None:
    """Refuse in one line a ``path`` that a checkpoint may not replace: a file, or a folder holding anything but a
    checkpoint (saving swaps the whole folder, which would delete the rest). A new path, an empty folder or a
    checkpoint is fine."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NaapgnnError(f"{path}: a file, not a checkpoint folder; saving would replace it, so give a new or "
                           "empty folder, or an old checkpoint")
    if path.is_dir() and any(path.iterdir()) and not (path / CONFIG_FILE).is_file():
        raise NaapgnnError(f"{path}: a folder that holds no checkpoint (no {CONFIG_FILE}); saving replaces the whole "
                           "folder, so give a new or empty folder, or an old checkpoint")
    _check_writable(path)


def _check_writable(path: Path) -> None:
    """One line when no folder can be made beside ``path`` (a read-only disk, a file in its way): found before a
    fit, not after it."""
    ancestor = path.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    try:
        os.rmdir(tempfile.mkdtemp(prefix=f".{path.name}.", dir=ancestor))
    except OSError as exc:
        raise NaapgnnError(f"{path}: cannot write checkpoint: {exc.strerror or exc}") from None


def save(model, path) -> Path:
    """Write fitted ``model`` (a GNNPredictor) as a checkpoint folder at ``path``; returns ``path``."""
    import joblib
    import torch

    path = Path(path)
    check_replaceable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        (tmp / CONFIG_FILE).write_text(json.dumps(_config(model), indent=1))
        torch.save({"members": [m.state_dict() for m in model.members_]}, tmp / WEIGHTS_FILE)
        if model.forest_ is not None:
            joblib.dump(model.forest_, tmp / FOREST_FILE)
        if model.stack_model_ is not None:
            joblib.dump(model.stack_model_, tmp / STACK_FILE)
        if model.stack_budget0_model_ is not None:
            joblib.dump(model.stack_budget0_model_, tmp / STACK_BUDGET0_FILE)
        for i, (other, _) in enumerate(model.stack_others_):
            if other.model is not None:
                joblib.dump(other.model, tmp / STACK_OTHER_FILE.format(i))
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes 0700
        for file in tmp.iterdir():  # on disk before the folder takes the old one's place
            fsync_file(file)
        _swap_into_place(tmp, path)
    except OSError as exc:
        raise NaapgnnError(f"{path}: cannot write checkpoint: {exc.strerror or exc}") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return path


def _swap_into_place(tmp: Path, path: Path) -> None:
    if not path.exists():
        os.replace(tmp, path)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
    os.replace(path, old / "ckpt")
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)


def _config(model) -> dict:
    from naapgnn import __version__
    from naapgnn.graph.encoding import ENCODING_VERSION, GRAPH_ATTRS, NODE_FEATURES

    params = dict(getattr(model, "training_params_", None) or model.get_params())  # as fitted
    params["progress"] = False
    state = {
        "curve_channels": model.curve_channels_,
        "schedule": model.schedule_,
        "diverged_values": model.diverged_values_,
        "curve_worst": model.curve_worst_,
        "unlogged_epochs": model.unlogged_epochs_,
        "curve_feature_names": model.curve_feature_names_,
        "curve_value_names": model.curve_value_names_,
        "hparam_names": model.hparam_names_,
        "hparam_log": list(model.hparam_log_),
        **{name: getattr(model, name + "_").tolist() for name in _TENSOR_STATE + _ARRAY_STATE},
        "y_mean": model.y_mean_, "y_std": model.y_std_,
        "dims": [model.node_dim_, model.attr_dim_, model.curve_dim_, model.hparam_dim_],
        "folds": model.folds_,
        "extension_types": list(model.extension_types_),
        "best_epochs": model.best_epochs_,
        "stack_coef": model.stack_coef_.tolist(), "stack_intercept": model.stack_intercept_,
        "stack_kind": model.stack_gate_.get("kind", "graph"),
        "stack_weight": float(model.stack_gate_.get("weight", 1.0)),
        "stack_budget0_kind": model.stack_gate_.get("budget0_kind", model.stack_gate_.get("kind", "graph")),
        "stack_others": [{"kind": other.kind, "share": float(share), "coef": np.asarray(other.coef, float).tolist(),
                          "intercept": float(other.intercept)} for other, share in model.stack_others_],
        "domain": model.domain_, "std_scale": model.std_scale_, "blend_share": float(model.blend_share_),
        "oof_prediction": [None if np.isnan(v) else float(v) for v in model.oof_prediction_],
        "training_digest": getattr(model, "training_digest_", None),
        "training_ids": getattr(model, "training_ids_", None),
        "training_configurations": getattr(model, "training_configurations_", None),
    }
    return {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_VERSION,
        "naapgnn_version": __version__,
        "encoding_version": ENCODING_VERSION,
        "node_features": list(NODE_FEATURES),
        "graph_attrs": list(GRAPH_ATTRS),
        "params": params,
        "state": state,
    }


def load(cls, path, device: str | None = None):
    """The ``cls`` (GNNPredictor) estimator saved at ``path``, on ``device`` if given.

    Raises
    ------
    NaapgnnError
        One line saying why the checkpoint does not fit this code (missing
        files, another format, other node features, mismatched weights).
    """
    path = Path(path)
    where = f"checkpoint {path}"
    config = _read_config(path)
    check_versions(config, where)
    try:
        params = dict(config["params"])
        if device is not None:
            params["device"] = device
        model = cls(**params)
        model._check_params()
        _set_state(model, config["state"])
    except NaapgnnError as exc:
        raise NaapgnnError(f"{where}: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise NaapgnnError(f"{where}: {CONFIG_FILE} is incomplete or malformed ({type(exc).__name__}: {exc})") from None
    _check_curve_state(model, where)
    _check_state_lengths(model, where)
    model.members_ = _load_members(model, path, where)
    model.forest_ = _load_forest(path, where) if float(model.blend_forest) > 0 else None
    kernel = model.stack_gate_["kind"] in KERNEL_KINDS
    model.stack_model_ = _load_stack(path, where, model.stack_gate_["kind"]) if kernel else None
    budget0 = model.stack_gate_["budget0_kind"]
    mixed_kernel = model.stack_gate_["weight"] < 1 and budget0 in KERNEL_KINDS
    model.stack_budget0_model_ = _load_joblib(path / STACK_BUDGET0_FILE, where,
                                              f"the stack is mixed with kind {budget0}") if mixed_kernel else None
    for i, (other, _) in enumerate(model.stack_others_):
        other.model = _load_other(path, where, i, other.kind)
    _check_stack_model(model, where)
    _check_forest(model, where)
    return model


def _set_state(model, state: dict) -> None:
    import torch

    model.curve_channels_ = list(state["curve_channels"])
    model.schedule_ = state["schedule"]
    model.diverged_values_ = {c: float(v) for c, v in state["diverged_values"].items()}
    model.curve_worst_ = {c: float(v) for c, v in state["curve_worst"].items()}
    # absent before runs were read as they stood at the budget: no epoch known as one the training left unlogged
    model.unlogged_epochs_ = {c: [int(e) for e in v] for c, v in state.get("unlogged_epochs", {}).items()}
    model.curve_feature_names_ = list(state["curve_feature_names"])
    model.curve_value_names_ = list(state["curve_value_names"])
    model.hparam_names_ = list(state["hparam_names"])
    # absent before the log-scaled hyperparameters: every column read as it is
    model.hparam_log_ = [bool(f) for f in state.get("hparam_log", [False] * len(model.hparam_names_))]
    for name in _TENSOR_STATE:
        setattr(model, name + "_", torch.tensor(state[name], dtype=torch.float32))
    for name in _ARRAY_STATE:
        setattr(model, name + "_", np.asarray(state[name], dtype=float))
    model.y_mean_, model.y_std_ = float(state["y_mean"]), float(state["y_std"])
    model.node_dim_, model.attr_dim_, model.curve_dim_, model.hparam_dim_ = (int(d) for d in state["dims"])
    model.folds_ = bool(state["folds"])
    model.extension_types_ = tuple(state["extension_types"])
    model.best_epochs_ = list(state.get("best_epochs", []))
    model.stack_coef_ = np.asarray(state["stack_coef"], dtype=float)
    model.stack_intercept_ = float(state["stack_intercept"])
    model.stack_gate_ = {"kind": state["stack_kind"], "used": state["stack_kind"] in CURVE_KINDS,
                         "weight": float(state["stack_weight"]), "budget0_kind": state["stack_budget0_kind"]}
    model.stack_others_ = [(CurveStack(str(o["kind"]), np.asarray(o["coef"], dtype=float), float(o["intercept"])),
                            float(o["share"])) for o in state["stack_others"]]  # their models loaded after
    model.domain_ = dict(state["domain"])
    model.std_scale_ = float(state["std_scale"])
    model.blend_share_, model.blend_scores_ = float(state["blend_share"]), {}
    model.oof_prediction_ = np.array([np.nan if v is None else float(v) for v in state["oof_prediction"]])
    model.training_digest_ = state.get("training_digest")  # None in a checkpoint saved before it was kept
    model.training_ids_ = state.get("training_ids")
    model.training_configurations_ = state.get("training_configurations")  # None before it was kept
    model.remember_params()


def _check_curve_state(model, where: str) -> None:
    from naapgnn import __version__

    names = model.curve_feature_names_
    if names != curve_feature_names(int(model.budget), model.curve_channels_, bool(model.curve_raw)):
        raise NaapgnnError(f"{where}: its curve features differ from what this naapgnn {__version__} computes; retrain")
    alias = schedule_alias([model.curve_channels_])
    if alias is not None:  # saved before such a channel was read as "lr": files now give it under that name
        raise NaapgnnError(f"{where}: it reads curve channel {alias!r} as a measurement, which this naapgnn "
                           f"{__version__} reads as the learning rate 'lr'; retrain")
    known = values_and_differences_names(int(model.budget), model._measured_channels())
    unknown = set(model.curve_value_names_) - set(known)
    if unknown:
        raise NaapgnnError(f"{where}: curve_value_names holds {sorted(unknown)[0]!r}, not a value or difference of "
                           f"its channels' first {int(model.budget)} epochs; retrain (or restore {CONFIG_FILE})")
    for what, coef in (("curve stack", model.stack_coef_),
                       *((f"{other.kind} stack of the mean", other.coef) for other, _ in model.stack_others_)):
        if len(coef) not in (1, 1 + len(names)):
            raise NaapgnnError(f"{where}: the {what} has {len(coef)} coefficients for {len(names)} curve features; "
                               f"retrain")


def _check_state_lengths(model, where: str) -> None:
    """Refuse per-column statistics in config.json whose length is not the count of the columns they describe."""
    from naapgnn.graph.encoding import GRAPH_ATTRS, NODE_FEATURES

    columns = {"node": ("node features", len(NODE_FEATURES)), "attr": ("graph attributes", len(GRAPH_ATTRS)),
               "curve": ("curve_feature_names", len(model.curve_feature_names_)),
               "hparam": ("hparam_names", len(model.hparam_names_)),
               "value": ("curve_value_names", len(model.curve_value_names_))}
    for name in _TENSOR_STATE + _ARRAY_STATE + ("hparam_log",):
        what, count = columns[name.split("_")[0]]
        shape = tuple(np.shape(getattr(model, name + "_")))
        if shape != (count,):
            got = f"{shape[0]} values" if len(shape) == 1 else f"shape {shape}"
            raise NaapgnnError(f"{where}: {CONFIG_FILE} gives {name} of {got} for {count} {what}; retrain "
                               f"(or restore {CONFIG_FILE})")


def _check_stack_model(model, where: str) -> None:
    gate, others = model.stack_gate_, model.stack_others_
    for kind in (gate["kind"], gate["budget0_kind"], *(other.kind for other, _ in others)):
        if kind not in STACK_KINDS:
            raise NaapgnnError(f"{where}: unknown curve stack kind {kind!r} (expected one of {', '.join(STACK_KINDS)})")
    for weight in (gate["weight"], *(share for _, share in others)):
        if not 0 < weight <= 1:
            raise NaapgnnError(f"{where}: the curve stack's weight {weight!r} is not in (0, 1]")
    budget0 = (gate["budget0_kind"], model.stack_budget0_model_)
    widths = {"curve": len(model.curve_feature_names_), "values": len(model.curve_value_names_),
              "hparams": len(model.hparam_names_),
              "statistics": len(statistic_columns(model.extension_types_))}
    for kind, stack_model in ((gate["kind"], model.stack_model_), budget0, *((o.kind, o.model) for o, _ in others)):
        expected = 1 + sum(widths[name] for name in KERNEL_INPUTS.get(kind, ()))
        if stack_model is not None and not hasattr(stack_model, "predict"):
            raise NaapgnnError(f"{where}: the {kind} stack file holds a {type(stack_model).__name__}, not a "
                               f"fitted model; retrain")
        got = getattr(stack_model, "n_features_in_", expected)
        if got != expected:
            raise NaapgnnError(f"{where}: the {kind} stack reads {got} columns, the config gives "
                               f"{expected}; retrain")


def _check_forest(model, where: str) -> None:
    """Refuse a forest.joblib that is not the forest config.json describes (another checkpoint's, or no forest)."""
    forest = model.forest_
    if forest is None:
        return
    if model.forest == "per_layer":
        from naapgnn.models.forest import PerLayerForest

        if not isinstance(forest, PerLayerForest):
            raise NaapgnnError(f"{where}: {FOREST_FILE} holds a {type(forest).__name__}, not the per-layer forest "
                               f"the config gives; retrain")
    else:
        from sklearn.ensemble import RandomForestRegressor

        expected = len(statistic_columns(model.extension_types_)) + len(model.hparam_names_)
        if not isinstance(forest, RandomForestRegressor):
            raise NaapgnnError(f"{where}: {FOREST_FILE} holds a {type(forest).__name__}, not the random forest "
                               f"the config gives; retrain")
        if getattr(forest, "n_features_in_", expected) != expected:
            raise NaapgnnError(f"{where}: the forest reads {forest.n_features_in_} columns, the config gives "
                               f"{expected}; retrain")
    oob = getattr(forest, "oob_prediction_", None)
    if oob is None or len(oob) != len(model.oof_prediction_):
        got = "none" if oob is None else len(oob)
        raise NaapgnnError(f"{where}: the forest holds out-of-bag predictions for {got} training records, the "
                           f"config gives {len(model.oof_prediction_)}; retrain")


def _read_config(path: Path) -> dict:
    if path.is_file():
        raise NaapgnnError(f"checkpoint {path}: a file, not a checkpoint folder (give the folder naapgnn train wrote)")
    if not path.is_dir():
        raise NaapgnnError(f"checkpoint {path}: no such folder")
    config_path = path / CONFIG_FILE
    try:
        config = json.loads(config_path.read_text())
    except FileNotFoundError:
        raise NaapgnnError(f"checkpoint {path}: not a GNNPredictor checkpoint (no {CONFIG_FILE})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NaapgnnError(f"checkpoint {path}: cannot read {CONFIG_FILE}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise NaapgnnError(f"checkpoint {config_path}: invalid JSON at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(config, dict):
        raise NaapgnnError(f"checkpoint {config_path}: expected a JSON object")
    return config


def _load_members(model, path: Path, where: str) -> list:
    import torch

    try:
        with warnings.catch_warnings():  # torch's own (a pickle protocol it did not write): the error below says it
            warnings.simplefilter("ignore")
            blob = torch.load(path / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise NaapgnnError(f"{where}: missing {WEIGHTS_FILE}") from None
    except Exception as exc:  # torch raises many types for a damaged file
        raise NaapgnnError(f"{where}: cannot read {WEIGHTS_FILE} ({type(exc).__name__})") from None
    states = blob.get("members") if isinstance(blob, dict) else None
    if not isinstance(states, list):
        keys = f" with keys {', '.join(map(repr, list(blob)[:3]))}" if isinstance(blob, dict) and blob else ""
        raise NaapgnnError(f"{where}: {WEIGHTS_FILE} holds no 'members' list of weights (a {type(blob).__name__}"
                           f"{keys}), so not a GNNPredictor's weights; retrain")
    if not states:
        raise NaapgnnError(f"{where}: {WEIGHTS_FILE} holds no ensemble member")
    _check_member_count(model, len(states), where)
    members = []
    for i, state in enumerate(states):
        member = model._new_model()
        try:
            member.load_state_dict(state)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()
            detail = first[1].strip() if len(first) > 1 else first[0]
            raise NaapgnnError(f"{where}: weights of member {i} do not fit the model of config.json ({detail})") from None
        members.append(member.eval())
    return members


def _check_member_count(model, members: int, where: str) -> None:
    """Refuse a config.json whose count of ensemble members (n_ensemble, best_epochs) is not ``members``, the
    weights.pt's, or whose training records' counts (training_ids, training_configurations, oof_prediction)
    differ."""
    given = {f"n_ensemble {int(model.n_ensemble)}": int(model.n_ensemble),
             f"best_epochs of {len(model.best_epochs_)} members": len(model.best_epochs_) or members}
    for what, count in given.items():
        if count != members:
            raise NaapgnnError(f"{where}: {CONFIG_FILE} gives {what}, but {WEIGHTS_FILE} holds {members} ensemble "
                               f"members; retrain (or restore {CONFIG_FILE})")
    held = len(model.oof_prediction_)
    for key in ("training_ids", "training_configurations"):
        given = getattr(model, f"{key}_", None)
        if given is not None and (not isinstance(given, list) or len(given) != held):
            what = f"{len(given)} {key}" if isinstance(given, list) else f"{key} of type {type(given).__name__}"
            raise NaapgnnError(f"{where}: {CONFIG_FILE} gives {what} but held-out predictions (oof_prediction) of "
                               f"{held} training records; retrain (or restore {CONFIG_FILE})")


def _load_forest(path: Path, where: str):
    return _load_joblib(path / FOREST_FILE, where, "blend_forest > 0")


def _load_stack(path: Path, where: str, kind: str):
    return _load_joblib(path / STACK_FILE, where, f"the stack is {kind}")


def _load_other(path: Path, where: str, i: int, kind: str):
    """The fitted model of the ``i``-th further kind of a mean of curve stacks (None for a ridge's)."""
    if kind not in KERNEL_KINDS:
        return None
    return _load_joblib(path / STACK_OTHER_FILE.format(i), where, f"the stack's mean holds kind {kind}")


def _load_joblib(file: Path, where: str, because: str):
    import joblib

    try:
        return joblib.load(file)
    except FileNotFoundError:
        raise NaapgnnError(f"{where}: {because} but {file.name} is missing") from None
    except Exception as exc:  # unpickling errors vary
        raise NaapgnnError(f"{where}: cannot read {file.name} ({type(exc).__name__}: {exc})") from None
