"""Architecture search replayed on a benchmark: strategies, early stopping, reports."""
