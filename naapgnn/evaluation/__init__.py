"""Metrics, split protocols, the evaluation engine and its report."""
