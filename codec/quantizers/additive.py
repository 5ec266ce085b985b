"""Additive vector quantization: one codeword from every codebook, in any order."""

from __future__ import annotations


from ..coding.search import DEFAULT_BEAM
from .base import Quantizer
from .codebook import Codebook
from .complexity import OpCount, distance, smallest, vector_update


class AdditiveVQ(Quantizer):
    """The output is the sum of one codeword from each of M full-dimension codebooks.

    Unlike residual VQ the codebooks have no order: the encoder searches the
    union of the codebooks not yet used, keeping ``beam`` partial tuples, and
    merges tuples reached in different orders. With a wide enough beam the
    search is exhaustive.

    Parameters
    ----------
    dim : int
        Vector dimension D.
    num_codebooks : int
        Number of codebooks M.
    codebook_size : int
        Entries per codebook K; bits = M * log2(K).
    beam : int
        Partial tuples kept per vector after each step.
    **kwargs
        ``gradient`` and ``commitment``, see ``Quantizer``.
    """

    method = "avq"

    def __init__(self, dim: int, num_codebooks: int, codebook_size: int, *, beam: int = DEFAULT_BEAM["avq"], **kwargs):
        super().__init__(dim, **kwargs)
        if beam < 1:
            raise ValueError(f"beam must be >= 1, got {beam}")
        self.beam = beam
        for _ in range(num_codebooks):
            self.codebooks.append(Codebook(codebook_size, dim))

    @property
    def search_width(self) -> int:
        return self.beam * self.num_codebooks * self.codebook_sizes[0]

    def complexity(self) -> OpCount:
        """Per step: each beam updates its residual, measures the codewords of the
        codebooks it has not used, and keeps its best ``beam``; the beam^2
        candidates are then ranked by their error (one distance each) and the
        best ``beam`` kept."""
        m_books, k, d, b = self.num_codebooks, self.codebook_sizes[0], self.dim, self.beam
        total = distance(m_books * k, d) + smallest(m_books * k, b)
        beams = min(b, m_books * k)
        for step in range(1, m_books):
            remaining = (m_books - step) * k
            per_beam = vector_update(d) + distance(remaining, d) + smallest(remaining, b)
            candidates = beams * min(b, remaining)
            total += beams * per_beam + distance(candidates, d) + smallest(candidates, b)
            beams = min(b, candidates)
        return total

    def extra_repr(self) -> str:
        return super().extra_repr() + f", beam={self.beam}"
