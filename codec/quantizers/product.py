"""Product vector quantization: each subvector has its own codebook."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ..coding.search import even_split
from .base import Quantizer
from .codebook import Codebook
from .complexity import OpCount, argmin, distance
from .kmeans import centroids, kmeans


class ProductVQ(Quantizer):
    """Split the vector into M contiguous subvectors and quantize each separately.

    Parameters
    ----------
    dim : int
        Vector dimension D.
    num_codebooks : int
        Number of subvectors M.
    codebook_size : int
        Entries per subvector codebook K; bits = M * log2(K).
    split : sequence of int, optional
        Subvector sizes (sum D). Default: as equal as possible.
    **kwargs
        ``gradient`` and ``commitment``, see ``Quantizer``.
    """

    method = "pvq"

    def __init__(self, dim: int, num_codebooks: int, codebook_size: int, *,
                 split: Sequence[int] | None = None, **kwargs):
        super().__init__(dim, **kwargs)
        split = list(split) if split is not None else even_split(dim, num_codebooks)
        if len(split) != num_codebooks or sum(split) != dim or min(split) < 1:
            raise ValueError(f"split {split} must have {num_codebooks} positive sizes summing to {dim}")
        self.split = split
        for size in split:
            self.codebooks.append(Codebook(codebook_size, size))

    def _decode(self, codes: Tensor) -> Tensor:
        return torch.cat([cb.lookup(codes[:, m]) for m, cb in enumerate(self.codebooks)], -1)

    @torch.no_grad()
    def kmeans_init(self, x: Tensor, *, iters: int = 20) -> None:
        for cb, part in zip(self.codebooks, self._flatten_input(x).split(self.split, -1)):
            cb.entries.copy_(kmeans(part, cb.size, iters=iters))

    @torch.no_grad()
    def lloyd_step(self, x: Tensor) -> float:
        """One LBG iteration per subvector: assign, then move entries to their centroids."""
        x2d = self._flatten_input(x).detach()
        codes = self.encode(x2d)
        mse = float((x2d - self._decode(codes)).pow(2).sum(-1).mean())
        for m, (cb, part) in enumerate(zip(self.codebooks, x2d.split(self.split, -1))):
            cb.entries.copy_(centroids(part, codes[:, m], cb.entries))
        return mse

    def complexity(self) -> OpCount:
        total = OpCount()
        for cb in self.codebooks:
            total += distance(cb.size, cb.dim) + argmin(cb.size) + OpCount(move=cb.dim)
        return total

    def extra_repr(self) -> str:
        return super().extra_repr() + f", split={self.split}"
