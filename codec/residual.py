"""Coding the MDCT spectrum under the quantized LPC envelope (TCX with frequency-domain noise shaping).

Per 20 ms frame, with ``a_q`` the decoded (quantized) LPC of the frame::

    w_k   = |A_q(e^{jw_k} / 0.92)| / |1 - 0.68 e^{-jw_k}|     perceptual weight of bin k
    y_k   = X_k * w_k / g                                      weighted, gain-normalized spectrum
    q_k   = sign(y_k) * floor(|y_k| + ROUNDING)                integers, entropy coded
    X^_k  = y^_k * g / w_k                                     decoder

so the quantization error, white in ``y``, is shaped like ``1 / W(z)``: the
same W(z) = A(z/0.92) / (1 - 0.68 z^-1) that defines pSNR. The global gain
``g`` is the only free parameter of a frame; the rate loop picks the finest
gain whose coded size fits the frame's budget. Coefficients quantized to zero
above NOISE_START are filled with noise at a transmitted level.

Side information per frame: gain (7 bits; the top index SILENT means the
frame's spectrum is not coded at all, so every frame fits any budget), spectral
level (4 bits, the entropy model's context), noise-filling level (3 bits).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .lpc import PREEMPHASIS
from .mdct import COEFFICIENTS

GAMMA = 0.92                  # weighting-filter bandwidth expansion, as in AMR-WB/EVS
GAIN_BITS = 7
GAIN_STEP = 0.25              # log2 units: 1.5 dB
GAIN_ZERO = 64                # index of g = 1
LEVEL_BITS = 4
LEVEL_STEP = 0.5              # log2 units
LEVEL_MIN = -2.0              # log2(LEVEL_FLOOR): an all-zero frame
LEVEL_FLOOR = 0.25
NOISE_BITS = 3
NOISE_STEP = 1.0 / 14.0       # noise RMS in units of the quantizer step
NOISE_START = 32              # first noise-filled bin (800 Hz)
# Decoder scaling of the transmitted (energy-matched) noise level, per bitrate: filling at
# the full level measured worse in PESQ and pSNR (benchmarks/noise_filling.py).
NOISE_GAIN = {8.0: 0.7, 9.6: 0.7, 13.2: 0.7, 16.4: 0.7, 24.4: 0.5, 32.0: 0.5}
ROUNDING = 0.5                # rounding offset (0.5 = round to nearest; less = dead zone)
SHRINK = 0.0                  # decoder pulls nonzero values this far towards zero
SIDE_BITS = GAIN_BITS + LEVEL_BITS + NOISE_BITS
SILENT = 2 ** GAIN_BITS - 1   # gain index meaning "no spectrum coded": always fits the budget


def bin_frequencies() -> np.ndarray:
    """Centre frequency of each MDCT bin in radians: pi (k + 1/2) / N."""
    return np.pi * (np.arange(COEFFICIENTS) + 0.5) / COEFFICIENTS


@functools.lru_cache(maxsize=4)
def _fourier_matrix(order: int) -> np.ndarray:
    """[cos(i w_k) | sin(i w_k)] for i = 0..order: (order + 1, 2N), computed once."""
    phase = np.outer(np.arange(order + 1), bin_frequencies())
    return np.concatenate([np.cos(phase), np.sin(phase)], axis=1)


def lpc_magnitude(a: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    """|A(e^{jw}/gamma)| at the MDCT bin centres: (frames, p+1) -> (frames, N)."""
    p = a.shape[-1] - 1
    parts = (a * gamma ** np.arange(p + 1)) @ _fourier_matrix(p)
    return np.hypot(parts[:, :COEFFICIENTS], parts[:, COEFFICIENTS:])


@dataclass
class Shaping:
    """What the quantized envelope tells both encoder and decoder about a frame's spectrum.

    Attributes
    ----------
    weights : ndarray, shape (frames, N)
        Perceptual weight w_k per bin; noise ends up shaped like 1 / w_k.
    shape : ndarray, shape (frames, N)
        Expected log2 magnitude of y_k relative to the frame's mean: the
        entropy model's context.
    """

    weights: np.ndarray
    shape: np.ndarray


def shaping(a_q: np.ndarray) -> Shaping:
    """Weights and expected spectral shape from quantized LPC (frames, 17)."""
    tilt = np.abs(1.0 - PREEMPHASIS * np.exp(-1j * bin_frequencies()))
    weighted = lpc_magnitude(a_q, GAMMA)
    envelope = lpc_magnitude(a_q)
    weights = weighted / tilt
    # The LPC models the pre-emphasized signal, so |X| ~ 1 / (|A| * tilt); y = X * w.
    shape = np.log2(np.maximum(weighted, 1e-9) / np.maximum(envelope, 1e-9)) - 2.0 * np.log2(tilt)
    shape -= shape.mean(axis=-1, keepdims=True)
    return Shaping(weights, shape)


def gain_value(index: np.ndarray) -> np.ndarray:
    return np.exp2((np.asarray(index, dtype=np.float64) - GAIN_ZERO) * GAIN_STEP)


def quantize(y: np.ndarray, max_symbol: int) -> np.ndarray:
    """Round with offset ROUNDING towards zero, saturate at +-max_symbol: float -> int32."""
    q = np.floor(np.abs(y) + ROUNDING)
    return (np.sign(y) * np.minimum(q, max_symbol)).astype(np.int32)


def level_index(y: np.ndarray) -> np.ndarray:
    """The frame's spectral level: mean log2(|y| + 1/4), quantized: (frames, N) -> (frames,)."""
    level = np.log2(np.abs(y) + LEVEL_FLOOR).mean(axis=-1)
    return np.clip(np.round((level - LEVEL_MIN) / LEVEL_STEP), 0, 2 ** LEVEL_BITS - 1).astype(np.int64)


def level_value(index: np.ndarray) -> np.ndarray:
    return LEVEL_MIN + LEVEL_STEP * np.asarray(index, dtype=np.float64)


def noise_index(y: np.ndarray, q: np.ndarray) -> np.ndarray:
    """RMS of the coefficients quantized to zero above NOISE_START, quantized: (frames,)."""
    zeroed = q[:, NOISE_START:] == 0
    energy = np.where(zeroed, y[:, NOISE_START:] ** 2, 0.0).sum(-1) / np.maximum(zeroed.sum(-1), 1)
    return np.clip(np.round(np.sqrt(energy) / NOISE_STEP), 0, 2 ** NOISE_BITS - 1).astype(np.int64)


def random_signs(frame_ids: np.ndarray) -> np.ndarray:
    """+-1 per (frame, bin) from an integer hash of the absolute frame number.

    A hash rather than a generator: the decoder's output must not depend on
    where a long file was cut into chunks.
    """
    h = (np.asarray(frame_ids, dtype=np.uint32)[:, None] * np.uint32(0x9E3779B1)
         + np.arange(COEFFICIENTS, dtype=np.uint32) * np.uint32(0x85EBCA77))
    h ^= h >> np.uint32(15)
    h *= np.uint32(0x2C1B3C6D)
    h ^= h >> np.uint32(12)
    return np.where(h & np.uint32(1 << 20), 1.0, -1.0)


def dequantize(q: np.ndarray, gain: np.ndarray, noise: np.ndarray, weights: np.ndarray,
               frame_ids: np.ndarray, *, noise_gain: float = 1.0) -> np.ndarray:
    """Decoded MDCT spectrum: integers, side information and weights -> (frames, N)."""
    q = np.where((gain == SILENT)[:, None], 0, q)
    y = q - SHRINK * np.sign(q)
    fill = (noise * NOISE_STEP * noise_gain)[:, None] * random_signs(frame_ids)
    y[:, NOISE_START:] = np.where(q[:, NOISE_START:] == 0, fill[:, NOISE_START:], y[:, NOISE_START:])
    return y * (gain_value(gain)[:, None] / weights)


@dataclass
class FrameCode:
    """Coded spectra: side information (frames,), integers and their context classes (frames, N)."""

    gain: np.ndarray
    level: np.ndarray
    noise: np.ndarray
    q: np.ndarray
    classes: np.ndarray


def _quantized(weighted: np.ndarray, offset: np.ndarray, gain: np.ndarray, model):
    """y, q, level and classes of weighted spectra (frames, N) at gain indices (frames,);
    ``offset`` is the model's context offset of the frames' shapes."""
    y = weighted / gain_value(gain).astype(weighted.dtype)[:, None]
    y[gain == SILENT] = 0.0
    q = quantize(y, model.max_symbol)
    level = level_index(y)
    return y, q, level, model.classes(level, None, offset=offset)


def _cost(q: np.ndarray, classes: np.ndarray, gain: np.ndarray, model) -> np.ndarray:
    return np.where(gain == SILENT, 0.0, model.bits(classes, q))


def code_at_gain(spectrum: np.ndarray, shaping_: Shaping, gain: np.ndarray, model) -> tuple[FrameCode, np.ndarray]:
    """Quantize every frame at its gain index; also returns the spectrum's cost in bits (frames,)."""
    gain = np.asarray(gain, dtype=np.int64)
    y, q, level, classes = _quantized(spectrum * shaping_.weights, model.context_offset(shaping_.shape), gain, model)
    return FrameCode(gain, level, noise_index(y, q), q, classes), _cost(q, classes, gain, model)


def rate_loop(spectrum: np.ndarray, shaping_: Shaping, budgets: np.ndarray, model) -> FrameCode:
    """The finest gain per frame whose estimated spectrum cost fits ``budgets`` (bits, per frame).

    Bisection over the gain indices, all frames at once: the cost falls
    (almost always monotonically) as the gain grows; SILENT when nothing fits.
    """
    frames = spectrum.shape[0]
    weighted = spectrum * shaping_.weights
    offset = model.context_offset(shaping_.shape)
    # The search runs in float32 (twice as fast); the final coding, whose classes the decoder
    # must reproduce exactly, in float64.
    weighted32, offset32 = weighted.astype(np.float32), offset.astype(np.float32)
    lo = np.zeros(frames, dtype=np.int64)
    hi = np.full(frames, SILENT, dtype=np.int64)
    for _ in range(GAIN_BITS):
        mid = (lo + hi) // 2
        _, q, _, classes = _quantized(weighted32, offset32, mid, model)
        fits = _cost(q, classes, mid, model) <= budgets
        hi = np.where(fits, mid, hi)
        lo = np.where(fits, lo, mid + 1)
    y, q, level, classes = _quantized(weighted, offset, lo, model)
    return FrameCode(lo, level, noise_index(y, q), q, classes)
