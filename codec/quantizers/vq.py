"""Plain vector quantization with a single codebook."""

from __future__ import annotations


from .base import Quantizer
from .codebook import Codebook
from .complexity import OpCount, argmin, distance


class VectorQuantizer(Quantizer):
    """One codebook of K entries; bits = log2(K).

    Parameters
    ----------
    dim : int
        Vector dimension D.
    codebook_size : int
        Number of codewords K.
    **kwargs
        ``gradient`` and ``commitment``, see ``Quantizer``.
    """

    method = "vq"

    def __init__(self, dim: int, codebook_size: int, **kwargs):
        super().__init__(dim, **kwargs)
        self.codebooks.append(Codebook(codebook_size, dim))

    def complexity(self) -> OpCount:
        k = self.codebooks[0].size
        return distance(k, self.dim) + argmin(k)
