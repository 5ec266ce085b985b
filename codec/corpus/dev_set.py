"""The development set: 8-12 s clips of voices (and recording conditions) the codec never trains on.

``vqcodec prepare dev --out data/dev`` writes ``CLIP.wav`` (16 kHz, 16-bit) and
``voices.csv`` (clip, voice, sex, language, seconds). Short recordings (words,
syllables) of one voice are trimmed of their silent ends and joined in name
order with 0.25 s pauses until a clip reaches 8 s (never past 12 s); a voice
gives at most ``MAX_CLIPS`` clips, spread evenly over its files.
``vqcodec eval data/dev`` scores the clips; ``benchmarks/dev_quality.py``
breaks the scores down by voice, sex and language.
"""

from __future__ import annotations

import csv
import logging
from collections import defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf

from ..dsp.framing import SAMPLE_RATE
from ..io import audio
from ..io.atomic import atomic_write
from .prepare import PrepareError, Source
from .recipes import DEV_VOICES

log = logging.getLogger(__name__)

MIN_SECONDS, MAX_SECONDS, GAP_SECONDS = 8.0, 12.0, 0.25
MAX_CLIPS = 4
TRIM_BELOW_PEAK_DB = 40.0     # 10 ms blocks this far below the file's peak block are silent ends
VOICES_FIELDS = ["clip", "voice", "sex", "language", "seconds"]


def trimmed(wav: np.ndarray) -> np.ndarray:
    """``wav`` without the silent 10 ms blocks at its start and end."""
    block = SAMPLE_RATE // 100
    n = len(wav) // block
    if n == 0:
        return wav
    rms = np.sqrt(np.mean(wav[:n * block].reshape(n, block) ** 2, axis=1)) + 1e-12
    loud = np.flatnonzero(20 * np.log10(rms / rms.max()) > -TRIM_BELOW_PEAK_DB)
    return wav[loud[0] * block:(loud[-1] + 1) * block]


def joined_clips(recordings: list[np.ndarray]) -> list[np.ndarray]:
    """Recordings (in order) joined with pauses into clips of MIN_SECONDS to MAX_SECONDS."""
    gap = np.zeros(round(GAP_SECONDS * SAMPLE_RATE))
    clips, parts, length = [], [], 0
    for wav in recordings:
        if length and length + len(gap) + len(wav) > MAX_SECONDS * SAMPLE_RATE:
            parts, length = [], 0          # would overshoot before reaching MIN_SECONDS: start again here
        if len(wav) > MAX_SECONDS * SAMPLE_RATE:
            continue
        parts += [gap, wav] if parts else [wav]
        length += len(wav) + (len(gap) if length else 0)
        if length >= MIN_SECONDS * SAMPLE_RATE:
            clips.append(np.concatenate(parts))
            parts, length = [], 0
    return clips


def spread(items: list, count: int) -> list:
    """At most ``count`` items, evenly spaced over the list."""
    if len(items) <= count:
        return items
    return [items[i] for i in np.linspace(0, len(items) - 1, count).round().astype(int)]


def build(sources: list[Source], out_dir: Path) -> Path:
    """Write the development clips of ``sources`` (voices of ``DEV_VOICES``) and ``voices.csv``; returns its path."""
    by_voice: dict[str, list[Path]] = defaultdict(list)
    for src in sorted(sources, key=lambda s: s.name):
        by_voice[src.speaker].append(src.path)
    unknown = set(by_voice) - set(DEV_VOICES)
    if unknown:
        raise PrepareError(f"not development voices: {', '.join(sorted(unknown))}")
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for voice in sorted(by_voice):
        recordings = [trimmed(audio.load(p)[0]) for p in by_voice[voice]]
        clips = spread(joined_clips(recordings), MAX_CLIPS)
        if not clips:
            log.warning("%s: no clip of %g-%g s could be made", voice, MIN_SECONDS, MAX_SECONDS)
        for i, clip in enumerate(clips):
            name = f"{voice}_{i + 1:02d}.wav"
            with atomic_write(out_dir / name) as partial:
                sf.write(str(partial), clip, SAMPLE_RATE, subtype="PCM_16")
            rows.append({"clip": name, "voice": voice, "sex": DEV_VOICES[voice].sex,
                         "language": DEV_VOICES[voice].language, "seconds": f"{len(clip) / SAMPLE_RATE:.2f}"})
    if not rows:
        raise PrepareError("no development clip could be made")
    table = out_dir / "voices.csv"
    with atomic_write(table) as partial, open(partial, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=VOICES_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    log.info("%d clips of %d voices in %s", len(rows), len(by_voice), out_dir)
    return table


def read_voices(path: Path) -> dict[str, dict]:
    """``voices.csv`` as {clip: row}."""
    with open(path, newline="") as f:
        return {row["clip"]: row for row in csv.DictReader(f)}
