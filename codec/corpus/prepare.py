"""Turn a folder of speech (or the demo corpus) into 16 kHz FLAC files and a manifest.

A manifest is a CSV with one row per kept file:
``path, duration, speaker, language, split, source`` (path relative to the
manifest's folder). The split is speaker-disjoint: whole speakers go to
validation until it holds about ``valid_fraction`` of the audio.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import soundfile as sf
from tqdm.auto import tqdm

from ..io import audio
from ..io.atomic import atomic_write

log = logging.getLogger(__name__)

MANIFEST_FIELDS = ["path", "duration", "speaker", "language", "split", "source"]


@dataclass
class Source:
    """One input file and what we know of it."""

    path: Path          # absolute input path
    name: str           # output name, relative, without suffix
    speaker: str
    language: str


@dataclass
class Entry:
    """One manifest row."""

    path: str
    duration: float
    speaker: str
    language: str
    split: str
    source: str


class PrepareError(RuntimeError):
    """Preparing the corpus cannot go on (missing packages, no audio found)."""


# ------------------------------------------------------------------ discovery
def folder_sources(root: Path) -> list[Source]:
    """Every audio file under ``root``; the speaker is the first folder below root.

    That matches LibriSpeech (speaker/chapter/file) and VCTK (wav48/speaker/file
    after choosing the wav folder); files directly in root get speaker "unknown".
    """
    root = root.resolve()
    sources = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in audio.AUDIO_SUFFIXES):
        rel = path.relative_to(root)
        speaker = rel.parts[0] if len(rel.parts) > 1 else "unknown"
        sources.append(Source(path, str(rel.with_suffix("")), speaker, "unknown"))
    return sources


def drop_duplicates(sources: list[Source]) -> list[Source]:
    """Keep the first of byte-identical files (in name order)."""
    seen: set[str] = set()
    kept = []
    for src in sorted(sources, key=lambda s: s.name):
        digest = hashlib.sha1(src.path.read_bytes()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            kept.append(src)
    return kept


# ------------------------------------------------------------------ conversion
def _convert(job: tuple[Source, Path]) -> tuple[float | None, str]:
    """Convert one file to 16 kHz FLAC; returns (duration or None, error)."""
    src, out = job
    if out.exists():
        try:
            info = sf.info(str(out))
            return info.frames / info.samplerate, ""
        except RuntimeError:
            out.unlink()  # a broken leftover: convert again
    try:
        wav, _ = audio.load(src.path)
    except audio.AudioError as err:
        return None, str(err)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out) as partial:
        sf.write(str(partial), wav, audio.SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    return len(wav) / audio.SAMPLE_RATE, ""


def convert_all(sources: list[Source], out_dir: Path, *, workers: int) -> tuple[list[tuple[Source, str, float]],
                                                                                list[tuple[Path, str]]]:
    """Convert in parallel with a progress bar; returns (converted, skipped-with-reason)."""
    jobs = [(src, out_dir / "audio" / f"{src.name}.flac") for src in sources]
    converted, skipped = [], []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = pool.map(_convert, jobs, chunksize=16)
        for (src, out), (duration, error) in tqdm(zip(jobs, results), total=len(jobs), desc="convert"):
            if duration is None:
                skipped.append((src.path, error))
            else:
                converted.append((src, str(out.relative_to(out_dir)), duration))
    return converted, skipped


def speaker_split(durations: dict[str, float], valid_fraction: float) -> set[str]:
    """Validation speakers: in a fixed hashed order, take speakers until about
    ``valid_fraction`` of the total duration, skipping any that would overshoot
    by more than half the target. Never all speakers."""
    total = sum(durations.values())
    target = valid_fraction * total
    chosen: set[str] = set()
    held = 0.0
    for speaker in sorted(durations, key=lambda s: hashlib.md5(s.encode()).hexdigest()):
        if held >= target or len(chosen) == len(durations) - 1:
            break
        if held + durations[speaker] <= 1.5 * target:
            chosen.add(speaker)
            held += durations[speaker]
    if not chosen and len(durations) > 1:
        # Few speakers, each larger than the target: hold out the smallest rather than none.
        chosen.add(min(durations, key=lambda s: (durations[s], s)))
    return chosen


def file_split(durations: list[float], valid_fraction: float) -> list[bool]:
    """For a corpus of one speaker: the last files (in name order) until ``valid_fraction`` of the
    audio are validation; never all files. Returns a flag per file."""
    target, held, flags = valid_fraction * sum(durations), 0.0, [False] * len(durations)
    for i in range(len(durations) - 1, 0, -1):
        if held >= target:
            break
        flags[i], held = True, held + durations[i]
    return flags


def write_manifest(entries: list[Entry], path: Path) -> None:
    with atomic_write(path) as partial, open(partial, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=MANIFEST_FIELDS)
        writer.writeheader()
        for e in entries:
            writer.writerow({**asdict(e), "duration": f"{e.duration:.3f}"})


def read_manifest(path: Path) -> list[Entry]:
    with open(path, newline="") as f:
        return [Entry(r["path"], float(r["duration"]), r["speaker"], r["language"], r["split"], r["source"])
                for r in csv.DictReader(f)]


def prepare_corpus(sources: list[Source], out_dir: Path, *, workers: int = 2, valid_fraction: float = 0.15,
                   dedupe: bool = True) -> Path:
    """Convert ``sources`` into ``out_dir`` and write ``out_dir/manifest.csv``; returns its path."""
    if not sources:
        raise PrepareError("no audio files found")
    out_dir.mkdir(parents=True, exist_ok=True)
    if dedupe:
        before = len(sources)
        sources = drop_duplicates(sources)
        log.info("dropped %d byte-identical duplicates of %d files", before - len(sources), before)
    converted, skipped = convert_all(sources, out_dir, workers=workers)
    if skipped:
        lines = [f"{path}\t{reason}" for path, reason in skipped]
        (out_dir / "skipped.txt").write_text("\n".join(lines) + "\n")
        log.warning("skipped %d unreadable files, listed in %s", len(skipped), out_dir / "skipped.txt")
    if not converted:
        raise PrepareError("none of the audio files could be read")
    per_speaker: dict[str, float] = {}
    for src, _, duration in converted:
        per_speaker[src.speaker] = per_speaker.get(src.speaker, 0.0) + duration
    valid = speaker_split(per_speaker, valid_fraction)
    if valid:
        held_out = [src.speaker in valid for src, _, _ in converted]
        share = sum(per_speaker[s] for s in valid) / sum(per_speaker.values())
        if share > 1.5 * valid_fraction:
            log.warning("validation speaker(s) %s hold %.0f %% of the audio (no smaller speaker to hold out)",
                        ", ".join(sorted(valid)), 100 * share)
    else:
        held_out = file_split([duration for _, _, duration in converted], valid_fraction)
        log.warning("one speaker only: the validation files share their speaker with training, so validation "
                    "is in-domain only (add speakers, or judge on a development set of other voices)")
    entries = [Entry(rel, duration, src.speaker, src.language, "valid" if hold else "train", str(src.path))
               for (src, rel, duration), hold in zip(converted, held_out)]
    if not any(held_out):
        raise PrepareError("only one file: nothing can be held out for validation")
    manifest = out_dir / "manifest.csv"
    write_manifest(entries, manifest)
    minutes = {s: sum(e.duration for e in entries if e.split == s) / 60 for s in ("train", "valid")}
    log.info("%d files: train %.1f min, valid %.1f min (speakers %s)", len(entries), minutes["train"],
             minutes["valid"], ", ".join(sorted(valid)))
    return manifest
