"""Beam search over stacked codebooks, vectorized over vectors and beams.

Used by ``AdditiveVQ`` (any codebook order) and by ``ResidualVQ`` with
``beam > 1`` (fixed order). Every beam keeps the full tuple of chosen indices
and its exact residual ``x - sum(chosen codewords)``, so each candidate is
ranked by its true error. (The public NSVQ reference code instead subtracts the
newest codeword once per earlier step, which is wrong from M = 3 on.)
"""

from __future__ import annotations

import torch
from torch import Tensor


def beam_search(x: Tensor, entries: Tensor, beam: int, *, ordered: bool,
                weights: Tensor | None = None) -> Tensor:
    """Choose one codeword from every codebook to minimize ``||x - sum||^2``.

    Parameters
    ----------
    x : Tensor, shape (N, D)
    entries : Tensor, shape (M, K, D)
        The M codebooks.
    beam : int
        Number of partial solutions kept per vector after each step.
    ordered : bool
        If True, step m picks from codebook m (residual VQ). If False, every
        step picks from any codebook the beam has not used yet (additive VQ);
        tuples reached in different orders are merged.
    weights : Tensor, shape (N, D), optional
        Per-vector weights: minimize ``sum_d w_d (x_d - sum_d)^2`` instead.

    Returns
    -------
    LongTensor, shape (N, M)
        Index into each codebook of the best tuple found.
    """
    n, d = x.shape
    m_books, k_size, _ = entries.shape
    flat = entries.reshape(m_books * k_size, d)
    # Weighted distance ||r - c||_w^2 = ||r||_w^2 - 2 (w r).c + w.c^2; unweighted is w = 1.
    w = weights[:, None, :] if weights is not None else None
    flat_sq = flat.pow(2).sum(-1) if weights is None else (weights @ flat.pow(2).T)[:, None, :]  # (N, 1, MK)
    book_of = torch.arange(m_books, device=x.device).repeat_interleave(k_size)
    # Positional keys identify a tuple regardless of the order it was built in.
    key_weights = torch.ones(m_books, dtype=torch.long, device=x.device)
    for m in range(1, m_books):
        key_weights[m] = key_weights[m - 1] * (k_size + 1)  # int64 wraps: a hash beyond 2^63

    residual = x[:, None, :]                                  # (N, B, D)
    error = _norm(residual, w)                                # (N, B)
    chosen = torch.full((n, 1, m_books), -1, dtype=torch.long, device=x.device)

    for step in range(m_books):
        n_beams = residual.shape[1]
        weighted = residual if w is None else w * residual
        if ordered:
            cand = slice(step * k_size, (step + 1) * k_size)
            dist = error[..., None] - 2.0 * weighted @ flat[cand].T + flat_sq[..., cand]
            valid = n_beams * k_size
        else:
            # Keep only the codebooks each beam has not used: (N, B, M - step, K).
            free = (chosen >= 0).to(torch.int8).argsort(dim=-1, stable=True)[..., : m_books - step]
            if w is None:
                dist = torch.addmm(flat_sq, weighted.reshape(-1, d), flat.T, alpha=-2.0)
            else:
                dist = flat_sq - 2.0 * weighted @ flat.T
            dist = dist.reshape(n, n_beams, m_books, k_size).gather(2, free[..., None].expand(-1, -1, -1, k_size))
            dist += error[..., None, None]
            valid = n_beams * (m_books - step) * k_size
        width = (m_books - step) * k_size if not ordered else k_size
        # A tuple of step+1 codewords has at most step+1 parents, so this many
        # candidates always hold `beam` distinct tuples when that many exist.
        pool = min(valid, beam if ordered else beam * (step + 1))
        cand_err, cand_idx = dist.reshape(n, -1).topk(pool, dim=1, largest=False)
        parent = cand_idx // width
        if ordered:
            codeword = cand_idx % width + step * k_size
        else:
            slot = cand_idx % width
            book = free.reshape(n, -1).gather(1, parent * (m_books - step) + slot // k_size)
            codeword = book * k_size + slot % k_size

        new_chosen = chosen.gather(1, parent[..., None].expand(-1, -1, m_books)).clone()
        new_chosen.scatter_(2, book_of[codeword][..., None], (codeword % k_size)[..., None])
        if not ordered and step > 0 and pool > beam:
            # Candidates come sorted by error; a stable sort by key puts copies of a
            # tuple next to each other with the best-ranked copy first.
            keys, order = (new_chosen + 1).mul(key_weights).sum(-1).sort(dim=1, stable=True)
            repeat = torch.zeros_like(keys, dtype=torch.bool)
            repeat[:, 1:] = keys[:, 1:] == keys[:, :-1]
            duplicate = torch.zeros_like(repeat).scatter_(1, order, repeat)
            cand_err = cand_err.masked_fill(duplicate, float("inf"))
            keep = cand_err.topk(min(beam, pool), dim=1, largest=False).indices
            parent, codeword, new_chosen = (parent.gather(1, keep), codeword.gather(1, keep),
                                            new_chosen.gather(1, keep[..., None].expand(-1, -1, m_books)))
        elif pool > beam:
            parent, codeword, new_chosen = parent[:, :beam], codeword[:, :beam], new_chosen[:, :beam]

        residual = residual.gather(1, parent[..., None].expand(-1, -1, d)) - flat[codeword]
        error = _norm(residual, w)
        chosen = new_chosen

    best = error.argmin(1)
    return chosen[torch.arange(n, device=x.device), best]


def _norm(residual: Tensor, w: Tensor | None) -> Tensor:
    """(Weighted) squared norm over the last dimension."""
    return residual.pow(2).sum(-1) if w is None else (w * residual.pow(2)).sum(-1)
