"""``vqcodec train``: LightningCLI for the envelope recipes, and export to a model file.

    vqcodec train fit --config recipes/avq16.yaml            # train (resumable)
    vqcodec train fit --config recipes/avq16.yaml --ckpt_path last   # resume
    vqcodec train export runs/rvq16 runs/avq16 ... --out model.npz   # run folders or checkpoints
    vqcodec train spectrum model.npz --corpus data/demo --out model.npz --force
    vqcodec train postfilter fit --config recipes/postfilter.yaml
    vqcodec train postfilter export runs/postfilter --model model.npz --out model.npz --force
    vqcodec train spectral fit --config recipes/spectral.yaml         # the same for the spectral postfilter
"""

from __future__ import annotations

import argparse
import logging
import warnings
from pathlib import Path

from lightning.pytorch.cli import LightningCLI

from ..coding.envelope import EnvelopeCoder
from ..model import read_model_arrays, save_model
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


def best_checkpoint(path: str) -> str:
    """``path`` itself, or for a run folder the best-validation checkpoint (``epoch*.ckpt``) of its newest run."""
    folder = Path(path)
    if not folder.is_dir():
        return path
    found = sorted(folder.rglob("epoch*.ckpt"), key=lambda p: p.stat().st_mtime_ns)
    if not found:
        raise FileNotFoundError(f"{folder}: no epoch*.ckpt checkpoint below it (train it first: vqcodec train fit)")
    return str(found[-1])


def export(checkpoints: list[str], out: str, *, force: bool = False) -> str:
    """Collect trained quantizers from Lightning checkpoints into one model file.

    Each checkpoint contributes one quantizer, named by its method ("rvq", "avq", ...).
    Returns the model id.
    """
    target = Path(out)
    if target.exists() and not force:
        raise FileExistsError(f"{target} exists; pass --force to overwrite it")
    entries = {}
    for path in map(best_checkpoint, checkpoints):
        module = EnvelopeQuantizerModule.load_from_checkpoint(path, map_location="cpu")
        name = module.hparams.quantizer
        if name in entries:
            raise ValueError(f"two checkpoints for {name!r}: {path}")
        entries[name] = module.envelope.entry()
    return save_model(target, entries)


def train_spectrum(model: str, corpus: str, out: str, *, quantizer: str = "avq", files: int = 600,
                   rounds: int = 3, force: bool = False) -> str:
    """Fit the spectrum's entropy model on a prepared corpus and write ``model`` plus it to ``out``.

    Uses ``files`` randomly chosen (seed 0) files of the corpus's train split,
    coded with the model's ``quantizer`` envelope. Returns the new model id.
    """
    import random

    from ..corpus.prepare import read_manifest
    from .spectrum import fit_spectrum_model

    target = Path(out)
    if target.exists() and not force:
        raise FileExistsError(f"{target} exists; pass --force to overwrite it")
    entries, _, trained = read_model_arrays(model)   # the postfilters, if any, are kept
    if quantizer not in entries:
        raise ValueError(f"{model} has no {quantizer!r} quantizer (it has {', '.join(sorted(entries))})")
    manifest = Path(corpus) / "manifest.csv"
    if not manifest.exists():
        raise FileNotFoundError(f"{manifest} not found; prepare the corpus first (vqcodec prepare)")
    train = [Path(corpus) / e.path for e in read_manifest(manifest) if e.split == "train"]
    random.Random(0).shuffle(train)
    entry = entries[quantizer]
    spectrum = fit_spectrum_model(sorted(train[:files]), EnvelopeCoder.from_state(entry, entry["state"]),
                                  rounds=rounds)
    return save_model(target, entries, spectrum, trained)


# The decoder's trained parts: each name is both the `vqcodec train` subcommand and the part's
# prefix in the model file (codec.model.TRAINED_PARTS).
DECODER_PARTS = ("postfilter", "spectral")


def _classes(command: str) -> tuple:
    """The LightningModule and LightningDataModule of a decoder part."""
    if command == "postfilter":
        from .postfilter import PostfilterData, PostfilterModule

        return PostfilterModule, PostfilterData
    from .spectral_postfilter import SpectralData, SpectralModule

    return SpectralModule, SpectralData


def export_postfilter(checkpoint: str, model: str, out: str, *, force: bool = False,
                      command: str = "postfilter") -> str:
    """Write ``model`` with the network of ``checkpoint`` (or a run folder's best) as its ``command``
    part (``DECODER_PARTS``), keeping its other parts, to ``out``; returns the new postfilter id."""
    from ..model import postfilter_id

    target = Path(out)
    if target.exists() and not force:
        raise FileExistsError(f"{target} exists; pass --force to overwrite it")
    entries, spectrum, trained = read_model_arrays(model)
    module = _classes(command)[0].load_from_checkpoint(best_checkpoint(checkpoint), map_location="cpu")
    trained = {**trained, command: module.net.weights()}
    save_model(target, entries, spectrum, trained)
    return postfilter_id(trained)


def _add_output_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="model file to write")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")


def postfilter_main(command: str, argv: list[str]) -> None:
    """``vqcodec train {postfilter,spectral} {fit,validate,export}``."""
    if argv and argv[0] == "export":
        parser = argparse.ArgumentParser(prog=f"vqcodec train {command} export",
                                         description=f"Write a model file with a trained {command} postfilter "
                                                     "added (its coding tables and model id unchanged).")
        parser.add_argument("checkpoint", help="Lightning checkpoint or run folder (its newest best checkpoint)")
        parser.add_argument("--model", required=True, help="model file whose coding tables to keep")
        _add_output_arguments(parser)
        args = parser.parse_args(argv[1:])
        identity = export_postfilter(args.checkpoint, args.model, args.out, force=args.force, command=command)
        print(f"postfilter id {identity} -> {args.out}")
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*args parameter is intended.*")
        LightningCLI(*_classes(command), args=argv, seed_everything_default=0,
                     parser_kwargs={"prog": f"vqcodec train {command}"})


def main(argv: list[str]) -> None:
    if argv and argv[0] in DECODER_PARTS:
        postfilter_main(argv[0], argv[1:])
        return
    if argv and argv[0] == "spectrum":
        parser = argparse.ArgumentParser(prog="vqcodec train spectrum",
                                         description="Fit the entropy model of the coded spectra on a prepared "
                                                     "corpus and write a complete codec model file.")
        parser.add_argument("model", help="model file with trained envelope quantizers (vqcodec train export)")
        parser.add_argument("--corpus", required=True, help="prepared corpus folder (vqcodec prepare)")
        _add_output_arguments(parser)
        parser.add_argument("--quantizer", default="avq", help="envelope quantizer to code with (default: avq)")
        parser.add_argument("--files", type=int, default=600, help="train-split files to use (default: 600)")
        parser.add_argument("--rounds", type=int, default=3, help="code/refit iterations (default: 3)")
        args = parser.parse_args(argv[1:])
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        model_id = train_spectrum(args.model, args.corpus, args.out, quantizer=args.quantizer, files=args.files,
                                  rounds=args.rounds, force=args.force)
        print(f"model id {model_id} -> {args.out}")
        return
    if argv and argv[0] == "export":
        parser = argparse.ArgumentParser(prog="vqcodec train export",
                                         description="Write trained checkpoints into one model file.")
        parser.add_argument("checkpoints", nargs="+",
                            help="Lightning checkpoints or run folders (their newest best checkpoint), one per quantizer")
        _add_output_arguments(parser)
        args = parser.parse_args(argv[1:])
        print(f"model id {export(args.checkpoints, args.out, force=args.force)} -> {args.out}")
        return
    run_lightning(argv)
