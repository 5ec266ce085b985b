"""Where the coding error lies: waveform SNR per frequency band of each clip in tests/data, every rate (avq).

Each clip at -26 dBov with 0.5 s of padding (the evaluation's procedure),
coded and decoded; SNR per band from 512-point STFTs of the input and of the
error (vqcodec has no delay, so no alignment is needed).

    python benchmarks/band_snr.py
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.signal import stft

from codec import SpeechCodec
from codec.evaluation.procedure import prepared
from codec.modes import BITRATES

from common import add_output_argument, markdown_table, write_json

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
BANDS = ((0, 2000), (2000, 4000), (4000, 7000))


def band_snr(x: np.ndarray, y: np.ndarray) -> list[float]:
    f, _, spectrum = stft(x, 16000, nperseg=512)
    _, _, error = stft(x - y, 16000, nperseg=512)
    return [float(10 * np.log10(np.sum(np.abs(spectrum[(f >= lo) & (f < hi)]) ** 2)
                                / np.sum(np.abs(error[(f >= lo) & (f < hi)]) ** 2))) for lo, hi in BANDS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_output_argument(parser)
    args = parser.parse_args()
    codec = SpeechCodec.load()
    records, rows = [], []
    for clip in sorted(DATA.glob("*.wav")):
        x = prepared(clip)
        for bitrate in BITRATES:
            y, _ = codec.decode(codec.encode(x, 16000, bitrate=bitrate, quantizer="avq"))
            snr = band_snr(x, y[:len(x)])
            records.append({"clip": clip.name, "bitrate": bitrate, "bands_hz": BANDS, "snr_db": snr})
            rows.append([clip.stem[:28], f"{bitrate:g}"] + [f"{v:.1f}" for v in snr])
    print(markdown_table(["clip", "kbit/s"] + [f"{lo / 1000:g}-{hi / 1000:g} kHz" for lo, hi in BANDS], rows))
    print(f"wrote {write_json('band_snr', {'results': records}, args.out_dir)}")


if __name__ == "__main__":
    main()
