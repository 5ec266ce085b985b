"""``vqcodec encode``, ``decode`` and ``info``: files, folders and pipes, with one-line errors.

A folder job checks every output name before any work (two inputs never write
one output), codes files in parallel worker processes (numerics single-threaded
in each: parallelism is across files), reports a bad file in one line and goes
on with the others, and ends with a one-line summary.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Iterator

from .common import CommandError, load_codec, worker_init

log = logging.getLogger("vqcodec")
LONG_FILE_SECONDS = 60.0       # a single input longer than this gets a progress bar
# codec.coding.bitstream.DEFAULT_PACKET_FRAMES, written out so --help imports no numpy
# (tests/cli/test_cli.py checks they agree).
PACKET_FRAMES = 50


def _run_files(args: argparse.Namespace, suffixes: tuple[str, ...], new_suffix: str, job) -> list:
    """Run ``job(codec, src, dst, args, progress)`` over SRC -> DST (files, mirrored folders or ``-``)."""
    from pathlib import Path

    from ..io.files import STDIO, pair_paths

    if not args.src or not args.dst:
        raise CommandError("empty file name (give a file, a folder or - for standard input/output)")
    if STDIO in (args.src, args.dst):
        if args.dst != STDIO and Path(args.dst).is_dir():
            raise CommandError(f"{args.dst} is a folder; name an output file for standard input")
        pairs = [(args.src, args.dst)]
    else:
        try:
            pairs = pair_paths(Path(args.src), Path(args.dst), suffixes, new_suffix)
        except (FileNotFoundError, FileExistsError) as err:
            raise CommandError(str(err)) from None
        if not pairs:
            raise CommandError(f"{args.src}: no input files ({', '.join(suffixes)})")
        existing = [d for _, d in pairs if os.path.lexists(d)]
        if existing and not args.force:
            raise CommandError(f"{existing[0]} exists ({len(existing)} output(s) would be overwritten); pass --force")
        for folder in sorted({d.parent for _, d in pairs}):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise CommandError(f"{folder}: cannot create the output folder ({err.strerror or err})") from None
    load_codec(args.model)   # a bad model is one error, not one per file
    args.single_file = len(pairs) == 1
    start = time.perf_counter()
    results, failures = [], []
    if len(pairs) == 1:   # a single file: no pool and no bar, nor their imports (start-up is a user-visible cost)
        outcomes = [_try(job, *pairs[0], args)]
    else:
        outcomes = _run_many(job, pairs, args)
    for (s, d), (ok, value) in zip(pairs, outcomes):
        (results if ok else failures).append((s, d, value) if not ok else (s, value))
    # A message about the output names the output; any other names the input.
    messages = [m if m.startswith((str(s), str(d))) else f"{s}: {m}" for s, d, m in failures]
    if len(pairs) == 1 and failures:
        raise CommandError(messages[0])
    for message in messages:
        log.error("%s", message)
    if len(pairs) > 1 and not args.quiet:
        seconds = sum(r[1][1] for r in results)
        print(f"vqcodec {args.command}: {len(results)} of {len(pairs)} file(s) done, {seconds:.1f} s of audio, "
              f"{sum(r[1][0] for r in results):,} bytes written in {time.perf_counter() - start:.1f} s"
              + (f"; {len(failures)} failed (listed above)" if failures else ""), file=sys.stderr)
    if failures:
        raise CommandError(f"{len(failures)} of {len(pairs)} file(s) failed (listed above)")
    return results


def _run_many(job, pairs: list, args: argparse.Namespace) -> Iterator[tuple[bool, object]]:
    """``_try`` over several (src, dst) pairs, across ``args.workers`` processes, with a progress bar."""
    import contextlib
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from tqdm import tqdm

    workers = max(1, min(args.workers, len(pairs)))
    # Spawned, not forked (a fork of a process whose BLAS threads run can hang); workers die with the parent.
    pool = (ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=worker_init,
                                initargs=(os.getpid(),))
            if workers > 1 else contextlib.nullcontext())
    with pool, tqdm(total=len(pairs), unit="file", disable=args.quiet, leave=False) as bar:
        if workers == 1:
            outcomes = (_try(job, s, d, args) for s, d in pairs)
        else:
            outcomes = pool.map(_try_in_worker, [job] * len(pairs), *zip(*pairs), [args] * len(pairs), chunksize=4)
        for outcome in outcomes:
            yield outcome
            bar.update()


def _try(job, src, dst, args):
    """(True, (bytes written, seconds of audio)) or (False, one-line reason): never a traceback."""
    from ..coding.bitstream import BitstreamError
    from ..io.audio import AudioError

    try:
        return True, job(load_codec(args.model), src, dst, args)
    except (AudioError, BitstreamError, OSError, ValueError) as err:
        return False, str(err)


def _try_in_worker(job, src, dst, args):
    """``_try`` in a pool worker. An interruption (SIGTERM when the parent dies, or Ctrl-C) ends the
    worker once the job has cleaned up: handed back to the pool like any exception, it would leave the
    worker waiting for the next job of a parent that is gone."""
    try:
        return _try(job, src, dst, args)
    except KeyboardInterrupt:
        os._exit(130)


def _progress(src, args, seconds: float | None, rate: int):
    """A progress callback (samples done at ``rate``) for a single long file, or None."""
    if args.quiet or not args.single_file or seconds is None or seconds < LONG_FILE_SECONDS:
        return None
    from tqdm import tqdm

    bar = tqdm(total=round(seconds, 1), unit="s", desc=str(src), leave=False, disable=None)   # None: TTY only
    return lambda samples: bar.update(round(samples / rate, 1) - bar.n)


def _encode_job(codec, src, dst, args):
    import soundfile as sf

    from ..io.files import STDIO, encode_file

    seconds, rate = None, 16000
    if src != STDIO:
        try:
            info = sf.info(str(src))
            seconds, rate = info.duration, info.samplerate
        except (sf.LibsndfileError, RuntimeError):
            pass   # encode_file gives the one-line error
    size = encode_file(src, dst, bitrate=args.bitrate, quantizer=args.quantizer, packet_frames=args.packet_frames,
                       codec=codec, force=args.force, progress=_progress(src, args, seconds, rate))
    return size, seconds or 0.0


def _decode_job(codec, src, dst, args):
    from pathlib import Path

    from ..coding import bitstream
    from ..io.files import STDIO, decode_file

    loss = {"rate": args.loss, "burst": args.burst, "seed": args.seed} if args.loss else None
    seconds, rate = None, 16000
    if src != STDIO:
        try:
            with open(src, "rb") as handle:
                header = bitstream.Header.unpack(handle.read(bitstream.HEADER_BYTES))
            seconds = header.length / header.sample_rate
            rate = header.sample_rate if args.original_rate else rate
        except (OSError, bitstream.BitstreamError):
            pass   # decode_file gives the one-line error
    duration = decode_file(src, dst, original_rate=args.original_rate, subtype=args.subtype, codec=codec,
                           force=args.force, loss=loss,
                           postfilter=False if args.no_postfilter else "trained" if args.trained_postfilter else True,
                           progress=_progress(src, args, seconds, rate))
    size = Path(dst).stat().st_size if dst != STDIO else 0
    return size, duration


def _cmd_encode(args: argparse.Namespace) -> None:
    from ..coding.bitstream import MAX_PACKET_FRAMES
    from ..io.audio import AUDIO_SUFFIXES
    from ..io.files import STDIO, STREAM_SUFFIX
    from ..modes import BITRATES

    if args.bitrate not in BITRATES:
        raise CommandError(f"bitrate {args.bitrate:g} not supported; choose from "
                           f"{', '.join(f'{b:g}' for b in BITRATES)}")
    if not 1 <= args.packet_frames <= MAX_PACKET_FRAMES:
        raise CommandError(f"--packet-frames must be 1 to {MAX_PACKET_FRAMES}, got {args.packet_frames}")
    results = _run_files(args, AUDIO_SUFFIXES, STREAM_SUFFIX, _encode_job)
    if len(results) == 1 and not args.quiet and args.dst != STDIO:
        print(f"{args.dst}: {results[0][1][0]:,} bytes", file=sys.stderr)


def _cmd_decode(args: argparse.Namespace) -> None:
    import math

    from ..channel import loss_pattern
    from ..io.files import STDIO, STREAM_SUFFIX, output_format
    from ..io.audio import AudioError

    if not (math.isfinite(args.loss) and math.isfinite(args.burst)):
        raise CommandError("--loss and --burst must be finite numbers")
    if args.seed < 0:
        raise CommandError(f"--seed must be 0 or more, got {args.seed}")
    try:
        loss_pattern(0, args.loss, burst=args.burst)
        if args.dst != STDIO and not os.path.isdir(args.src) and not os.path.isdir(args.dst):
            output_format(args.dst, args.subtype)      # a bad output name or subtype is one line, up front
        elif args.subtype is not None:
            output_format("out.wav", args.subtype)
    except (ValueError, AudioError) as err:
        raise CommandError(str(err)) from None
    if args.trained_postfilter and load_codec(args.model).postfilter is None:
        raise CommandError(f"--trained-postfilter: the model {args.model or '(shipped)'} has no trained postfilter")
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
              f"({h.packet_frames} frames each), {info.corrupt_packets} failing their checksum")
    if failed:
        raise CommandError(f"{failed} of {len(args.files)} file(s) are not readable vqcodec streams")


def _add_file_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="model file (default: the shipped model in codec/pretrained/)")
    p.add_argument("--force", action="store_true", help="replace existing outputs (regular files only)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="parallel processes for folders, one file each (default: all cores)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars or summary")


def add_parsers(sub) -> None:
    p = sub.add_parser("encode", help="encode audio to .vqc streams (files, folders, or - for a pipe)",
                       description="Encode SRC (an audio file, a folder searched recursively, or - for standard "
                                   "input) to DST (a .vqc file, a folder mirroring SRC, or - for standard output). "
                                   "Any rate and channel count soundfile reads is accepted; audio is downmixed and "
                                   "resampled to 16 kHz, and the original rate and length are kept in the header. "
                                   "Outputs appear only when complete.",
                       epilog="examples: vqcodec encode talk.flac talk.vqc --bitrate 9.6;  "
                              "sox in.wav -t wav - | vqcodec encode - - | vqcodec decode - out.wav")
    p.add_argument("src", help="input audio file, folder, or - (standard input)")
    p.add_argument("dst", help="output .vqc file, folder, or - (standard output)")
    p.add_argument("--bitrate", type=float, default=13.2,
                   help="kbit/s: 8, 9.6, 13.2, 16.4, 24.4 or 32 (default: 13.2)")
    p.add_argument("--quantizer", default="avq", choices=("rvq", "avq", "pvq", "scq"),
                   help="envelope quantizer (default: avq, the best measured)")
    p.add_argument("--packet-frames", type=int, default=PACKET_FRAMES, metavar="N",
                   help=f"20 ms frames per packet, 1-255 (default: {PACKET_FRAMES}, one second). Within a packet bits go where "
                        "they are needed; a lost or corrupt packet costs that much audio, and a packet is sent "
                        "only when complete: 4 (80 ms) suits live or lossy links, at some quality")
    _add_file_options(p)
    p.set_defaults(func=_cmd_encode)

    p = sub.add_parser("decode", help="decode .vqc streams to audio (files, folders, or - for a pipe)",
                       description="Decode SRC (a .vqc file, a folder searched recursively, or - for standard "
                                   "input) to DST (an audio file whose suffix picks the format: .wav, .flac, "
                                   ".ogg, .aiff, ...; a folder of .wav files; or - for a WAV on standard output). "
                                   "Corrupt packets are concealed with a warning; a stream of another model is "
                                   "an error. A WAV too large for 4 GiB is written as RF64.")
    p.add_argument("src", help="input .vqc file, folder, or - (standard input)")
    p.add_argument("dst", help="output audio file, folder, or - (standard output, WAV)")
    p.add_argument("--original-rate", action="store_true",
                   help="resample to the input's original sample rate (default: 16 kHz)")
    p.add_argument("--subtype", type=str.upper,
                   help="sample format, as soundfile names it: PCM_16 (default where the format has it), "
                        "PCM_24, PCM_32, FLOAT, DOUBLE; FLAC: PCM_16, PCM_24; OGG: VORBIS")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--no-postfilter", action="store_true",
                       help="skip the decoder's postfilters: the spectral one (codec/spectral_postfilter.py), "
                            "which sets the noise filling's level band by band, and the pitch postfilter "
                            "(codec/postfilter.py), which lowers the noise between the harmonics of voiced "
                            "speech at 8-16.4 kbit/s")
    which.add_argument("--trained-postfilter", action="store_true",
                       help="use the model's trained time-domain postfilter (codec/neural_postfilter.py) "
                            "instead of the pitch postfilter: higher PESQ-WB, lower ViSQOL and pSNR on the "
                            "development set, so not the default (docs/evaluation.md)")
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
    p.add_argument("files", nargs="+", help=".vqc files (- for standard input)")
    p.set_defaults(func=_cmd_info)
