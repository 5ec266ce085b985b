"""Noise filling, measured on the development set: PESQ-WB and pSNR with the decoder's noise-fill
gain and the power of its spectral profile swept.

The encoder transmits the RMS of the coefficients it zeroed above 800 Hz; the
decoder fills them at that level times a gain (0 switches noise filling off,
1 is energy-matched), shaped by the entropy model's expected magnitudes raised
to a power (0: one flat level, the filling of vqcodec 0.2; codec/coding/noise_filling.py).
Clips: --clips evenly spread over the development set (vqcodec prepare dev), avq,
the procedure of codec.evaluation.

    python benchmarks/noise_filling.py [--clips 18] [--settings 0:0.7,0.5:0.55,...] [--model M]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from codec import modes
from codec.coding import noise_filling
from codec.modes import BITRATES

from common import add_output_argument, dev_clips, markdown_table, sweep_decoding, write_json


def decode_with(codec, data: bytes, bitrate: float, setting: tuple[float, float]):
    """Decoded samples with noise-fill profile power and gain ``setting`` at ``bitrate``.

    The encoder computes each packet's noise-band corrections against the shipped profile: a
    gain setting is exact (the corrections do not depend on the gain), another power is the
    decoder's change alone, with corrections made for the shipped power."""
    power, gain = setting
    shipped = noise_filling.PROFILE_POWER, modes.MODES
    # This worker process only, for this decoding only: another profile power, and the mode table
    # with another gain (restored, so the next encoding is the shipped encoder's).
    noise_filling.PROFILE_POWER = power
    modes.MODES = tuple(dataclasses.replace(m, noise_gain=gain) if m.kbps == bitrate else m for m in modes.MODES)
    try:
        return codec.decode(data)[0]
    finally:
        noise_filling.PROFILE_POWER, modes.MODES = shipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=Path, default=Path("data/dev"), help="folder from 'vqcodec prepare dev'")
    parser.add_argument("--clips", type=int, default=18)
    parser.add_argument("--settings", default="0:0.5,0:0.7,0.5:0.4,0.5:0.55,0.5:0.7,1:0.55",
                        help="profile power:noise gain pairs, comma-separated")
    parser.add_argument("--model", default=None)
    parser.add_argument("--workers", type=int, default=2)
    add_output_argument(parser)
    args = parser.parse_args()
    settings = tuple(tuple(float(v) for v in pair.split(":")) for pair in args.settings.split(","))
    clips = dev_clips(args.dev, args.clips)
    records = sweep_decoding(clips, settings, decode_with, model=args.model, workers=args.workers)
    for r in records:
        r["power"], r["gain"] = r.pop("setting")
    table = []
    for power, gain in settings:
        row = [f"{power:g}", f"{gain:g}"]
        for bitrate in BITRATES:
            sel = [r for r in records if (r["power"], r["gain"], r["bitrate"]) == (power, gain, bitrate)]
            row.append(f"{np.nanmean([r['pesq'] for r in sel]):.3f} / {np.mean([r['psnr'] for r in sel]):.2f}")
        table.append(row)
    print(f"{len(clips)} development clips, avq; PESQ-WB / pSNR dB per profile power and noise-fill gain")
    print(markdown_table(["power", "gain"] + [f"{b:g} kbit/s" for b in BITRATES], table))
    payload = {"clips": [c.name for c in clips], "model": args.model, "results": records}
    print(f"wrote {write_json('noise_filling', payload, args.out_dir)}")

if __name__ == "__main__":
    main()
