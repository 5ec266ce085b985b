"""Encode, decode and training speed on one core, and peak memory on a long file.

Real-time factor = seconds of audio / CPU seconds (times real time: higher is
faster) for encoding, decoding and both (the whole pipeline: LPC, envelope
search, rate loop, range coding, synthesis), per quantizer and bitrate, on a
60 s speech signal (the bundled clips repeated), best of --repeats. Training:
CPU milliseconds per optimizer step of each recipe (its batch size and packet
length, NSVQ forward, backward and Adam step; features of the bundled clips).
Then, in a fresh process, a --long-minutes file is encoded and decoded and its
peak resident memory is reported (the whole process: Python, torch and the
signal itself included).

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

# One thread means one: numpy's BLAS threads would otherwise spin on the other
# core and count in process_time (it halved the measured speed). Set before numpy loads.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402
import soundfile as sf
import torch

from codec import SpeechCodec
from codec.coding.bitstream import BITRATES

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


def training_step_ms(quantizer: str, steps: int = 50) -> dict:
    """CPU milliseconds per optimizer step of ``recipes/{quantizer}16.yaml``'s model and batch size."""
    import warnings

    import yaml

    from codec.corpus import features
    from codec.train.module import EnvelopeQuantizerModule

    recipe = yaml.safe_load((Path(__file__).resolve().parent.parent / "recipes" / f"{quantizer}16.yaml").read_text())
    module = EnvelopeQuantizerModule(**recipe["model"])
    lsf = torch.from_numpy(np.concatenate([features.lsf_of_file(p) for p in sorted(DATA.glob("*.wav"))]))
    frames = module.hparams.packet_frames
    runs = lsf[: len(lsf) // frames * frames].reshape(-1, frames, 16)
    module.envelope.kmeans_init(lsf)
    optimizer = torch.optim.Adam(module.envelope.parameters(), lr=module.hparams.lr)
    batch = recipe["data"]["batch_size"]
    generator = torch.Generator().manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # self.log outside a Trainer
        start = time.process_time()
        for _ in range(steps):
            items = runs[torch.randint(len(runs), (batch,), generator=generator)]
            optimizer.zero_grad()
            module.training_step((items,), 0).backward()
            optimizer.step()
        elapsed = time.process_time() - start
    return {"quantizer": quantizer, "batch": batch, "packet_frames": frames, "ms_per_step": 1000 * elapsed / steps,
            "frames_per_s": batch * frames * steps / elapsed}


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
    records = []
    for quantizer in ("rvq", "avq", "pvq", "scq"):
        for bitrate in BITRATES:
            best_enc = best_dec = float("inf")
            for _ in range(args.repeats):
                t0 = time.process_time()
                data = codec.encode(wav, 16000, bitrate=bitrate, quantizer=quantizer)
                t1 = time.process_time()
                codec.decode(data)
                t2 = time.process_time()
                best_enc, best_dec = min(best_enc, t1 - t0), min(best_dec, t2 - t1)
            records.append({"quantizer": quantizer, "bitrate": bitrate, "encode_s": best_enc, "decode_s": best_dec,
                            "encode_x": args.seconds / best_enc, "decode_x": args.seconds / best_dec,
                            "realtime_factor": args.seconds / (best_enc + best_dec)})
    for key, what in (("encode_x", "encode"), ("decode_x", "decode"), ("realtime_factor", "encode + decode")):
        print(f"\n{what}, {args.seconds:g} s of speech, one thread, times real time (best of {args.repeats})")
        rows = [[q] + [f"{r[key]:.0f}x" for r in records if r["quantizer"] == q] for q in ("rvq", "avq", "pvq", "scq")]
        print(markdown_table(["quantizer"] + [f"{b:g} kbit/s" for b in BITRATES], rows))
    training = [training_step_ms(q) for q in ("rvq", "avq", "pvq", "scq")]
    print("\ntraining, one thread: CPU ms per optimizer step (recipe batch), LSF frames per second")
    print(markdown_table(["quantizer", "batch x frames", "ms/step", "frames/s"],
                         [[t["quantizer"], f"{t['batch']} x {t['packet_frames']}", f"{t['ms_per_step']:.1f}",
                           f"{t['frames_per_s']:,.0f}"] for t in training]))
    payload = {"seconds": args.seconds, "results": records, "training": training}
    if args.long_minutes:
        child = subprocess.run([sys.executable, __file__, "--long-run", str(args.long_minutes)],
                               capture_output=True, text=True, check=True)
        payload["long_file"] = json.loads(child.stdout.strip().splitlines()[-1])
        lf = payload["long_file"]
        print(f"{lf['minutes']:g} min file at 32 kbit/s, avq: encode {lf['encode_s']:.1f} s, "
              f"decode {lf['decode_s']:.1f} s, peak memory {lf['peak_rss_mb']:.0f} MB")
    print(f"wrote {write_json('codec_speed', payload, args.out_dir)}")


if __name__ == "__main__":
    main()
