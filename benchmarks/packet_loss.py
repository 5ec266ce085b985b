"""Concealment, measured: PESQ-WB, pSNR and PLCMOS with 0, 1, 5 and 10 % of packets lost, random and bursty.

Packets of 4 frames (80 ms: ``PACKET_FRAMES``, what a live or lossy link would use rather than
the default 1 s) are dropped by ``codec.channel`` (a two-state channel:
--burst is the mean run of consecutive losses; 1 = independent) and the
decoder conceals them. Same clips and procedure as codec_quality.py
(``codec.evaluation.procedure``), avq. The channel runs once over all clips
back to back (one realization per loss rate and channel, cut into the clips),
and of 200 seeded realizations the one whose share of lost packets is nearest
the nominal rate is used: on ~2,800 packets a single draw of 1 % in bursts of 3
is only ~9 bursts, and per-clip draws had left most clips with none (0.2 % lost
on average instead of 1 %). The table gives the share actually lost beside
each nominal rate. PLCMOS (non-intrusive, made for concealment; ``speechmos``) is
scored where that package is installed.

    python benchmarks/packet_loss.py [--clips 20] [--bitrates 8,13.2,32]
"""

from __future__ import annotations

import argparse
import logging
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from codec import SpeechCodec
from codec.evaluation import metrics
from codec.evaluation.procedure import prepared, score
from codec.evaluation.run import find_clips
from codec.channel import lose, loss_pattern, packet_count

from common import add_output_argument, markdown_table, write_json

LOSSES = (0.0, 0.01, 0.05, 0.10)
PACKET_FRAMES = 4


def packets_of(path: Path) -> int:
    """Packets of a clip's stream (the same at every rate: 4-frame packets)."""
    codec = SpeechCodec.load()
    return packet_count(codec.encode(prepared(path), 16000, bitrate=8.0, quantizer="avq",
                                     packet_frames=PACKET_FRAMES))


def _extra() -> tuple[str, ...]:
    return ("plcmos",) if metrics.missing_metric("plcmos") is None else ()


def score_clip(job: tuple[Path, tuple[float, ...], dict]) -> list[dict]:
    path, bitrates, masks = job
    logging.getLogger("codec").setLevel(logging.ERROR)    # one warning per lost packet otherwise
    codec = SpeechCodec.load()
    wav = prepared(path)
    rows = []
    for bitrate in bitrates:
        data = codec.encode(wav, 16000, bitrate=bitrate, quantizer="avq", packet_frames=PACKET_FRAMES)
        for channel in ("random", "bursty"):
            for rate in LOSSES:
                lossy, lost = lose(data, masks[channel, rate])
                out, _ = codec.decode(lossy)
                rows.append({"clip": path.name, "bitrate": bitrate, "channel": channel, "loss": rate,
                             "lost": float(lost.mean()), "packets": len(lost), **score(wav, out, _extra())})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=Path("data/demo"))
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--bitrates", default="8,13.2,32")
    parser.add_argument("--burst", type=float, default=3.0, help="mean burst length of the bursty channel")
    parser.add_argument("--workers", type=int, default=2)
    add_output_argument(parser)
    args = parser.parse_args()
    bitrates = tuple(float(b) for b in args.bitrates.split(","))
    clips = [path for _, path in find_clips(args.corpus / "manifest.csv", limit=args.clips)]
    records = []
    with ProcessPoolExecutor(args.workers) as pool:
        counts = list(pool.map(packets_of, clips))
        bounds = np.concatenate([[0], np.cumsum(counts)])
        masks = [{} for _ in clips]
        for channel, burst in (("random", 1.0), ("bursty", args.burst)):
            for rate in LOSSES:   # one channel realization over all clips back to back, at the nominal rate
                lost = min((loss_pattern(int(bounds[-1]), rate, burst=burst, seed=seed) for seed in range(200)),
                           key=lambda mask: abs(mask.mean() - rate))
                for i in range(len(clips)):
                    masks[i][channel, rate] = lost[bounds[i]:bounds[i + 1]]
        jobs = [(c, bitrates, m) for c, m in zip(clips, masks)]
        for rows in tqdm(pool.map(score_clip, jobs), total=len(jobs), unit="clip"):
            records += rows
    print(f"{len(clips)} validation clips, avq; bursty = mean burst of {args.burst:g} packets")
    for name, title in (("pesq", "PESQ-WB"), ("plcmos", "PLCMOS")):
        if name not in records[0]:
            continue
        table = []
        for bitrate in bitrates:
            for channel in ("random", "bursty"):
                row = [f"{bitrate:g}", channel]
                for rate in LOSSES:
                    sel = [r for r in records if r["bitrate"] == bitrate and r["channel"] == channel and r["loss"] == rate]
                    lost = sum(r["lost"] * r["packets"] for r in sel) / sum(r["packets"] for r in sel)
                    row.append(f"{np.nanmean([r[name] for r in sel]):.2f} ({100 * lost:.1f} %)")
                table.append(row)
        print(f"\n{title} (share of packets lost)")
        print(markdown_table(["kbit/s", "channel"] + [f"{100 * r:g} % lost" for r in LOSSES], table))
    print(f"wrote {write_json('packet_loss', {'clips': [c.name for c in clips], 'burst': args.burst, 'results': records}, args.out_dir)}")


if __name__ == "__main__":
    main()
