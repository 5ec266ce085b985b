"""Probe: closed-loop predictive LSF quantization with a reset every P frames.

How the packet length P trades prediction gain: ``EnvelopeQuantizer`` with
16-bit RVQs, k-means initialized (no NSVQ training), searched with the
sensitivity weights. The first frame of every packet is coded without
memory, the others as the residual of rho * (previous decoded frame);
SD on the validation speakers. P = 1 is memoryless.

    python benchmarks/lsf_predictive_probe.py --features data/demo/features
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from codec.corpus import features
from codec.train.envelope import make_envelope, spectral_distortion_stats

from common import add_output_argument, markdown_table, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--features", default="data/demo/features")
    parser.add_argument("--packets", default="1,2,4,8", help="frames per packet to try")
    add_output_argument(parser)
    args = parser.parse_args()
    train = torch.from_numpy(np.array(features.load(args.features, "train"), dtype=np.float32))
    valid = np.asarray(features.load(args.features, "valid"), dtype=np.float64)
    rows, records = [], []
    for p in (int(v) for v in args.packets.split(",")):
        torch.manual_seed(0)
        envelope = make_envelope("rvq", 16, packet_frames=p)
        envelope.kmeans_init(train)
        coder = envelope.coder()
        decoded = coder.decode(coder.encode(valid))
        stats = spectral_distortion_stats(valid, decoded)
        records.append({"frames_per_packet": p, **stats})
        rows.append([p, f"{stats['sd_mean']:.3f}", f"{stats['pct_2_4']:.1f}", f"{stats['pct_over_4']:.2f}"])
    print(markdown_table(["frames per packet", "mean SD (dB)", "% 2-4 dB", "% > 4 dB"], rows))
    print(f"wrote {write_json('lsf_predictive_probe', {'results': records}, args.out_dir)}")


if __name__ == "__main__":
    main()
