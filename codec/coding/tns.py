"""Temporal noise shaping: a short predictor across frequency, so the coding noise follows the time envelope.

A frame's quantization noise is white in its weighted MDCT spectrum, so in
time it spreads evenly over the 40 ms window. Where the window holds an onset,
a burst or a syllable's end, the noise fills the quiet part before or after it
and nothing masks it. Filtering the weighted spectrum Y across frequency with
its own prediction-error filter A (order ORDER, from 1 kHz up) flattens its
time envelope; the decoder applies 1/A to the decoded spectrum, which shapes
the noise like the signal's envelope in time (the duality AAC's TNS rests on).

The encoder filters a frame only when the prediction gain exceeds MIN_GAIN,
and sends its reflection coefficients with BITS bits each on an arcsine scale.
Per frame one symbol: 0 for "not filtered" (probability OFF_PROBABILITY), or 1
plus the coefficients' indices. Measured on the development set's continuous
sentences and the clips of ``tests/data`` (``docs/design.md``).
"""

from __future__ import annotations

import functools

import constriction
import numpy as np

ORDER = 2                     # orders 4 and 8 did no better on the development sentences
START = 40                    # first filtered bin (1 kHz): below it harmonics, not time structure, dominate
MIN_GAIN = 2.0                # prediction gain (3 dB) above which a frame is filtered
BITS = 4                      # per reflection coefficient
LEVELS = 2 ** BITS
SYMBOLS = 1 + LEVELS ** ORDER
OFF_PROBABILITY = 15 / 16     # 5-8 % of development frames were filtered
_SCALE = (LEVELS / 2 - 0.5) / (np.pi / 2)   # arcsine quantizer: index = round(asin(k) * _SCALE)


def analyze(weighted: np.ndarray) -> np.ndarray:
    """Per frame, the TNS symbol of weighted spectra (frames, N): 0, or the quantized filter."""
    z = weighted[:, START:]
    r = np.stack([(z[:, :z.shape[1] - lag] * z[:, lag:]).sum(-1) for lag in range(ORDER + 1)], 1)
    reflection, error = _levinson(r)
    index = np.clip(np.round(np.arcsin(reflection) * _SCALE), -LEVELS // 2, LEVELS // 2 - 1).astype(np.int64)
    active = (r[:, 0] > 0) & (r[:, 0] > MIN_GAIN * error) & (index != 0).any(-1)
    packed = ((index + LEVELS // 2) * LEVELS ** np.arange(ORDER)).sum(-1)
    return np.where(active, 1 + packed, 0).astype(np.int32)


def _levinson(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reflection coefficients (frames, ORDER) and the prediction error of autocorrelations (frames, ORDER + 1)."""
    a = np.zeros((len(r), ORDER + 1))
    a[:, 0] = 1.0
    error = r[:, 0].copy()
    reflection = np.zeros((len(r), ORDER))
    for i in range(1, ORDER + 1):
        k = -(a[:, :i] * r[:, i:0:-1]).sum(-1) / np.maximum(error, 1e-30)
        k = np.clip(k, -0.999, 0.999)
        a[:, 1:i + 1] = a[:, 1:i + 1] + k[:, None] * a[:, i - 1::-1][:, :i]
        reflection[:, i - 1] = k
        error = error * (1 - k * k)
    return reflection, error


def filters(symbols: np.ndarray) -> np.ndarray:
    """Prediction-error filters [1, a_1 .. a_ORDER] of symbols (frames,): (frames, ORDER + 1); symbol 0 is [1, 0, ..]."""
    symbols = np.asarray(symbols, dtype=np.int64)
    index = ((np.maximum(symbols, 1) - 1)[:, None] // LEVELS ** np.arange(ORDER)) % LEVELS - LEVELS // 2
    reflection = np.where(symbols[:, None] > 0, np.sin(index / _SCALE), 0.0)
    a = np.zeros((len(symbols), ORDER + 1))
    a[:, 0] = 1.0
    for i in range(ORDER):   # step-up recursion
        a[:, 1:i + 2] = a[:, 1:i + 2] + reflection[:, i:i + 1] * a[:, i::-1][:, :i + 1]
    return a


def flatten(spectra: np.ndarray, weights: np.ndarray, symbols: np.ndarray) -> np.ndarray:
    """The encoder's filtering of MDCT spectra (frames, N) under their noise-shaping ``weights``: in the
    weighted domain Y = X w, E_k = sum_i a_i Y_(k-i) across bins START..N-1 of the frames with a filter."""
    out = np.array(spectra, dtype=np.float64)
    rows = np.flatnonzero(symbols)
    if len(rows):
        a, y = filters(symbols[rows]), out[rows] * weights[rows]
        filtered = y.copy()
        for i in range(1, ORDER + 1):
            filtered[:, START + i:] += a[:, i:i + 1] * y[:, START:-i]
        out[rows] = filtered / weights[rows]
    return out


def restore(spectra: np.ndarray, weights: np.ndarray, symbols: np.ndarray) -> np.ndarray:
    """The decoder's inverse, 1/A across frequency in the weighted domain: (frames, N), in place."""
    rows = np.flatnonzero(symbols)
    if len(rows):
        a, y = filters(symbols[rows]), spectra[rows] * weights[rows]
        for k in range(START + 1, y.shape[1]):
            for i in range(1, min(ORDER, k - START) + 1):
                y[:, k] -= a[:, i] * y[:, k - i]
        spectra[rows] = y / weights[rows]
    return spectra


@functools.lru_cache(maxsize=1)
def model():
    """P(symbol): OFF_PROBABILITY for 0, the rest shared equally by the filters (constriction)."""
    return constriction.stream.model.Categorical(_probabilities(), perfect=False)


def _probabilities() -> np.ndarray:
    return np.concatenate([[OFF_PROBABILITY], np.full(SYMBOLS - 1, (1 - OFF_PROBABILITY) / (SYMBOLS - 1))])


def bits(symbols: np.ndarray) -> np.ndarray:
    """What each frame's symbol costs, in bits (frames,)."""
    return -np.log2(_probabilities()[np.asarray(symbols, dtype=np.int64)])
