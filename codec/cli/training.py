"""``vqcodec prepare``, ``train`` and ``complexity``: corpora, training recipes, quantizer costs."""

from __future__ import annotations

import argparse
import logging
import os

from .common import CommandError

log = logging.getLogger(__name__)


def _cmd_complexity(args: argparse.Namespace) -> None:
    from ..quantizers import METHODS, build

    names = args.quantizers.split(",")
    unknown = sorted(set(names) - set(METHODS))
    if unknown:
        raise CommandError(f"unknown quantizer(s) {', '.join(unknown)}; choose from {', '.join(sorted(METHODS))}")
    print(f"{'quantizer':<10} {'codebooks':>10} {'bits':>5} {'ops/vector':>11} {'WMOPS':>8}")
    for name in names:
        opts = {"beam": args.beam} if name in ("avq", "rvq") and args.beam else {}
        try:
            q = build(name, args.dim, args.bits, **opts)
        except ValueError as err:
            raise CommandError(str(err)) from None
        ops = q.complexity()
        shape = f"{q.num_codebooks}x{q.codebook_sizes[0]}"
        print(f"{name:<10} {shape:>10} {q.bits:>5g} {ops.weighted:>11,d} {ops.wmops(args.rate):>8.3f}")


def _cmd_prepare(args: argparse.Namespace) -> None:
    import tempfile
    from pathlib import Path

    from ..corpus import dev_set, features, prepare as corpus, recipes

    augment = tuple(a for a in args.augment.split(",") if a)
    if set(augment) - set(features.AUGMENTATIONS):
        raise CommandError(f"--augment {args.augment}: choose from {', '.join(features.AUGMENTATIONS)}")
    try:
        if args.source == "dev":
            tests_data = Path(__file__).resolve().parents[2] / "tests" / "data"
            if not tests_data.is_dir():
                log.warning("no tests/data beside the package (not a source checkout): no LibriVox clips")
            with tempfile.TemporaryDirectory() as unpacked:   # kajongg is unpacked, not installed
                sources = recipes.dev_sources(Path(unpacked), tests_data if tests_data.is_dir() else None)
                print(f"voices: {dev_set.build(sources, Path(args.out))}")
            return
        if args.source == "demo":
            recipes.install_packages(recipes.DEMO_PACKAGES)
            sources = recipes.demo_sources()
        elif args.source == "wide":
            sources = recipes.wide_sources()
        else:
            folder = Path(args.source)
            if not folder.is_dir():
                raise CommandError(f"{folder}: not a folder (give a folder of audio files, or 'demo')")
            sources = corpus.folder_sources(folder)
        manifest = corpus.prepare_corpus(sources, Path(args.out), workers=args.workers,
                                         valid_fraction=args.valid_fraction, dedupe=not args.keep_duplicates)
        shards = features.extract(manifest, drop_silence=not args.keep_silence, workers=args.workers,
                                  augment=augment)
    except corpus.PrepareError as err:
        raise CommandError(str(err)) from None
    print(f"manifest: {manifest}")
    for split, path in shards.items():
        print(f"{split}: {path}")


TRAIN_HELP = """usage: vqcodec train {fit,validate,export,spectrum,postfilter,spectral} ...

Train the codec's models (needs the [train] extra: torch and Lightning).

subcommands:
  fit        train an envelope quantizer from a recipe (LightningCLI; resumable):
               vqcodec train fit --config recipes/avq16.yaml [--ckpt_path .../last.ckpt]
  validate   spectral distortion of a checkpoint on the validation frames (LightningCLI)
  export     write trained quantizers (checkpoints, or run folders: their best checkpoint) into a model file:
               vqcodec train export runs/rvq16 runs/avq16 runs/pvq16 runs/scq16 --out envelopes.npz
  spectrum   fit the spectrum's entropy model on a prepared corpus, completing a codec model file:
               vqcodec train spectrum envelopes.npz --corpus data/demo --out model.npz
  postfilter train the decoder's neural postfilter (fit, validate: LightningCLI), then export it
             into a model file:
               vqcodec train postfilter fit --config recipes/postfilter.yaml
               vqcodec train postfilter export runs/postfilter --model model.npz --out model.npz --force
  spectral   the same for the decoder's spectral postfilter (band gains before synthesis):
               vqcodec train spectral fit --config recipes/spectral.yaml
               vqcodec train spectral export runs/spectral --model model.npz --out model.npz --force

vqcodec train SUBCOMMAND --help lists that subcommand's options (fit and validate: every
LightningCLI option). Recipes: recipes/{rvq16,avq16,pvq16,scq16,debug,postfilter,
postfilter_debug,spectral,spectral_debug}.yaml.
"""
INSTALL_HINT = ("training needs torch and Lightning: from a clone of vqcodec, pip install torch==2.13.0 "
                "(the CPU wheel), then pip install -e '.[train]'")


def _cmd_train(args: argparse.Namespace) -> None:
    if not args.rest or args.rest[0] in ("-h", "--help", "help"):
        print(TRAIN_HELP, end="")
        return
    try:
        from ..train.cli import main as train_main
    except ImportError as err:
        raise CommandError(f"{INSTALL_HINT} ({err})") from None
    try:
        train_main(args.rest)
    except (FileExistsError, FileNotFoundError, ValueError) as err:
        raise CommandError(str(err)) from None


def add_parsers(sub) -> None:
    p = sub.add_parser("complexity", help="weighted operations per encoded vector for each quantizer",
                       description="Count encoder operations per vector with the ITU-T STL 2009 weights "
                                   "(add, multiply, move = 1; branch = 4), every search stage included, "
                                   "and the WMOPS at a given vector rate.")
    p.add_argument("--quantizers", default="rvq,avq,pvq,scq,vq", help="comma-separated methods (default: all)")
    p.add_argument("--dim", type=int, default=16, help="vector dimension (default: 16, the LSF order)")
    p.add_argument("--bits", type=int, default=16, help="bits per vector (default: 16)")
    p.add_argument("--beam", type=int, default=0, help="beam width for rvq/avq (default: their own, 1 and 8)")
    p.add_argument("--rate", type=float, default=50.0, help="vectors per second (default: 50, one per 20 ms)")
    p.set_defaults(func=_cmd_complexity)

    p = sub.add_parser("prepare", help="convert a speech corpus to 16 kHz and extract LSF features",
                       description="Convert every audio file of SOURCE to 16 kHz mono FLAC under OUT/audio, "
                                   "write OUT/manifest.csv (path, duration, speaker, language, split) with a "
                                   "speaker-disjoint train/valid split, and LSF features OUT/features/lsf_*.npy "
                                   "computed with the codec's own analysis. Interrupted runs resume; unreadable "
                                   "files are listed in OUT/skipped.txt. SOURCE 'demo' and 'wide' install (apt-get) "
                                   "and use the Debian corpora of docs/training.md (wide: 'demo' and five more "
                                   "packages, without the development voices); 'dev' writes the development set "
                                   "(8-12 s clips of held-out voices and OUT/voices.csv, no features) for "
                                   "'vqcodec eval OUT'; any other SOURCE is a folder whose first sub-folder level "
                                   "names the speaker (LibriSpeech, VCTK layouts).")
    p.add_argument("source", help="'demo', 'wide', 'dev' or a folder of audio files")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel processes (default: all cores)")
    p.add_argument("--valid-fraction", type=float, default=0.15,
                   help="share of audio held out as whole validation speakers (default: 0.15)")
    p.add_argument("--keep-silence", action="store_true", help="keep silent frames in the features")
    p.add_argument("--augment", default="", metavar="LIST",
                   help="add training features of every training file under these augmentations, comma-separated: "
                        "lp7, lp4 (low-passed at 7 or 4 kHz), noise (white, 40 dB below speech) (default: none)")
    p.add_argument("--keep-duplicates", action="store_true", help="keep byte-identical duplicate files")
    p.set_defaults(func=_cmd_prepare)

    p = sub.add_parser("train", help="train the codec's models: fit, validate, export, spectrum, postfilter, spectral ([train] extra)",
                       add_help=False, description=TRAIN_HELP)
    p.add_argument("rest", nargs=argparse.REMAINDER, help="fit, validate, export, spectrum, postfilter or spectral, and their options")
    p.set_defaults(func=_cmd_train)
