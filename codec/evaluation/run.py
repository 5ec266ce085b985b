"""``vqcodec eval``: code clips with vqcodec and reference codecs, score them alike, summarize.

Every condition goes through the same procedure (``codec.evaluation.procedure``).
Envelope SD is the quantizer's own: the input's order-16 LPC per 20 ms frame
against its quantized envelope, speech frames only (vqcodec rows; reference
codecs expose no envelope).
Measured kbit/s is the coded size (headers and containers included) over the
padded clip's duration; ``rtf`` is encode plus decode time over that duration
(vqcodec in-process with one thread, reference tools as whole processes).

A score that cannot be computed (PESQ finds no utterance, silent clip, a
reference tool failing) is NaN with its reason in ``note``; the run goes on.
Rows are appended to ``clips.csv`` as clips finish, so an interrupted run
resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import math
import multiprocessing
import os
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from ..dsp.framing import SAMPLE_RATE
from ..io.audio import AUDIO_SUFFIXES, AudioError
from ..threads import THREAD_VARIABLES
from .procedure import envelope_sd, prepared, score, sd_fields
from .references import REFERENCES, ReferenceError

SCORES = ("pesq", "psnr", "visqol", "dnsmos", "dnsmos_sig", "dnsmos_bak", "plcmos", "sd_db", "measured_kbps", "rtf")


@dataclass(frozen=True)
class Condition:
    """One way of coding a clip: ``codec`` ("vqcodec" or a reference), its ``variant`` (the quantizer), a rate."""

    codec: str
    variant: str
    kbps: float

    @property
    def label(self) -> str:
        return f"{self.codec}-{self.variant}" if self.variant else self.codec


@dataclass
class Row:
    """One clip coded under one condition (a line of ``clips.csv``)."""

    clip: str
    codec: str
    variant: str
    kbps: float
    measured_kbps: float = math.nan
    pesq: float = math.nan
    psnr: float = math.nan
    visqol: float = math.nan    # the extra scores (``--metrics``): NaN where not asked for
    dnsmos: float = math.nan
    dnsmos_sig: float = math.nan
    dnsmos_bak: float = math.nan
    plcmos: float = math.nan
    sd_db: float = math.nan
    sd_over_4db_pct: float = math.nan
    rtf: float = math.nan
    lag: float = 0.0            # samples the decoded signal was late (fractional)
    seconds: float = math.nan
    note: str = ""
    sd_histogram: str = ""      # counts per SD_BINS bin, space-separated (vqcodec rows)


def conditions(bitrates: list[float], quantizers: list[str], references: list[str]) -> tuple[list[Condition], list[str]]:
    """The conditions to run, and one line per reference codec or rate that is skipped (and why)."""
    out = [Condition("vqcodec", q, k) for q in quantizers for k in bitrates]
    skipped = []
    for name in references:
        if name not in REFERENCES:
            raise ValueError(f"unknown reference codec {name!r}; choose from {', '.join(REFERENCES)}")
        reference = REFERENCES[name]
        if (why := reference.missing()) is not None:
            skipped.append(f"{name}: skipped, {why}")
            continue
        rates, unsupported = reference.rates(bitrates)
        out += [Condition(name, "", k) for k in rates]
        skipped += [f"{name} at {k:g} kbit/s: skipped, {why}" for k, why in unsupported.items()]
    return out, skipped


def find_clips(source: str | Path, *, split: str = "valid", limit: int | None = None) -> list[tuple[str, Path]]:
    """(name, path) of the clips in a folder (searched recursively) or a ``manifest.csv`` split.

    With ``limit``, the ``limit`` longest clips (manifests; folders: the first by name).
    """
    from ..corpus.prepare import read_manifest

    source = Path(source)
    if source.is_dir():
        paths = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
        clips = [(str(p.relative_to(source)), p) for p in paths][:limit]
    elif source.is_file() and source.suffix == ".csv":
        entries = [e for e in read_manifest(source) if e.split == split]
        entries.sort(key=lambda e: (-e.duration, e.path))
        clips = [(e.path, source.parent / e.path) for e in entries[:limit]]
    else:
        raise FileNotFoundError(f"{source}: not a folder of audio files or a manifest.csv")
    if not clips:
        raise FileNotFoundError(f"{source}: no clips found" + (f" in split {split!r}" if source.is_file() else ""))
    return clips


def _evaluate_vqcodec(codec, wav: np.ndarray, condition: Condition) -> dict:
    start = time.perf_counter()
    data = codec.encode(wav, SAMPLE_RATE, bitrate=condition.kbps, quantizer=condition.variant)
    out, _ = codec.decode(data)
    return {"bytes": len(data), "elapsed": time.perf_counter() - start, "out": out}


def _evaluate_reference(wav: np.ndarray, condition: Condition) -> dict:
    with tempfile.TemporaryDirectory(prefix="vqcodec-eval-") as workdir:
        start = time.perf_counter()
        out, size = REFERENCES[condition.codec].code(wav, condition.kbps, Path(workdir))
        return {"bytes": size, "elapsed": time.perf_counter() - start, "out": out}


def evaluate_clip(codec, name: str, path: Path, todo: list[Condition], extra: tuple[str, ...] = ()) -> list[Row]:
    """Rows for one clip under each condition of ``todo``, with the ``extra`` scores; never raises for a
    bad clip or tool."""
    rows = [Row(name, c.codec, c.variant, c.kbps) for c in todo]
    try:
        wav = prepared(path)
    except (AudioError, OSError, ValueError) as err:
        for row in rows:
            row.note = f"unreadable: {err}"
        return rows
    seconds = len(wav) / SAMPLE_RATE
    # The envelope does not depend on the bitrate: its SD once per quantizer and clip.
    sd = {q: sd_fields(envelope_sd(codec, wav, q)) for q in {c.variant for c in todo if c.codec == "vqcodec"}}
    for row, condition in zip(rows, todo):
        row.seconds = seconds
        try:
            coded = (_evaluate_vqcodec(codec, wav, condition) | sd[condition.variant] if condition.codec == "vqcodec"
                     else _evaluate_reference(wav, condition))
        except (ReferenceError, OSError, ValueError) as err:
            row.note = f"{condition.label} failed: {err}"
            continue
        for key, value in (coded | score(wav, coded.pop("out"), extra)).items():
            if hasattr(row, key):
                setattr(row, key, value)
        row.measured_kbps = coded["bytes"] * 8 / seconds / 1000
        row.rtf = coded["elapsed"] / seconds
    return rows


def read_rows(path: Path) -> list[Row]:
    """The rows of a ``clips.csv``."""
    if not path.exists():
        return []
    types = {f.name: f.type for f in fields(Row)}
    convert = {"float": float, "int": int, "str": str}
    with open(path, newline="") as handle:
        return [Row(**{k: convert[types[k]](v) for k, v in record.items()}) for record in csv.DictReader(handle)]


def drop_rows(path: Path, codec: str) -> int:
    """Remove the rows of ``codec`` from a ``clips.csv`` (atomically); returns how many were removed."""
    rows = read_rows(path)
    kept = [r for r in rows if r.codec != codec]
    if len(kept) < len(rows):
        _rewrite(path, kept)
    return len(rows) - len(kept)


@functools.lru_cache(maxsize=2)
def _codec(model: str | None):
    """The codec of ``model``, loaded once per process."""
    from ..speech_codec import SpeechCodec

    return SpeechCodec.load(model)


@contextlib.contextmanager
def _single_threaded_children(active: bool):
    """Spawned workers start with one BLAS/OpenMP thread each: several workers' thread pools spinning
    on the same cores would slow each other and distort the timings."""
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    if active:
        os.environ.update(dict.fromkeys(THREAD_VARIABLES, "1"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _job(model: str | None, name: str, path: Path, todo: list[Condition], extra: tuple[str, ...]) -> list[Row]:
    return evaluate_clip(_codec(model), name, path, todo, extra)


def _has_scores(row: Row, extra: tuple[str, ...]) -> bool:
    """Whether ``row`` holds each ``extra`` score or the reason it failed; a row that was never scored
    (an unreadable clip, a failing tool: no pSNR either) would fail again and counts as done."""
    return not math.isfinite(row.psnr) or all(math.isfinite(getattr(row, name)) or f"{name}:" in row.note
                                              for name in extra)


def _columns(path: Path) -> list[str]:
    """The header of a CSV file ([] when it does not exist or is empty)."""
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return next(csv.reader(handle), [])


def _rewrite(path: Path, rows: list[Row]) -> None:
    """Replace ``path`` with ``rows`` under the current columns (atomically)."""
    from ..io.atomic import atomic_write

    with atomic_write(path) as partial, open(partial, "w", newline="") as handle:
        writer = csv.DictWriter(handle, [f.name for f in fields(Row)])
        writer.writeheader()
        writer.writerows(asdict(r) for r in rows)


def run(clips: list[tuple[str, Path]], todo: list[Condition], results: Path, *, model: str | None = None,
        workers: int = 1, progress: bool = True, extra: tuple[str, ...] = ()) -> list[Row]:
    """Evaluate ``clips`` under ``todo`` with the ``extra`` scores, appending to ``results`` (a CSV) and
    skipping what it already has.

    A row of ``results`` that lacks an ``extra`` score is coded again; a file with fewer columns
    (an earlier vqcodec's) is rewritten with the current ones first. Returns every row of
    ``results`` for these clips and conditions.
    """
    from tqdm import tqdm

    previous = read_rows(results)
    names = {name for name, _ in clips}
    stale = [r.clip in names and Condition(r.codec, r.variant, r.kbps) in todo and not _has_scores(r, extra)
             for r in previous]
    if any(stale) or (results.exists() and _columns(results) != [f.name for f in fields(Row)]):
        previous = [r for r, again in zip(previous, stale) if not again]
        _rewrite(results, previous)
    done = {(r.clip, Condition(r.codec, r.variant, r.kbps)) for r in previous}
    jobs = [(model, name, path, [c for c in todo if (name, c) not in done], extra) for name, path in clips]
    jobs = [job for job in jobs if job[3]]
    new_file = not results.exists()
    results.parent.mkdir(parents=True, exist_ok=True)
    workers = max(1, min(workers, len(jobs)))
    # Spawned workers (a fork of a process whose BLAS threads run can hang); one worker runs in this process.
    pool = (ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
            if workers > 1 else contextlib.nullcontext())
    mapper = pool.map if workers > 1 else map
    with open(results, "a", newline="") as handle, _single_threaded_children(workers > 1), pool, \
            tqdm(total=len(jobs), unit="clip", desc="eval", disable=not progress or not jobs) as bar:
        writer = csv.DictWriter(handle, [f.name for f in fields(Row)])
        if new_file:
            writer.writeheader()
        for rows in mapper(_job, *zip(*jobs)) if jobs else []:
            writer.writerows(asdict(r) for r in rows)
            handle.flush()
            previous += rows
            bar.update()
    return [r for r in previous if r.clip in names and Condition(r.codec, r.variant, r.kbps) in todo]


def summarize(rows: list[Row]) -> list[dict]:
    """Per condition: clips, and for each score its mean, 95 % interval (Student t), quartiles and NaN count."""
    from scipy import stats

    groups: dict[Condition, list[Row]] = {}
    for row in rows:
        groups.setdefault(Condition(row.codec, row.variant, row.kbps), []).append(row)
    summary = []
    for condition, group in groups.items():
        entry = {"codec": condition.codec, "variant": condition.variant, "label": condition.label,
                 "kbps": condition.kbps, "clips": len(group)}
        for name in SCORES:
            values = np.array([getattr(r, name) for r in group], dtype=float)
            valid = values[np.isfinite(values)]
            half = (stats.t.ppf(0.975, len(valid) - 1) * valid.std(ddof=1) / math.sqrt(len(valid))
                    if len(valid) > 1 else math.nan)
            quartiles = np.percentile(valid, [10, 25, 75, 90]) if len(valid) else [math.nan] * 4
            entry[name] = {"mean": float(valid.mean()) if len(valid) else math.nan, "ci95": float(half),
                           "p10": float(quartiles[0]), "p25": float(quartiles[1]), "p75": float(quartiles[2]),
                           "p90": float(quartiles[3]), "nan": int(len(values) - len(valid))}
        histograms = [np.array(r.sd_histogram.split(), dtype=int) for r in group if r.sd_histogram]
        entry["sd_histogram"] = np.sum(histograms, axis=0).tolist() if histograms else []
        entry["notes"] = dict(Counter(r.note for r in group if r.note))
        summary.append(entry)
    return sorted(summary, key=lambda e: (e["codec"] != "vqcodec", e["label"], e["kbps"]))


def table(summary: list[dict], score_name: str, *, digits: int = 2) -> str:
    """A markdown table: one row per codec (and quantizer), one column per nominal bitrate, mean +- 95 % CI."""
    rates = sorted({e["kbps"] for e in summary})
    labels = list(dict.fromkeys(e["label"] for e in summary))
    cells = {(e["label"], e["kbps"]): e[score_name] for e in summary}
    lines = ["| codec | " + " | ".join(f"{k:g}" for k in rates) + " |", "|---" * (len(rates) + 1) + "|"]
    for label in labels:
        row = []
        for k in rates:
            cell = cells.get((label, k))
            if cell is None or math.isnan(cell["mean"]):
                row.append("-")
            else:
                ci = "" if math.isnan(cell["ci95"]) else f" ± {cell['ci95']:.{digits}f}"
                row.append(f"{cell['mean']:.{digits}f}{ci}")
        lines.append(f"| {label} | " + " | ".join(row) + " |")
    return "\n".join(lines)
