"""Quality measures: PESQ (wideband), perceptually weighted SNR, LPC spectral distortion, and on
request ViSQOL (speech mode) and the non-intrusive DNSMOS: second opinions where PESQ is not validated
(speech a neural postfilter has reshaped).

pSNR, exactly: A_i(z) is the order-16 LPC of frame i of the *reference*
(``lpc.analyze``: 20 ms frames, frame i = samples [320 i, 320 i + 320)). Both
signals are filtered with W(z) = A_i(z/0.92) / (1 - 0.68 z^-1)
(``codec.dsp.weighting.filter_signal``: the FIR part switching coefficients at
frame boundaries, the all-pole part running continuously); then

    pSNR = 10 log10( sum_n r_w[n]^2 / sum_n (r_w[n] - d_w[n])^2 )   dB

over the whole signal (not segmental).
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

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


# Slower scores computed on request (``vqcodec eval --metrics``), each from a package of the [eval]
# extra: the name of the score, the module it needs, and what to install.
_SPEECHMOS = ("speechmos", "pip install speechmos onnxruntime librosa requests")
EXTRA_METRICS = {"visqol": ("visqol", "pip install 'visqol-python[lattice]'"), "dnsmos": _SPEECHMOS,
                 "plcmos": _SPEECHMOS}


def missing_metric(name: str) -> str | None:
    """Why the extra score ``name`` cannot be computed here, or None when it can."""
    import importlib.util

    if name not in EXTRA_METRICS:
        raise ValueError(f"unknown score {name!r}; choose from {', '.join(EXTRA_METRICS)}")
    module, install = EXTRA_METRICS[name]
    return None if importlib.util.find_spec(module) else f"{name} needs the {module} package ({install})"


@functools.lru_cache(maxsize=1)
def _visqol():
    """ViSQOL v3 in speech mode with its deep-lattice mapping (the C++ tool's default), created once."""
    logging.getLogger("visqol").setLevel(logging.ERROR)   # it logs a line per measurement
    from visqol.api import VisqolApi

    api = VisqolApi()
    api.create(mode="speech", use_lattice_model=True)
    return api


def visqol_speech(ref: np.ndarray, deg: np.ndarray) -> float:
    """ViSQOL v3 MOS-LQO, speech mode (16 kHz), of ``deg`` against ``ref`` (aligned, same length).

    Raises
    ------
    MetricError
        When ViSQOL cannot score the pair (silent or too short).
    """
    ref, deg = _pair(ref, deg)
    if not np.any(ref):
        raise MetricError("ViSQOL failed: silent reference")
    try:
        return float(_visqol().measure_from_arrays(ref, deg, SAMPLE_RATE).moslqo)
    except (ValueError, RuntimeError, IndexError) as err:
        raise MetricError(f"ViSQOL failed: {err}") from None


def _session(path: str | Path):
    """An ONNX session on one thread, like the rest of an evaluation worker (``vqcodec eval`` runs one
    worker per core); ``speechmos`` would start its own thread pools."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options)


def _heard(deg: np.ndarray, name: str) -> np.ndarray:
    """``deg`` as the non-intrusive models take it: float64 within [-1, 1], 1-D and not silent."""
    deg = np.clip(np.asarray(deg, dtype=np.float64), -1.0, 1.0)
    if deg.ndim != 1 or not np.any(deg):
        raise MetricError(f"{name} failed: empty or silent signal")
    return deg


@functools.lru_cache(maxsize=1)
def _dnsmos():
    """The DNSMOS P.835 scorer of ``speechmos`` with single-threaded sessions, created once."""
    from speechmos import dnsmos

    models = Path(dnsmos.__file__).parent / "dnsmos_models"
    scorer = dnsmos.DNSMOS(str(models / "sig_bak_ovr.onnx"), str(models / "model_v8.onnx"))
    scorer.onnx_sess, scorer.p808_onnx_sess = _session(scorer.primary_model_path), _session(models / "model_v8.onnx")
    return scorer


def dnsmos(deg: np.ndarray) -> dict[str, float]:
    """Non-intrusive DNSMOS P.835 of ``deg`` (16 kHz): overall quality, speech signal, background.

    Returns ``{"dnsmos": OVRL, "dnsmos_sig": SIG, "dnsmos_bak": BAK}`` on the 1-5 MOS scale. Clips
    shorter than the model's 9 s window are repeated to fill it (as ``speechmos`` does).
    """
    scores = _dnsmos()(_heard(deg, "DNSMOS"), SAMPLE_RATE, False)
    return {"dnsmos": float(scores["ovrl_mos"]), "dnsmos_sig": float(scores["sig_mos"]),
            "dnsmos_bak": float(scores["bak_mos"])}


@functools.lru_cache(maxsize=1)
def _plcmos():
    """The PLCMOS v2 scorer of ``speechmos`` with a single-threaded session, created once."""
    from speechmos import plcmos

    scorer = plcmos.PLCMOS()
    scorer.session = _session(scorer.model_path)
    return scorer


def plcmos(deg: np.ndarray) -> float:
    """Non-intrusive PLCMOS v2 of ``deg`` (16 kHz): how well lost packets were concealed, 1-5.

    The model averages 15 simulated raters drawn at random; they are drawn from a fixed seed so
    that a signal always gets the same score (numpy's global generator is left as it was).
    """
    deg = _heard(deg, "PLCMOS")
    state = np.random.get_state()
    try:
        np.random.seed(0)
        return float(_plcmos().get_mos(deg))
    finally:
        np.random.set_state(state)
