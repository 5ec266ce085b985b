"""The README's main job: code a bundled real-speech clip at all six bitrates with the shipped model.

Prints, per bitrate, the measured bitrate (file bytes, header included),
PESQ-WB and pSNR; writes the decoded WAVs and a JSON summary.

    python benchmarks/bundled_clip.py [--quantizer avq] [--out-dir benchmarks/out]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import soundfile as sf

from codec import SpeechCodec, metrics
from codec.coding.bitstream import BITRATES

from common import markdown_table, write_json

CLIP = Path(__file__).resolve().parent.parent / "tests" / "data" / "sense_and_sensibility_01_austen_64kb-0870.wav"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, default=CLIP, help="16 kHz speech file (default: a bundled clip)")
    parser.add_argument("--quantizer", default="avq", choices=("rvq", "avq", "pvq", "scq"))
    parser.add_argument("--out-dir", type=Path, default=Path("benchmarks/out"),
                        help="decoded WAVs and bundled_clip.json go here (default: benchmarks/out)")
    args = parser.parse_args()
    codec = SpeechCodec.load()
    wav, sr = sf.read(args.clip, dtype="float64")
    if sr != 16000 or wav.ndim != 1:
        raise SystemExit(f"{args.clip}: expected 16 kHz mono")
    # The benchmark procedure: -26 dBov, 0.5 s of silence at each end.
    wav = np.concatenate([np.zeros(8000), metrics.normalize_level(wav), np.zeros(8000)])
    args.out_dir.mkdir(parents=True, exist_ok=True)
    rows, records = [], []
    for bitrate in BITRATES:
        data = codec.encode(wav, 16000, bitrate=bitrate, quantizer=args.quantizer)
        out, _ = codec.decode(data)
        sf.write(args.out_dir / f"{args.clip.stem}_{args.quantizer}_{bitrate:g}.wav", out, 16000)
        kbps = len(data) * 8 / (len(wav) / 16000) / 1000
        pesq, psnr = metrics.pesq_wb(wav, out), metrics.psnr(wav, out)
        records.append({"bitrate": bitrate, "kbps": kbps, "pesq": pesq, "psnr": psnr})
        rows.append([f"{bitrate:g}", f"{kbps:.2f}", f"{pesq:.2f}", f"{psnr:.2f}"])
    print(f"{args.clip.name}, {len(wav) / 16000:.1f} s, {args.quantizer} envelope, model {codec.model_id}")
    print(markdown_table(["kbit/s nominal", "kbit/s measured", "PESQ-WB", "pSNR dB"], rows))
    print(f"wrote {write_json('bundled_clip', {'clip': args.clip.name, 'results': records}, args.out_dir)}")


if __name__ == "__main__":
    main()
