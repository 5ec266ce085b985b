"""Encode and decode speed on one core, whole processes against Opus, start-up, training, memory.

1. In-process: real-time factor = seconds of audio / CPU seconds (times real
   time: higher is faster) for encoding, decoding and both (the whole
   pipeline: LPC, envelope search, rate loop, range coding, synthesis), per
   quantizer and bitrate, on a 60 s speech signal (the bundled clips
   repeated), best of --repeats, one thread.
2. Whole processes, as a user runs them: CPU time (user + system, children's
   rusage) of ``vqcodec encode`` + ``vqcodec decode`` on that 60 s WAV at every
   rate, against ``opusenc`` + ``opusdec`` at the same nominal rate, in the same
   run (the machine is shared: only ratios measured together are compared);
   best of --repeats.
3. ``vqcodec --help``: CPU time of the whole process (start-up cost).
4. Training (when torch is installed): CPU milliseconds per optimizer step of
   each recipe (its batch size and packet length; NSVQ forward, backward, Adam).
5. In a fresh process, a --long-minutes file is encoded and decoded in memory
   and its peak resident memory reported (the whole process).

    python benchmarks/codec_speed.py [--seconds 60] [--long-minutes 60]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

# One thread means one: numpy's BLAS threads would otherwise spin on the other
# core and count in process_time (it halved the measured speed). Set before numpy loads.
from codec.threads import single_threaded_environment  # noqa: E402  (imports no numpy)

single_threaded_environment()

import shutil  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from codec import SpeechCodec  # noqa: E402
from codec.modes import BITRATES  # noqa: E402

from common import DATA, add_output_argument, markdown_table, speech, write_json


def long_run(minutes: float) -> dict:
    """Encode and decode ``minutes`` of speech in this process; report times and peak RSS."""
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

    import torch
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


def child_cpu(command: list[str]) -> float:
    """CPU seconds (user + system) a child process spends."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def whole_process(wav: np.ndarray, repeats: int) -> list[dict]:
    """Per rate: best CPU of vqcodec encode + decode and of opusenc + opusdec, same file, same run."""
    import codec

    # An installed package has its bytecode compiled (pip does it); an editable checkout run with
    # PYTHONDONTWRITEBYTECODE would otherwise recompile the package in every process.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(codec.__file__).parent)], check=True,
                   capture_output=True)
    vqcodec = [sys.executable, "-m", "codec"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="vqcodec-speed-") as folder:
        src = Path(folder) / "speech.wav"
        sf.write(src, wav, 16000, subtype="PCM_16")
        for bitrate in BITRATES:
            ours = theirs = float("inf")
            for _ in range(repeats):
                ours = min(ours, child_cpu([*vqcodec, "encode", str(src), f"{folder}/a.vqc", "--bitrate",
                                            f"{bitrate:g}", "--force", "-q"])
                           + child_cpu([*vqcodec, "decode", f"{folder}/a.vqc", f"{folder}/a.wav", "--force", "-q"]))
                if shutil.which("opusenc"):
                    theirs = min(theirs, child_cpu(["opusenc", "--quiet", "--bitrate", f"{bitrate:g}", str(src),
                                                    f"{folder}/a.opus"])
                                 + child_cpu(["opusdec", "--quiet", "--rate", "16000", f"{folder}/a.opus",
                                              f"{folder}/b.wav"]))
            rows.append({"bitrate": bitrate, "vqcodec_cpu_s": ours,
                         "opus_cpu_s": theirs if np.isfinite(theirs) else None,
                         "ratio": ours / theirs if np.isfinite(theirs) else None})
    return rows


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
    processes = whole_process(wav, args.repeats)
    print(f"\nwhole processes, {args.seconds:g} s WAV, CPU seconds (user + system), best of {args.repeats}")
    print(markdown_table(["kbit/s", "vqcodec encode + decode", "opusenc + opusdec", "ratio (vqcodec / opus)"],
                         [[f"{r['bitrate']:g}", f"{r['vqcodec_cpu_s']:.2f}",
                           "-" if r["opus_cpu_s"] is None else f"{r['opus_cpu_s']:.2f}",
                           "-" if r["ratio"] is None else f"{r['ratio']:.2f}"] for r in processes]))
    help_cpu = min(child_cpu([sys.executable, "-m", "codec", "--help"]) for _ in range(args.repeats))
    print(f"\nvqcodec --help: {help_cpu:.3f} s CPU")
    payload = {"seconds": args.seconds, "results": records, "processes": processes, "help_cpu_s": help_cpu}
    try:
        import torch  # noqa: F401  (the [train] extra)
    except ImportError:
        print("\ntraining: skipped (torch is not installed)")
    else:
        training = [training_step_ms(q) for q in ("rvq", "avq", "pvq", "scq")]
        print("\ntraining, one thread: CPU ms per optimizer step (recipe batch), LSF frames per second")
        print(markdown_table(["quantizer", "batch x frames", "ms/step", "frames/s"],
                             [[t["quantizer"], f"{t['batch']} x {t['packet_frames']}", f"{t['ms_per_step']:.1f}",
                               f"{t['frames_per_s']:,.0f}"] for t in training]))
        payload["training"] = training
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
