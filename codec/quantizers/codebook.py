"""A single codebook: the entries, nearest-neighbour search and usage counting."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..coding import search


def squared_distances(x: Tensor, entries: Tensor, weights: Tensor | None = None) -> Tensor:
    """(Weighted) squared distances (..., K) between vectors (..., D) and codewords (K, D), computed by
    ``codec.coding.search`` (the one implementation encoding uses too); no gradient."""
    shape = x.shape[:-1]
    flat = _numpy(x).reshape(-1, x.shape[-1])
    w = None if weights is None else _numpy(weights).reshape(flat.shape)
    d = search.squared_distances(flat, _numpy(entries).astype(flat.dtype), w)
    return torch.from_numpy(d).to(x.device).reshape(*shape, entries.shape[0])


def _numpy(t: Tensor):
    return t.detach().cpu().numpy()


class Codebook(nn.Module):
    """K codewords of dimension D, with per-entry usage counters.

    Usage is counted as the number of training batches in which each entry was
    chosen at least once, since the last dead-code replacement. The counters are
    registered buffers, so they are saved in ``state_dict`` and follow ``.to()``.

    Parameters
    ----------
    size : int
        Number of codewords K.
    dim : int
        Codeword dimension D.
    """

    def __init__(self, size: int, dim: int):
        super().__init__()
        if size < 1 or dim < 1:
            raise ValueError(f"codebook needs size >= 1 and dim >= 1, got size={size}, dim={dim}")
        # U(-1/K, 1/K), the NSVQ reference initialization; data-driven init is `kmeans_init`.
        self.entries = nn.Parameter(torch.empty(size, dim).uniform_(-1.0 / size, 1.0 / size))
        self.register_buffer("batches_used", torch.zeros(size))
        self.register_buffer("batches_seen", torch.zeros((), dtype=torch.long))

    @property
    def size(self) -> int:
        return self.entries.shape[0]

    @property
    def dim(self) -> int:
        return self.entries.shape[1]

    def nearest(self, x: Tensor, weights: Tensor | None = None) -> Tensor:
        """Index of the nearest codeword for each vector, shape (...,)."""
        flat = _numpy(x).reshape(-1, x.shape[-1])
        w = None if weights is None else _numpy(weights).reshape(flat.shape)
        index = search.nearest(flat, _numpy(self.entries).astype(flat.dtype), w)
        return torch.from_numpy(index).to(x.device).reshape(x.shape[:-1])

    def lookup(self, indices: Tensor) -> Tensor:
        """Codewords for the given indices, shape (..., D)."""
        return self.entries[indices]

    @torch.no_grad()
    def count_usage(self, indices: Tensor) -> None:
        """Record one batch in which ``indices`` were chosen."""
        used = torch.zeros_like(self.batches_used)
        used[indices.reshape(-1)] = 1.0
        self.batches_used += used
        self.batches_seen += 1

    @torch.no_grad()
    def replace_dead(self, *, threshold: float = 0.01, noise: float = 0.01) -> int:
        """Overwrite rarely used entries by perturbed copies of used ones.

        An entry is dead when it was chosen in fewer than ``threshold`` of the
        batches seen since the last call. Each dead entry becomes a copy of a
        live entry (drawn in proportion to use) plus Gaussian noise whose
        standard deviation is ``noise`` times the spread of the live entries.
        Counters are reset afterwards.

        Returns
        -------
        int
            Number of entries replaced.
        """
        seen = int(self.batches_seen)
        if seen == 0:
            return 0
        rate = self.batches_used / seen
        dead = rate < threshold
        n_dead = int(dead.sum())
        if 0 < n_dead < self.size:
            live = (~dead).nonzero().squeeze(1)
            weights = self.batches_used[live]
            picks = live[torch.multinomial(weights, n_dead, replacement=True)]
            spread = self.entries[live].std(0, unbiased=False) if live.numel() > 1 else self.entries.abs().mean(0)
            spread = spread.clamp_min(1e-6)
            jitter = torch.randn_like(self.entries[:n_dead])
            self.entries[dead] = self.entries[picks] + noise * spread * jitter
        else:
            n_dead = 0  # all alive, or all dead (nothing to copy from)
        self.batches_used.zero_()
        self.batches_seen.zero_()
        return n_dead

    def extra_repr(self) -> str:
        return f"size={self.size}, dim={self.dim}"
