"""Interchangeable vector quantizers trained by noise substitution (NSVQ).

>>> from codec.quantizers import build
>>> q = build("avq", dim=16, bits=16)     # 4 codebooks x 16 entries, beam 8
>>> codes = q.encode(x)                   # (N, 16) -> LongTensor (N, 4)
>>> x_hat = q.decode(codes)
"""

from __future__ import annotations

import math

from .additive import AdditiveVQ
from .base import GRADIENTS, Quantizer, QuantizerOutput, noise_substitution
from .codebook import Codebook
from .complexity import OpCount
from .product import ProductVQ
from .residual import ResidualVQ
from .soft_convex import SoftConvexVQ, project_to_simplex
from .training import FitResult, ReplacementSchedule, fit, mean_squared_error
from .vq import VectorQuantizer

METHODS = {
    "vq": VectorQuantizer,
    "rvq": ResidualVQ,
    "avq": AdditiveVQ,
    "pvq": ProductVQ,
    "scq": SoftConvexVQ,
}

DEFAULT_CODEBOOKS = 4


def codebook_shape(bits: int, *, num_codebooks: int | None = None,
                   codebook_size: int | None = None) -> tuple[int, int]:
    """Resolve (M, K) for a bit budget: M * log2(K) == bits.

    With neither given, M = 4. With only K given, M = bits / log2(K).
    """
    if codebook_size is not None:
        per_book = math.log2(codebook_size)
        if codebook_size < 2 or per_book != int(per_book):
            raise ValueError(f"codebook_size must be a power of two >= 2, got {codebook_size}")
        m = num_codebooks if num_codebooks is not None else bits / per_book
        if m != int(m) or int(m) * per_book != bits:
            raise ValueError(f"{bits} bits cannot be split into codebooks of {codebook_size} entries"
                             + (f" x {num_codebooks}" if num_codebooks else ""))
        return int(m), codebook_size
    m = DEFAULT_CODEBOOKS if num_codebooks is None else num_codebooks
    if m < 1 or bits % m:
        raise ValueError(f"{bits} bits cannot be split evenly over {m} codebooks")
    return m, 2 ** (bits // m)


def build(name: str, dim: int, bits: int, **opts) -> Quantizer:
    """Make a quantizer by name.

    Parameters
    ----------
    name : {"vq", "rvq", "avq", "pvq", "scq"}
    dim : int
        Vector dimension.
    bits : int
        Bits per vector. Multi-codebook methods default to 4 codebooks of
        2**(bits/4) entries; ``vq`` uses one codebook of 2**bits entries.
    **opts
        ``num_codebooks``, ``codebook_size``, and the method's own keywords
        (``beam``, ``split``, ``strength``, ``gradient``, ``commitment``).
    """
    try:
        cls = METHODS[name]
    except KeyError:
        raise ValueError(f"unknown quantizer {name!r}; choose from {sorted(METHODS)}") from None
    num_codebooks = opts.pop("num_codebooks", None)
    codebook_size = opts.pop("codebook_size", None)
    if cls is VectorQuantizer:
        if num_codebooks not in (None, 1):
            raise ValueError("vq has exactly one codebook")
        _, k = codebook_shape(bits, num_codebooks=1, codebook_size=codebook_size)
        return VectorQuantizer(dim, k, **opts)
    m, k = codebook_shape(bits, num_codebooks=num_codebooks, codebook_size=codebook_size)
    return cls(dim, m, k, **opts)


__all__ = [
    "AdditiveVQ", "Codebook", "FitResult", "GRADIENTS", "METHODS", "OpCount", "ProductVQ",
    "Quantizer", "QuantizerOutput", "ResidualVQ", "SoftConvexVQ", "VectorQuantizer",
    "ReplacementSchedule", "build", "codebook_shape", "fit", "mean_squared_error", "noise_substitution",
    "project_to_simplex",
]
