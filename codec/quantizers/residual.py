"""Residual vector quantization (multi-stage VQ)."""

from __future__ import annotations

import torch
from torch import Tensor

from ..coding.search import DEFAULT_BEAM
from .base import Quantizer
from .codebook import Codebook
from .complexity import OpCount, argmin, distance, smallest, vector_update
from .kmeans import centroids


class ResidualVQ(Quantizer):
    """M stages; stage m quantizes what stages 1..m-1 left. Output is the sum.

    Parameters
    ----------
    dim : int
        Vector dimension D.
    num_codebooks : int
        Number of stages M.
    codebook_size : int
        Entries per stage K; bits = M * log2(K).
    beam : int
        1 for greedy stage-by-stage search; more keeps that many partial
        paths through the stages.
    **kwargs
        ``gradient`` and ``commitment``, see ``Quantizer``.
    """

    method = "rvq"

    def __init__(self, dim: int, num_codebooks: int, codebook_size: int, *, beam: int = DEFAULT_BEAM["rvq"], **kwargs):
        super().__init__(dim, **kwargs)
        if beam < 1:
            raise ValueError(f"beam must be >= 1, got {beam}")
        self.beam = beam
        for _ in range(num_codebooks):
            self.codebooks.append(Codebook(codebook_size, dim))

    @property
    def search_width(self) -> int:
        return self.beam * self.codebook_sizes[0]

    @torch.no_grad()
    def lloyd_step(self, x: Tensor) -> float:
        """One LBG iteration, stage by stage: each stage's entries move to the
        centroids of the greedy residuals they are chosen for.

        The joint least-squares refit of the base class is optimal for fixed
        codes, but greedy re-encoding no longer finds those codes, and on LSFs
        it made the error several times worse; the sequential update keeps
        training and encoding consistent.

        Returns
        -------
        float
            Mean squared error per vector before the update.
        """
        x2d = self._flatten_input(x).detach()
        mse = float((x2d - self._decode(self.encode(x2d))).pow(2).sum(-1).mean())
        residual = x2d.clone()
        for cb in self.codebooks:
            cb.entries.copy_(centroids(residual, cb.nearest(residual), cb.entries))
            residual -= cb.lookup(cb.nearest(residual))
        return mse

    def complexity(self) -> OpCount:
        k, d, b = self.codebook_sizes[0], self.dim, self.beam
        total = OpCount()
        beams = 1
        for _ in range(self.num_codebooks):
            total += beams * (distance(k, d) + vector_update(d))
            total += argmin(k) if b == 1 else smallest(beams * k, b)
            beams = b
        return total

    def extra_repr(self) -> str:
        return super().extra_repr() + f", beam={self.beam}"
