"""Quality measures: PESQ (wideband), perceptually weighted SNR and LPC spectral distortion.

pSNR, exactly: A_i(z) is the order-16 LPC of frame i of the *reference*
(``lpc.analyze``: 20 ms frames, frame i = samples [320 i, 320 i + 320)). Both
signals are filtered with W(z) = A_i(z/0.92) / (1 - 0.68 z^-1)
(``codec.dsp.weighting.filter_signal``: the FIR part switching coefficients at
frame boundaries, the all-pole part running continuously); then

    pSNR = 10 log10( sum_n r_w[n]^2 / sum_n (r_w[n] - d_w[n])^2 )   dB

over the whole signal (not segmental).
"""

from __future__ import annotations

import numpy as np


from ..dsp import lpc, weighting
from ..dsp.framing import SAMPLE_RATE


class MetricError(ValueError):
    """A score that cannot be computed for these signals (too short, silent, no speech found)."""


def _pair(ref: np.ndarray, deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(ref, dtype=np.float64)
    deg = np.asarray(deg, dtype=np.float64)
    if ref.ndim != 1 or deg.ndim != 1:
        raise MetricError(f"expected 1-D signals, got shapes {ref.shape} and {deg.shape}")
    n = min(len(ref), len(deg))
    if n == 0:
        raise MetricError("empty signal")
    return ref[:n], deg[:n]


def weighting_filter(ref: np.ndarray, signal: np.ndarray) -> np.ndarray:
    """``signal`` filtered by W(z) (``codec.dsp.weighting``), A per 20 ms frame of ``ref``."""
    return weighting.filter_signal(lpc.analyze(ref), signal)


def psnr(ref: np.ndarray, deg: np.ndarray) -> float:
    """Perceptually weighted SNR in dB of ``deg`` against ``ref`` (16 kHz, same alignment)."""
    ref, deg = _pair(ref, deg)
    ref_w = weighting_filter(ref, ref)
    err_w = weighting_filter(ref, ref - deg)   # W is linear: W(ref) - W(deg) = W(ref - deg)
    signal, noise = float(np.sum(ref_w ** 2)), float(np.sum(err_w ** 2))
    if signal == 0.0:
        raise MetricError("silent reference")
    return float("inf") if noise == 0.0 else 10.0 * np.log10(signal / noise)


def pesq_wb(ref: np.ndarray, deg: np.ndarray, sample_rate: int = SAMPLE_RATE) -> float:
    """Wideband PESQ (ITU-T P.862.2, MOS-LQO) with the ``pesq`` package.

    Raises
    ------
    MetricError
        When PESQ cannot score the pair (too short, no utterance detected, silent).
    """
    from pesq import PesqError, pesq

    ref, deg = _pair(ref, deg)
    if sample_rate != SAMPLE_RATE:
        raise MetricError(f"wideband PESQ needs 16 kHz signals, got {sample_rate} Hz")
    if not np.any(ref):
        raise MetricError("PESQ failed: silent reference")
    try:
        return float(pesq(SAMPLE_RATE, ref.astype(np.float32), deg.astype(np.float32), "wb"))
    except PesqError as err:
        raise MetricError(f"PESQ failed: {type(err).__name__}") from None


def spectral_distortion(a_ref: np.ndarray, a_hat: np.ndarray) -> np.ndarray:
    """RMS log-spectral distance in dB between LPC envelopes, per frame (0-8 kHz)."""
    return lpc.spectral_distortion(a_ref, a_hat)


def normalize_level(wav: np.ndarray, dbov: float = -26.0) -> np.ndarray:
    """Scale to an RMS of ``dbov`` dB below full scale (simple RMS, not P.56 active level)."""
    wav = np.asarray(wav, dtype=np.float64)
    rms = np.sqrt(np.mean(wav ** 2))
    return wav if rms == 0 else wav * (10 ** (dbov / 20) / rms)
