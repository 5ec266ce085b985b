"""The decoder's postfilters on the development set, alone and together.

Each development clip is coded once per bitrate with avq and decoded five
ways: without a postfilter; with the pitch postfilter at the bitrate's shipped
strength (``codec.postfilter``); with the trained time-domain postfilter
(``codec.neural_postfilter``); and with the spectral postfilter
(``codec.spectral_postfilter``, band gains before synthesis) followed by
either (the first of these is the default).
PESQ-WB, pSNR, ViSQOL (speech mode) and DNSMOS OVRL, as means over voices (as
``dev_quality.py`` reports them). Then the whole decoder's speed on 60 s of
speech, one thread, in process, with each postfilter, in the same run.

    python benchmarks/neural_postfilter.py [--dev data/dev] [--model M] [--metrics visqol,dnsmos]
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from common import markdown_table, means_over_voices, speech, write_json

VARIANTS = ("off", "pitch", "trained", "spectral+pitch", "spectral+trained")


def _decoders(codec, rate: float) -> dict:
    """Variant -> (codec, postfilter setting): the time-domain ones alone run without the spectral stage."""
    from codec import SpeechCodec
    from codec.modes import mode

    alone = SpeechCodec(codec.quantizers, codec.spectrum, codec.model_id, codec.postfilter, codec.postfilter_id)
    strength = mode(rate).postfilter_strength
    return {"off": (codec, False), "pitch": (alone, strength), "trained": (alone, "trained"),
            "spectral+pitch": (codec, strength), "spectral+trained": (codec, "trained")}


def score_clip(job: tuple[Path, str | None, tuple[str, ...]]) -> list[dict]:
    from codec import SpeechCodec
    from codec.evaluation.procedure import prepared, score
    from codec.modes import BITRATES

    path, model, extra = job
    codec = SpeechCodec.load(model)
    wav = prepared(path)
    rows = []
    for rate in BITRATES:
        data = codec.encode(wav, 16000, bitrate=rate, quantizer="avq")
        for variant, (decoder, setting) in _decoders(codec, rate).items():
            rows.append({"clip": path.name, "bitrate": rate, "variant": variant,
                         **score(wav, decoder.decode(data, postfilter=setting)[0], extra)})
    return rows


def decoder_speed(model: str | None) -> dict:
    """Seconds of CPU to decode 60 s of speech at each rate, per postfilter (best of 3)."""
    from codec import SpeechCodec
    from codec.modes import BITRATES

    codec = SpeechCodec.load(model)
    wav = speech(60, "*.wav")   # every bundled clip, ARCTIC's too
    out = {}
    for rate in BITRATES:
        data = codec.encode(wav, 16000, bitrate=rate)
        for variant, (decoder, setting) in _decoders(codec, rate).items():
            best = np.inf
            for _ in range(3):
                start = time.process_time()
                decoder.decode(data, postfilter=setting)
                best = min(best, time.process_time() - start)
            out[f"{rate:g}/{variant}"] = best
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=Path, default=Path("data/dev"), help="folder from 'vqcodec prepare dev'")
    parser.add_argument("--model", default=None, help="model file with a trained postfilter (default: shipped)")
    parser.add_argument("--metrics", default="visqol,dnsmos", help="extra scores (default: visqol,dnsmos)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    from codec import SpeechCodec
    from codec.corpus.dev_set import read_voices

    loaded = SpeechCodec.load(args.model)
    if loaded.postfilter is None or loaded.spectral is None:
        raise SystemExit("the model lacks a trained postfilter (vqcodec train postfilter|spectral export)")
    voices = read_voices(args.dev / "voices.csv")
    extra = tuple(m for m in args.metrics.split(",") if m)
    clips = sorted(args.dev.glob("*.wav"))
    with ProcessPoolExecutor(args.workers) as pool:
        rows = [r for rs in tqdm(pool.map(score_clip, [(c, args.model, extra) for c in clips]), total=len(clips),
                                 unit="clip") for r in rs]
    rates = sorted({r["bitrate"] for r in rows})
    names = ("pesq", "psnr", *extra)
    means = means_over_voices(rows, voices, "variant", names)
    summary = {f"{name}/{variant}/{rate:g}": means[rate, variant, name]
               for rate in rates for variant in VARIANTS for name in names}
    for name in names:
        table = [[variant, *(f"{means[rate, variant, name]:.3f}" for rate in rates)] for variant in VARIANTS]
        print(f"\n{name} (mean over voices)")
        print(markdown_table(["postfilter", *(f"{r:g}" for r in rates)], table))
    speed = decoder_speed(args.model)
    print("\nwhole decoder, 60 s of speech, one thread: real-time factor")
    print(markdown_table(["postfilter", *(f"{r:g}" for r in rates)],
                         [[v, *(f"{60 / speed[f'{r:g}/{v}']:.0f}x" for r in rates)] for v in VARIANTS]))
    print(f"wrote {write_json('neural_postfilter', {'summary': summary, 'speed_s': speed, 'clips': rows})}")


if __name__ == "__main__":
    main()
