"""Noise filling: coefficients quantized to zero above 800 Hz are replaced by noise at a sent level.

The encoder measures the RMS of the weighted, gain-normalized coefficients
that quantized to zero above NOISE_START and sends it in 3 bits (steps of
1/14 of the quantizer step); the decoder fills those zeros with random signs
at that level times the bitrate's ``noise_gain`` (``codec.modes``: filling at
the full, energy-matched level measured worse in PESQ and pSNR,
``benchmarks/noise_filling.py``).
"""

from __future__ import annotations

import numpy as np

NOISE_BITS = 3
NOISE_STEP = 1.0 / 14.0       # noise RMS in units of the quantizer step
NOISE_START = 32              # first noise-filled bin (800 Hz)


def noise_index(y: np.ndarray, q: np.ndarray) -> np.ndarray:
    """RMS of the coefficients quantized to zero above NOISE_START, quantized: (frames,)."""
    zeroed = q[:, NOISE_START:] == 0
    energy = np.where(zeroed, y[:, NOISE_START:] ** 2, 0.0).sum(-1) / np.maximum(zeroed.sum(-1), 1)
    return np.clip(np.round(np.sqrt(energy) / NOISE_STEP), 0, 2 ** NOISE_BITS - 1).astype(np.int64)


def random_signs(frame_ids: np.ndarray, bins: int = 320) -> np.ndarray:
    """+-1 per (frame, bin) from an integer hash of the absolute frame number.

    A hash rather than a generator: the decoder's output must not depend on
    where a long file was cut into chunks.
    """
    h = (np.asarray(frame_ids, dtype=np.uint32)[:, None] * np.uint32(0x9E3779B1)
         + np.arange(bins, dtype=np.uint32) * np.uint32(0x85EBCA77))
    h ^= h >> np.uint32(15)
    h *= np.uint32(0x2C1B3C6D)
    h ^= h >> np.uint32(12)
    return np.where(h & np.uint32(1 << 20), 1.0, -1.0)


def fill(y: np.ndarray, q: np.ndarray, noise: np.ndarray, frame_ids: np.ndarray, *,
         noise_gain: float = 1.0) -> np.ndarray:
    """``y`` (float, frames x N) with its zeros above NOISE_START replaced by noise at level ``noise``."""
    level = (noise * NOISE_STEP * noise_gain)[:, None] * random_signs(frame_ids, y.shape[1])
    y[:, NOISE_START:] = np.where(q[:, NOISE_START:] == 0, level[:, NOISE_START:], y[:, NOISE_START:])
    return y
