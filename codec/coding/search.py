"""Codebook searches in numpy: the one implementation that encoding and training both use.

Every search takes vectors ``x`` (N, D) float32 and optional per-vector,
per-dimension weights (N, D); with weights the error is
``sum_d w_d (x_d - x_hat_d)^2``. Methods (``codec.quantizers`` trains them):

- ``vq``: one codebook, nearest codeword;
- ``rvq`` / ``scq``: residual stages, greedy (beam 1) or beam search in stage order;
- ``avq``: one codeword from every codebook in any order, beam search over the
  codebooks a partial tuple has not used, tuples reached in different orders
  merged (the public NSVQ reference code subtracts the newest codeword once
  per earlier step instead, which is wrong from M = 3 on);
- ``pvq``: contiguous subvectors, one codebook each.
"""

from __future__ import annotations

import numpy as np

DEFAULT_BEAM = {"vq": 1, "rvq": 1, "scq": 1, "avq": 8, "pvq": 1}
SUM_METHODS = ("vq", "rvq", "scq", "avq")   # reconstruct as a sum of codewords; pvq concatenates


def even_split(dim: int, parts: int) -> list[int]:
    """Contiguous subvector sizes that differ by at most one, larger first."""
    if not 1 <= parts <= dim:
        raise ValueError(f"cannot split {dim} dimensions into {parts} subvectors")
    base, extra = divmod(dim, parts)
    return [base + 1] * extra + [base] * (parts - extra)


def squared_distances(x: np.ndarray, entries: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """(Weighted) squared distances between vectors (N, D) and codewords (K, D): (N, K)."""
    # sum w x^2 - 2 (w x).c + w.c^2 costs two matrix products instead of materializing (N, K, D).
    if weights is None:
        d = (x * x).sum(-1, keepdims=True) - 2.0 * (x @ entries.T) + (entries * entries).sum(-1)
    else:
        wx = weights * x
        d = (wx * x).sum(-1, keepdims=True) - 2.0 * (wx @ entries.T) + weights @ (entries * entries).T
    return np.maximum(d, 0.0)


def nearest(x: np.ndarray, entries: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Index of the nearest codeword for each vector: (N,) int64."""
    return squared_distances(x, entries, weights).argmin(-1)


def greedy_residual(x: np.ndarray, books: list[np.ndarray], weights: np.ndarray | None = None) -> np.ndarray:
    """Stage m picks the codeword nearest to what stages 1..m-1 left: (N, M)."""
    residual = x.copy()
    codes = []
    for entries in books:
        index = nearest(residual, entries, weights)
        residual -= entries[index]
        codes.append(index)
    return np.stack(codes, 1)


def product(x: np.ndarray, books: list[np.ndarray], weights: np.ndarray | None = None) -> np.ndarray:
    """Each contiguous subvector (sized by its codebook) picks its nearest codeword: (N, M)."""
    bounds = np.cumsum([0] + [b.shape[1] for b in books])
    return np.stack([nearest(x[:, lo:hi], b, None if weights is None else weights[:, lo:hi])
                     for b, lo, hi in zip(books, bounds[:-1], bounds[1:])], 1)


def beam_search(x: np.ndarray, entries: np.ndarray, beam: int, *, ordered: bool,
                weights: np.ndarray | None = None, keep: int | None = None) -> np.ndarray:
    """Choose one codeword from every codebook to minimize ``||x - sum||^2`` (weighted if given).

    Parameters
    ----------
    x : ndarray, shape (N, D)
    entries : ndarray, shape (M, K, D)
        The M codebooks.
    beam : int
        Partial solutions kept per vector after each step.
    ordered : bool
        True: step m picks from codebook m (residual VQ). False: every step
        picks from any codebook the partial tuple has not used (additive VQ).
    weights : ndarray, shape (N, D), optional
    keep : int, optional
        Return the best ``keep`` tuples of the final beam per vector, not only the best.

    Returns
    -------
    ndarray, shape (N, M), int64, or (N, min(keep, beam), M) with ``keep``
        Index into each codebook of the best tuple found (best first). Every
        beam keeps its full tuple and exact residual, so candidates are ranked
        by their true error; with a wide enough beam the search is exhaustive.
    """
    n, d = x.shape
    m_books, k_size, _ = entries.shape
    flat = entries.reshape(m_books * k_size, d)
    w = weights[:, None, :] if weights is not None else None
    flat_sq = (flat * flat).sum(-1) if weights is None else (weights @ (flat * flat).T)[:, None, :]
    # Positional keys identify a tuple regardless of the order it was built in (int64 wraps: a hash).
    key_weights = np.cumprod([1] + [k_size + 1] * (m_books - 1)).astype(np.int64)
    rows = np.arange(n)[:, None]

    residual = x[:, None, :]                                   # (N, B, D)
    error = _norm(residual, w)                                 # (N, B)
    chosen = np.full((n, 1, m_books), -1, dtype=np.int64)      # (N, B, M), -1: codebook not used yet
    keys = np.zeros((n, 1), dtype=np.int64)                    # (N, B), each beam's tuple key
    for step in range(m_books):
        n_beams = residual.shape[1]
        weighted = residual if w is None else w * residual
        if ordered:
            cand = slice(step * k_size, (step + 1) * k_size)
            dist = flat_sq[..., cand] - 2.0 * (weighted.reshape(-1, d) @ flat[cand].T).reshape(n, n_beams, -1)
            open_books = np.full((n, n_beams, 1), step)
        else:
            dist = flat_sq - 2.0 * (weighted.reshape(-1, d) @ flat.T).reshape(n, n_beams, -1)
            # Only the codebooks a beam has not used enter the selection: as many for every beam,
            # so a boolean mask leaves (N, B, S, K), S = M - step, in order.
            unused = chosen < 0
            dist = dist.reshape(n, n_beams, m_books, k_size)[unused]
            open_books = np.nonzero(unused)[2].reshape(n, n_beams, -1)          # (N, B, S), ascending
        per_beam = open_books.shape[-1] * k_size
        dist = (dist.reshape(n, n_beams, per_beam) + error[..., None]).reshape(n, -1)
        # A tuple of step + 1 codewords has at most step + 1 parents, so this many candidates
        # always hold `beam` distinct tuples when that many exist.
        pool = min(dist.shape[1], beam if ordered else beam * (step + 1))
        # Plain fancy indexing with ``rows`` throughout: np.take_along_axis builds index grids on
        # every call, which cost more than the search itself on a chunk's few hundred vectors.
        cand_idx = _smallest(dist, pool)
        cand_err = dist[rows, cand_idx]
        parent, within = cand_idx // per_beam, cand_idx % per_beam
        book = open_books[rows, parent, within // k_size]
        entry = within % k_size
        cand_keys = keys[rows, parent] + (entry + 1) * key_weights[book]
        if not ordered and step > 0 and pool > beam:
            # Candidates come sorted by error; a stable sort by key puts copies of a tuple
            # next to each other with the best-ranked copy first.
            order = np.argsort(cand_keys, axis=1, kind="stable")
            sorted_keys = cand_keys[rows, order]
            repeat = np.zeros_like(sorted_keys, dtype=bool)
            repeat[:, 1:] = sorted_keys[:, 1:] == sorted_keys[:, :-1]
            duplicate = np.zeros_like(repeat)
            duplicate[rows, order] = repeat
            kept = _smallest(np.where(duplicate, np.inf, cand_err), min(beam, pool))
            parent, book, entry, keys = parent[rows, kept], book[rows, kept], entry[rows, kept], cand_keys[rows, kept]
        else:
            parent, book, entry, keys = parent[:, :beam], book[:, :beam], entry[:, :beam], cand_keys[:, :beam]
        chosen = chosen[rows, parent]                                        # a copy: (N, B', M)
        chosen[rows, np.arange(chosen.shape[1]), book] = entry
        residual = residual[rows, parent] - flat[book * k_size + entry]
        error = _norm(residual, w)
    if keep is not None:
        return chosen[rows, _smallest(error, min(keep, error.shape[1]))]
    return chosen[np.arange(n), error.argmin(1)]


def _smallest(values: np.ndarray, count: int) -> np.ndarray:
    """Column indices of the ``count`` smallest values of each row, in ascending order (ties: lower index
    first). A partition then a sort of the few kept: much cheaper than sorting whole rows."""
    rows = np.arange(len(values))[:, None]
    if count < values.shape[1]:
        part = np.sort(np.argpartition(values, count - 1, axis=1)[:, :count], axis=1)
    else:
        part = np.broadcast_to(np.arange(values.shape[1]), values.shape)
    order = np.argsort(values[rows, part], axis=1, kind="stable")
    return part[rows, order]


def _norm(residual: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """(Weighted) squared norm over the last dimension."""
    return (residual * residual).sum(-1) if w is None else (w * (residual * residual)).sum(-1)


def search(method: str, x: np.ndarray, books: list[np.ndarray], *, beam: int | None = None,
           weights: np.ndarray | None = None) -> np.ndarray:
    """Codes (N, M) of vectors ``x`` (N, D) under ``method``'s search with codebooks ``books``."""
    beam = DEFAULT_BEAM.get(method, 1) if beam is None else beam
    if method == "pvq":
        return product(x, books, weights)
    if method == "vq":
        return nearest(x, books[0], weights)[:, None]
    if _keeps_beam(method, beam):
        return beam_search(x, np.stack(books), beam, ordered=method != "avq", weights=weights)
    if method in ("rvq", "scq"):
        return greedy_residual(x, books, weights)
    raise ValueError(f"unknown quantizer method {method!r}")


def _keeps_beam(method: str, beam: int) -> bool:
    """Whether ``method``'s search is a beam search: avq always, rvq and scq with a beam above 1."""
    return method == "avq" or (method in ("rvq", "scq") and beam > 1)


def candidates(method: str, x: np.ndarray, books: list[np.ndarray], *, count: int, beam: int | None = None,
               weights: np.ndarray | None = None) -> np.ndarray:
    """The best ``count`` codes of :func:`search`'s final beam, best first: (N, K, M), K at most
    ``count`` and the beam; one candidate (K = 1) for the searches that keep no beam."""
    beam = DEFAULT_BEAM.get(method, 1) if beam is None else beam
    if _keeps_beam(method, beam):
        return beam_search(x, np.stack(books), beam, ordered=method != "avq", weights=weights, keep=count)
    return search(method, x, books, beam=beam, weights=weights)[:, None]


def reconstruct(method: str, codes: np.ndarray, books: list[np.ndarray]) -> np.ndarray:
    """Vectors (N, D) from codes (N, M): the sum of one codeword per codebook (pvq: concatenation)."""
    if method == "pvq":
        return np.concatenate([b[codes[:, m]] for m, b in enumerate(books)], -1)
    out = books[0][codes[:, 0]].copy()
    for m in range(1, len(books)):
        out += books[m][codes[:, m]]
    return out
