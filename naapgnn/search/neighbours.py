"""Which architectures of a benchmark are one mutation apart: what regularized evolution needs.

A *neighbour finder* takes the records of a search problem and returns their
neighbour table (for each record, lists of record indices, one list per
mutation kind that has any; see
:func:`naapgnn.search.strategies.neighbour_table`), or None when it does not
know these architectures. :data:`NEIGHBOUR_FINDERS` are tried in order;
:func:`register_neighbours` adds one for another benchmark.

* :func:`scheme_neighbours` - NAAP-440 schemes: one block's kernel, width,
  stride or residual changed, the last block added or removed.
* :func:`nb201_neighbours` - NAS-Bench-201 networks: one of the 6 cell edges
  changed to another of the 5 ops.
"""
from __future__ import annotations

from typing import Callable, Sequence

from naapgnn.errors import NaapgnnError

NeighbourFinder = Callable[[Sequence], "list[list[list[int]]] | None"]


def scheme_neighbours(records: Sequence) -> list | None:
    """The mutation table of NAAP-440 schemes (None unless every record is a scheme)."""
    from naapgnn.search.strategies import neighbour_table

    schemes = [r.arch.scheme for r in records]
    if any(s is None for s in schemes):
        return None
    return neighbour_table(schemes)


def nb201_neighbours(records: Sequence) -> list | None:
    """The one-edge neighbours of NAS-Bench-201 networks (None unless every record is one)."""
    from naapgnn.data.nb201_cells import dataset_of, record_neighbours

    if not records or any(r.arch.scheme is not None or dataset_of(r.arch) is None for r in records):
        return None
    try:
        return record_neighbours(records)
    except NaapgnnError:
        return None


NEIGHBOUR_FINDERS: list[NeighbourFinder] = [scheme_neighbours, nb201_neighbours]


def register_neighbours(finder: NeighbourFinder) -> NeighbourFinder:
    """Add ``finder`` to :data:`NEIGHBOUR_FINDERS` (tried after those already there); returns it."""
    if finder not in NEIGHBOUR_FINDERS:
        NEIGHBOUR_FINDERS.append(finder)
    return finder


def neighbours_of(problem) -> list[list[list[int]]]:
    """The neighbour table of a :class:`naapgnn.search.problem.SearchProblem`: its ``neighbours``, else
    :func:`find_neighbours` of its records (kept in ``problem.neighbours``)."""
    if problem.neighbours is None:
        problem.neighbours = find_neighbours(problem.records)
    return problem.neighbours


NO_NEIGHBOURS = "neither NAAP-440 schemes nor NAS-Bench-201 networks"
"""Why no finder knows a benchmark's records (the refusal and the note that leaves evolution out say it)."""


def has_neighbours(problem) -> bool:
    """Whether evolution can run on ``problem``: it has a neighbour table, or a finder knows its records (the
    table found is kept in ``problem.neighbours``)."""
    if problem.neighbours is None:
        problem.neighbours = _first_table(problem.records)
    return problem.neighbours is not None


def find_neighbours(records: Sequence) -> list[list[list[int]]]:
    """The neighbour table of the first finder that knows ``records``.

    Raises
    ------
    NaapgnnError
        When none does (evolution cannot run on such a benchmark).
    """
    table = _first_table(records)
    if table is None:
        raise NaapgnnError(f"evolution needs to know which architectures are one mutation apart: these records are "
                           f"{NO_NEIGHBOURS} (register a neighbour finder with "
                           "naapgnn.search.neighbours.register_neighbours, or pass SearchProblem(neighbours=...))")
    return table


def _first_table(records: Sequence) -> list[list[list[int]]] | None:
    """The table of the first finder that knows ``records``, None when none does."""
    for finder in NEIGHBOUR_FINDERS:
        table = finder(records)
        if table is not None:
            if len(table) != len(records):
                raise NaapgnnError(f"neighbour finder {getattr(finder, '__name__', finder)!r} returned "
                                   f"{len(table)} rows for {len(records)} records")
            return table
    return None
