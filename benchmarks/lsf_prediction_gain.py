"""How much of an LSF frame the previous frame predicts (open loop).

Fits a per-dimension first-order predictor rho_d on the training frames
(mean removed, consecutive frames within the feature array) and reports the
prediction gain 10 log10(E||x_t||^2 / E||x_t - rho x_{t-1}||^2) on both
splits. A memoryless 16-bit quantizer cannot use this redundancy; a
predictive one could (at the price of error propagation after lost packets).

    python benchmarks/lsf_prediction_gain.py --features data/demo/features
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from codec.corpus import features
from codec.train.envelope import make_envelope

from common import add_output_argument, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--features", default="data/demo/features")
    add_output_argument(parser)
    args = parser.parse_args()
    # The codec's own predictor fit (mean and per-LSF rho), as the predictive envelope uses it.
    envelope = make_envelope("rvq", 16, packet_frames=2)
    envelope.fit_mean(torch.from_numpy(np.array(features.load(args.features, "train"), dtype=np.float64)))
    mean, rho = envelope.mean.numpy(), envelope.rho.numpy()
    result = {"rho": rho.round(3).tolist()}
    for split in ("train", "valid"):
        x = np.asarray(features.load(args.features, split), dtype=np.float64) - mean
        gain = 10 * np.log10((x[1:] ** 2).sum() / ((x[1:] - rho * x[:-1]) ** 2).sum())
        result[f"gain_db_{split}"] = float(gain)
        print(f"{split}: open-loop AR(1) prediction gain {gain:.2f} dB")
    print("rho per LSF:", " ".join(f"{r:.2f}" for r in rho))
    print(f"wrote {write_json('lsf_prediction_gain', result, args.out_dir)}")


if __name__ == "__main__":
    main()
