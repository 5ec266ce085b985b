"""Encoding speed of every 16-bit quantizer on one core.

Encodes 100,000 16-dimensional vectors (the LSF order) and reports the best
of several runs. Targets: RVQ and PVQ under 0.5 s, AVQ with beam 8 under 3 s.

    python benchmarks/quantizer_speed.py [--vectors 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import torch

from codec.quantizers import build

from common import add_output_argument, markdown_table, write_json

CONFIGS = [("rvq", {}), ("rvq", {"beam": 8}), ("avq", {"beam": 8}), ("pvq", {}), ("scq", {})]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    add_output_argument(parser)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.randn(args.vectors, 16)
    rows, records = [], []
    for name, opts in CONFIGS:
        q = build(name, 16, 16, **opts)
        q.kmeans_init(x[:10_000], iters=5)
        q.encode(x[:1000])  # warm-up
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            q.encode(x)
            times.append(time.perf_counter() - start)
        label = name + (f" beam {opts['beam']}" if opts else "")
        best = min(times)
        rows.append([label, f"{best:.3f}", f"{args.vectors / best / 1e3:.0f}k", f"{q.complexity().wmops():.3f}"])
        records.append({"quantizer": name, **opts, "seconds": best, "vectors": args.vectors,
                        "wmops_at_50_per_s": q.complexity().wmops()})
    print(markdown_table(["quantizer", f"s / {args.vectors} vectors", "vectors/s", "WMOPS (50/s)"], rows))
    print(f"wrote {write_json('quantizer_speed', {'results': records}, args.out_dir)}")


if __name__ == "__main__":
    main()
