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

The profile is a guess from the envelope, and on continuous speech it guesses
wrong in a consistent way: the noise it puts in 6-8 kHz is 3-8 dB louder than
what the coefficients it replaces held (more where a recording has nothing
above 7 kHz), while 0.8-4 kHz gets 0.5-1.5 dB too little. So each packet also
carries one correction per band of NOISE_BANDS (``band_levels``, 4 bits each,
16 bits a packet): the ratio, in BAND_STEP_DB steps, of what the zeroed
coefficients held (times ``noise_gain``) to what the profile's noise would
put there, over the packet's frames.
"""

from __future__ import annotations

import numpy as np

NOISE_BITS = 3
NOISE_STEP = 1.0 / 14.0       # noise RMS in units of the quantizer step
NOISE_START = 32              # first noise-filled bin (800 Hz)
PROFILE_CAP = 0.3
PROFILE_FLOOR = 0.02
PROFILE_POWER = 0.5
# The noise bands (MDCT bin edges): 0.8-2, 2-4, 4-6 and 6-8 kHz. Per packet, each band's noise is scaled by
# BAND_STEP_DB * (index - BAND_ZERO) dB, index in 0 .. 2^BAND_BITS - 1: -15 to +7.5 dB.
NOISE_BANDS = (32, 80, 160, 240, 320)
BAND_BITS = 4
BAND_STEP_DB = 1.5
BAND_ZERO = 10
# Packets of fewer frames carry no corrections: with 1-frame packets their 16 bits were a tenth of an 8 kbit/s
# frame, and PESQ-WB fell by 0.35-0.55 on sentence clips; with 4-frame packets (4 bits a frame) they gain.
BAND_MIN_FRAMES = 4


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


def _levels(q: np.ndarray, noise: np.ndarray, shape: np.ndarray, noise_gain: float) -> tuple[np.ndarray, np.ndarray]:
    """The noise magnitudes above NOISE_START before any band correction, and where they go (the zeroed
    coefficients): (frames, N - NOISE_START) each."""
    zeroed = q[:, NOISE_START:] == 0
    high = shape[:, NOISE_START:]
    rms = np.sqrt((high * high * zeroed).sum(-1) / np.maximum(zeroed.sum(-1), 1))
    return (noise * NOISE_STEP * noise_gain / np.maximum(rms, 1e-9))[:, None] * high, zeroed


def _band_sums(values: np.ndarray) -> np.ndarray:
    """Sums over each noise band of (frames, N - NOISE_START) values: (frames, bands)."""
    return np.add.reduceat(values, np.subtract(NOISE_BANDS[:-1], NOISE_START), axis=1)


def has_bands(packet_frames: int) -> bool:
    """Whether packets of ``packet_frames`` frames (the header's length) carry noise-band corrections."""
    return packet_frames >= BAND_MIN_FRAMES


def band_factors(bands: np.ndarray) -> np.ndarray:
    """Amplitude factors of band-level indices (..., bands)."""
    return 10.0 ** (BAND_STEP_DB * (np.asarray(bands, dtype=np.float64) - BAND_ZERO) / 20.0)


def band_levels(y: np.ndarray, q: np.ndarray, noise: np.ndarray, shape: np.ndarray, starts: np.ndarray, *,
                noise_gain: float = 1.0) -> np.ndarray:
    """The encoder's per-packet band corrections: indices (packets, bands) in 0 .. 2^BAND_BITS - 1.

    For each packet and band: what the zeroed coefficients of ``y`` held, times ``noise_gain``, over what
    :func:`fill` would put there uncorrected, summed over the packet's frames (``starts``: each
    packet's first frame), in BAND_STEP_DB steps; BAND_ZERO (no change) where no noise goes.
    """
    level, zeroed = _levels(q, noise, shape, noise_gain)
    filled = np.add.reduceat(_band_sums(level * level * zeroed), starts, axis=0)
    high = y[:, NOISE_START:]
    target = noise_gain ** 2 * np.add.reduceat(_band_sums(high * high * zeroed), starts, axis=0)
    ratio_db = 10.0 * np.log10(np.maximum(target, 1e-30) / np.maximum(filled, 1e-30))
    index = np.clip(np.round(ratio_db / BAND_STEP_DB) + BAND_ZERO, 0, 2 ** BAND_BITS - 1)
    return np.where(filled > 0, index, BAND_ZERO).astype(np.int64)


def fill(y: np.ndarray, q: np.ndarray, noise: np.ndarray, frame_ids: np.ndarray, shape: np.ndarray, *,
         noise_gain: float = 1.0, bands: np.ndarray | None = None) -> np.ndarray:
    """``y`` (float, frames x N) with its zeros above NOISE_START replaced by noise whose RMS over those
    zeros is level ``noise`` (times ``noise_gain``), whose spectrum follows ``shape`` (``profile``),
    each noise band scaled by its correction ``bands`` (frames, bands) of indices, when given."""
    level, zeroed = _levels(q, noise, shape, noise_gain)
    if bands is not None:
        factors = band_factors(bands)
        for b, (lo, hi) in enumerate(zip(NOISE_BANDS[:-1], NOISE_BANDS[1:])):
            level[:, lo - NOISE_START:hi - NOISE_START] *= factors[:, b:b + 1]
    level *= random_signs(frame_ids, y.shape[1], first=NOISE_START)
    np.copyto(y[:, NOISE_START:], level, where=zeroed)
    return y
