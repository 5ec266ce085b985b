"""LSF features of a prepared corpus, computed with exactly the codec's analysis.

``extract`` reads a manifest (see ``codec.corpus``), runs ``lpc.analyze`` and
``lpc.lpc_to_lsf`` on every file, and writes one float32 array per split,
``features/lsf_train.npy`` and ``features/lsf_valid.npy`` (frames, 16),
which ``load`` memory-maps. Per-file results are cached so an interrupted run
resumes where it stopped.
"""

from __future__ import annotations

import logging
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..dsp import lpc
from ..io import audio
from ..io.atomic import atomic_write
from .prepare import read_manifest

log = logging.getLogger(__name__)

SILENCE_DBFS = -60.0          # frames quieter than this are silence
# Training-set augmentations (``extract(augment=...)``): recording conditions the corpus lacks. Band
# limits as left by resamplers and older recording chains (festvox-ru has nothing above 7 kHz);
# white noise 40 dB below the file's speech level.
AUGMENTATIONS = ("lp7", "lp4", "noise")
NOISE_BELOW_SPEECH_DB = 40.0
SILENCE_BELOW_PEAK_DB = 45.0  # ... and so are frames this far below the file's loudest frame


def frame_levels_db(wav: np.ndarray) -> np.ndarray:
    """RMS level of each 20 ms frame in dBFS, shape (frames,)."""
    n = lpc.num_frames(len(wav))
    padded = np.zeros(n * lpc.FRAME)
    padded[:len(wav)] = wav
    rms = np.sqrt(np.mean(padded.reshape(n, lpc.FRAME) ** 2, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-10))


def speech_frames(wav: np.ndarray) -> np.ndarray:
    """Boolean mask of frames that are not silence."""
    level = frame_levels_db(wav)
    return (level > SILENCE_DBFS) & (level > level.max() - SILENCE_BELOW_PEAK_DB)


def augmented(wav: np.ndarray, kind: str, seed: int = 0) -> np.ndarray:
    """``wav`` low-passed at 7 or 4 kHz (``lp7``, ``lp4``: 10th-order Butterworth), or with white noise
    NOISE_BELOW_SPEECH_DB under its speech level (``noise``, seeded)."""
    from scipy import signal   # training only; the codec's imports stay light

    if kind in ("lp7", "lp4"):
        sos = signal.butter(10, 7000 if kind == "lp7" else 4000, fs=audio.SAMPLE_RATE, output="sos")
        return signal.sosfilt(sos, wav).astype(np.float32)
    if kind == "noise":
        level = 10 ** (frame_levels_db(wav)[speech_frames(wav)].mean() / 20 - NOISE_BELOW_SPEECH_DB / 20)
        noise = np.random.default_rng(seed).normal(scale=level, size=len(wav))
        return (wav + noise).astype(np.float32)
    raise ValueError(f"unknown augmentation {kind!r}; choose from {', '.join(AUGMENTATIONS)}")


def lsf_of_file(path: Path, *, drop_silence: bool = True, augment: str | None = None) -> np.ndarray:
    """LSFs (frames, 16), float32, of one audio file (optionally augmented), silent frames of the
    original optionally dropped."""
    wav, _ = audio.load(path)
    coded = augmented(wav, augment, seed=zlib.crc32(str(path).encode())) if augment else wav
    lsf = lpc.lpc_to_lsf(lpc.analyze(coded)).astype(np.float32)
    return lsf[speech_frames(wav)] if drop_silence else lsf


def _extract_one(job: tuple[Path, Path, bool, str | None]) -> tuple[Path, str]:
    src, cache, drop_silence, augment = job
    if cache.exists():
        return cache, ""
    try:
        lsf = lsf_of_file(src, drop_silence=drop_silence, augment=augment)
    except (audio.AudioError, ValueError) as err:
        return cache, str(err)
    cache.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(cache) as partial:
        np.save(partial, lsf)
    return cache, ""


def extract(manifest: Path, *, drop_silence: bool = True, workers: int = 2,
            augment: tuple[str, ...] = ()) -> dict[str, Path]:
    """Write ``features/lsf_{split}.npy`` beside the manifest; returns split -> path.

    ``augment`` (names from AUGMENTATIONS) appends, to the train split only, the
    features of every training file under each augmentation (validation stays clean).
    """
    root = manifest.parent
    entries = read_manifest(manifest)
    unknown = set(augment) - set(AUGMENTATIONS)
    if unknown:
        raise ValueError(f"unknown augmentation {', '.join(sorted(unknown))}; choose from {', '.join(AUGMENTATIONS)}")
    tag = "speech" if drop_silence else "all"
    variants = [(None, e) for e in entries] + [(a, e) for a in augment for e in entries if e.split == "train"]
    jobs = [(root / e.path, root / "features" / "-".join(["files", tag] + ([a] if a else []))
             / Path(e.path).with_suffix(".npy"), drop_silence, a) for a, e in variants]
    failures = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for cache, error in tqdm(pool.map(_extract_one, jobs, chunksize=16), total=len(jobs), desc="features"):
            if error:
                failures.append(f"{cache}\t{error}")
    if failures:
        log.warning("%d files gave no features:\n%s", len(failures), "\n".join(failures))
    shards = {}
    for split in sorted({e.split for e in entries}):
        parts = [np.load(cache) for (_, e), (_, cache, _, _) in zip(variants, jobs) if e.split == split and cache.exists()]
        data = np.concatenate(parts) if parts else np.zeros((0, lpc.ORDER), np.float32)
        path = root / "features" / f"lsf_{split}.npy"
        with atomic_write(path) as partial:
            np.save(partial, data)
        shards[split] = path
        log.info("%s: %d frames -> %s", split, len(data), path)
    return shards


def load(features_dir: Path, split: str) -> np.ndarray:
    """Memory-map the LSF array of one split, shape (frames, 16)."""
    path = Path(features_dir) / f"lsf_{split}.npy"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run `vqcodec prepare` first")
    return np.load(path, mmap_mode="r")
