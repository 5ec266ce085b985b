"""How much of each fixed-size packet carries range-coder output, per bitrate.

Packets have a fixed size (exact CBR), so what the coded frames leave unused is
zero padding. The share is reported over all packets and over the packets that
are more than 60 % full (speech; the others are mostly silence, which a fixed
packet size must still fill). Clips: every 4th of the development set, avq.

    python benchmarks/padding.py [--dev data/dev] [--model M]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from unittest import mock

import numpy as np

from codec import SpeechCodec, encoder
from codec.coding import bitstream
from codec.evaluation.procedure import prepared
from codec.modes import BITRATES

from common import add_output_argument, markdown_table, write_json

BUSY = 0.6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=Path, default=Path("data/dev"), help="folder from 'vqcodec prepare dev'")
    parser.add_argument("--model", default=None)
    add_output_argument(parser)
    args = parser.parse_args()
    clips = sorted(args.dev.glob("*.wav"))[::4]
    if not clips:
        raise SystemExit(f"no clips in {args.dev}: run 'vqcodec prepare dev --out {args.dev}' first")
    codec = SpeechCodec.load(args.model)
    seal = bitstream.seal_packet
    packets: list[tuple[int, int]] = []

    def counting_seal(words, size, index, header_crc):
        packets.append((len(words), bitstream.payload_words(size)))
        return seal(words, size, index, header_crc)

    rows, records = [], []
    with mock.patch.object(encoder.bitstream, "seal_packet", counting_seal):
        for bitrate in BITRATES:
            packets.clear()
            for clip in clips:
                codec.encode(prepared(clip), 16000, bitrate=bitrate, quantizer="avq")
            used, size = np.array(packets).T
            busy = used > BUSY * size
            record = {"bitrate": bitrate, "packets": len(used), "words_per_packet": int(size[0]),
                      "mean_words_used": float(used.mean()),
                      "padding_pct": float(100 - 100 * used.sum() / size.sum()),
                      "busy_packets_pct": float(100 * busy.mean()),
                      "padding_in_busy_pct": float(100 - 100 * used[busy].sum() / size[busy].sum())}
            records.append(record)
            rows.append([f"{bitrate:g}", f"{record['mean_words_used']:.2f} of {record['words_per_packet']}",
                         f"{record['padding_pct']:.1f}", f"{record['busy_packets_pct']:.0f}",
                         f"{record['padding_in_busy_pct']:.1f}"])
    print(f"{len(clips)} development clips, avq")
    print(markdown_table(["kbit/s", "32-bit words used", "padding %", "packets > 60 % full, %",
                          "padding in those, %"], rows))
    print(f"wrote {write_json('padding', {'clips': [c.name for c in clips], 'results': records}, args.out_dir)}")


if __name__ == "__main__":
    main()
