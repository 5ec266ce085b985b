"""The README's results: vqcodec's four quantizers and the reference codecs on validation speakers.

Runs ``vqcodec eval`` on the demo corpus's validation split (speakers never
used in training), the longest --clips files, every quantizer and bitrate and
every reference codec installed (Debian: opus-tools speex liblc3-tools ffmpeg
libvo-amrwbenc0 libopencore-amrwb0). Procedure (codec.evaluation): -26 dBov,
0.5 s of silence at each end, delay alignment by cross-correlation, scores on
the common length. Results, per-clip CSV and the PNG figures go to
benchmarks/results/eval/ (resumable: rerun to finish an interrupted run);
codec_quality.json holds the summary with the machine it ran on.

    vqcodec prepare demo --out data/demo            # once
    python benchmarks/codec_quality.py [--clips 40] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from codec.cli import main as vqcodec

from common import add_output_argument, add_resume_arguments, resume_flags, write_json

PUBLISHED_AVQ = {8.0: 2.45, 9.6: 2.66, 13.2: 3.03, 16.4: 3.29, 24.4: 3.73, 32.0: 4.01}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=Path("data/demo"))
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--references", default="opus,speex,amrwb,lc3,g722")
    add_resume_arguments(parser)
    add_output_argument(parser)
    args = parser.parse_args()
    out = args.out_dir / "eval"
    command = ["eval", str(args.corpus / "manifest.csv"), "--split", "valid", "--clips", str(args.clips),
               "--out", str(out), "--workers", str(args.workers), "--references", args.references]
    if vqcodec(command + resume_flags(args)) != 0:
        raise SystemExit("vqcodec eval failed")
    summary = json.loads((out / "summary.json").read_text())
    print("published 16-bit AVQ codec (PESQ-WB, Vali & Baeckstroem, ICASSP 2023): "
          + ", ".join(f"{k:g}: {v:.2f}" for k, v in PUBLISHED_AVQ.items()))
    path = write_json("codec_quality", {"command": "vqcodec " + " ".join(command), **summary}, args.out_dir)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
