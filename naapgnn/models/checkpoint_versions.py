"""The versions a :class:`naapgnn.models.gnn.GNNPredictor` checkpoint records, and the check that its config fits
this code (:mod:`naapgnn.models.checkpoint` reads and writes the folder)."""
from __future__ import annotations

from naapgnn.errors import NaapgnnError

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_VERSION", "check_versions"]

CHECKPOINT_FORMAT = "naapgnn-gnn-predictor"
CHECKPOINT_VERSION = 28  # 2: the MLPs are torch_geometric.nn.MLP; 3: training domain and std calibration;
# 4: the training recipe's learning-rate schedule; 5: the curve gate's choice (stack_kind) and its nonlinear stack;
# 6: the stack reads the forest-blended graph prediction and raw curve values; no `cycle` parameter;
# 7: the stack reads the networks' statistics, and at budget 0 too (kind "architecture");
# 8: a curve stack mixed with the budget-0 choice (stack_weight, stack_budget0_kind, stack_budget0.joblib);
# 9: encoding version 3 (the repeat-count column) and the fold_repeats parameter;
# 10: encoding version 4 (path statistics among the networks' statistics) and the `forest` parameter;
# 11: the nonlinear stack reads the curve at a few log-spaced epochs, not every epoch's value and differences;
# the share of the forest blended (blend_share, chosen with choose_blend); 12: the nonlinear stack reads the curve
# features only (no sampled values); 13: a channel whose name holds "loss" anywhere (train_loss, val_loss) is
# a loss in the curve features (its best is the minimum), not only one named loss*; 14: so is an error rate,
# a cross-entropy, a perplexity, ... (data.channels.is_loss_channel); 15: each channel's `flat` curve feature;
# 16: curve features read an accuracy or error rate logged in percent as fractions (data.channels.fraction_scale);
# the training records' worst value per channel (diverged_values), what a diverged run reads at prediction;
# 17: encoding version 5 (the mul type) and the extension types the model reads (extension_types);
# 18: that worst value in fractions (curve_worst): at one epoch, `flat` marks a run reading it;
# 19: the gate's "hparams" kind (a kernel on the hyperparameters mixed with the graph prediction);
# 20: that kernel a nu-SVR, and the gate's "svr" kind (a nu-SVR on the graph prediction, curve and hyperparameters)
# 21: the training records' held-out graph predictions (oof_prediction), which with_budget reads;
# 22: the gate's "robust" kind (a nu-SVR on the graph prediction, hyperparameters and statistics)
# 23: every nu-SVR share of the target mixed in by the gate (svr, hparams, robust) is admitted by absolute error
# against the same share of the median, not squared error against the mean (gate_rules.target_mixtures)
# 24: the gate's "svr_statistics" kind (the curve's nu-SVR reading the networks' statistics too)
# 25: the gate's "svr_values" kind (svr_statistics reading also Baker's per-epoch values and differences beyond the
# curve features: curve_value_names, value_mean, value_std)
# 26: the gate's "svr_no_graph" kind (svr_values without the graph prediction); cached evaluate fits refitted
# 27: where configurations repeat, every held-out prediction of a fit (members, forest, gate folds) holds a
# configuration's records out together; cached evaluate fits refitted
# 28: at a budget the gate may keep the mean of the curve mixtures within one standard error (stack_others,
# stack_other_N.joblib); cached evaluate fits refitted


def check_versions(config: dict, where: str) -> None:
    """One line, naming ``where``, when a checkpoint's config is of another format, format version or graph encoding
    than this code reads."""
    from naapgnn import __version__
    from naapgnn.graph.encoding import ENCODING_VERSION, GRAPH_ATTRS, NODE_FEATURES

    saved = config.get("naapgnn_version", "?")
    if config.get("format") != CHECKPOINT_FORMAT:
        raise NaapgnnError(f"{where}: not a GNNPredictor checkpoint (format {config.get('format')!r})")
    if config.get("format_version") != CHECKPOINT_VERSION:
        raise NaapgnnError(f"{where}: checkpoint format version {config.get('format_version')!r} "
                           f"(written by naapgnn {saved}); this naapgnn {__version__} reads version "
                           f"{CHECKPOINT_VERSION}; retrain with naapgnn train")
    # a checkpoint of another encoding is refused: before version 5 (the mul type) its config lists other node
    # features and its state has no extension_types
    if config.get("node_features") != list(NODE_FEATURES) or config.get("graph_attrs") != list(GRAPH_ATTRS) \
            or config.get("encoding_version") != ENCODING_VERSION and not _square_only(config):
        raise NaapgnnError(f"{where}: trained on other graph features (naapgnn {saved}, encoding "
                           f"v{config.get('encoding_version')}) than this naapgnn {__version__} computes "
                           f"(encoding v{ENCODING_VERSION}); retrain with naapgnn train")


def _square_only(config: dict) -> bool:
    """Whether a checkpoint of encoding 5 trained on square inputs alone, where encoding 6 computes the same
    features (it reads a non-square map's size otherwise)."""
    from naapgnn.graph.encoding import SQUARE_COMPATIBLE

    shapes = config.get("state", {}).get("domain", {}).get("input_shapes")
    return (config.get("encoding_version") == SQUARE_COMPATIBLE and bool(shapes)
            and all(len(s) == 3 and s[1] == s[2] for s in shapes))
