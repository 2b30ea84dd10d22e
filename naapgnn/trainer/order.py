"""The training-set order of every epoch, as the original DataLoader drew it."""
from __future__ import annotations


def _draw(generator) -> int:
    import torch

    return int(torch.empty((), dtype=torch.int64).random_(generator=generator).item())


def epoch_permutation(seed: int, epoch: int, n: int):
    """Training-set order of 0-based ``epoch`` (CPU int64 tensor of length ``n``).

    The original re-seeded the global generator, then each epoch iterated a
    shuffled DataLoader (one draw for the loader's base seed, one for the
    sampler's seed, then ``randperm`` from a generator with that seed) and an
    unshuffled test DataLoader (one draw). Replaying those draws on a private
    generator gives the same order as that loop, for any epoch, without state.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    sampler_seed = 0
    for e in range(epoch + 1):
        _draw(generator)  # training loader's base seed
        sampler_seed = _draw(generator)
        if e < epoch:
            _draw(generator)  # test loader's base seed
    return torch.randperm(n, generator=torch.Generator().manual_seed(sampler_seed))
