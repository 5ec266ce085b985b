"""The perceptual weighting filter W(z) = A(z / 0.92) / (1 - 0.68 z^-1), in the one place it is defined.

A(z) is an order-16 LPC of the pre-emphasized signal (``codec.dsp.lpc``), so
the de-emphasis term 1 / (1 - 0.68 z^-1) brings W back to the signal's own
spectral tilt, as in AMR-WB and EVS. The codec uses W in the frequency domain
(at the MDCT bin centres: the noise-shaping weights of ``codec.coding.spectrum``);
pSNR uses it in the time domain (``filter_signal``), so the codec's noise
shaping and the measure judging it are the same filter.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .framing import FRAME
from .lpc import ORDER, PREEMPHASIS

GAMMA = 0.92                  # bandwidth expansion of the numerator, as in AMR-WB/EVS


def bin_frequencies(bins: int = FRAME) -> np.ndarray:
    """Centre frequency of each MDCT bin in radians: pi (k + 1/2) / N."""
    return np.pi * (np.arange(bins) + 0.5) / bins


@functools.lru_cache(maxsize=4)
def _fourier_matrix(order: int, bins: int) -> np.ndarray:
    """[cos(i w_k) | sin(i w_k)] for i = 0..order: (order + 1, 2 bins), computed once."""
    phase = np.outer(np.arange(order + 1), bin_frequencies(bins))
    return np.concatenate([np.cos(phase), np.sin(phase)], axis=1)


def lpc_magnitude(a: np.ndarray, gamma: float = 1.0, bins: int = FRAME) -> np.ndarray:
    """|A(e^{jw} / gamma)| at the MDCT bin centres: (frames, p + 1) -> (frames, bins)."""
    p = a.shape[-1] - 1
    parts = (a * gamma ** np.arange(p + 1)) @ _fourier_matrix(p, bins)
    re, im = parts[:, :bins], parts[:, bins:]
    # Not np.hypot: its overflow guard costs twice the rest here, and |A| stays far from overflow.
    return np.sqrt(re * re + im * im)


@dataclass
class BinResponse:
    """The pieces of W and of the LPC envelope at the MDCT bin centres, (frames, bins) each."""

    weighted: np.ndarray       # |A(e^jw / GAMMA)|
    envelope: np.ndarray       # |A(e^jw)|
    tilt: np.ndarray           # |1 - 0.68 e^-jw|, (bins,)

    @property
    def weights(self) -> np.ndarray:
        """|W(e^jw)| per bin: what the spectrum is multiplied by before quantization."""
        return self.weighted / self.tilt


def at_bins(a: np.ndarray, bins: int = FRAME) -> BinResponse:
    """W and the envelope of LPC filters (frames, 17) at the MDCT bin centres."""
    tilt = np.abs(1.0 - PREEMPHASIS * np.exp(-1j * bin_frequencies(bins)))
    return BinResponse(lpc_magnitude(a, GAMMA, bins), lpc_magnitude(a, 1.0, bins), tilt)


def filter_signal(a: np.ndarray, signal: np.ndarray) -> np.ndarray:
    """``signal`` filtered by W(z) with A = ``a[i]`` in samples [FRAME i, FRAME i + FRAME).

    The FIR part A(z / GAMMA) switches coefficients at frame boundaries (inputs
    before a boundary stay in its memory); the all-pole de-emphasis runs continuously.
    """
    from scipy.signal import lfilter   # only pSNR needs it; the codec's import stays light

    weighted = a * GAMMA ** np.arange(ORDER + 1)
    n = len(signal)
    padded = np.concatenate([np.zeros(ORDER), signal])
    lagged = np.lib.stride_tricks.sliding_window_view(padded, ORDER + 1)[:, ::-1]   # lagged[t, j] = signal[t - j]
    coefficients = np.repeat(weighted, FRAME, axis=0)[:n]
    fir = np.einsum("tj,tj->t", lagged, coefficients)
    return lfilter([1.0], [1.0, -PREEMPHASIS], fir)
