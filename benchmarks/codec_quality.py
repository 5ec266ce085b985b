"""Quality of the shipped codec on validation speakers: PESQ-WB, pSNR and bitrate per quantizer and rate.

Clips: the demo corpus's validation split (speakers never used in training),
the longest N files. Procedure as in ../shared/REFERENCES.md: each clip is
normalized to -26 dBov and padded with 0.5 s of silence at each end before
coding; PESQ-WB and pSNR compare the padded input with the decoded output.

    vqcodec prepare demo --out data/demo            # once
    python benchmarks/codec_quality.py [--clips 40] [--workers 2]
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from codec import SpeechCodec, metrics
from codec.audio import load
from codec.bitstream import BITRATES
from codec.corpus import read_manifest

from common import add_output_argument, markdown_table, write_json

QUANTIZERS = ("avq", "rvq", "pvq", "scq")
PUBLISHED_AVQ = {8.0: 2.45, 9.6: 2.66, 13.2: 3.03, 16.4: 3.29, 24.4: 3.73, 32.0: 4.01}


def validation_clips(corpus: Path, count: int) -> list[Path]:
    entries = [e for e in read_manifest(corpus / "manifest.csv") if e.split == "valid"]
    entries.sort(key=lambda e: (-e.duration, e.path))
    return [corpus / e.path for e in entries[:count]]


def padded(path: Path) -> np.ndarray:
    wav, _ = load(path)
    pad = np.zeros(8000)
    return np.concatenate([pad, metrics.normalize_level(wav), pad])


def scores(ref: np.ndarray, out: np.ndarray) -> dict:
    """PESQ-WB (NaN where PESQ cannot score the pair) and pSNR of a decoded clip."""
    try:
        pesq = metrics.pesq_wb(ref, out)
    except metrics.MetricError:
        pesq = float("nan")
    return {"pesq": pesq, "psnr": metrics.psnr(ref, out)}


def score_clip(path: Path) -> list[dict]:
    codec = SpeechCodec.load()
    wav = padded(path)
    rows = []
    for quantizer in QUANTIZERS:
        for bitrate in BITRATES:
            data = codec.encode(wav, 16000, bitrate=bitrate, quantizer=quantizer)
            out, _ = codec.decode(data)
            rows.append({"clip": path.name, "quantizer": quantizer, "bitrate": bitrate, **scores(wav, out),
                         "kbps": len(data) * 8 / (len(wav) / 16000) / 1000})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=Path("data/demo"))
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    add_output_argument(parser)
    args = parser.parse_args()
    clips = validation_clips(args.corpus, args.clips)
    records = []
    with ProcessPoolExecutor(args.workers) as pool:
        for rows in tqdm(pool.map(score_clip, clips), total=len(clips), unit="clip"):
            records += rows
    summary, table = [], []
    for quantizer in QUANTIZERS:
        row = [quantizer]
        for bitrate in BITRATES:
            sel = [r for r in records if r["quantizer"] == quantizer and r["bitrate"] == bitrate]
            pesq, psnr = np.nanmean([r["pesq"] for r in sel]), np.mean([r["psnr"] for r in sel])
            summary.append({"quantizer": quantizer, "bitrate": bitrate, "pesq": pesq, "psnr": psnr,
                            "clips": len(sel)})
            row.append(f"{pesq:.2f} / {psnr:.2f}")
        table.append(row)
    table.append(["published AVQ (PESQ)"] + [f"{PUBLISHED_AVQ[b]:.2f}" for b in BITRATES])
    seconds = sum(len(padded(c)) for c in clips) / 16000
    print(f"{len(clips)} validation clips, {seconds:.0f} s with padding; PESQ-WB / pSNR dB")
    print(markdown_table(["quantizer"] + [f"{b:g} kbit/s" for b in BITRATES], table))
    path = write_json("codec_quality", {"clips": [c.name for c in clips], "seconds": seconds,
                                        "summary": summary, "results": records}, args.out_dir)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
