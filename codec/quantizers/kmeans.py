"""k-means (LBG) on torch tensors: k-means++ seeding, then Lloyd iterations."""

from __future__ import annotations

import torch
from torch import Tensor

from .codebook import squared_distances

_ROWS_PER_CHUNK = 16384


def assign(x: Tensor, centroids: Tensor) -> tuple[Tensor, Tensor]:
    """Nearest centroid and squared distance for each row, computed in chunks.

    Returns
    -------
    indices : LongTensor, shape (N,)
    sq_dist : Tensor, shape (N,)
    """
    indices, dists = [], []
    for chunk in x.split(_ROWS_PER_CHUNK):
        d = squared_distances(chunk, centroids)
        best, idx = d.min(-1)
        indices.append(idx)
        dists.append(best)
    return torch.cat(indices), torch.cat(dists)


def centroids(points: Tensor, assignment: Tensor, previous: Tensor) -> Tensor:
    """Mean of the points assigned to each centroid; centroids with no points keep ``previous``.

    Parameters
    ----------
    points : Tensor, shape (N, D)
    assignment : LongTensor, shape (N,)
    previous : Tensor, shape (K, D)

    Returns
    -------
    Tensor, shape (K, D)
    """
    counts = torch.bincount(assignment, minlength=previous.shape[0]).to(points.dtype)
    sums = torch.zeros_like(previous).index_add_(0, assignment, points)
    return torch.where(counts[:, None] > 0, sums / counts.clamp_min(1)[:, None], previous)


def kmeans(x: Tensor, k: int, *, iters: int = 25, seed_sample: int = 20000, max_points: int = 200_000,
           generator: torch.Generator | None = None) -> Tensor:
    """Cluster rows of ``x`` into ``k`` centroids.

    Parameters
    ----------
    x : Tensor, shape (N, D)
    k : int
        Number of centroids. If N < k, centroids are repeated with jitter.
    iters : int
        Lloyd iterations after seeding.
    seed_sample : int
        k-means++ seeding runs on at most this many random rows.
    max_points : int
        Lloyd iterations run on at most this many random rows (plenty for the
        codebook sizes used here, and it bounds the time on large corpora).

    Returns
    -------
    Tensor, shape (k, D)
    """
    x = x.detach()
    if x.shape[0] == 0:
        raise ValueError("k-means needs at least one vector")
    if x.shape[0] > max_points:
        x = x[torch.randperm(x.shape[0], generator=generator)[:max_points]]
    n = x.shape[0]
    sample = x[torch.randperm(n, generator=generator)[:seed_sample]] if n > seed_sample else x
    means = _kmeans_plus_plus(sample, k, generator)
    for _ in range(iters):
        idx, dist = assign(x, means)
        means = centroids(x, idx, means)
        empty = torch.bincount(idx, minlength=k) == 0
        if empty.any():
            # Re-seed empty clusters at the points worst served so far.
            far = dist.topk(int(empty.sum())).indices
            means[empty] = x[far]
    return means


def _kmeans_plus_plus(x: Tensor, k: int, generator: torch.Generator | None) -> Tensor:
    n = x.shape[0]
    first = torch.randint(n, (1,), generator=generator)
    centroids = [x[first[0]]]
    closest = squared_distances(x, centroids[0][None]).squeeze(1)
    for _ in range(1, k):
        total = closest.sum()
        if total <= 0:  # fewer distinct points than k: repeat with tiny jitter
            pick = torch.randint(n, (1,), generator=generator)[0]
            centroids.append(x[pick] + 1e-6 * torch.randn(x.shape[1], generator=generator, dtype=x.dtype))
            continue
        pick = torch.multinomial(closest / total, 1, generator=generator)[0]
        centroids.append(x[pick])
        closest = torch.minimum(closest, squared_distances(x, x[pick][None]).squeeze(1))
    return torch.stack(centroids)
