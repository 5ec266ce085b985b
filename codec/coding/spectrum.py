"""Quantizing the MDCT spectrum under the quantized LPC envelope (TCX with frequency-domain noise shaping).

Per 20 ms frame, with ``a_q`` the decoded (quantized) LPC of the frame::

    w_k   = |W(e^{jw_k})| = |A_q(e^{jw_k} / 0.92)| / |1 - 0.68 e^{-jw_k}|    (codec.dsp.weighting)
    y_k   = X_k * w_k / g                                 weighted, gain-normalized spectrum
    q_k   = sign(y_k) * floor(|y_k| + ROUNDING)           integers, entropy coded
    X^_k  = y^_k * g / w_k                                decoder

so the quantization error, white in ``y``, is shaped like ``1 / W(z)``: the
same W(z) that defines pSNR. The global gain ``g`` is the only free parameter
of a frame; ``codec.coding.rate_control`` picks the finest gain whose coded
size fits the frame's budget. Zeros above 800 Hz are filled with noise
(``codec.coding.noise_filling``).

Per frame this transmits the gain (7 bits; the top index SILENT means the
frame's spectrum is not coded at all, so every frame fits any budget) and the
spectral level (4 bits, the entropy model's context).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..dsp import weighting
from . import noise_filling

GAIN_BITS = 7
GAIN_STEP = 0.25              # log2 units: 1.5 dB
GAIN_ZERO = 64                # index of g = 1
SILENT = 2 ** GAIN_BITS - 1   # gain index meaning "no spectrum coded": always fits the budget
LEVEL_BITS = 4
LEVEL_STEP = 0.5              # log2 units
LEVEL_MIN = -2.0              # log2(LEVEL_FLOOR): an all-zero frame
LEVEL_FLOOR = 0.25
# A dead zone and a reconstruction pulled towards zero, as the Laplacian-like |y| wants: measured on
# the development set (18 clips, 8 / 13.2 / 24.4 kbit/s) 0.4 / 0.1 gave PESQ-WB +0.04 / +0.04 / +0.05
# over round-to-nearest (0.5 / 0); 0.3-0.35 were no better.
ROUNDING = 0.4                # rounding offset (0.5 = round to nearest; less = dead zone)
SHRINK = 0.1                  # decoder pulls nonzero values this far towards zero


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

    def rows(self, rows: slice) -> Shaping:
        return Shaping(self.weights[rows], self.shape[rows])


def shaping(a_q: np.ndarray) -> Shaping:
    """Weights and expected spectral shape from quantized LPC (frames, 17)."""
    r = weighting.at_bins(a_q)
    # The LPC models the pre-emphasized signal, so |X| ~ 1 / (|A| * tilt); y = X * w.
    shape = np.log2(np.maximum(r.weighted, 1e-9) / np.maximum(r.envelope, 1e-9)) - 2.0 * np.log2(r.tilt)
    shape -= shape.mean(axis=-1, keepdims=True)
    return Shaping(r.weights, shape)


def gain_value(index: np.ndarray) -> np.ndarray:
    return np.exp2((np.asarray(index, dtype=np.float64) - GAIN_ZERO) * GAIN_STEP)


def quantize(y: np.ndarray, max_symbol: int, *, dtype=np.int32) -> np.ndarray:
    """Round with offset ROUNDING towards zero, saturate at +-max_symbol: float -> ``dtype`` (the rate
    loop's search keeps its float type: integer values, one conversion fewer)."""
    q = np.minimum(np.floor(np.abs(y) + ROUNDING), max_symbol)
    return np.copysign(q, y).astype(dtype, copy=False)


def level_index(y: np.ndarray) -> np.ndarray:
    """The frame's spectral level: mean log2(|y| + 1/4), quantized: (frames, N) -> (frames,)."""
    level = np.log2(np.abs(y) + LEVEL_FLOOR).mean(axis=-1)
    return np.clip(np.round((level - LEVEL_MIN) / LEVEL_STEP), 0, 2 ** LEVEL_BITS - 1).astype(np.int64)


def level_value(index: np.ndarray) -> np.ndarray:
    return LEVEL_MIN + LEVEL_STEP * np.asarray(index, dtype=np.float64)


def dequantize(q: np.ndarray, gain: np.ndarray, noise: np.ndarray, weights: np.ndarray,
               frame_ids: np.ndarray, expected: np.ndarray, *, noise_gain: float = 1.0,
               bands: np.ndarray | None = None) -> np.ndarray:
    """Decoded MDCT spectrum: integers, side information, weights, the entropy model's expected
    magnitudes (the noise filling's shape) and the noise-band corrections (frames, bands) -> (frames, N)."""
    q = np.where((gain == SILENT)[:, None], 0, q)
    y = q - SHRINK * np.sign(q)
    y = noise_filling.fill(y, q, noise, frame_ids, noise_filling.profile(expected), noise_gain=noise_gain,
                           bands=bands)
    return y * (gain_value(gain)[:, None] / weights)
