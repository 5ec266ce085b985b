"""16-bit LSF envelope quantizers on the demo corpus's validation speakers.

For every method (RVQ, AVQ beam 8, PVQ, SCQ) trained with NSVQ (SCQ: its own
soft relaxation) on the sensitivity-weighted LSF error, with NSVQ on plain LSF
MSE, with straight-through, and with k-means/LBG, plus faiss ResidualQuantizer
(beam 32), LocalSearchQuantizer and ProductQuantizer trained on the same
frames: mean spectral distortion (dB, 0-8 kHz) on the validation speakers,
the share of frames with 2-4 dB and above 4 dB, and training time.

    vqcodec prepare demo --out data/demo
    python benchmarks/envelope.py --features data/demo/features [--steps 20000]

Writes benchmarks/results/envelope.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings

import lightning as L
import numpy as np
import torch

from codec.corpus import features
from codec.train.envelope import spectral_distortion_stats
from codec.train.data import LSFDataModule
from codec.train.module import EnvelopeQuantizerModule

from common import add_output_argument, markdown_table, merge_previous, write_json

METHODS = ("rvq", "avq", "pvq", "scq")


def variants(method: str, packet_frames: int) -> list[tuple[str, dict]]:
    """(label, module keywords) for each training variant of a method."""
    main = "soft" if method == "scq" else "nsvq"
    memoryless = [
        (f"{main}, weighted", {"gradient": main, "weighted": True}),
        (f"{main}, plain MSE", {"gradient": main, "weighted": False}),
        ("ste, weighted", {"gradient": "ste", "weighted": True}),
        ("k-means (LBG)", {"gradient": "kmeans", "weighted": False}),
    ]
    predictive = [(f"{main}, weighted, predictive ({packet_frames}-frame packets)",
                   {"gradient": main, "weighted": True, "packet_frames": packet_frames})]
    return memoryless + (predictive if packet_frames > 1 else [])


def train_one(method: str, options: dict, data: LSFDataModule, steps: int, lloyd_iters: int) -> tuple:
    torch.manual_seed(0)
    module = EnvelopeQuantizerModule(quantizer=method, **options)
    kmeans = options["gradient"] == "kmeans"
    trainer = L.Trainer(max_steps=-1 if kmeans else steps, max_epochs=lloyd_iters if kmeans else -1,
                        limit_train_batches=1 if kmeans else None, limit_val_batches=0, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        accelerator="cpu", devices=1)
    start = time.perf_counter()
    trainer.fit(module, datamodule=data)
    return module.eval(), time.perf_counter() - start


def evaluate(envelope, valid: np.ndarray) -> dict:
    coder = envelope.coder()   # the numpy coder the codec runs
    return spectral_distortion_stats(valid.astype(np.float64), coder.decode(coder.encode(valid)))


def faiss_baselines(train: np.ndarray, valid: np.ndarray) -> list[dict]:
    import faiss

    from codec import lpc

    mean = train.mean(0)
    # LSQ++ trains for hours on all frames with 2 cores; every baseline gets the same 100k-frame subset.
    subset = train[np.random.default_rng(0).permutation(len(train))[:100_000]]
    xtr = np.ascontiguousarray(subset - mean, dtype=np.float32)
    xva = np.ascontiguousarray(valid - mean, dtype=np.float32)
    rows = []
    for label in ("faiss RQ (beam 32)", "faiss LSQ", "faiss PQ"):
        if label.startswith("faiss RQ"):
            fq = faiss.ResidualQuantizer(16, 4, 4)
            fq.max_beam_size = 1
        elif label == "faiss LSQ":
            fq = faiss.LocalSearchQuantizer(16, 4, 4)
        else:
            fq = faiss.ProductQuantizer(16, 4, 4)
        start = time.perf_counter()
        fq.train(xtr)
        seconds = time.perf_counter() - start
        if label.startswith("faiss RQ"):
            fq.max_beam_size = 32
        lsf_hat = lpc.stabilize(fq.decode(fq.compute_codes(xva)).astype(np.float64) + mean)
        rows.append({"method": label.split()[1].lower(), "variant": label, "train_seconds": seconds,
                     **spectral_distortion_stats(valid.astype(np.float64), lsf_hat)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--features", default="data/demo/features")
    parser.add_argument("--steps", type=int, default=20000, help="Adam steps per gradient-trained run")
    parser.add_argument("--lloyd-iters", type=int, default=20, help="LBG iterations for the k-means baseline")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--no-faiss", action="store_true")
    parser.add_argument("--packet-frames", type=int, default=4,
                        help="also train each method predictively with packets of this many frames (1: no)")
    parser.add_argument("--only", default="", help="run only variants whose label contains this text")
    parser.add_argument("--merge", action="store_true",
                        help="replace matching rows of the existing results file instead of starting a new one")
    add_output_argument(parser)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    logging.getLogger("lightning").setLevel(logging.WARNING)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)

    data = LSFDataModule(args.features)
    data.setup()
    valid = np.array(features.load(args.features, "valid"))
    train = data.train_lsf.numpy()
    records = []
    for method in args.methods.split(","):
        for label, options in variants(method, args.packet_frames):
            if args.only not in label:
                continue
            module, seconds = train_one(method, options, data, args.steps, args.lloyd_iters)
            stats = evaluate(module.envelope, valid)
            records.append({"method": method, "variant": label, "train_seconds": seconds, **stats})
            logging.warning("%s %s: SD %.3f dB (%.0f s)", method, label, stats["sd_mean"], seconds)
    if not args.no_faiss:
        records += faiss_baselines(train, valid)
    runs = [dict(vars(args))]
    if args.merge:
        records, runs = merge_previous(args.out_dir / "envelope.json", records, runs, ("method", "variant"))

    order = {m: i for i, m in enumerate(METHODS + ("rq", "lsq", "pq"))}
    records.sort(key=lambda r: order.get(r["method"], 99))
    rows = [[r["method"], r["variant"], f"{r['sd_mean']:.3f}", f"{r['pct_2_4']:.1f}", f"{r['pct_over_4']:.2f}",
             f"{r['train_seconds']:.0f}"] for r in records]
    print(f"\nValidation speakers: {len(valid)} frames; training: {len(train)} frames, {args.steps} steps\n")
    print(markdown_table(["method", "training", "mean SD (dB)", "% 2-4 dB", "% > 4 dB", "train s"], rows))
    payload = {"runs": runs, "train_frames": len(train), "valid_frames": len(valid), "results": records}
    print(f"\nwrote {write_json('envelope', payload, args.out_dir)}")


if __name__ == "__main__":
    main()
