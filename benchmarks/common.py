"""Helpers shared by the benchmark scripts: output files and markdown tables."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def speech(seconds: float, pattern: str = "sense*.wav") -> np.ndarray:
    """The bundled clips of ``tests/data`` matching ``pattern`` (default: the LibriVox ones), joined
    and repeated to ``seconds``, float32."""
    import soundfile as sf

    clips = np.concatenate([sf.read(p, dtype="float32")[0] for p in sorted(DATA.glob(pattern))])
    return np.resize(clips, int(seconds * 16000))


def machine() -> dict:
    """What the numbers were measured on."""
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"),
    }


def write_json(name: str, payload: dict, directory: Path | None = None) -> Path:
    """Write ``directory/name.json`` (default: the committed results folder)."""
    directory = Path(directory) if directory is not None else RESULTS
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **payload}, indent=2, default=str) + "\n")
    return path


def merge_previous(path: Path, records: list[dict], runs: list[dict], key: tuple[str, ...]) -> tuple[list, list]:
    """Combine new ``records`` with the ones already in ``path`` (new rows win, matched on ``key``).

    Returns (records, runs): the kept old rows then the new ones, and the
    settings of every run that contributed.
    """
    if not path.exists():
        return records, runs
    previous = json.loads(path.read_text())
    new = {tuple(r[k] for k in key) for r in records}
    kept = [r for r in previous["results"] if tuple(r[k] for k in key) not in new]
    return kept + records, previous.get("runs", [previous.get("settings")]) + runs


def dev_clips(folder: Path, count: int) -> list[Path]:
    """``count`` clips spread evenly over the development set in ``folder`` (``vqcodec prepare dev``)."""
    every = sorted(Path(folder).glob("*.wav"))
    if not every:
        raise SystemExit(f"no clips in {folder}: run 'vqcodec prepare dev --out {folder}' first")
    return [every[i] for i in np.linspace(0, len(every) - 1, min(count, len(every))).round().astype(int)]


def sweep_decoding(clips: list[Path], settings: tuple, decode, *, model: str | None, workers: int) -> list[dict]:
    """Each clip encoded once per bitrate (avq) and decoded under every one of ``settings``: a row
    {"clip", "bitrate", "setting", PESQ-WB and pSNR fields} per clip, bitrate and setting.

    ``decode(codec, data, bitrate, setting)`` returns the decoded samples; the bitstream does not
    depend on the setting. It runs in worker processes (one clip each), so it must be a module-level
    function, and it may change its worker's module state.
    """
    from concurrent.futures import ProcessPoolExecutor

    from tqdm import tqdm

    records = []
    with ProcessPoolExecutor(workers) as pool:
        jobs = [(clip, settings, decode, model) for clip in clips]
        for rows in tqdm(pool.map(_sweep_clip, jobs), total=len(clips), unit="clip"):
            records += rows
    return records


def _sweep_clip(job: tuple) -> list[dict]:
    from codec import SpeechCodec
    from codec.evaluation.procedure import prepared, score
    from codec.modes import BITRATES

    path, settings, decode, model = job
    codec = SpeechCodec.load(model)
    wav = prepared(path)
    rows = []
    for bitrate in BITRATES:
        data = codec.encode(wav, 16000, bitrate=bitrate, quantizer="avq")
        for setting in settings:
            rows.append({"clip": path.name, "bitrate": bitrate, "setting": setting,
                         **score(wav, decode(codec, data, bitrate, setting))})
    return rows


def means_over_voices(rows: list[dict], voices: dict, column: str, scores: tuple[str, ...]) -> dict:
    """{(bitrate, row[column], score): mean over voices of each voice's mean} of per-clip ``rows``
    ({"clip", "bitrate", column, score...}); ``voices`` maps a clip to its voice (``read_voices``)."""
    from collections import defaultdict

    by_voice: dict = defaultdict(list)
    for row in rows:
        by_voice[row["bitrate"], row[column], voices[row["clip"]]["voice"]].append(row)
    groups: dict = defaultdict(list)
    for (rate, value, _), voice_rows in by_voice.items():
        for score in scores:
            groups[rate, value, score].append(np.nanmean([r[score] for r in voice_rows]))
    return {key: float(np.mean(means)) for key, means in groups.items()}


def add_resume_arguments(parser) -> None:
    """--force and --keep-references, passed on to ``vqcodec eval`` by ``resume_flags``."""
    parser.add_argument("--force", action="store_true", help="start over instead of resuming")
    parser.add_argument("--keep-references", action="store_true",
                        help="after a new model or vqcodec version: keep the reference codecs' rows, code vqcodec anew")


def resume_flags(args) -> list[str]:
    """The ``vqcodec eval`` options of ``add_resume_arguments``."""
    return ["--force"] * args.force + ["--keep-references"] * args.keep_references


def add_output_argument(parser) -> None:
    parser.add_argument("--out-dir", type=Path, default=RESULTS,
                        help=f"where to write the JSON results (default: {RESULTS}, the committed ones)")


def markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
