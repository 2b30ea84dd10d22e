"""The graph encoding of an architecture (PyTorch Geometric), its cached dataset and drawings."""
