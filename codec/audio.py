"""Reading audio into the codec's format: 16 kHz mono float32."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

SAMPLE_RATE = 16000


class AudioError(ValueError):
    """An input that is not usable audio: unreadable, empty, or not finite."""


@dataclass(frozen=True)
class AudioInfo:
    """What the decoder needs to give back the input's shape."""

    sample_rate: int   # original rate in Hz
    frames: int        # original length in samples at the original rate
    channels: int


def resample(wav: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample a 1-D float signal with soxr (very high quality), float32 out."""
    if sr_in == sr_out:
        return np.asarray(wav, dtype=np.float32)
    return soxr.resample(np.asarray(wav, dtype=np.float32), sr_in, sr_out, quality="VHQ").astype(np.float32)


def to_mono(data: np.ndarray) -> np.ndarray:
    """Average channels: (frames,) or (frames, channels) -> (frames,)."""
    return data if data.ndim == 1 else data.mean(axis=1)


def load(path: str | Path, *, sample_rate: int = SAMPLE_RATE) -> tuple[np.ndarray, AudioInfo]:
    """Read any file soundfile reads (WAV, FLAC, OGG, ...), downmix and resample.

    Parameters
    ----------
    path : str or Path
    sample_rate : int
        Output rate (default 16 kHz).

    Returns
    -------
    wav : ndarray, shape (samples,), float32 in [-1, 1] for integer formats
    info : AudioInfo
        The original rate, length and channel count.

    Raises
    ------
    AudioError
        The file cannot be read as audio, has no samples, or has NaN/Inf samples.
    """
    mono, info = read_mono(path)
    return resample(mono, info.sample_rate, sample_rate), info


def read_mono(path: str | Path) -> tuple[np.ndarray, AudioInfo]:
    """Read an audio file at its own rate and downmix: float32 (frames,) and its AudioInfo.

    Raises
    ------
    AudioError
        The file cannot be read as audio, has no samples, or has NaN/Inf samples.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such file")
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise AudioError(f"{path}: not a readable audio file ({err})") from None
    if data.shape[0] == 0:
        raise AudioError(f"{path}: contains no audio samples")
    if not np.isfinite(data).all():
        raise AudioError(f"{path}: contains NaN or infinite samples")
    info = AudioInfo(sample_rate=int(sr), frames=int(data.shape[0]), channels=int(data.shape[1]))
    return to_mono(data), info
