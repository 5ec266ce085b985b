"""The ``vqcodec`` command line (also ``python -m codec``).

Each subcommand is a function ``_cmd_NAME(args)`` registered in ``_build_parser``;
errors users can fix are raised as ``CommandError`` and printed as one line.
"""

from __future__ import annotations

import argparse
import logging
import sys

log = logging.getLogger("vqcodec")


class CommandError(Exception):
    """An error caused by the user's input: printed as one line, exit code 2."""


def _cmd_complexity(args: argparse.Namespace) -> None:
    from .quantizers import METHODS, build

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


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vqcodec",
        description="Wideband speech codec with trained vector-quantized LSF envelopes.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
