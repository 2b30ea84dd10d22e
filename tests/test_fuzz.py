"""Fuzzing the architecture parser and the JSON Lines reader with seeded random mutations of valid inputs.

Every mutated input either fails with a :class:`NaapgnnError` or is read back exactly: a numeric value the
mutation planted is found unchanged in the parsed result (never clipped, rounded or cast silently), but for
a non-finite curve value: interpolated between its finite neighbours when a finite value follows it,
otherwise read as a diverged run's (its channel's worst finite value).
"""
from __future__ import annotations

import copy
import json
import math
import random
from pathlib import Path

import pytest

from naapgnn.arch.format import load_architecture, parse_architecture
from naapgnn.data.records import load_jsonl
from naapgnn.errors import NaapgnnError

REPO = Path(__file__).resolve().parents[1]
GRAPHS = sorted((REPO / "graphs").glob("*.json"))
N_ARCH = 2000  # enough draws that more than 50 are accepted and read back (sizes beyond 2**31 - 1 are refused)
N_RECORDS = 1500
N_TEXT = 500

NUMBERS = [0, 1, 2, 3, -1, -3, 3.0, 2.5, 0.5, 1e-320, 1e308, -1e308, 10 ** 20, 2 ** 53 + 1,
           math.nan, math.inf, -math.inf, 0.0, -0.0, 100, 60.0, 1 - 1e-16]
OTHERS = [True, False, None, "3", "", [], {}, [1, 2], {"a": 1}]
ARCH_KEYS = {"kernel_size", "width", "stride", "out_channels", "padding", "groups", "p", "out_features",
             "num_classes", "input_shape", "residual", "activation", "batchnorm", "op", "inputs"}


def _containers(obj, path=()):
    """Every (path, container) of a decoded JSON tree, the root first."""
    if isinstance(obj, (dict, list)):
        yield path, obj
        items = obj.items() if isinstance(obj, dict) else enumerate(obj)
        for key, value in items:
            yield from _containers(value, path + (key,))


def mutate(obj, rng: random.Random):
    """A mutated deep copy and, when a number was planted, ``(path, value)``."""
    obj = copy.deepcopy(obj)
    containers = [c for c in _containers(obj) if len(c[1])]
    path, node = rng.choice(containers)
    key = rng.choice(list(node) if isinstance(node, dict) else range(len(node)))
    action = rng.random()
    if action < 0.15:
        del node[key]
        return obj, None
    if action < 0.25 and isinstance(node, dict):
        node[rng.choice(sorted(ARCH_KEYS | {"id", "target", "curve", "hparams", "split", "arch"}))] = node[key]
        return obj, None
    if action < 0.3 and isinstance(node, list):
        node.insert(key, copy.deepcopy(node[key]))
        return obj, None
    value = rng.choice(NUMBERS) if action < 0.8 else rng.choice(OTHERS)
    node[key] = value
    planted = isinstance(value, (int, float)) and not isinstance(value, bool)
    return obj, (path + (key,), value) if planted else None


def _same(found, value) -> bool:
    return type(found) is not bool and found == value


def arch_holds(arch, raw, path, value) -> bool:
    """Whether the parsed ``arch`` holds ``value`` where the raw input ``raw`` had it at ``path``."""
    if isinstance(raw, list):  # scheme: block i, field
        i, name = path[0], path[1] if len(path) > 1 else None
        field = {"width": "out_channels"}.get(name, name)
        return _same(arch.layers[i].attrs.get(field), value)
    if path[0] == "num_classes":
        return _same(arch.num_classes, value)
    if path[0] == "input_shape":
        return _same(arch.input_shape[path[1]], value)
    if path[0] == "name":
        return True
    layer = arch.layers[path[1]]
    if len(path) >= 3 and path[2] == "inputs":
        return value in layer.inputs or (value == -1 and layer.inputs == (-1,))
    return len(path) == 3 and _same(layer.attrs.get(path[2]), value)


def _valid_archs():
    archs = [json.loads(p.read_text()) for p in GRAPHS]
    assert len(archs) >= 6  # naap440 scheme, resnet_like, vgg_like, resnet20, vgg11, mobilenetv2
    return archs


def test_parser_fuzz():
    rng = random.Random(20260529)
    archs = _valid_archs()
    outcomes = {"rejected": 0, "accepted": 0, "checked": 0}
    for _ in range(N_ARCH):
        raw, planted = mutate(rng.choice(archs), rng)
        try:
            arch = parse_architecture(raw)
        except NaapgnnError as exc:
            assert "\n" not in str(exc)
            outcomes["rejected"] += 1
            continue
        outcomes["accepted"] += 1
        if planted:
            path, value = planted
            assert arch_holds(arch, raw, path, value), f"{path} = {value!r} read back wrongly"
            outcomes["checked"] += 1
    assert min(outcomes.values()) > 50, outcomes  # the mutations exercise both outcomes


def _records():
    archs = _valid_archs()
    return [{"id": f"net-{i}", "arch": arch, "curve": {"accuracy": [0.3, 0.4, 0.45], "loss": [2.0, 1.5, 1.4],
                                                       "lr": [0.1, 0.1, 0.01]},
             "hparams": {"lr": 0.1, "batch": 128}, "target": 0.61, "split": "train"}
            for i, arch in enumerate(archs)]


def record_holds(record, raw: dict, path, value) -> bool:
    """Whether ``record`` holds ``value`` where its raw JSON ``raw`` had it at ``path``."""
    head = path[0]
    if head == "target":
        return _same(record.target, value)
    if head == "curve" and len(path) == 3:
        if not math.isfinite(value) and path[1] != "lr":
            value = _non_finite_read_as(raw["curve"][path[1]], path[2], "loss" in path[1])
        return _same(record.curve[path[1]][path[2]], value)
    if head == "hparams" and len(path) == 2:
        return _same(record.hparams[path[1]], value)
    if head == "id":
        return record.id == str(value)
    return head == "arch" and arch_holds(record.arch, raw["arch"], path[1:], value)


def _non_finite_read_as(values: list, epoch: int, is_loss: bool) -> float:
    """What the reader makes of the non-finite ``values[epoch]`` of a one-record file."""
    finite = [(e, v) for e, v in enumerate(values) if v is not None and math.isfinite(v)]
    before = [(e, v) for e, v in finite if e < epoch]
    after = [(e, v) for e, v in finite if e > epoch]
    if not after:  # a diverged run: the channel's worst finite value
        return max(v for _, v in finite) if is_loss else min(v for _, v in finite)
    return before[-1][1] if before else after[0][1]  # the last logged value, else the first one


def test_jsonl_reader_fuzz(tmp_path):
    rng = random.Random(20260530)
    records = _records()
    path = tmp_path / "b.jsonl"
    outcomes = {"rejected": 0, "accepted": 0, "checked": 0}
    for _ in range(N_RECORDS):
        raw, planted = mutate(rng.choice(records), rng)
        path.write_text(json.dumps(raw) + "\n")
        try:
            (record,) = load_jsonl(path)
        except NaapgnnError as exc:
            assert "\n" not in str(exc) and str(exc).startswith(f"{path} line 1: ")
            outcomes["rejected"] += 1
            continue
        outcomes["accepted"] += 1
        if planted:
            assert record_holds(record, raw, *planted), f"{planted[0]} = {planted[1]!r} read back wrongly"
            outcomes["checked"] += 1
    assert min(outcomes.values()) > 50, outcomes


def _text_mutation(text: str, rng: random.Random) -> bytes:
    data = text.encode()
    action = rng.random()
    if action < 0.3:
        return data[: rng.randrange(len(data))]
    pos = rng.randrange(len(data) + 1)
    if action < 0.6:
        return data[:pos] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 4))) + data[pos:]
    if action < 0.8:
        return data[:pos] + data[pos + rng.randint(1, 8):]
    return data[:1] + b'"id": 7, "layers": 3, ' + data[1:]  # duplicated keys: the last one counts


@pytest.mark.parametrize("target", ["architecture", "jsonl"])
def test_text_fuzz(target, tmp_path):
    rng = random.Random(7 if target == "architecture" else 8)
    texts = ([p.read_text() for p in GRAPHS] if target == "architecture"
             else [json.dumps(r) for r in _records()])
    path = tmp_path / ("a.json" if target == "architecture" else "b.jsonl")
    rejected = 0
    for _ in range(N_TEXT):
        path.write_bytes(_text_mutation(rng.choice(texts), rng))
        try:
            load_architecture(path) if target == "architecture" else load_jsonl(path)
        except NaapgnnError as exc:
            assert "\n" not in str(exc)
            rejected += 1
    assert rejected > N_TEXT // 4
