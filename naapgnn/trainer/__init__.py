"""The companion trainer: regenerate NAAP-440 training logs on CIFAR-10."""
