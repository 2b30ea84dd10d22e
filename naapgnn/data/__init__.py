"""Data in: NAAP-440 files, benchmark records (JSON Lines), training logs, CIFAR-10."""
