"""Quality on the development set: voices and recording conditions never trained or tuned on.

Runs ``vqcodec eval`` on the clips of ``vqcodec prepare dev`` (codec/corpus/recipes.py
names the held-out voices) and breaks PESQ-WB, pSNR and the scores asked for with
--metrics (ViSQOL, DNSMOS) down by voice, sex and language. The headline number of a condition is the mean over *voices* of
each voice's mean clip score, so that the eight short-word kajongg voices do not
outweigh the sentence readers. Every choice of the codec is judged on this set;
in-domain validation (benchmarks/codec_quality.py) is reported apart.

    vqcodec prepare dev --out data/dev              # once, 10 s
    python benchmarks/dev_quality.py [--quantizers avq] [--references opus] [--metrics visqol,dnsmos]
                                     [--model M] [--name dev]

Per-clip rows go to benchmarks/results/NAME/clips.csv (resumable), the
breakdown to benchmarks/results/NAME.json.
"""

from __future__ import annotations

import argparse
import csv
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from codec.cli import main as vqcodec
from codec.corpus.dev_set import read_voices

from common import RESULTS, add_resume_arguments, resume_flags, write_json

def breakdown(rows: list[dict], voices: dict[str, dict], scores: tuple[str, ...] = ("pesq", "psnr")) -> dict:
    """{condition: {score: {"voices": mean over voices, "voice": {...}, "sex": {...}, "language": {...}}}}."""
    of_voice = {row["voice"]: row for row in voices.values()}   # voice -> its sex and language
    per_voice: dict = defaultdict(lambda: defaultdict(list))
    for row in rows:
        label = row["codec"] + (f"-{row['variant']}" if row["variant"] else "") + f"@{float(row['kbps']):g}"
        per_voice[label][voices[row["clip"]]["voice"]].append(row)
    result = {}
    for label, by_voice in per_voice.items():
        entry = {}
        for score in scores:
            voice_means = {v: float(np.nanmean([float(r[score]) for r in rs])) for v, rs in by_voice.items()}
            groups = {}
            for field in ("sex", "language"):
                members = defaultdict(list)
                for v, m in voice_means.items():
                    members[of_voice[v][field]].append(m)
                groups[field] = {k: float(np.mean(ms)) for k, ms in sorted(members.items())}
            entry[score] = {"voices": float(np.mean(list(voice_means.values()))), "voice": voice_means, **groups}
        result[label] = entry
    return result


def print_tables(result: dict, scores: tuple[str, ...] = ("pesq", "psnr")) -> None:
    labels = sorted({k.split("@")[0] for k in result})
    rates = sorted({float(k.split("@")[1]) for k in result})
    for score in scores:
        print(f"\n{score} (mean over voices)\n| codec | " + " | ".join(f"{r:g}" for r in rates) + " |")
        for label in labels:
            cells = [result.get(f"{label}@{r:g}", {}).get(score, {}).get("voices", math.nan) for r in rates]
            print(f"| {label} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    voices = sorted({v for e in result.values() for v in e["pesq"]["voice"]})
    for label in labels:
        print(f"\nPESQ-WB per voice, {label}\n| voice | " + " | ".join(f"{r:g}" for r in rates) + " |")
        for group, names in (("sex", ("male", "female")), ("voice", voices)):
            for name in names:
                cells = [result.get(f"{label}@{r:g}", {}).get("pesq", {}).get(group, {}).get(name, math.nan)
                         for r in rates]
                print(f"| {name} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=Path, default=Path("data/dev"), help="folder from 'vqcodec prepare dev'")
    parser.add_argument("--quantizers", default="rvq,avq,pvq,scq")
    parser.add_argument("--references", default="opus,amrwb")
    parser.add_argument("--bitrates", default=None)
    parser.add_argument("--metrics", default="none", help="extra scores for vqcodec eval --metrics (e.g. visqol,dnsmos)")
    parser.add_argument("--model", default=None, help="model file (default: the shipped one)")
    parser.add_argument("--name", default="dev_quality", help="results name (folder and JSON)")
    parser.add_argument("--workers", type=int, default=2)
    add_resume_arguments(parser)
    args = parser.parse_args()
    voices_csv = args.dev / "voices.csv"
    if not voices_csv.exists():
        raise SystemExit(f"{voices_csv} missing: run 'vqcodec prepare dev --out {args.dev}' first")
    out = RESULTS / args.name
    command = ["eval", str(args.dev), "--out", str(out), "--workers", str(args.workers), "-q",
               "--quantizers", args.quantizers, "--references", args.references, "--metrics", args.metrics]
    command += (["--bitrates", args.bitrates] if args.bitrates else []) + (["--model", args.model] if args.model else [])
    if vqcodec(command + resume_flags(args)) != 0:
        raise SystemExit("vqcodec eval failed")
    with open(out / "clips.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    scores = ("pesq", "psnr", *(m for m in args.metrics.split(",") if m not in ("", "none")))
    result = breakdown(rows, read_voices(voices_csv), scores)
    print_tables(result, scores)
    path = write_json(args.name, {"command": "vqcodec " + " ".join(command), "results": result})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
