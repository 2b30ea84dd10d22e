"""Architectures: the format, the search space, the model builder, profiling."""
