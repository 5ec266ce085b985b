"""The ``vqcodec`` command line (also ``python -m codec``).

Each subcommand is a function ``_cmd_NAME(args)`` registered in ``_build_parser``;
errors users can fix are raised as ``CommandError`` and printed as one line.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
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


def _cmd_prepare(args: argparse.Namespace) -> None:
    from pathlib import Path

    from . import corpus, features

    try:
        if args.source == "demo":
            corpus.install_demo_packages()
            sources = corpus.demo_sources()
        else:
            folder = Path(args.source)
            if not folder.is_dir():
                raise CommandError(f"{folder}: not a folder (give a folder of audio files, or 'demo')")
            sources = corpus.folder_sources(folder)
        manifest = corpus.prepare_corpus(sources, Path(args.out), workers=args.workers,
                                         valid_fraction=args.valid_fraction, dedupe=not args.keep_duplicates)
        shards = features.extract(manifest, drop_silence=not args.keep_silence, workers=args.workers)
    except corpus.PrepareError as err:
        raise CommandError(str(err)) from None
    print(f"manifest: {manifest}")
    for split, path in shards.items():
        print(f"{split}: {path}")


def _cmd_train(args: argparse.Namespace) -> None:
    try:
        from .train.cli import main as train_main
    except ImportError as err:
        raise CommandError(f"training needs the [train] extra: pip install 'vqcodec[train]' ({err})") from None
    try:
        train_main(args.rest)
    except (FileExistsError, FileNotFoundError, ValueError) as err:
        raise CommandError(str(err)) from None


@functools.lru_cache(maxsize=4)
def _load_codec(model: str | None):
    """One codec per model file and process (worker processes load their own)."""
    from .model import ModelError
    from .speech_codec import SpeechCodec

    try:
        return SpeechCodec.load(model)
    except ModelError as err:
        raise CommandError(str(err)) from None


def _run_files(args: argparse.Namespace, suffixes: tuple[str, ...], new_suffix: str, job) -> list:
    """Run ``job(codec, src, dst, args)`` over SRC -> DST (files or mirrored folders), in parallel, with a bar."""
    import contextlib
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from pathlib import Path

    from tqdm import tqdm

    from .files import pair_paths

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
    _load_codec(args.model)   # a bad model is one error, not one per file
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
    from .audio import AudioError
    from .bitstream import BitstreamError

    try:
        return True, job(_load_codec(args.model), src, dst, args)
    except (AudioError, BitstreamError, FileExistsError, OSError, ValueError) as err:
        return False, str(err)


def _encode_job(codec, src, dst, args):
    from .files import encode_file

    return encode_file(src, dst, bitrate=args.bitrate, quantizer=args.quantizer, codec=codec, force=args.force)


def _decode_job(codec, src, dst, args):
    from .files import decode_file

    loss = {"rate": args.loss, "burst": args.burst, "seed": args.seed} if args.loss else None
    return decode_file(src, dst, original_rate=args.original_rate, subtype=args.subtype, codec=codec,
                       force=args.force, loss=loss)


def _cmd_encode(args: argparse.Namespace) -> None:
    from .audio import AUDIO_SUFFIXES
    from .bitstream import BITRATES
    from .files import STREAM_SUFFIX

    if args.bitrate not in BITRATES:
        raise CommandError(f"bitrate {args.bitrate:g} not supported; choose from "
                           f"{', '.join(f'{b:g}' for b in BITRATES)}")
    results = _run_files(args, AUDIO_SUFFIXES, STREAM_SUFFIX, _encode_job)
    if len(results) == 1 and not args.quiet:
        print(f"{args.dst}: {results[0][1]} bytes")


def _cmd_decode(args: argparse.Namespace) -> None:
    from .files import STREAM_SUFFIX
    from .loss import loss_pattern

    try:
        loss_pattern(0, args.loss, burst=args.burst)
    except ValueError as err:
        raise CommandError(str(err)) from None
    _run_files(args, (STREAM_SUFFIX,), ".wav", _decode_job)


def _cmd_info(args: argparse.Namespace) -> None:
    from .bitstream import BitstreamError
    from .files import stream_info

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


def _cmd_eval(args: argparse.Namespace) -> None:
    import json
    from pathlib import Path

    from . import evaluation, plots
    from .fileio import atomic_write

    todo, skipped = _conditions(args)
    try:
        clips = evaluation.find_clips(args.source, split=args.split, limit=args.clips)
    except (ValueError, FileNotFoundError) as err:
        raise CommandError(str(err)) from None
    codec = _load_codec(args.model)
    out = Path(args.out)
    run_file, results = out / "run.json", out / "clips.csv"
    settings = {"model_id": codec.model_id, "source": str(Path(args.source).resolve())}
    if results.exists() and args.force:
        results.unlink()
    elif run_file.exists() and json.loads(run_file.read_text()) != settings:
        raise CommandError(f"{out} holds results of another model or source ({run_file}); "
                           "pass --force to start over, or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    run_file.write_text(json.dumps(settings, indent=2) + "\n")
    for line in skipped:
        log.warning("%s", line)
    rows = evaluation.run(clips, todo, results, model=args.model, workers=args.workers, progress=not args.quiet)
    summary = evaluation.summarize(rows)
    with atomic_write(out / "summary.json") as partial:
        partial.write_text(json.dumps({**settings, "clips": len(clips), "skipped": skipped, "conditions": summary},
                                      indent=2, default=float) + "\n")
    figures = plots.all_figures(summary, out)
    if not args.quiet:
        print(f"{len(clips)} clips; mean ± 95 % interval\n\nPESQ-WB\n{evaluation.table(summary, 'pesq')}\n\n"
              f"pSNR (dB)\n{evaluation.table(summary, 'psnr')}\n\n"
              f"measured kbit/s\n{evaluation.table(summary, 'measured_kbps')}\n")
        notes = sum(sum(e["notes"].values()) for e in summary)
        if notes:
            print(f"{notes} score(s) could not be computed; reasons in {results} (column note)")
        print(f"wrote {results}, {out / 'summary.json'}, {', '.join(p.name for p in figures)}")


def _cmd_samples(args: argparse.Namespace) -> None:
    from pathlib import Path

    from . import samples

    todo, skipped = _conditions(args)
    clips = []
    for clip in args.clips:
        path = Path(clip)
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        clips.append((path.stem, path))
    names = [name for name, _ in clips]
    if len(set(names)) != len(names):
        raise CommandError("two clips have the same file name; rename one")
    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.force:
        raise CommandError(f"{out} is not empty; pass --force to write into it (files of the same name are replaced)")
    for line in skipped:
        log.warning("%s", line)
    try:
        pages = samples.make_samples(clips, out, todo, codec=_load_codec(args.model), mushra=args.mushra,
                                     audio_format=args.format, progress=not args.quiet)
    except (OSError, ValueError) as err:
        raise CommandError(str(err)) from None
    if not args.quiet:
        print(f"wrote {', '.join(str(p) for p in pages)}; view with: python -m http.server -d {out}  "
              f"(then open http://localhost:8000/{pages[-1].name})")


def _cmd_mushra_report(args: argparse.Namespace) -> None:
    import json
    from pathlib import Path

    from . import mushra
    from .fileio import atomic_write

    try:
        results = mushra.read_results(args.results)
    except mushra.ResultsError as err:
        raise CommandError(str(err)) from None
    summary = mushra.summarize(results)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / "mushra_report.json") as partial:
        partial.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{len(summary['listeners'])} listener(s) kept"
          + (f"; excluded by post-screening: {', '.join(summary['excluded'])}" if summary["excluded"] else ""))
    if not summary["scores"]:
        raise CommandError("no listener passed the post-screening; nothing to report")
    figure = mushra.plot(summary, out / "mushra_scores.png")
    print(mushra.table(summary))
    print(f"wrote {out / 'mushra_report.json'}, {figure}")


def _conditions(args: argparse.Namespace) -> tuple[list, list[str]]:
    """``--bitrates``, ``--quantizers`` and ``--references`` of eval and samples as evaluation conditions,
    checked against the model, and a line per reference codec or rate that is skipped."""
    from . import evaluation
    from .bitstream import BITRATES

    bitrates = _number_list(args.bitrates, "--bitrates")
    unknown = sorted(set(bitrates) - set(BITRATES))
    if unknown:
        raise CommandError(f"--bitrates: {', '.join(f'{k:g}' for k in unknown)} not among "
                           f"{', '.join(f'{k:g}' for k in BITRATES)}")
    quantizers = [q for q in args.quantizers.split(",") if q]
    references = [r for r in args.references.split(",") if r and r != "none"]
    try:
        conditions = evaluation.conditions(bitrates, quantizers, references)
        codec = _load_codec(args.model)
        for q in quantizers:
            codec.quantizer(q)
    except ValueError as err:
        raise CommandError(str(err)) from None
    return conditions


def _number_list(text: str, option: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x]
    except ValueError:
        raise CommandError(f"{option}: expected comma-separated numbers, got {text!r}") from None


def _add_file_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="model file (default: the shipped model in codec/pretrained/)")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="parallel processes for folders (default: all cores)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vqcodec",
        description="Wideband speech codec with trained vector-quantized LSF envelopes.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

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

    p = sub.add_parser("eval", help="score vqcodec and reference codecs on clips: PESQ-WB, pSNR, SD, bitrate, speed",
                       description="Code every clip of SOURCE (a folder searched recursively, or a manifest.csv "
                                   "from vqcodec prepare) with each quantizer at each bitrate, and with the "
                                   "reference codecs whose tools are installed (others are reported and skipped). "
                                   "Each clip is normalized to -26 dBov and padded with 0.5 s of silence; outputs "
                                   "are delay-aligned by cross-correlation and scored on the common length. "
                                   "Writes OUT/clips.csv (one row per clip and condition, appended as clips "
                                   "finish: an interrupted run resumes), OUT/summary.json (mean, 95 % interval, "
                                   "quartiles per condition) and PNG plots, and prints the tables.")
    p.add_argument("source", help="folder of audio files, or a manifest.csv")
    p.add_argument("--out", default="eval", help="output folder (default: eval)")
    p.add_argument("--bitrates", default="8,9.6,13.2,16.4,24.4,32", help="kbit/s, comma-separated (default: all six)")
    p.add_argument("--quantizers", default="rvq,avq,pvq,scq", help="comma-separated (default: rvq,avq,pvq,scq)")
    p.add_argument("--references", default="opus,speex,amrwb,lc3,g722",
                   help="reference codecs, comma-separated, or 'none' (default: opus,speex,amrwb,lc3,g722; "
                        "G.722 always runs at its 64 kbit/s)")
    p.add_argument("--split", default="valid", help="manifest split to use (default: valid)")
    p.add_argument("--clips", type=int, help="at most this many clips (manifest: the longest)")
    p.add_argument("--model", help="model file (default: the shipped model in codec/pretrained/)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel processes (default: all cores)")
    p.add_argument("--force", action="store_true", help="discard OUT's earlier results instead of resuming")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or tables")
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("samples", help="decoded examples and a listening page (and a MUSHRA test with --mushra)",
                       description="Code each CLIP at every bitrate with every quantizer and with the reference "
                                   "codecs installed; write level-matched 16-bit WAVs under OUT/audio/, "
                                   "OUT/samples.json with PESQ-WB and pSNR of each, and OUT/index.html with a "
                                   "player per clip and condition. --mushra adds OUT/mushra.html, a "
                                   "self-contained MUSHRA test (ITU-R BS.1534 style: hidden reference, 3.5 kHz "
                                   "anchor, randomized order, looping, instant switching, post-screening) whose "
                                   "result files vqcodec mushra-report summarizes. Serve OUT with "
                                   "python -m http.server -d OUT.")
    p.add_argument("clips", nargs="+", help="audio files")
    p.add_argument("--out", default="samples", help="output folder (default: samples)")
    p.add_argument("--bitrates", default="8,9.6,13.2,16.4,24.4,32", help="kbit/s, comma-separated (default: all six)")
    p.add_argument("--quantizers", default="rvq,avq,pvq,scq", help="comma-separated (default: all four)")
    p.add_argument("--references", default="opus,speex,amrwb,lc3",
                   help="reference codecs, comma-separated, or 'none' (default: opus,speex,amrwb,lc3)")
    p.add_argument("--mushra", action="store_true", help="also write the MUSHRA test page")
    p.add_argument("--format", default="wav", choices=("wav", "flac"),
                   help="audio files: 16-bit WAV (default) or FLAC (about half the size; browsers play both)")
    p.add_argument("--model", help="model file (default: the shipped model in codec/pretrained/)")
    p.add_argument("--force", action="store_true", help="write into a non-empty OUT")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=_cmd_samples)

    p = sub.add_parser("mushra-report", help="mean MUSHRA scores with 95 %% intervals from result files",
                       description="Read the JSON files that mushra.html exports, drop listeners who rated the "
                                   "hidden reference below 90 in more than 15 % of their trials (ITU-R BS.1534-3 "
                                   "post-screening), and print mean score ± 95 % interval per condition and "
                                   "bitrate; writes OUT/mushra_report.json and OUT/mushra_scores.png.")
    p.add_argument("results", nargs="+", help="result files (mushra_*.json)")
    p.add_argument("--out", default=".", help="folder for the report and plot (default: current folder)")
    p.set_defaults(func=_cmd_mushra_report)

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
                                   "files are listed in OUT/skipped.txt. SOURCE 'demo' installs (apt-get) and "
                                   "uses the demo corpus of DESIGN.md; any other SOURCE is a folder whose first "
                                   "sub-folder level names the speaker (LibriSpeech, VCTK layouts).")
    p.add_argument("source", help="'demo' or a folder of audio files")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel processes (default: all cores)")
    p.add_argument("--valid-fraction", type=float, default=0.15,
                   help="share of audio held out as whole validation speakers (default: 0.15)")
    p.add_argument("--keep-silence", action="store_true", help="keep silent frames in the features")
    p.add_argument("--keep-duplicates", action="store_true", help="keep byte-identical duplicate files")
    p.set_defaults(func=_cmd_prepare)

    p = sub.add_parser("train", help="train envelope quantizers (LightningCLI) or export them to a model file",
                       add_help=False,
                       description="vqcodec train fit --config recipes/avq16.yaml  (LightningCLI: fit, validate; "
                                   "--help lists every option)\n"
                                   "vqcodec train export CKPT [CKPT ...] --out model.pt\n"
                                   "vqcodec train spectrum MODEL --corpus DIR --out model.pt  (entropy model)")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="LightningCLI arguments (fit --help), or export ...")
    p.set_defaults(func=_cmd_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "train":
        # LightningCLI parses its own options, --help included, and logs through its own handlers.
        args = argparse.Namespace(command="train", rest=argv[1:], verbose=False, func=_cmd_train)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
