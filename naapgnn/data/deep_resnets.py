"""The deep ResNets of Baker et al. 2018 on TinyImageNet, as naapgnn records.

684 ResNets (``deep_resnets_tinyimagenet.csv`` of MITAutoML/accelerating_nas)
trained for 140 epochs with Nesterov SGD and a step-decayed learning rate, with
the validation accuracy after every epoch. Each row gives ``num_blocks``,
``num_filters``, ``filter_size``, ``lr``, ``ss`` (the step size of the decay,
in iterations) and ``acc_0`` .. ``acc_140``.

The benchmark publishes only "depth = 6 x num_blocks + 2" with ``num_filters``
filters of size ``filter_size`` in every conv, so the network is read as the
usual CIFAR-style ResNet (:func:`resnet_layers`):

* a stem conv (``num_filters``, ``filter_size``) -> BN -> ReLU on a 3x64x64 image;
* three stages of ``num_blocks`` basic blocks, conv -> BN -> ReLU -> conv -> BN,
  added to the block input and followed by a ReLU; the first block of stages 2
  and 3 has stride 2, and its shortcut is a 1x1 stride-2 conv -> BN (a projection,
  not counted in the depth, as in the original ResNet);
* global average pooling and a linear classifier to 200 classes.

That is 1 + 6 x num_blocks convs on the main path plus the classifier:
6 x num_blocks + 2 weighted layers.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from naapgnn.data.csv_rows import number, read_csv_rows
from naapgnn.data.splits import check_test_fraction, seeded_test_flags
from naapgnn.errors import NaapgnnError

INPUT_SHAPE = (3, 64, 64)
NUM_CLASSES = 200
NUM_EPOCHS = 140
ARCH_COLUMNS = ("num_blocks", "num_filters", "filter_size")
MAX_BLOCKS = 200  # He et al. 2016's ResNet-1202: 6 x 200 + 2 layers
EXPECTED_VALUES = {"base_model": "resnet", "training_dataset": "tinyimagenet"}
"""Columns the file may carry whose every row must hold this value: the template and images read here."""
HPARAM_COLUMNS = ("lr", "ss")
ID_PREFIX = "deep-resnets-"


def resnet_layers(num_blocks: int, num_filters: int, filter_size: int) -> dict:
    """The layer graph of one deep ResNet (see the module docstring for the template)."""
    conv = {"op": "conv", "out_channels": num_filters, "kernel_size": filter_size}
    layers = [dict(conv)]
    for stage in range(3):
        for block in range(num_blocks):
            stride = 2 if stage > 0 and block == 0 else 1
            block_input = len(layers) - 1
            layers.append({**conv, "stride": stride})
            layers.append({**conv, "activation": "none"})
            main = len(layers) - 1
            shortcut = block_input
            if stride > 1:
                layers.append({"op": "conv", "out_channels": num_filters, "kernel_size": 1, "stride": 2,
                               "activation": "none", "inputs": [block_input]})
                shortcut = len(layers) - 1
            layers.append({"op": "add", "inputs": [main, shortcut], "activation": "relu"})
    layers += [{"op": "gap"}, {"op": "linear", "out_features": NUM_CLASSES}]
    return {"input_shape": list(INPUT_SHAPE), "num_classes": NUM_CLASSES, "layers": layers}


def read_deep_resnets(path: str | Path, seed: int = 0, test_fraction: float = 0.2) -> list:
    """Records of the deep-ResNets CSV, in row order, with a seeded train/test split.

    Parameters
    ----------
    path : str or Path
        ``deep_resnets_tinyimagenet.csv``.
    seed : int
        Seed of the split.
    test_fraction : float
        Share of the rows marked ``"test"`` (rounded to the nearest row).

    Returns
    -------
    list of Record
        id ``deep-resnets-<row>`` (0-based row of the CSV), the layer graph of
        :func:`resnet_layers`, ``hparams`` lr and ss, the ``accuracy`` channel of
        epochs 1..140 and target ``acc_140``. Networks that diverged (final
        accuracy near chance) are kept.
    """
    from naapgnn.arch.format import parse_architecture
    from naapgnn.data.records import Record

    check_test_fraction(test_fraction)
    needed = [*ARCH_COLUMNS, *HPARAM_COLUMNS, *(f"acc_{e}" for e in range(1, NUM_EPOCHS + 1))]
    rows = read_csv_rows(Path(path), needed, "the deep-ResNets CSV")
    is_test = seeded_test_flags(len(rows), seed, test_fraction)
    records = []
    for i, (line, row) in enumerate(rows):
        where = f"{path} line {line}"
        for column, expected in EXPECTED_VALUES.items():
            if column in row and row[column] != expected:
                raise NaapgnnError(f"{where}: column {column}: expected {expected!r} (the template read here), "
                                   f"got {row[column]!r}")
        arch_args = [_integer(row, c, where) for c in ARCH_COLUMNS]
        if arch_args[0] > MAX_BLOCKS:
            raise NaapgnnError(f"{where}: column num_blocks: at most {MAX_BLOCKS} blocks per stage (ResNet-1202, "
                               f"the deepest of this template), got {row['num_blocks']!r}")
        if arch_args[2] % 2 == 0:  # "same" padding keeps the residual adds' shapes only for odd kernels
            raise NaapgnnError(f"{where}: column filter_size: expected an odd kernel size, got {row['filter_size']!r}")
        curve = np.array([_accuracy(row, f"acc_{e}", where) for e in range(1, NUM_EPOCHS + 1)])
        records.append(Record(
            id=f"{ID_PREFIX}{i}",
            arch=parse_architecture(resnet_layers(*arch_args), source=where),
            curve={"accuracy": curve},
            hparams={c: _positive(row, c, where) for c in HPARAM_COLUMNS},
            target=float(curve[-1]),
            split="test" if is_test[i] else "train",
        ))
    return records


def _integer(row: dict, column: str, where: str) -> int:
    value = number(row, column, where)
    if value != int(value) or value < 1:
        raise NaapgnnError(f"{where}: column {column}: expected a positive integer, got {row[column]!r}")
    return int(value)


def _positive(row: dict, column: str, where: str) -> float:
    value = number(row, column, where)
    if value <= 0:
        raise NaapgnnError(f"{where}: column {column}: expected a positive number, got {row[column]!r}")
    return value


def _accuracy(row: dict, column: str, where: str) -> float:
    value = number(row, column, where)
    if not 0 <= value <= 1:
        raise NaapgnnError(f"{where}: column {column}: accuracy {value} is outside [0, 1]")
    return value
