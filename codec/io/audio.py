"""Audio in and out of the codec's format (16 kHz mono float32): files, PCM arrays, resampling."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from ..dsp.framing import SAMPLE_RATE
# File suffixes taken as audio when a folder is searched (encode, eval, prepare).
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".aiff", ".aif", ".au", ".mp3", ".w64", ".caf")


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


MAX_CHANNELS = 64
MAX_PEAK = 64.0            # float samples beyond this (36 dB over full scale) are not audio in [-1, 1]


def check_samples(samples: np.ndarray, source: str = "audio") -> None:
    """Raise AudioError, naming ``source``, for NaN/Inf samples or float samples far beyond full scale."""
    if not np.isfinite(samples).all():
        raise AudioError(f"{source}: contains NaN or infinite samples")
    peak = float(np.abs(samples).max(initial=0.0))
    if peak > MAX_PEAK:
        raise AudioError(f"{source}: samples reach {peak:.3g}; float audio is expected within [-1, 1] "
                         "(scale it first)")


def as_float_mono(wav: np.ndarray) -> np.ndarray:
    """Float32 mono samples from float or integer PCM, (samples,) or (samples, channels).

    Integer PCM is scaled to [-1, 1) by its type's range (unsigned types centred).
    A (channels, samples) array is refused with a hint rather than read as
    thousands of channels, and so are float samples far beyond full scale.
    """
    wav = np.asarray(wav)
    if wav.ndim not in (1, 2) or wav.size == 0:
        raise AudioError(f"expected a non-empty (samples,) or (samples, channels) array, got shape {wav.shape}")
    if wav.ndim == 2 and wav.shape[1] > MAX_CHANNELS:
        raise AudioError(f"an array of shape {wav.shape} has {wav.shape[1]} channels; for (channels, samples) "
                         "audio pass its transpose (wav.T)")
    if np.issubdtype(wav.dtype, np.integer):
        info = np.iinfo(wav.dtype)
        wav = (wav.astype(np.float64) - (info.min + info.max + 1) / 2) / ((info.max - info.min + 1) / 2)
    elif not np.issubdtype(wav.dtype, np.floating):
        raise AudioError(f"unsupported sample type {wav.dtype}")
    wav = to_mono(wav).astype(np.float32, copy=False)
    check_samples(wav)
    return wav


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
    """Read a whole audio file at its own rate and downmix: float32 (frames,) and its AudioInfo.

    Raises
    ------
    AudioError
        The file cannot be read as audio, has no samples, or has NaN/Inf samples.
    """
    info, blocks = read_blocks(path)
    return np.concatenate(list(blocks)), info


BLOCK = 1 << 16   # samples per block when streaming a file


def read_blocks(source, *, blocksize: int = BLOCK, name: str | None = None) -> tuple[AudioInfo, Iterator[np.ndarray]]:
    """Open audio for streaming: its AudioInfo and an iterator of mono float32 blocks.

    ``source`` is a path or a seekable binary file object (``name`` then names it in errors).

    Raises
    ------
    AudioError
        At once when the audio cannot be opened or is empty; from the iterator
        when a block holds NaN/Inf samples or the file turns out truncated or corrupt.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = name or str(path)
        if not str(source):
            raise AudioError("empty input path")
        if not path.is_file():
            raise AudioError(f"{path}: no such file")
        source = str(path)
    try:
        handle = sf.SoundFile(source)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as err:
        raise AudioError(f"{name}: not a readable audio file ({err})") from None
    info = AudioInfo(sample_rate=int(handle.samplerate), frames=int(handle.frames), channels=int(handle.channels))
    if info.frames <= 0:
        handle.close()
        raise AudioError(f"{name}: contains no audio samples")

    def blocks() -> Iterator[np.ndarray]:
        with handle:
            try:
                for block in handle.blocks(blocksize=blocksize, dtype="float32", always_2d=True):
                    check_samples(block, name)
                    yield to_mono(block)
            except (sf.LibsndfileError, RuntimeError) as err:   # a truncated or corrupt FLAC, MP3, ...
                raise AudioError(f"{name}: unreadable audio data ({err})") from None

    return info, blocks()


def resample_blocks(blocks: Iterable[np.ndarray], sr_in: int, sr_out: int) -> Iterator[np.ndarray]:
    """Streaming soxr resampling (very high quality) of consecutive blocks, float32 out."""
    if sr_in == sr_out:
        yield from (np.asarray(b, dtype=np.float32) for b in blocks)
        return
    stream = soxr.ResampleStream(sr_in, sr_out, 1, dtype="float32", quality="VHQ")
    for block in blocks:
        yield stream.resample_chunk(np.asarray(block, dtype=np.float32))
    yield stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True)


def fit_blocks(blocks: Iterable[np.ndarray], length: int) -> Iterator[np.ndarray]:
    """Exactly ``length`` samples from ``blocks``: cut the excess, pad with zeros."""
    remaining = length
    for block in blocks:
        if remaining <= 0:
            break
        block = block[:remaining]
        remaining -= len(block)
        yield block
    if remaining > 0:
        yield np.zeros(remaining, dtype=np.float32)
