"""Noise filling: coefficients quantized to zero above 800 Hz are replaced by noise at a sent level.

The encoder measures the RMS of the weighted, gain-normalized coefficients
that quantized to zero above NOISE_START and sends it in 3 bits (steps of
1/14 of the quantizer step). The decoder fills those zeros with random signs
whose RMS over the frame's zeros is that level times the bitrate's
``noise_gain`` (``codec.modes``), spread over frequency by a ``profile``: the
magnitude the entropy model expects at each bin (``SpectrumModel.expected_magnitude``,
from the envelope and the frame's level), capped at PROFILE_CAP (a zeroed
coefficient is below 1/2; uniform there, its RMS is 0.29) and raised to
PROFILE_POWER. One flat level for 0.8-8 kHz put up to 6 dB too much energy in
the top band at 8 kbit/s and too little below it; the expected magnitudes
alone (power 1) took too much out. Measured on the development set
(``benchmarks/dev_quality.py``, docs/evaluation.md).
"""

from __future__ import annotations

import numpy as np

NOISE_BITS = 3
NOISE_STEP = 1.0 / 14.0       # noise RMS in units of the quantizer step
NOISE_START = 32              # first noise-filled bin (800 Hz)
PROFILE_CAP = 0.3
PROFILE_FLOOR = 0.02
PROFILE_POWER = 0.5


def noise_index(y: np.ndarray, q: np.ndarray) -> np.ndarray:
    """RMS of the coefficients quantized to zero above NOISE_START, quantized: (frames,)."""
    zeroed = q[:, NOISE_START:] == 0
    energy = np.where(zeroed, y[:, NOISE_START:] ** 2, 0.0).sum(-1) / np.maximum(zeroed.sum(-1), 1)
    return np.clip(np.round(np.sqrt(energy) / NOISE_STEP), 0, 2 ** NOISE_BITS - 1).astype(np.int64)


def random_signs(frame_ids: np.ndarray, bins: int = 320, *, first: int = 0) -> np.ndarray:
    """+-1.0 per (frame, bin) for bins ``first .. bins - 1``, from an integer hash of the absolute frame number.

    A hash rather than a generator: the decoder's output must not depend on
    where a long file was cut into chunks.
    """
    h = (np.asarray(frame_ids, dtype=np.uint32)[:, None] * np.uint32(0x9E3779B1)
         + np.arange(first, bins, dtype=np.uint32) * np.uint32(0x85EBCA77))
    h ^= h >> np.uint32(15)
    h *= np.uint32(0x2C1B3C6D)
    h ^= h >> np.uint32(12)
    h >>= np.uint32(20)                # bit 20 decides the sign
    h &= np.uint32(1)
    signs = h.astype(np.float64)
    signs *= 2.0
    signs -= 1.0
    return signs


def profile(expected: np.ndarray) -> np.ndarray:
    """The noise's spectral shape from expected magnitudes (frames, N): capped, floored, compressed."""
    return np.clip(expected, PROFILE_FLOOR, PROFILE_CAP) ** PROFILE_POWER


def fill(y: np.ndarray, q: np.ndarray, noise: np.ndarray, frame_ids: np.ndarray, shape: np.ndarray, *,
         noise_gain: float = 1.0) -> np.ndarray:
    """``y`` (float, frames x N) with its zeros above NOISE_START replaced by noise whose RMS over those
    zeros is level ``noise`` (times ``noise_gain``) and whose spectrum follows ``shape`` (``profile``)."""
    zeroed = q[:, NOISE_START:] == 0
    high = shape[:, NOISE_START:]
    rms = np.sqrt((high * high * zeroed).sum(-1) / np.maximum(zeroed.sum(-1), 1))
    level = (noise * NOISE_STEP * noise_gain / np.maximum(rms, 1e-9))[:, None] * high
    level *= random_signs(frame_ids, y.shape[1], first=NOISE_START)
    np.copyto(y[:, NOISE_START:], level, where=zeroed)
    return y
