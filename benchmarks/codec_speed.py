"""Encode + decode speed of the shipped codec on one core, and peak memory on a long file.

Real-time factor = seconds of audio / CPU seconds for encode plus decode (the
whole pipeline: resampling check, LPC, envelope search, rate loop, range
coding, synthesis), per quantizer and bitrate, on a 60 s speech signal (the
bundled clips repeated), best of --repeats. Then, in a fresh process, a
--long-minutes file is encoded and decoded and its peak resident memory is
reported (the whole process: Python, torch and the signal itself included).

    python benchmarks/codec_speed.py [--seconds 60] [--long-minutes 60]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from codec import SpeechCodec
from codec.bitstream import BITRATES

from common import add_output_argument, markdown_table, write_json

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def speech(seconds: float) -> np.ndarray:
    """The bundled LibriVox clips repeated to ``seconds``, float32."""
    clips = np.concatenate([sf.read(p, dtype="float32")[0] for p in sorted(DATA.glob("sense*.wav"))])
    return np.resize(clips, int(seconds * 16000))


def long_run(minutes: float) -> dict:
    """Encode and decode ``minutes`` of speech in this process; report times and peak RSS."""
    torch.set_num_threads(1)
    codec = SpeechCodec.load()
    wav = speech(minutes * 60)
    start = time.process_time()
    data = codec.encode(wav, 16000, bitrate=32.0, quantizer="avq")
    encoded = time.process_time()
    out, _ = codec.decode(data)
    decoded = time.process_time()
    assert len(out) == len(wav)
    return {"minutes": minutes, "encode_s": encoded - start, "decode_s": decoded - encoded,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--long-minutes", type=float, default=60.0, help="0 skips the memory run")
    parser.add_argument("--long-run", type=float, help=argparse.SUPPRESS)   # the child process
    add_output_argument(parser)
    args = parser.parse_args()
    if args.long_run:
        print(json.dumps(long_run(args.long_run)))
        return
    torch.set_num_threads(1)
    codec = SpeechCodec.load()
    wav = speech(args.seconds)
    rows, records = [], []
    for quantizer in ("rvq", "avq", "pvq", "scq"):
        row = [quantizer]
        for bitrate in BITRATES:
            best_enc = best_dec = float("inf")
            for _ in range(args.repeats):
                t0 = time.process_time()
                data = codec.encode(wav, 16000, bitrate=bitrate, quantizer=quantizer)
                t1 = time.process_time()
                codec.decode(data)
                t2 = time.process_time()
                best_enc, best_dec = min(best_enc, t1 - t0), min(best_dec, t2 - t1)
            factor = args.seconds / (best_enc + best_dec)
            records.append({"quantizer": quantizer, "bitrate": bitrate, "encode_s": best_enc, "decode_s": best_dec,
                            "realtime_factor": factor})
            row.append(f"{factor:.0f}x")
        rows.append(row)
    print(f"encode + decode, {args.seconds:g} s of speech, one thread, real-time factor (best of {args.repeats})")
    print(markdown_table(["quantizer"] + [f"{b:g} kbit/s" for b in BITRATES], rows))
    payload = {"seconds": args.seconds, "results": records}
    if args.long_minutes:
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        child = subprocess.run([sys.executable, __file__, "--long-run", str(args.long_minutes)], env=env,
                               capture_output=True, text=True, check=True)
        payload["long_file"] = json.loads(child.stdout.strip().splitlines()[-1])
        lf = payload["long_file"]
        print(f"{lf['minutes']:g} min file at 32 kbit/s, avq: encode {lf['encode_s']:.1f} s, "
              f"decode {lf['decode_s']:.1f} s, peak memory {lf['peak_rss_mb']:.0f} MB")
    print(f"wrote {write_json('codec_speed', payload, args.out_dir)}")


if __name__ == "__main__":
    main()
