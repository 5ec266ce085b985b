"""Line spectral frequencies: LPC <-> LSF, stabilization, interpolation, spectral distortion.

LSFs are (frames, 16) arrays in radians, ascending in (0, pi); LPC filters
are (frames, 17) arrays [1, a1, ..., a16]. The conversions are vectorized over
frames: roots are found on a grid, then refined by bisection and two secant steps
(round trip below 1e-8 rad).
"""

from __future__ import annotations

import functools

import numpy as np

from .framing import SAMPLE_RATE

MIN_GAP = 2 * np.pi * 50.0 / SAMPLE_RATE   # 50 Hz between neighbouring LSFs
_GRID = 512                    # root-search grid over (0, pi) before bisection (rows it cannot separate: exact roots)
_BISECTIONS = 6                # then two secant steps


# ------------------------------------------------------------------ LPC <-> LSF
def _sum_difference_polynomials(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric halves of P(z) = A(z) + z^-(p+1) A(1/z) and Q(z) = A(z) - z^-(p+1) A(1/z).

    The trivial roots z = -1 (of P) and z = +1 (of Q) are divided out, leaving
    two symmetric polynomials of degree p with p/2 unit-circle roots each.
    """
    padded = np.concatenate([a, np.zeros((a.shape[0], 1))], axis=1)
    flipped = padded[:, ::-1]
    p_full, q_full = padded + flipped, padded - flipped
    p_half = np.zeros_like(a)
    q_half = np.zeros_like(a)
    p_half[:, 0], q_half[:, 0] = p_full[:, 0], q_full[:, 0]
    for k in range(1, a.shape[1]):
        p_half[:, k] = p_full[:, k] - p_half[:, k - 1]   # divide by (1 + z^-1)
        q_half[:, k] = q_full[:, k] + q_half[:, k - 1]   # divide by (1 - z^-1)
    return p_half, q_half


def _cosine_series(half: np.ndarray) -> np.ndarray:
    """Coefficients c_k of F(w) = sum_k c_k cos(k w) = e^{j n w} G(e^{jw}), G symmetric, degree 2n."""
    n = (half.shape[1] - 1) // 2
    c = 2.0 * half[:, n::-1].copy()
    c[:, 0] /= 2.0
    return c


@functools.lru_cache(maxsize=4)
def _grid_cosines(n: int) -> np.ndarray:
    """cos(k w) for k = 0..n on the search grid: (n + 1, _GRID), computed once."""
    return np.cos(np.outer(np.arange(n + 1), np.linspace(0.0, np.pi, _GRID)))


def _unit_circle_roots(series: np.ndarray) -> np.ndarray:
    """The n roots in (0, pi) of each row's cosine series, (frames, n + 1) -> (frames, n)."""
    frames, n = series.shape[0], series.shape[1] - 1
    grid = np.linspace(0.0, np.pi, _GRID)
    values = series @ _grid_cosines(n)
    crossings = np.signbit(values[:, :-1]) != np.signbit(values[:, 1:])
    roots = np.empty((frames, n))
    good = crossings.sum(1) == n
    if good.any():
        rows, cols = np.nonzero(crossings[good])
        lo = grid[cols].reshape(-1, n)
        hi = grid[cols + 1].reshape(-1, n)
        s = series[good][:, :, None]

        def f(w):
            # Clenshaw's recurrence for sum_k c_k T_k(cos w) = sum_k c_k cos(k w): one cosine per point.
            x2 = 2.0 * np.cos(w)
            b1 = b2 = np.zeros_like(w)
            for k in range(n, 0, -1):
                b1, b2 = s[:, k] + x2 * b1 - b2, b1
            return s[:, 0] + 0.5 * x2 * b1 - b2

        f_lo, f_hi = f(lo), f(hi)
        for _ in range(_BISECTIONS):
            mid = 0.5 * (lo + hi)
            f_mid = f(mid)
            left = np.signbit(f_mid) != np.signbit(f_lo)
            hi, f_hi = np.where(left, mid, hi), np.where(left, f_mid, f_hi)
            lo, f_lo = np.where(left, lo, mid), np.where(left, f_lo, f_mid)
        # The bracket is now ~1e-4 rad wide: a secant through its ends lands within ~1e-7 of the root,
        # and a second secant, through that point and the bracket's end across the root, within ~1e-11.
        x = _secant(lo, f_lo, hi, f_hi)
        f_x = f(x)
        left = np.signbit(f_x) != np.signbit(f_lo)
        far, f_far = np.where(left, lo, hi), np.where(left, f_lo, f_hi)
        roots[good] = _secant(x, f_x, far, f_far)
    for row in np.nonzero(~good)[0]:  # roots closer than the grid: solve exactly
        poly = np.polynomial.chebyshev.Chebyshev(series[row])
        x = np.clip(np.real(poly.roots()), -1.0, 1.0)
        roots[row] = np.sort(np.arccos(x))
    return roots


def _secant(a: np.ndarray, f_a: np.ndarray, b: np.ndarray, f_b: np.ndarray) -> np.ndarray:
    """Where the line through (a, f_a) and (b, f_b) crosses zero (their midpoint if it is flat)."""
    denom = f_b - f_a
    safe = np.abs(denom) > 0
    return np.where(safe, a - f_a * (b - a) / np.where(safe, denom, 1.0), 0.5 * (a + b))


def lpc_to_lsf(a: np.ndarray) -> np.ndarray:
    """Line spectral frequencies of minimum-phase LPC filters.

    Parameters
    ----------
    a : ndarray, shape (frames, p + 1), p even

    Returns
    -------
    ndarray, shape (frames, p)
        Ascending LSFs in radians, in (0, pi).
    """
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    if a.shape[1] % 2 == 0:
        raise ValueError(f"LPC order must be even, got {a.shape[1] - 1}")
    p_half, q_half = _sum_difference_polynomials(a)
    lsf = np.concatenate([_unit_circle_roots(_cosine_series(p_half)),
                          _unit_circle_roots(_cosine_series(q_half))], axis=1)
    return np.sort(lsf, axis=1)


def _product_of_quadratics(lsf: np.ndarray) -> np.ndarray:
    """Coefficients of prod_i (1 - 2 cos(w_i) z^-1 + z^-2), (frames, n) -> (frames, 2n + 1)."""
    frames, n = lsf.shape
    poly = np.zeros((2 * n + 1, frames))          # coefficient-major: each update is a contiguous block
    poly[0] = 1.0
    c = -2.0 * np.cos(lsf.T)
    for i in range(n):
        # Multiply the degree-2i polynomial by (1 + c z^-1 + z^-2), touching only its 2i + 3 coefficients.
        old = poly[:2 * i + 1].copy()
        poly[1:2 * i + 2] += c[i] * old
        poly[2:2 * i + 3] += old
    return poly.T


def lsf_to_lpc(lsf: np.ndarray) -> np.ndarray:
    """LPC filters from ascending LSFs: (frames, p) -> (frames, p + 1)."""
    lsf = np.atleast_2d(np.asarray(lsf, dtype=np.float64))
    # The lowest LSF is a root of P (whose trivial root is z = -1), then they alternate.
    p_half = _product_of_quadratics(lsf[:, 0::2])
    q_half = _product_of_quadratics(lsf[:, 1::2])
    zeros = np.zeros((lsf.shape[0], 1))
    p_full = np.concatenate([p_half, zeros], 1) + np.concatenate([zeros, p_half], 1)   # * (1 + z^-1)
    q_full = np.concatenate([q_half, zeros], 1) - np.concatenate([zeros, q_half], 1)   # * (1 - z^-1)
    return 0.5 * (p_full + q_full)[:, :-1]


# ---------------------------------------------------------------- LSF handling
def stabilize(lsf: np.ndarray, min_gap: float = MIN_GAP) -> np.ndarray:
    """Sort and space LSFs so that min_gap <= w1, w_{i+1} - w_i >= min_gap, w_p <= pi - min_gap."""
    out = np.sort(np.asarray(lsf, dtype=np.float64), axis=-1)
    out[..., 0] = np.maximum(out[..., 0], min_gap)
    for i in range(1, out.shape[-1]):
        out[..., i] = np.maximum(out[..., i], out[..., i - 1] + min_gap)
    out[..., -1] = np.minimum(out[..., -1], np.pi - min_gap)
    for i in range(out.shape[-1] - 2, -1, -1):
        out[..., i] = np.minimum(out[..., i], out[..., i + 1] - min_gap)
    return out


def interpolate(lsf_from: np.ndarray, lsf_to: np.ndarray, fraction: float | np.ndarray) -> np.ndarray:
    """Linear interpolation in the LSF domain; the result of two ordered sets stays ordered."""
    fraction = np.asarray(fraction, dtype=np.float64)
    return (1.0 - fraction) * lsf_from + fraction * lsf_to


# ------------------------------------------------------------ spectral distortion
def envelope_db(a: np.ndarray, n_fft: int = 512) -> np.ndarray:
    """Log magnitude of 1/A(e^jw) in dB at n_fft/2 + 1 frequencies from 0 to pi."""
    spectrum = np.abs(np.fft.rfft(np.atleast_2d(a), n_fft, axis=-1))
    return -20.0 * np.log10(np.maximum(spectrum, 1e-12))


def spectral_distortion(a_ref: np.ndarray, a_hat: np.ndarray, n_fft: int = 512) -> np.ndarray:
    """RMS difference of the two LPC envelopes in dB over 0-8 kHz, per frame.

    Parameters
    ----------
    a_ref, a_hat : ndarray, shape (frames, p + 1)

    Returns
    -------
    ndarray, shape (frames,)
    """
    diff = envelope_db(a_ref, n_fft) - envelope_db(a_hat, n_fft)
    return np.sqrt(np.mean(diff ** 2, axis=-1))
