"""Architecture search replayed on a benchmark whose every final accuracy is known (NAAP-440, the deep
ResNets, NAS-Bench-201, any benchmark file).

The modules, in the order data flows through them:

* :mod:`~naapgnn.search.problem` - :class:`SearchProblem` (final accuracies,
  ranks, the epochs of a full training) and :func:`make_predictor` (the
  registry's forest or GNN, in the simulations' settings).
* :mod:`~naapgnn.search.strategies` - random search, regularized evolution
  over scheme mutations, predictor-guided search.
* :mod:`~naapgnn.search.neighbours` - which architectures are one mutation
  apart (NAAP-440 schemes, NAS-Bench-201 cells, or a registered finder).
* :mod:`~naapgnn.search.compare` - the strategies repeated over many seeds.
* :mod:`~naapgnn.search.early_stop` - early stopping from partial curves;
  :mod:`~naapgnn.search.curve_forest` - its forest for curves without
  NAAP-440's cyclic schedule.
* :mod:`~naapgnn.search.space_ranking` - a larger space predicted with zero
  training, in forked worker processes.
* :mod:`~naapgnn.search.trials` - resuming a study (:class:`naapgnn.io.ResumeLog`).
* :mod:`~naapgnn.search.summary` - confidence intervals and summary frames;
  :mod:`~naapgnn.search.tables` - Markdown and printed text;
  :mod:`~naapgnn.search.figures` - plots.
* :mod:`~naapgnn.search.settings` and :mod:`~naapgnn.search.runs` - one
  ``naapgnn search`` run from explicit settings.
"""
