"""Soft convex quantization (SCQ, Gautam et al. 2024), used per residual stage.

In training, each stage replaces its hard codeword by the best convex
combination of its codewords, ``C P*`` with

    P* = argmin_P ||Z - C P||^2 + lambda ||P - P~||^2,  P >= 0, columns sum to 1,

P~ the one-hot nearest-codeword assignment. The scalable relaxation used here
solves the ridge problem in closed form (one K x K system per stage and batch)
and projects each column onto the probability simplex; both steps are
differentiable, so gradients reach the input and the codebooks directly. A
bitstream carries hard indices, so inference is greedy residual VQ.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .residual import ResidualVQ


def project_to_simplex(v: Tensor) -> Tensor:
    """Euclidean projection of each row onto {p : p >= 0, sum(p) = 1}.

    Sort-based (Held et al. 1974; Duchi et al. 2008): find the threshold theta
    with ``sum(max(v - theta, 0)) = 1``.

    Parameters
    ----------
    v : Tensor, shape (N, K)

    Returns
    -------
    Tensor, shape (N, K)
    """
    sorted_v, _ = v.sort(dim=-1, descending=True)
    cumsum = sorted_v.cumsum(-1) - 1.0
    ranks = torch.arange(1, v.shape[-1] + 1, device=v.device, dtype=v.dtype)
    support = (sorted_v - cumsum / ranks) > 0
    rho = support.to(v.dtype).cumsum(-1).argmax(-1, keepdim=True)  # last index in the support
    theta = cumsum.gather(-1, rho) / (rho + 1).to(v.dtype)
    return (v - theta).clamp_min(0.0)


def soft_convex_weights(z: Tensor, entries: Tensor, nearest: Tensor, strength: float) -> Tensor:
    """Convex weights P* (N, K) of codewords ``entries`` (K, D) that best reconstruct ``z`` (N, D).

    ``strength`` is lambda relative to the mean squared codeword norm, so the
    pull towards the hard assignment does not depend on the data's scale.
    """
    k = entries.shape[0]
    gram = entries @ entries.T
    lam = strength * gram.diagonal().mean().detach().clamp_min(1e-12)
    one_hot = torch.nn.functional.one_hot(nearest, k).to(z.dtype)
    system = gram + lam * torch.eye(k, dtype=z.dtype, device=z.device)
    ridge = torch.linalg.solve(system, (z @ entries.T + lam * one_hot).T).T
    return project_to_simplex(ridge)


class SoftConvexVQ(ResidualVQ):
    """Residual VQ whose stages are trained by soft convex quantization.

    Parameters
    ----------
    dim, num_codebooks, codebook_size, beam
        As ``ResidualVQ``; inference is residual VQ with hard indices.
    strength : float
        Ridge weight lambda pulling P* towards the hard assignment, relative to
        the mean squared codeword norm. Large values approach hard VQ; small
        ones let the codebooks learn to rely on convex combinations that a
        hard-index bitstream cannot carry (measured on correlated Gaussian
        data: strength 0.1 trains a soft error of 0.10 but a hard error 8x
        that of k-means; strength 10 is within 15 % of k-means).
    gradient : {"soft", "nsvq", "ste", "kmeans"}
        ``"soft"`` (default) trains through the convex combinations.
    """

    method = "scq"

    gradients = ("soft", "nsvq", "ste", "kmeans")

    def __init__(self, dim: int, num_codebooks: int, codebook_size: int, *,
                 strength: float = 10.0, gradient: str = "soft", **kwargs):
        super().__init__(dim, num_codebooks, codebook_size, gradient=gradient, **kwargs)
        if strength <= 0:
            raise ValueError(f"strength must be positive, got {strength}")
        self.strength = strength

    def soft_forward(self, x: Tensor, weights: Tensor | None = None) -> Tensor:
        """Sum over stages of each stage's convex combination, (N, D) -> (N, D).

        ``weights`` (N, D) only steer the hard assignment P~ each stage is pulled towards.
        """
        residual = x.reshape(-1, self.dim)
        if weights is not None:
            weights = weights.reshape(-1, self.dim)
        total = torch.zeros_like(residual)
        for cb in self.codebooks:
            nearest = cb.nearest(residual.detach(), weights)
            stage = soft_convex_weights(residual, cb.entries, nearest, self.strength) @ cb.entries
            total = total + stage
            residual = residual - stage
        return total.reshape(x.shape)

    def _training_output(self, x: Tensor, hard: Tensor, weights: Tensor | None) -> tuple[Tensor, Tensor]:
        if self.gradient != "soft":
            return super()._training_output(x, hard, weights)
        return self.soft_forward(x, weights), hard.new_zeros(())

    def extra_repr(self) -> str:
        return super().extra_repr() + f", strength={self.strength:g}"
