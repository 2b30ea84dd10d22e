"""Tabular features of architectures and training curves."""
