"""What a decoder-side postfilter could gain at best: oracle filters that know the original.

Each development clip is coded with avq and decoded without a postfilter; then
the decoded speech, aligned to the original, is changed in a short-time
Fourier domain (512-sample Hann windows, 128-sample hop: 8 ms) by filters
that look at the original, which no decoder can:

    ideal magnitude  the original's magnitudes with the decoded phases
    ratio mask       each bin scaled by min(|original| / |decoded|, 1): the best noise remover
    bands            per 8 ms and per band (20 bands spaced evenly in log frequency from 125 Hz),
                     the band scaled to the original's energy
    bands, cut only  ... only where that lowers it (a noise remover with the bands' resolution)
    bands, lift only ... only where that raises it (restores what the coding lost)
    bands, 40 ms     the same gains smoothed over 5 hops (log domain): an envelope-rate filter
    8 bands          8 such bands instead of 20
    broadband        one gain per 8 ms (the temporal envelope alone)

next to the real decoder (without a postfilter, and as it decodes by
default), scored with PESQ-WB, pSNR and ViSQOL (and DNSMOS on request), as means
over voices. Whatever a network in the decoder learns, it can only estimate
these gains from what the decoder has; the table bounds what estimating
them well would be worth, and which scores reward which kind of change.

    python benchmarks/postfilter_ceiling.py [--dev data/dev] [--clips 14] [--rates 8,13.2]
"""

from __future__ import annotations

import argparse
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.signal import istft, stft
from tqdm import tqdm

from common import dev_clips, markdown_table, means_over_voices, write_json

WINDOW, HOP = 512, 128
ORACLES = ("ideal magnitude", "ratio mask", "bands", "bands, cut only", "bands, lift only", "bands, 40 ms",
           "8 bands", "broadband")
DECODERS = ("none", "default")


def band_edges(bins: int, bands: int) -> np.ndarray:
    """Bin edges of ``bands`` bands, the first from 0 Hz to 125 Hz, the rest spaced evenly in log frequency."""
    inner = np.unique(np.round(np.geomspace(4, bins - 1, bands + 1)).astype(int))
    return np.concatenate([[0], inner, [bins]])


def band_gains(original: np.ndarray, decoded: np.ndarray, bands: int) -> np.ndarray:
    """Per bin and hop, the gain that gives each band of ``decoded`` the energy of ``original``'s."""
    gains = np.ones(decoded.shape)
    edges = band_edges(decoded.shape[0], bands)
    for lo, hi in zip(edges[:-1], edges[1:]):
        wanted = np.sum(np.abs(original[lo:hi]) ** 2, axis=0) + 1e-12
        gains[lo:hi] = np.sqrt(wanted / (np.sum(np.abs(decoded[lo:hi]) ** 2, axis=0) + 1e-12))
    return gains


def oracles(ref: np.ndarray, deg: np.ndarray) -> dict[str, np.ndarray]:
    """The oracle filters applied to ``deg`` (aligned to ``ref``, same length)."""
    _, _, original = stft(ref, nperseg=WINDOW, noverlap=WINDOW - HOP)
    _, _, decoded = stft(deg, nperseg=WINDOW, noverlap=WINDOW - HOP)
    gains = band_gains(original, decoded, 20)
    whole = np.sqrt((np.sum(np.abs(original) ** 2, axis=0) + 1e-12) / (np.sum(np.abs(decoded) ** 2, axis=0) + 1e-12))
    spectra = {
        "ideal magnitude": np.abs(original) * np.exp(1j * np.angle(decoded)),
        "ratio mask": decoded * np.minimum(np.abs(original) / (np.abs(decoded) + 1e-9), 1.0),
        "bands": decoded * gains,
        "bands, cut only": decoded * np.minimum(gains, 1.0),
        "bands, lift only": decoded * np.maximum(gains, 1.0),
        "bands, 40 ms": decoded * np.exp(uniform_filter1d(np.log(gains), 5, axis=1)),
        "8 bands": decoded * band_gains(original, decoded, 8),
        "broadband": decoded * whole[None],
    }
    return {name: istft(s, nperseg=WINDOW, noverlap=WINDOW - HOP)[1][:len(deg)] for name, s in spectra.items()}


def score_clip(job: tuple[Path, tuple[float, ...], tuple[str, ...]]) -> list[dict]:
    from codec import SpeechCodec
    from codec.evaluation.procedure import align, prepared, score
    path, rates, extra = job
    codec = SpeechCodec.load()
    wav = prepared(path)
    rows = []
    for rate in rates:
        data = codec.encode(wav, 16000, bitrate=rate, quantizer="avq")
        decoded = {name: codec.decode(data, postfilter=setting)[0].astype(np.float64) for name, setting in
                   zip(DECODERS, (False, True))}
        ref, deg, _ = align(wav, decoded["none"])
        for name, y in {**decoded, **oracles(ref, deg)}.items():
            rows.append({"clip": path.name, "bitrate": rate, "filter": name,
                         **score(wav if name in DECODERS else ref, y, extra)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=Path, default=Path("data/dev"), help="folder from 'vqcodec prepare dev'")
    parser.add_argument("--clips", type=int, default=14, help="clips spread over the development set")
    parser.add_argument("--rates", default="8,13.2", help="bitrates, comma-separated (default: 8,13.2)")
    parser.add_argument("--metrics", default="visqol", help="extra scores (default: visqol)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    from codec.corpus.dev_set import read_voices

    voices = read_voices(args.dev / "voices.csv")
    rates = tuple(float(r) for r in args.rates.split(","))
    extra = tuple(m for m in args.metrics.split(",") if m)
    clips = dev_clips(args.dev, args.clips)
    with ProcessPoolExecutor(args.workers) as pool:
        rows = [r for rs in tqdm(pool.map(score_clip, [(c, rates, extra) for c in clips]), total=len(clips),
                                 unit="clip") for r in rs]
    names = ("pesq", "psnr", *extra)
    means = means_over_voices(rows, voices, "filter", names)
    summary = {f"{score}/{name}/{rate:g}": means[rate, name, score]
               for rate in rates for name in (*DECODERS, *ORACLES) for score in names}
    table = [[f"{rate:g}", name, *(f"{means[rate, name, score]:.3f}" for score in names)]
             for rate in rates for name in (*DECODERS, *ORACLES)]
    print(markdown_table(["kbit/s", "filter", *names], table))
    print(f"wrote {write_json('postfilter_ceiling', {'summary': summary, 'clips': [c.name for c in clips], 'rows': rows})}")


if __name__ == "__main__":
    main()
