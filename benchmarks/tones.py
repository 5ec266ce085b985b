"""Signals that are not speech: waveform SNR of sines, DTMF and a sweep at every rate (avq).

Music on hold and signalling tones pass through speech codecs in real use; a
codec must not destroy them. SNR is measured away from the first and last
0.1 s; the level change is the decoded energy over the input's. Each cell is
"with the decoder's pitch postfilter / without it" (codec/postfilter.py: a steady
tone looks voiced, so the comb works on it; it keeps the tone's level).

    python benchmarks/tones.py
"""

from __future__ import annotations

import argparse

import numpy as np

from codec import SpeechCodec
from codec.modes import BITRATES

from common import add_output_argument, markdown_table, write_json

SECONDS = np.arange(2 * 16000) / 16000
SIGNALS = {
    "sine 1 kHz at 0.1": 0.1 * np.sin(2 * np.pi * 1000 * SECONDS),
    "sine 1 kHz at 0.5": 0.5 * np.sin(2 * np.pi * 1000 * SECONDS),
    "sine 300 Hz at 0.3": 0.3 * np.sin(2 * np.pi * 300 * SECONDS),
    "DTMF 5 (770 + 1336 Hz)": 0.25 * (np.sin(2 * np.pi * 770 * SECONDS) + np.sin(2 * np.pi * 1336 * SECONDS)),
    "sweep 100 Hz - 7 kHz": 0.3 * np.sin(2 * np.pi * (100 * SECONDS + 6900 / 4 * SECONDS ** 2)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_output_argument(parser)
    args = parser.parse_args()
    codec = SpeechCodec.load()
    records, rows = [], []
    for name, x in SIGNALS.items():
        row = [name]
        for bitrate in BITRATES:
            data = codec.encode(x, 16000, bitrate=bitrate)
            cell = []
            for postfilter in (True, False):
                y, _ = codec.decode(data, postfilter=postfilter)
                core = slice(1600, -1600)
                snr = 10 * np.log10(np.sum(x[core] ** 2) / np.sum((x[core] - y[core]) ** 2))
                level = 10 * np.log10(np.sum(y ** 2) / np.sum(x ** 2))
                records.append({"signal": name, "bitrate": bitrate, "postfilter": postfilter, "snr_db": snr,
                                "level_db": level})
                cell.append(f"{snr:.1f}")
            row.append(" / ".join(cell))
        rows.append(row)
    print("waveform SNR (dB) with / without the postfilter, avq, model", codec.model_id)
    print(markdown_table(["signal"] + [f"{b:g} kbit/s" for b in BITRATES], rows))
    print(f"wrote {write_json('tones', {'results': records}, args.out_dir)}")


if __name__ == "__main__":
    main()
