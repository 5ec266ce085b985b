"""Order-16 LPC analysis per 20 ms frame: pre-emphasis, window, autocorrelation, Levinson-Durbin.

Analysis (as in AMR-WB/EVS): pre-emphasis 1 - 0.68 z^-1, a 30 ms Hann window
centred on each 20 ms frame, autocorrelation, a Gaussian lag window (60 Hz),
white-noise correction (+40 dB floor), Levinson-Durbin in float64, then
bandwidth expansion. The filters model the pre-emphasized spectrum; that is
why the perceptual weighting W(z) = A(z/0.92) / (1 - 0.68 z^-1) carries the
de-emphasis term.

Everything is vectorized over frames: arrays are (frames, 17) of LPC
coefficients [1, a1, ..., a16]. Whole signals are analysed in frames
[320 i, 320 i + 320) (``analyze``, used by features and pSNR); the codec cuts
its own windows where ``codec.dsp.framing`` places them (``analyze_frames``).
The LSF conversions live in ``codec.dsp.lsf`` and are re-exported here.
"""

from __future__ import annotations

import numpy as np

from .framing import FRAME, LPC_WINDOW, SAMPLE_RATE
from .lsf import MIN_GAP, interpolate, lpc_to_lsf, lsf_to_lpc, spectral_distortion, stabilize  # noqa: F401

ORDER = 16
PREEMPHASIS = 0.68
LAG_WINDOW_HZ = 60.0
WHITE_NOISE_CORRECTION = 1.0001
BANDWIDTH_EXPANSION = 0.994


def num_frames(samples: int) -> int:
    """Frames for a signal of ``samples`` samples (the last one zero-padded)."""
    return max(1, -(-samples // FRAME))


def preemphasize(wav: np.ndarray, coefficient: float = PREEMPHASIS) -> np.ndarray:
    """y[n] = x[n] - coefficient * x[n-1] (zero initial state)."""
    wav = np.asarray(wav, dtype=np.float64)
    out = wav.copy()
    out[1:] -= coefficient * wav[:-1]
    return out


def analysis_window() -> np.ndarray:
    """The 30 ms Hann window (without its zero end points)."""
    return np.hanning(LPC_WINDOW + 2)[1:-1]


def frame_signal(wav: np.ndarray) -> np.ndarray:
    """Windowed analysis frames, shape (frames, LPC_WINDOW), centred on each 20 ms frame."""
    n = num_frames(len(wav))
    lead = (LPC_WINDOW - FRAME) // 2
    padded = np.zeros(n * FRAME + 2 * lead)
    padded[lead:lead + len(wav)] = wav
    frames = np.lib.stride_tricks.sliding_window_view(padded, LPC_WINDOW)[::FRAME][:n]
    return frames * analysis_window()


def autocorrelation(frames: np.ndarray, order: int = ORDER) -> np.ndarray:
    """Lags 0..order of each row, via the FFT: (frames, L) -> (frames, order + 1)."""
    n_fft = 1 << int(np.ceil(np.log2(frames.shape[-1] + order)))
    spectrum = np.fft.rfft(frames, n_fft)
    return np.fft.irfft(spectrum.real ** 2 + spectrum.imag ** 2, n_fft)[..., :order + 1]


def lag_window(order: int = ORDER, f0: float = LAG_WINDOW_HZ, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Gaussian lag window exp(-(2 pi f0 k / sr)^2 / 2), k = 0..order."""
    k = np.arange(order + 1)
    return np.exp(-0.5 * (2 * np.pi * f0 * k / sr) ** 2)


def levinson(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Levinson-Durbin recursion, vectorized over rows.

    Parameters
    ----------
    r : ndarray, shape (frames, p + 1)
        Autocorrelation with r[:, 0] > 0.

    Returns
    -------
    a : ndarray, shape (frames, p + 1)
        [1, a1, ..., ap] with A(z) = sum a_k z^-k.
    reflection : ndarray, shape (frames, p)
    """
    r = np.asarray(r, dtype=np.float64)
    frames, p = r.shape[0], r.shape[1] - 1
    a = np.zeros((frames, p + 1))
    a[:, 0] = 1.0
    reflection = np.zeros((frames, p))
    error = r[:, 0].copy()
    for i in range(1, p + 1):
        acc = r[:, i] + np.einsum("fj,fj->f", a[:, 1:i], r[:, i - 1:0:-1])
        k = -acc / error
        a[:, 1:i] = a[:, 1:i] + k[:, None] * a[:, i - 1:0:-1]
        a[:, i] = k
        reflection[:, i - 1] = k
        error = error * (1.0 - k * k)
    return a, reflection


def analyze(wav: np.ndarray, *, order: int = ORDER) -> np.ndarray:
    """LPC coefficients per 20 ms frame of a 16 kHz signal.

    Parameters
    ----------
    wav : ndarray, shape (samples,)
        16 kHz mono audio.

    Returns
    -------
    ndarray, shape (frames, order + 1)
        [1, a1, ..., a_order] per frame; every filter is minimum phase, also
        for silence, DC, clipping or full-scale noise.
    """
    wav = np.asarray(wav, dtype=np.float64)
    if wav.ndim != 1:
        raise ValueError(f"expected a 1-D signal, got shape {wav.shape}")
    if not np.isfinite(wav).all():
        raise ValueError("signal contains NaN or Inf")
    return analyze_frames(frame_signal(preemphasize(wav)), order=order)


def analyze_frames(windowed: np.ndarray, *, order: int = ORDER) -> np.ndarray:
    """LPC of pre-emphasized, windowed frames: (frames, LPC_WINDOW) -> (frames, order + 1).

    The second half of :func:`analyze`, for callers that cut their own frames
    (the codec works through long files a chunk at a time).
    """
    r = autocorrelation(windowed, order)
    r *= lag_window(order)
    # White-noise correction, plus an absolute floor so silence gives A(z) = 1.
    r[:, 0] = r[:, 0] * WHITE_NOISE_CORRECTION + 1e-10
    a, _ = levinson(r)
    return a * BANDWIDTH_EXPANSION ** np.arange(order + 1)
