"""Noise filling, measured: PESQ-WB and pSNR with the decoder's noise-fill gain swept.

The encoder transmits the RMS of the coefficients it zeroed above 800 Hz; the
decoder fills them at that level times a gain. 0 switches noise filling off,
1 is energy-matched. Same clips and procedure as codec_quality.py (codec.evaluation) (avq).

    python benchmarks/noise_filling.py [--clips 20] [--gains 0,0.5,0.7,1.0]
"""

from __future__ import annotations

import argparse
import dataclasses
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from codec import SpeechCodec
from codec import modes
from codec.modes import BITRATES
from codec.evaluation.procedure import prepared, score
from codec.evaluation.run import find_clips

from common import add_output_argument, markdown_table, write_json


def score_clip(job: tuple[Path, tuple[float, ...]]) -> list[dict]:
    path, gains = job
    codec = SpeechCodec.load()
    wav = prepared(path)
    rows = []
    for bitrate in BITRATES:
        data = codec.encode(wav, 16000, bitrate=bitrate, quantizer="avq")
        for gain in gains:
            # This worker process only: the mode table with another noise gain at this rate.
            modes.MODES = tuple(dataclasses.replace(m, noise_gain=gain) if m.kbps == bitrate else m
                                for m in modes.MODES)
            out, _ = codec.decode(data)
            rows.append({"clip": path.name, "bitrate": bitrate, "gain": gain, **score(wav, out)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=Path("data/demo"))
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--gains", default="0,0.5,0.7,1.0")
    parser.add_argument("--workers", type=int, default=2)
    add_output_argument(parser)
    args = parser.parse_args()
    gains = tuple(float(g) for g in args.gains.split(","))
    clips = [path for _, path in find_clips(args.corpus / "manifest.csv", limit=args.clips)]
    records = []
    with ProcessPoolExecutor(args.workers) as pool:
        for rows in tqdm(pool.map(score_clip, [(c, gains) for c in clips]), total=len(clips), unit="clip"):
            records += rows
    table = []
    for gain in gains:
        row = [f"{gain:g}"]
        for bitrate in BITRATES:
            sel = [r for r in records if r["gain"] == gain and r["bitrate"] == bitrate]
            row.append(f"{np.nanmean([r['pesq'] for r in sel]):.2f} / {np.mean([r['psnr'] for r in sel]):.2f}")
        table.append(row)
    print(f"{len(clips)} validation clips, avq; PESQ-WB / pSNR dB per noise-fill gain")
    print(markdown_table(["gain"] + [f"{b:g} kbit/s" for b in BITRATES], table))
    print(f"wrote {write_json('noise_filling', {'clips': [c.name for c in clips], 'results': records}, args.out_dir)}")


if __name__ == "__main__":
    main()
