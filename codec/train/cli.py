"""``vqcodec train``: LightningCLI for the envelope recipes, and export to a model file.

    vqcodec train fit --config recipes/avq16.yaml            # train (resumable)
    vqcodec train fit --config recipes/avq16.yaml --ckpt_path last   # resume
    vqcodec train export runs/avq16/checkpoints/last.ckpt ... --out model.pt
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from lightning.pytorch.cli import LightningCLI

from ..model import describe, save_model
from .data import LSFDataModule
from .module import EnvelopeQuantizerModule


class EnvelopeCLI(LightningCLI):
    """LightningCLI whose data module follows the model's packet length."""

    def add_arguments_to_parser(self, parser) -> None:
        parser.link_arguments("model.packet_frames", "data.packet_frames")


def run_lightning(args: list[str]) -> None:
    """LightningCLI over the envelope module and the LSF data module.

    The resolved configuration is saved next to the logs (SaveConfigCallback);
    it refuses to overwrite an earlier run's configuration.
    """
    with warnings.catch_warnings():
        # `vqcodec train ...` hands its own arguments over; that is not a mix-up.
        warnings.filterwarnings("ignore", message=".*args parameter is intended.*")
        EnvelopeCLI(EnvelopeQuantizerModule, LSFDataModule, args=args, seed_everything_default=0,
                     parser_kwargs={"prog": "vqcodec train"})


def export(checkpoints: list[str], out: str, *, force: bool = False) -> str:
    """Collect trained quantizers from Lightning checkpoints into one model file.

    Each checkpoint contributes one quantizer, named by its method ("rvq", "avq", ...).
    Returns the model id.
    """
    target = Path(out)
    if target.exists() and not force:
        raise FileExistsError(f"{target} exists; pass --force to overwrite it")
    entries = {}
    for path in checkpoints:
        module = EnvelopeQuantizerModule.load_from_checkpoint(path, map_location="cpu")
        hp = module.hparams
        if hp.quantizer in entries:
            raise ValueError(f"two checkpoints for {hp.quantizer!r}: {path}")
        entries[hp.quantizer] = describe(module.envelope, hp.quantizer, hp.bits, hp.options)
    return save_model(target, entries)


def main(argv: list[str]) -> None:
    if argv and argv[0] == "export":
        parser = argparse.ArgumentParser(prog="vqcodec train export",
                                         description="Write trained checkpoints into one model file.")
        parser.add_argument("checkpoints", nargs="+", help="Lightning checkpoints, one per quantizer")
        parser.add_argument("--out", required=True, help="model file to write")
        parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
        args = parser.parse_args(argv[1:])
        print(f"model id {export(args.checkpoints, args.out, force=args.force)} -> {args.out}")
        return
    run_lightning(argv)
