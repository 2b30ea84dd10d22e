"""The 440 NAAP-440 graphs as a cached PyTorch Geometric ``InMemoryDataset``."""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch_geometric.data import InMemoryDataset

from naapgnn.graph.encoding import ENCODING_VERSION, encode

CURVE_CHANNELS = ("Accuracy", "LossMean", "LossMedian")


def default_root() -> Path:
    """The ``graphs`` folder of naapgnn's user cache (``$NAAPGNN_CACHE`` honoured)."""
    from naapgnn.data.download import cache_dir

    return cache_dir() / "graphs"


class NAAP440Graphs(InMemoryDataset):
    """The NAAP-440 architectures as graphs, with their curves and final accuracy.

    Each item is :func:`naapgnn.graph.encoding.encode` of one scheme plus
    ``y`` (MaxAccuracy, ``[1]``), ``curve`` (``[1, 90, 3]``: test accuracy, loss
    mean, loss median per epoch), ``model_id`` and ``is_test``.

    The processed file name carries a digest of the source files and of the
    encoding version, so editing the data (or the encoder) rebuilds the cache
    instead of serving stale graphs. A changed ``pre_transform`` or ``pre_filter``
    gets PyG's warning; ``force_reload=True`` then builds the cache anew with it.

    Parameters
    ----------
    root : str or Path, optional
        Cache folder (a ``processed/`` folder is made inside). Default:
        :func:`default_root`.
    data : str or Path, optional
        The NAAP-440 folder, resolved as :func:`naapgnn.data.naap440.load_naap440` does.
    transform : callable, optional
        Applied to each item when it is read (PyG's ``transform``).
    pre_transform : callable, optional
        Applied to each item once, before the cache is saved.
    pre_filter : callable, optional
        Keeps an item in the cache when it returns True.
    log : bool
        Print "Processing..." while the cache is built.
    force_reload : bool
        Build the cache again even where it exists.
    """

    def __init__(self, root=None, data=None, transform=None, pre_transform=None, pre_filter=None, log: bool = True,
                 force_reload: bool = False):
        from naapgnn.data.download import dataset_dir

        self.data_dir = dataset_dir(data)
        self._digest = _digest(self.data_dir)
        super().__init__(str(root or default_root()), transform, pre_transform, pre_filter, log=log,
                         force_reload=force_reload)
        self.load(self.processed_paths[0])

    @property
    def raw_file_names(self) -> list[str]:
        return []

    @property
    def processed_file_names(self) -> list[str]:
        return [f"naap440_{self._digest}.pt"]

    def download(self) -> None:  # data come from naapgnn.data.naap440, not from raw/
        pass

    def process(self) -> None:
        from naapgnn.data.naap440 import load_naap440

        df = load_naap440(self.data_dir)
        curve_cols = [f"e{e}{c}" for e in range(1, 91) for c in CURVE_CHANNELS]
        curves = torch.tensor(df[curve_cols].to_numpy(dtype="float32")).reshape(len(df), 90, 3)
        items = []
        for i, row in enumerate(df.itertuples(index=False)):
            data = encode(row.scheme)
            data.y = torch.tensor([row.MaxAccuracy], dtype=torch.float32)
            data.curve = curves[i : i + 1]
            data.model_id = torch.tensor([row.ModelId])
            data.is_test = torch.tensor([bool(row.IsTest)])
            if self.pre_filter is not None and not self.pre_filter(data):
                continue
            if self.pre_transform is not None:
                data = self.pre_transform(data)
            items.append(data)
        self.save(items, self.processed_paths[0])


def _digest(folder: Path) -> str:
    h = hashlib.sha256(f"encoding-v{ENCODING_VERSION}".encode())
    for name in ("naap440.csv", "naap440v2.csv", "generated_schemes.json"):
        path = folder / name
        if path.exists():
            h.update(name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]
