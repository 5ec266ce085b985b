"""Probe: closed-loop predictive LSF quantization with a reset every P frames.

Not the codec's quantizer (yet): a measurement of what inter-frame prediction
would buy. The first frame of every packet of P frames is quantized without
memory (16-bit RVQ on mean-removed LSFs); every later frame quantizes the
residual after predicting rho * (previous decoded frame), with a second 16-bit
RVQ. Both are k-means initialized (no NSVQ training), searched with the
sensitivity weights; SD on the validation speakers. P = 1 is memoryless.

    python benchmarks/lsf_predictive_probe.py --features data/demo/features
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from codec import features, lpc
from codec.envelope import sensitivity_weights, spectral_distortion_stats
from codec.quantizers import build

from common import add_output_argument, markdown_table, write_json


def as_tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a).float()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--features", default="data/demo/features")
    parser.add_argument("--packets", default="1,2,4,8", help="frames per packet to try")
    add_output_argument(parser)
    args = parser.parse_args()
    torch.manual_seed(0)
    train = np.asarray(features.load(args.features, "train"), dtype=np.float64)
    valid = np.asarray(features.load(args.features, "valid"), dtype=np.float64)
    mean = train.mean(0)
    x = train - mean
    rho = (x[1:] * x[:-1]).sum(0) / (x[:-1] ** 2).sum(0)
    intra = build("rvq", 16, 16)
    intra.kmeans_init(as_tensor(x))
    inter = build("rvq", 16, 16)
    inter.kmeans_init(as_tensor(x[1:] - rho * x[:-1]))

    rows, records = [], []
    for p in (int(v) for v in args.packets.split(",")):
        n = len(valid) // p * p
        packets = (valid[:n] - mean).reshape(-1, p, 16)
        decoded = np.zeros_like(packets)
        for t in range(p):
            target = packets[:, t]
            weights = sensitivity_weights(as_tensor(target + mean))
            if t == 0:
                hat = intra.decode(intra.encode(as_tensor(target), weights)).detach().double().numpy()
            else:
                prediction = rho * decoded[:, t - 1]
                residual = as_tensor(target - prediction)
                hat = prediction + inter.decode(inter.encode(residual, weights)).detach().double().numpy()
            decoded[:, t] = lpc.stabilize(hat + mean) - mean
        stats = spectral_distortion_stats(valid[:n], decoded.reshape(-1, 16) + mean)
        records.append({"frames_per_packet": p, **stats})
        rows.append([p, f"{stats['sd_mean']:.3f}", f"{stats['pct_2_4']:.1f}", f"{stats['pct_over_4']:.2f}"])
    print(markdown_table(["frames per packet", "mean SD (dB)", "% 2-4 dB", "% > 4 dB"], rows))
    print(f"wrote {write_json('lsf_predictive_probe', {'rho': rho.tolist(), 'results': records}, args.out_dir)}")


if __name__ == "__main__":
    main()
