"""The evaluation procedure every condition goes through, vqcodec and reference codecs alike.

Each clip is read at 16 kHz mono, normalized to -26 dBov (RMS) and padded with
0.5 s of silence at each end (``prepared``: PESQ is fragile when speech touches
the file's edges); the decoded signal is aligned to the input by
cross-correlation, refined to 0.01 sample and applied as a fractional delay
(``align``), and both are cut to their common length; then PESQ-WB and pSNR
compare them, and on request ViSQOL, DNSMOS and PLCMOS (``score``; ``codec.evaluation.metrics`` defines them). The
envelope's spectral distortion is the quantizer's own (``envelope_sd``).
``docs/evaluation.md`` states the procedure and the pSNR definition in full.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..coding.bitstream import DEFAULT_PACKET_FRAMES
from ..corpus.features import speech_frames
from ..dsp import lpc
from ..dsp.framing import SAMPLE_RATE
from ..io.audio import load
from . import metrics

PAD_SECONDS = 0.5
MAX_LAG = SAMPLE_RATE // 10
SD_BINS = np.arange(0.0, 8.25, 0.25)   # per-frame SD histogram edges (dB); the last bin takes everything above


def prepared(path: Path) -> np.ndarray:
    """The clip at 16 kHz mono, -26 dBov, with 0.5 s of silence before and after."""
    wav, _ = load(path)
    pad = np.zeros(round(PAD_SECONDS * SAMPLE_RATE))
    return np.concatenate([pad, metrics.normalize_level(wav), pad])


def align(ref: np.ndarray, deg: np.ndarray, max_lag: int = MAX_LAG) -> tuple[np.ndarray, np.ndarray, float]:
    """Delay ``deg`` to match ``ref``: the lag (|lag| <= max_lag samples) of the cross-correlation peak,
    refined to 0.01 sample on the band-limited cross-correlation and applied as a linear phase (a
    fractional delay matters: half a sample costs a waveform SNR ~5 dB at 3 kHz).

    Returns ``ref`` and the shifted ``deg`` cut to their common length, and the lag in samples
    (positive: ``deg`` was late).
    """
    n = len(ref) + len(deg) + max_lag   # zero-padded: no circular wrap within the lags searched
    cross = np.fft.rfft(deg, n) * np.conj(np.fft.rfft(ref, n))
    lags = np.r_[np.arange(0, max_lag + 1), np.arange(-max_lag, 0)]
    lag = 0.0
    if np.any(deg) and np.any(ref):
        lag = float(lags[np.argmax(np.fft.irfft(cross, n)[lags])])
        phase, weights = 2j * np.pi * np.fft.rfftfreq(n), _rfft_weights(n)
        for step in (0.1, 0.01):   # the cross-correlation between samples, coarse then fine
            grid = lag + step * np.arange(-10, 11)
            values = [np.real(np.sum(weights * cross * np.exp(phase * t))) for t in grid]
            lag = float(grid[int(np.argmax(values))])
    whole = int(np.floor(lag))
    if lag != whole:
        m = len(deg) + 2 * max_lag   # room so that the circular shift does not wrap speech around
        deg = np.fft.irfft(np.fft.rfft(deg, m) * np.exp(2j * np.pi * np.fft.rfftfreq(m) * (lag - whole)), m)
        deg = deg[:m - 2 * max_lag]
    deg = deg[whole:] if whole >= 0 else np.concatenate([np.zeros(-whole), deg])
    common = min(len(ref), len(deg))
    return ref[:common], deg[:common], lag


def _rfft_weights(n: int) -> np.ndarray:
    """Weights that make a sum over rfft bins equal the sum over all FFT bins of a real signal."""
    weights = np.full(n // 2 + 1, 2.0)
    weights[0] = 1.0
    if n % 2 == 0:
        weights[-1] = 1.0
    return weights


def score(ref: np.ndarray, deg: np.ndarray, extra: tuple[str, ...] = ()) -> dict:
    """PESQ-WB, pSNR and the ``extra`` scores (``metrics.EXTRA_METRICS``) after alignment (``lag``);
    a score that cannot be computed is NaN with a reason."""
    ref, deg, lag = align(ref, deg)
    return {"lag": lag} | score_aligned(ref, deg, extra)


def score_aligned(ref: np.ndarray, deg: np.ndarray, extra: tuple[str, ...] = ()) -> dict:
    """PESQ-WB, pSNR and the ``extra`` scores of signals already aligned (``align``); NaN with a reason
    in ``note`` where they fail."""
    measures = {"pesq": metrics.pesq_wb, "psnr": metrics.psnr,
                "visqol": metrics.visqol_speech, "dnsmos": lambda _, d: metrics.dnsmos(d),
                "plcmos": lambda _, d: metrics.plcmos(d)}
    row, notes = {}, []
    for name in ("pesq", "psnr", *extra):
        try:
            value = measures[name](ref, deg)
            row |= value if isinstance(value, dict) else {name: value}
        except metrics.MetricError as err:
            row[name] = math.nan
            notes.append(f"{name}: {err}")
    return row | {"note": "; ".join(notes)}


def envelope_sd(codec, wav: np.ndarray, quantizer: str) -> np.ndarray:
    """Spectral distortion (dB) of the quantizer's envelope against the input's LPC, per speech frame,
    coded as the encoder codes it (packets of the default length)."""
    a = lpc.analyze(wav)
    envelope = codec.quantizer(quantizer).with_packet_frames(DEFAULT_PACKET_FRAMES)
    decoded = envelope.decode(envelope.encode(lpc.lpc_to_lsf(a)))
    return metrics.spectral_distortion(a, lpc.lsf_to_lpc(decoded))[speech_frames(wav)[:len(a)]]


def sd_fields(sd: np.ndarray) -> dict:
    """The row fields of a clip's per-frame envelope SD: mean, share above 4 dB, histogram over SD_BINS."""
    histogram = np.histogram(np.minimum(sd, SD_BINS[-1] - 1e-9), SD_BINS)[0]
    return {"sd_db": float(sd.mean()) if len(sd) else math.nan,
            "sd_over_4db_pct": float(100 * (sd > 4).mean()) if len(sd) else math.nan,
            "sd_histogram": " ".join(map(str, histogram))}
