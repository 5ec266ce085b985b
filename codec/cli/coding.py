"""``vqcodec encode``, ``decode`` and ``info``: files and folders, in parallel, with one-line errors."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from .common import CommandError, load_codec

log = logging.getLogger("vqcodec")


def _run_files(args: argparse.Namespace, suffixes: tuple[str, ...], new_suffix: str, job) -> list:
    """Run ``job(codec, src, dst, args)`` over SRC -> DST (files or mirrored folders), in parallel, with a bar."""
    import contextlib
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from pathlib import Path

    from tqdm import tqdm

    from ..io.files import pair_paths

    src, dst = Path(args.src), Path(args.dst)
    try:
        pairs = pair_paths(src, dst, suffixes, new_suffix)
    except FileNotFoundError as err:
        raise CommandError(str(err)) from None
    if not pairs:
        raise CommandError(f"{src}: no input files ({', '.join(suffixes)})")
    existing = [d for _, d in pairs if d.exists()]
    if existing and not args.force:
        raise CommandError(f"{existing[0]} exists ({len(existing)} output(s) would be overwritten); pass --force")
    for _, d in pairs:
        d.parent.mkdir(parents=True, exist_ok=True)
    load_codec(args.model)   # a bad model is one error, not one per file
    results, failures = [], []
    workers = max(1, min(args.workers, len(pairs)))
    # Spawned, not forked: a fork of a process that has started torch's threads can hang.
    pool = (ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) if workers > 1
            else contextlib.nullcontext())
    with pool, tqdm(total=len(pairs), unit="file", disable=len(pairs) == 1 or args.quiet) as bar:
        if workers == 1:
            outcomes = (_try(job, s, d, args) for s, d in pairs)
        else:
            outcomes = pool.map(_try, [job] * len(pairs), *zip(*pairs), [args] * len(pairs), chunksize=4)
        for (s, _), (ok, value) in zip(pairs, outcomes):
            (results if ok else failures).append((s, value))
            bar.update()
    messages = [m if m.startswith(str(s)) else f"{s}: {m}" for s, m in failures]
    if len(pairs) == 1 and failures:
        raise CommandError(messages[0])
    for message in messages:
        log.error("%s", message)
    if failures:
        raise CommandError(f"{len(failures)} of {len(pairs)} file(s) failed (listed above)")
    return results


def _try(job, src, dst, args):
    from ..io.audio import AudioError
    from ..coding.bitstream import BitstreamError

    try:
        return True, job(load_codec(args.model), src, dst, args)
    except (AudioError, BitstreamError, FileExistsError, OSError, ValueError) as err:
        return False, str(err)


def _encode_job(codec, src, dst, args):
    from ..io.files import encode_file

    return encode_file(src, dst, bitrate=args.bitrate, quantizer=args.quantizer, codec=codec, force=args.force)


def _decode_job(codec, src, dst, args):
    from ..io.files import decode_file

    loss = {"rate": args.loss, "burst": args.burst, "seed": args.seed} if args.loss else None
    return decode_file(src, dst, original_rate=args.original_rate, subtype=args.subtype, codec=codec,
                       force=args.force, loss=loss)


def _cmd_encode(args: argparse.Namespace) -> None:
    from ..io.audio import AUDIO_SUFFIXES
    from ..coding.bitstream import BITRATES
    from ..io.files import STREAM_SUFFIX

    if args.bitrate not in BITRATES:
        raise CommandError(f"bitrate {args.bitrate:g} not supported; choose from "
                           f"{', '.join(f'{b:g}' for b in BITRATES)}")
    results = _run_files(args, AUDIO_SUFFIXES, STREAM_SUFFIX, _encode_job)
    if len(results) == 1 and not args.quiet:
        print(f"{args.dst}: {results[0][1]} bytes")


def _cmd_decode(args: argparse.Namespace) -> None:
    from ..io.files import STREAM_SUFFIX
    from ..channel import loss_pattern

    try:
        loss_pattern(0, args.loss, burst=args.burst)
    except ValueError as err:
        raise CommandError(str(err)) from None
    _run_files(args, (STREAM_SUFFIX,), ".wav", _decode_job)


def _cmd_info(args: argparse.Namespace) -> None:
    from ..coding.bitstream import BitstreamError
    from ..io.files import stream_info

    failed = 0
    for path in args.files:
        try:
            info = stream_info(path)
        except (OSError, BitstreamError) as err:
            print(f"{path}: error: {err}", file=sys.stderr)
            failed += 1
            continue
        h = info.header
        print(f"{path}: vqcodec stream, {h.quantizer} envelope, {h.bitrate:g} kbit/s nominal, "
              f"{info.kbps:.2f} kbit/s measured, {info.seconds:.2f} s, {h.sample_rate} Hz original, "
              f"model {h.model_id}, {info.packets}/{info.packets_expected} packets "
              f"({h.packet_frames} frames each), {info.corrupt_packets} corrupt")
    if failed:
        raise CommandError(f"{failed} of {len(args.files)} file(s) are not readable vqcodec streams")


def _add_file_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="model file (default: the shipped model in codec/pretrained/)")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="parallel processes for folders (default: all cores)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")


def add_parsers(sub) -> None:
    p = sub.add_parser("encode", help="encode audio files to .vqc streams",
                       description="Encode SRC (an audio file, or a folder searched recursively) to DST (a .vqc "
                                   "file, or a folder mirroring SRC). Any rate and channel count is accepted; "
                                   "audio is downmixed and resampled to 16 kHz, and the original rate and length "
                                   "are kept in the header. Outputs appear only when complete.")
    p.add_argument("src", help="input audio file or folder")
    p.add_argument("dst", help="output .vqc file or folder")
    p.add_argument("--bitrate", type=float, default=13.2,
                   help="kbit/s: 8, 9.6, 13.2, 16.4, 24.4 or 32 (default: 13.2)")
    p.add_argument("--quantizer", default="avq", choices=("rvq", "avq", "pvq", "scq"),
                   help="envelope quantizer (default: avq, the best measured)")
    _add_file_options(p)
    p.set_defaults(func=_cmd_encode)

    p = sub.add_parser("decode", help="decode .vqc streams to audio",
                       description="Decode SRC (a .vqc file, or a folder searched recursively) to DST (an audio "
                                   "file whose suffix picks the format, or a folder of .wav files). Corrupt "
                                   "packets are concealed with a warning; a stream of another model is an error.")
    p.add_argument("src", help="input .vqc file or folder")
    p.add_argument("dst", help="output audio file or folder")
    p.add_argument("--original-rate", action="store_true",
                   help="resample to the input's original sample rate (default: 16 kHz)")
    p.add_argument("--subtype", default="PCM_16", help="soundfile sample format (default: PCM_16; FLOAT, PCM_24)")
    p.add_argument("--loss", type=float, default=0.0,
                   help="simulate a lossy channel: drop this fraction of packets before decoding (e.g. 0.05)")
    p.add_argument("--burst", type=float, default=1.0,
                   help="mean length of loss bursts in packets (default: 1, isolated losses)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the simulated losses (default: 0)")
    _add_file_options(p)
    p.set_defaults(func=_cmd_decode)

    p = sub.add_parser("info", help="describe .vqc streams (header, measured bitrate, packet checksums)",
                       description="Print each stream's header fields, measured bitrate and how many packets "
                                   "fail their checksum. Needs no model.")
    p.add_argument("files", nargs="+", help=".vqc files")
    p.set_defaults(func=_cmd_info)
