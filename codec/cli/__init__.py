"""The ``vqcodec`` command line (also ``python -m codec``).

Each subcommand is a function ``_cmd_NAME(args)`` in the module of its group
(``coding``: encode, decode, info; ``evaluation``: eval, samples,
mushra-report; ``training``: prepare, train, complexity), registered by that
module's ``add_parsers``; errors users can fix are raised as ``CommandError``
and printed as one line with exit code 2.
"""

from __future__ import annotations

import argparse
import logging
import sys

from .. import __version__
# Literals, not imports: importing the bitstream and model modules would load numpy for --help
# (tests/cli/test_cli.py checks them against codec.coding.bitstream.VERSION and codec.model.MODEL_FORMAT).
STREAM_FORMAT, MODEL_FORMAT = 5, 3
from . import coding, evaluation, training
from ..threads import single_threaded_environment
from .common import CommandError, interrupt_on_sigterm

log = logging.getLogger("vqcodec")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vqcodec",
        description="Wideband speech codec with trained vector-quantized LSF envelopes.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--version", action="version",
                        version=f"vqcodec {__version__} (.vqc stream format {STREAM_FORMAT}, model file format {MODEL_FORMAT})")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in (coding, evaluation, training):
        group.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    single_threaded_environment()   # before numpy loads; spawned workers inherit it
    interrupt_on_sigterm()
    try:
        return _main(argv)
    except KeyboardInterrupt:       # an interrupt outside a command (parsing) or inside _main's own handlers
        print("vqcodec: interrupted; no partial output was left", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "train":
        # LightningCLI parses its own options, --help included, and logs through its own handlers.
        args = argparse.Namespace(command="train", rest=argv[1:], verbose=False, func=training._cmd_train)
    else:
        args = parser.parse_args(argv)
        logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                            format="%(levelname)s %(name)s: %(message)s")
    if args.command is None:
        parser.print_help()
        return 2
    try:
        args.func(args)
    except CommandError as err:
        print(f"vqcodec {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"vqcodec {args.command}: interrupted; no partial output was left", file=sys.stderr)
        return 130
    except BrokenPipeError:      # the reader of our standard output went away (| head)
        sys.stderr.close()
        return 141
    return 0


if __name__ == "__main__":
    sys.exit(main())
