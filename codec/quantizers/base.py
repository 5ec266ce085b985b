"""The quantizer protocol every method implements, and the gradient estimators.

A quantizer maps vectors (..., D) to M codebook indices (..., M) and back. In
training mode ``forward`` returns an output through which gradients reach the
input and the codebooks:

- ``"nsvq"`` (noise substitution, Vali & Baeckstroem 2022): the quantization
  error is replaced by a random vector of the same norm,
  ``x + ||x - q(x)|| * v / ||v||`` with ``v ~ N(0, I)``. No auxiliary loss.
- ``"ste"``: straight-through estimator, ``x + sg(q(x) - x)``, with the usual
  codebook loss ``||sg(x) - q(x)||^2`` plus ``commitment * ||x - sg(q(x))||^2``.
- ``"kmeans"``: no gradient; codebooks are fitted by ``kmeans_init`` and
  ``lloyd_step`` (LBG).

In eval mode ``forward(x).x_hat`` equals ``decode(encode(x))``.

Every search and estimator takes optional per-vector, per-dimension weights
(N, D): the error is then ``sum_d w_d (x_d - x_hat_d)^2``. Envelope quantizers
use them to weight LSF errors by spectral sensitivity.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..coding import search
from .complexity import OpCount
from .kmeans import kmeans

GRADIENTS = ("nsvq", "ste", "kmeans")


@dataclass
class QuantizerOutput:
    """What ``Quantizer.forward`` returns.

    Attributes
    ----------
    x_hat : Tensor, shape (..., D)
        The output to use downstream: gradient-carrying in training, the hard
        reconstruction in eval.
    codes : LongTensor, shape (..., M)
    hard : Tensor, shape (..., D)
        ``decode(codes)``, the reconstruction a decoder would produce.
    loss : Tensor, scalar
        Auxiliary loss to add to the training objective (zero for NSVQ).
    perplexity : Tensor, shape (M,)
        Per-codebook perplexity of the codes in this batch (K = all used evenly).
    """

    x_hat: Tensor
    codes: Tensor
    hard: Tensor
    loss: Tensor
    perplexity: Tensor


def noise_substitution(x: Tensor, hard: Tensor, weights: Tensor | None = None) -> Tensor:
    """NSVQ output ``x + ||x - hard|| * v / ||v||`` with ``v ~ N(0, I)`` per vector.

    With per-dimension ``weights`` w the norm is the weighted one and the noise
    is shaped by 1/sqrt(w), so the weighted error norm is kept exactly:
    ``||sqrt(w) (x~ - x)|| = ||sqrt(w) (x - hard)||``. A weighted squared-error
    loss then gives the codebooks the gradient of weighted k-means.
    """
    direction = torch.randn_like(x)
    direction = direction / direction.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    if weights is None:
        return x + (x - hard).norm(dim=-1, keepdim=True) * direction
    root = weights.sqrt()
    return x + (root * (x - hard)).norm(dim=-1, keepdim=True) * direction / root


def perplexity(codes: Tensor, sizes: list[int]) -> Tensor:
    """exp(entropy) of each codebook's index histogram; codes (N, M) -> (M,)."""
    values = []
    for m, size in enumerate(sizes):
        p = torch.bincount(codes[:, m], minlength=size).float()
        p = p / p.sum().clamp_min(1.0)
        values.append(torch.exp(-(p * torch.log(p.clamp_min(1e-12))).sum()))
    return torch.stack(values)


class Quantizer(nn.Module, ABC):
    """Base class: M codebooks, ``encode``/``decode``/``forward``, training utilities.

    Subclasses set ``self.codebooks`` (an ``nn.ModuleList`` of ``Codebook``), name
    their search (``method``, a key of ``codec.coding.search.DEFAULT_BEAM``) and
    implement ``complexity``; ``_decode`` is the sum of one codeword per codebook
    unless a subclass overrides it.

    Parameters
    ----------
    dim : int
        Input dimension D.
    gradient : {"nsvq", "ste", "kmeans"}
        How training-mode ``forward`` passes gradients (see module docstring).
    commitment : float
        Weight of the commitment term for ``"ste"``.
    """

    gradients: tuple[str, ...] = GRADIENTS
    method: str = ""          # the search in codec.coding.search

    def __init__(self, dim: int, *, gradient: str = "nsvq", commitment: float = 0.25):
        super().__init__()
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        if gradient not in self.gradients:
            raise ValueError(f"gradient must be one of {self.gradients}, got {gradient!r}")
        self.dim = dim
        self.gradient = gradient
        self.commitment = commitment
        self.codebooks = nn.ModuleList()

    # ----------------------------------------------------------------- protocol
    @property
    def num_codebooks(self) -> int:
        return len(self.codebooks)

    @property
    def codebook_sizes(self) -> list[int]:
        return [cb.size for cb in self.codebooks]

    @property
    def bits(self) -> float:
        """Bits per vector: the sum of log2(K) over codebooks."""
        return sum(math.log2(k) for k in self.codebook_sizes)

    def encode(self, x: Tensor, weights: Tensor | None = None) -> Tensor:
        """Quantize vectors to indices: (..., D) -> LongTensor (..., M).

        ``weights`` (..., D), positive, make the search minimize the weighted error.
        """
        x2d = self._flatten_input(x)
        w2d = self._flatten_weights(weights, x)
        if not len(x2d):
            return x2d.new_zeros((*x.shape[:-1], self.num_codebooks), dtype=torch.long)
        rows = max(256, 2 ** 19 // max(1, self.search_width))  # cache-sized chunks
        with torch.no_grad():
            w_chunks = w2d.split(rows) if w2d is not None else [None] * len(x2d.split(rows))
            codes = torch.cat([self._encode(c, w) for c, w in zip(x2d.split(rows), w_chunks)])
        return codes.reshape(*x.shape[:-1], self.num_codebooks)

    def decode(self, codes: Tensor) -> Tensor:
        """Reconstruct vectors from indices: LongTensor (..., M) -> (..., D)."""
        if codes.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
            raise TypeError(f"codes must be an integer tensor, got {codes.dtype}")
        if codes.shape[-1] != self.num_codebooks:
            raise ValueError(f"codes must have {self.num_codebooks} columns, got shape {tuple(codes.shape)}")
        codes2d = codes.reshape(-1, self.num_codebooks).long()
        sizes = torch.tensor(self.codebook_sizes, device=codes.device)
        if codes2d.numel() and ((codes2d < 0) | (codes2d >= sizes)).any():
            raise ValueError(f"codes out of range for codebook sizes {self.codebook_sizes}")
        return self._decode(codes2d).reshape(*codes.shape[:-1], self.dim)

    def forward(self, x: Tensor, weights: Tensor | None = None) -> QuantizerOutput:
        codes = self.encode(x, weights)
        hard = self.decode(codes)
        codes2d = codes.reshape(-1, self.num_codebooks)
        ppl = perplexity(codes2d, self.codebook_sizes)
        zero = hard.new_zeros(())
        if not self.training:
            return QuantizerOutput(hard, codes, hard, zero, ppl)
        for m, cb in enumerate(self.codebooks):
            cb.count_usage(codes2d[:, m])
        x_hat, loss = self._training_output(x, hard, weights)
        return QuantizerOutput(x_hat, codes, hard, loss, ppl)

    @property
    def search_width(self) -> int:
        """Distances evaluated per vector at the widest search step (sets encode chunk size)."""
        return max(self.codebook_sizes)

    def _encode(self, x: Tensor, weights: Tensor | None) -> Tensor:
        """(N, D), optional weights (N, D) -> LongTensor (N, M), by ``codec.coding.search``: the searches
        exist once, in numpy, and the decoder's encoder runs the very same code."""
        books = [cb.entries.detach().cpu().numpy() for cb in self.codebooks]
        codes = search.search(self.method, x.detach().cpu().numpy(), books, beam=getattr(self, "beam", 1),
                              weights=None if weights is None else weights.detach().cpu().numpy())
        return torch.from_numpy(codes).to(x.device)

    def _decode(self, codes: Tensor) -> Tensor:
        """LongTensor (N, M) -> (N, D): the sum of one codeword per codebook.

        Every method here but ``ProductVQ`` (which concatenates) reconstructs this way.
        """
        return sum(cb.lookup(codes[:, m]) for m, cb in enumerate(self.codebooks))

    @abstractmethod
    def complexity(self) -> OpCount:
        """Operations to encode one vector (ITU-T STL 2009 weights), every stage counted."""

    # ------------------------------------------------------------------ training
    def _training_output(self, x: Tensor, hard: Tensor, weights: Tensor | None) -> tuple[Tensor, Tensor]:
        zero = hard.new_zeros(())
        if self.gradient == "nsvq":
            return noise_substitution(x, hard, weights), zero
        if self.gradient == "ste":
            w = weights if weights is not None else 1.0
            codebook_loss = (w * (hard - x.detach()).pow(2)).sum(-1).mean()
            commitment_loss = (w * (x - hard.detach()).pow(2)).sum(-1).mean()
            return x + (hard - x).detach(), codebook_loss + self.commitment * commitment_loss
        # "kmeans": codebooks are not trained by gradients; pass x through unchanged in value.
        return x + (hard - x).detach(), zero

    @torch.no_grad()
    def replace_dead_codes(self, *, threshold: float = 0.01, noise: float = 0.01) -> int:
        """Replace entries used in fewer than ``threshold`` of recent batches; returns how many."""
        return sum(cb.replace_dead(threshold=threshold, noise=noise) for cb in self.codebooks)

    @torch.no_grad()
    def kmeans_init(self, x: Tensor, *, iters: int = 20) -> None:
        """Data-driven initialization: k-means on each stage's residual (sum-type quantizers)."""
        residual = self._flatten_input(x).detach().clone()
        for cb in self.codebooks:
            cb.entries.copy_(kmeans(residual, cb.size, iters=iters))
            residual -= cb.lookup(cb.nearest(residual))

    @torch.no_grad()
    def lloyd_step(self, x: Tensor) -> float:
        """One LBG iteration: encode, then refit all codebooks jointly by least squares.

        For a sum of codewords the optimal codebooks given the codes solve
        ``(B^T B) C = B^T X`` with B the (N, M*K) one-hot code matrix; a small
        ridge towards the current entries keeps unused entries where they are.

        Returns
        -------
        float
            Mean squared error per vector before the update.
        """
        x2d = self._flatten_input(x).detach()
        codes = self.encode(x2d)
        mse = float((x2d - self._decode(codes)).pow(2).sum(-1).mean())
        sizes = self.codebook_sizes
        offsets = torch.tensor([0] + sizes[:-1], device=x2d.device).cumsum(0)
        flat = codes + offsets
        total = sum(sizes)
        gram = torch.zeros(total * total, dtype=x2d.dtype, device=x2d.device)
        for a in range(len(sizes)):
            for b in range(len(sizes)):
                gram += torch.bincount(flat[:, a] * total + flat[:, b], minlength=total * total).to(x2d.dtype)
        gram = gram.reshape(total, total)
        current = torch.cat([cb.entries.detach() for cb in self.codebooks])
        rhs = x2d.new_zeros(total, self.dim).index_add_(0, flat.reshape(-1),
                                                                        x2d.repeat_interleave(len(sizes), 0))
        lam = 1e-6 * max(1.0, float(gram.diagonal().mean()))
        eye = torch.eye(total, dtype=x2d.dtype, device=x2d.device)
        solution = torch.linalg.solve(gram + lam * eye, rhs + lam * current)
        for cb, part in zip(self.codebooks, solution.split(sizes)):
            cb.entries.copy_(part)
        return mse

    # -------------------------------------------------------------------- helpers
    def _flatten_input(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or not x.is_floating_point():
            raise TypeError("input must be a floating-point torch.Tensor")
        if x.ndim < 1 or x.shape[-1] != self.dim:
            raise ValueError(f"input must have shape (..., {self.dim}), got {tuple(x.shape)}")
        x2d = x.reshape(-1, self.dim)
        if not torch.isfinite(x2d).all():
            raise ValueError("input contains NaN or Inf")
        return x2d

    def _flatten_weights(self, weights: Tensor | None, x: Tensor) -> Tensor | None:
        if weights is None:
            return None
        if weights.shape != x.shape:
            raise ValueError(f"weights must have the input's shape {tuple(x.shape)}, got {tuple(weights.shape)}")
        w2d = weights.reshape(-1, self.dim).to(x.dtype)
        if not (torch.isfinite(w2d).all() and (w2d > 0).all()):
            raise ValueError("weights must be finite and positive")
        return w2d

    def _stacked_entries(self) -> Tensor:
        """All codebooks as one (M, K, D) tensor (equal sizes and full dimension)."""
        return torch.stack([cb.entries for cb in self.codebooks])

    def extra_repr(self) -> str:
        return (f"dim={self.dim}, codebooks={self.num_codebooks}x{self.codebook_sizes[0] if self.codebooks else 0}, "
                f"bits={self.bits:g}, gradient={self.gradient!r}")
