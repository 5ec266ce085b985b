"""The NSVQ paper's toy experiment: MSE of 4-codebook quantizers on 64-D Gaussian data.

Correlated (AR(1), rho = 0.9, unit variance) and uncorrelated (N(0, I))
64-dimensional data; 4 codebooks at 12 to 40 bits; RVQ, AVQ (beam 8) and PVQ
trained by NSVQ, by straight-through with commitment loss, and by k-means/LBG;
and faiss's ResidualQuantizer (beam 1 to train, 32 to encode),
LocalSearchQuantizer (LSQ++) and ProductQuantizer at equal bits on the same
data. MSE is the mean squared error per vector on held-out test vectors.

    python benchmarks/toy_quantizers.py                   # full grid (about an hour on 2 cores)
    python benchmarks/toy_quantizers.py --bits 16 --steps 2000 --no-faiss   # quick look

Writes benchmarks/results/toy_quantizers.json and prints markdown tables.
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from codec.quantizers import ReplacementSchedule, build, fit, mean_squared_error

from common import add_output_argument, markdown_table, merge_previous, write_json

DIM = 64
METHODS = ("rvq", "avq", "pvq")
GRADIENTS = ("nsvq", "ste", "kmeans")


def make_data(kind: str, n: int, seed: int) -> torch.Tensor:
    """``n`` 64-D vectors: 'correlated' AR(1) with rho 0.9, or 'uncorrelated' N(0, I)."""
    g = torch.Generator().manual_seed(seed)
    white = torch.randn(n, DIM, generator=g)
    if kind == "uncorrelated":
        return white
    rho = 0.9
    x = torch.empty_like(white)
    x[:, 0] = white[:, 0]
    for i in range(1, DIM):
        x[:, i] = rho * x[:, i - 1] + (1 - rho ** 2) ** 0.5 * white[:, i]
    return x


def run_ours(method: str, gradient: str, bits: int, train: torch.Tensor, test: torch.Tensor,
             steps: int) -> dict:
    torch.manual_seed(0)
    q = build(method, DIM, bits, gradient=gradient)
    schedule = ReplacementSchedule(every=max(steps // 20, 1), stop_before=steps // 10)
    result = fit(q, train, steps=steps, batch_size=64, lr=1e-3, replacement=schedule)
    return {"mse": mean_squared_error(q, test), "train_seconds": result.seconds,
            "replaced": result.replaced}


def run_faiss(kind: str, bits: int, train: torch.Tensor, test: torch.Tensor) -> dict:
    import faiss

    nbits = bits // 4
    xtr, xte = train.numpy().astype(np.float32), test.numpy().astype(np.float32)
    if kind == "faiss-rq":
        fq = faiss.ResidualQuantizer(DIM, 4, nbits)
        fq.max_beam_size = 1
    elif kind == "faiss-lsq":
        fq = faiss.LocalSearchQuantizer(DIM, 4, nbits)
    else:
        fq = faiss.ProductQuantizer(DIM, 4, nbits)
    start = time.perf_counter()
    fq.train(xtr)
    seconds = time.perf_counter() - start
    if kind == "faiss-rq":
        fq.max_beam_size = 32
    x_hat = fq.decode(fq.compute_codes(xte))
    return {"mse": float(((xte - x_hat) ** 2).sum(1).mean()), "train_seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bits", default="12,16,20,24,28,32,36,40", help="comma-separated bit budgets")
    parser.add_argument("--steps", type=int, default=5000, help="Adam steps per gradient-trained run")
    parser.add_argument("--train", type=int, default=20000, help="training vectors")
    parser.add_argument("--test", type=int, default=10000, help="test vectors")
    parser.add_argument("--data", default="correlated,uncorrelated")
    parser.add_argument("--gradients", default=",".join(GRADIENTS))
    parser.add_argument("--methods", default=",".join(METHODS), help="our methods to run")
    parser.add_argument("--no-faiss", action="store_true", help="skip the faiss baselines")
    parser.add_argument("--merge", action="store_true",
                        help="replace matching rows of the existing results file instead of starting a new one")
    add_output_argument(parser)
    args = parser.parse_args()
    logging.getLogger("faiss").setLevel(logging.ERROR)

    bit_list = [int(b) for b in args.bits.split(",")]
    gradients = args.gradients.split(",")
    datasets = args.data.split(",")
    baselines = [] if args.no_faiss else ["faiss-rq", "faiss-lsq", "faiss-pq"]
    jobs = [(d, b, m, g) for d in datasets for b in bit_list for m in args.methods.split(",") for g in gradients]
    jobs += [(d, b, f, None) for d in datasets for b in bit_list for f in baselines]

    data = {d: (make_data(d, args.train, seed=1), make_data(d, args.test, seed=2)) for d in datasets}
    records = []
    for dataset, bits, method, gradient in tqdm(jobs, desc="toy benchmark"):
        train, test = data[dataset]
        if gradient is None:
            outcome = run_faiss(method, bits, train, test)
            label = method
        else:
            outcome = run_ours(method, gradient, bits, train, test, args.steps)
            label = f"{method}-{gradient}"
        records.append({"data": dataset, "bits": bits, "method": label, **outcome})
    runs = [dict(vars(args))]
    if args.merge:
        records, runs = merge_previous(args.out_dir / "toy_quantizers.json", records, runs,
                                       ("data", "bits", "method"))
        bit_list = sorted({r["bits"] for r in records})

    labels = sorted(dict.fromkeys(r["method"] for r in records), key=lambda m: (m.startswith("faiss"), m))
    for dataset in datasets:
        rows = []
        for label in labels:
            by_bits = {r["bits"]: r["mse"] for r in records if r["data"] == dataset and r["method"] == label}
            rows.append([label] + [f"{by_bits[b]:.2f}" if b in by_bits else "-" for b in bit_list])
        print(f"\n{dataset} 64-D Gaussian, MSE per vector (test set), 4 codebooks\n")
        print(markdown_table(["method"] + [f"{b} bits" for b in bit_list], rows))
    print(f"\nwrote {write_json('toy_quantizers', {'runs': runs, 'results': records}, args.out_dir)}")


if __name__ == "__main__":
    main()
