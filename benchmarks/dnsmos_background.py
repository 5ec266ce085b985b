"""Where DNSMOS's gap between vqcodec and Opus comes from: the originals' own scores.

DNSMOS hears a signal alone, so a codec faithful to a recording cannot score
above the recording. This scores every third development clip as it is, as
vqcodec decodes it at 8 and 32 kbit/s, decoded again with noise filling off
(noise gain 0), and as Opus 1.3.1 (opusenc) codes it, to tell the recording's
background from the codecs' doing.

    python benchmarks/dnsmos_background.py [--dev data/dev] [--step 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from common import markdown_table, write_json

CONDITIONS = ("original", "vqcodec 8", "vqcodec 8, no noise filling", "Opus 1.3.1 at 8", "vqcodec 32",
              "vqcodec 32, no noise filling", "Opus 1.3.1 at 32")


def score_clip(path: Path) -> dict:
    import tempfile

    from codec import SpeechCodec, modes
    from codec.evaluation import metrics, procedure
    from codec.evaluation.references import REFERENCES

    codec = SpeechCodec.load()
    wav = procedure.prepared(path)
    out = {"clip": path.name, "original": metrics.dnsmos(wav)}
    for rate in (8.0, 32.0):
        data = codec.encode(wav, 16000, bitrate=rate)
        out[f"vqcodec {rate:g}"] = metrics.dnsmos(codec.decode(data)[0])
        shipped = modes.MODES
        modes.MODES = tuple(dataclasses.replace(m, noise_gain=0.0) for m in shipped)
        try:
            out[f"vqcodec {rate:g}, no noise filling"] = metrics.dnsmos(codec.decode(data)[0])
        finally:
            modes.MODES = shipped
        with tempfile.TemporaryDirectory() as workdir:
            out[f"Opus 1.3.1 at {rate:g}"] = metrics.dnsmos(REFERENCES["opus"].code(wav, rate, Path(workdir))[0])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=Path, default=Path("data/dev"), help="folder from 'vqcodec prepare dev'")
    parser.add_argument("--step", type=int, default=3, help="score every STEP-th clip (default: 3)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    clips = sorted(args.dev.glob("*.wav"))[::args.step]
    if not clips:
        raise SystemExit(f"no clips in {args.dev}: run 'vqcodec prepare dev --out {args.dev}' first")
    with ProcessPoolExecutor(args.workers) as pool:
        rows = list(pool.map(score_clip, clips))
    table = [[c] + [f"{np.mean([r[c][k] for r in rows]):.2f}" for k in ("dnsmos", "dnsmos_sig", "dnsmos_bak")]
             for c in CONDITIONS]
    print(f"{len(rows)} development clips, DNSMOS P.835 (mean over clips)")
    print(markdown_table(["signal", "OVRL", "SIG", "BAK"], table))
    print(f"wrote {write_json('dnsmos_background', {'clips': rows})}")


if __name__ == "__main__":
    main()
