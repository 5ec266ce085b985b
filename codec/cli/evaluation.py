"""``vqcodec eval``, ``samples`` and ``mushra-report``: scoring, listening pages, listening-test results."""

from __future__ import annotations

import argparse
import logging
import os

from .common import CommandError, load_codec

log = logging.getLogger("vqcodec")


def _cmd_eval(args: argparse.Namespace) -> None:
    import json
    from pathlib import Path

    from .. import __version__
    from ..evaluation import plots, run as evaluation
    from ..io.atomic import atomic_write

    todo, skipped = _conditions(args)
    extra = _extra_metrics(args.metrics)
    try:
        clips = evaluation.find_clips(args.source, split=args.split, limit=args.clips)
    except (ValueError, FileNotFoundError) as err:
        raise CommandError(str(err)) from None
    codec = load_codec(args.model)
    out = Path(args.out)
    run_file, results = out / "run.json", out / "clips.csv"
    # The version too: a new decoder (a postfilter, say) changes vqcodec's rows under the same model.
    settings = {"model_id": codec.model_id, "postfilter_id": codec.postfilter_id, "version": __version__,
                "source": str(Path(args.source).resolve())}
    previous = json.loads(run_file.read_text()) if run_file.exists() else settings
    if results.exists() and args.force:
        results.unlink()
    elif previous != settings and args.keep_references and previous.get("source") == settings["source"]:
        # Reference codecs' rows do not depend on vqcodec's model: keep them, code vqcodec anew.
        dropped = evaluation.drop_rows(results, "vqcodec")
        log.info("%s: kept the reference codecs' rows, dropped %d rows of model %s", results, dropped,
                 previous.get("model_id"))
    elif previous != settings:
        hint = " (--keep-references keeps the reference codecs' rows)" if previous.get("source") == settings["source"] else ""
        raise CommandError(f"{out} holds results of another model, vqcodec version or source ({run_file}); "
                           f"pass --force to start over{hint}, or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    run_file.write_text(json.dumps(settings, indent=2) + "\n")
    for line in skipped:
        log.warning("%s", line)
    rows = evaluation.run(clips, todo, results, model=args.model, workers=args.workers, progress=not args.quiet,
                          extra=extra)
    summary = evaluation.summarize(rows)
    with atomic_write(out / "summary.json") as partial:
        partial.write_text(json.dumps({**settings, "clips": len(clips), "skipped": skipped, "conditions": summary},
                                      indent=2, default=float) + "\n")
    figures = plots.all_figures(summary, out)
    if not args.quiet:
        print(f"{len(clips)} clips; mean ± 95 % interval\n\nPESQ-WB\n{evaluation.table(summary, 'pesq')}\n\n"
              f"pSNR (dB)\n{evaluation.table(summary, 'psnr')}\n\n"
              f"measured kbit/s\n{evaluation.table(summary, 'measured_kbps')}\n")
        for name in extra:
            print(f"{EXTRA_TITLES[name]}\n{evaluation.table(summary, name)}\n")
        notes = sum(sum(e["notes"].values()) for e in summary)
        if notes:
            print(f"{notes} score(s) could not be computed; reasons in {results} (column note)")
        print(f"wrote {results}, {out / 'summary.json'}, {', '.join(p.name for p in figures)}")


def _cmd_samples(args: argparse.Namespace) -> None:
    from pathlib import Path

    from ..listening import samples

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
        pages = samples.make_samples(clips, out, todo, codec=load_codec(args.model), mushra=args.mushra,
                                     audio_format=args.format, progress=not args.quiet)
    except (OSError, ValueError) as err:
        raise CommandError(str(err)) from None
    if not args.quiet:
        print(f"wrote {', '.join(str(p) for p in pages)}; view with: python -m http.server -d {out}  "
              f"(then open http://localhost:8000/{pages[-1].name})")


def _cmd_mushra_report(args: argparse.Namespace) -> None:
    import json
    from pathlib import Path

    from ..io.atomic import atomic_write
    from ..listening import mushra

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
    from ..evaluation import run as evaluation
    from ..modes import BITRATES

    bitrates = _number_list(args.bitrates, "--bitrates")
    unknown = sorted(set(bitrates) - set(BITRATES))
    if unknown:
        raise CommandError(f"--bitrates: {', '.join(f'{k:g}' for k in unknown)} not among "
                           f"{', '.join(f'{k:g}' for k in BITRATES)}")
    quantizers = [q for q in args.quantizers.split(",") if q]
    references = [r for r in args.references.split(",") if r and r != "none"]
    try:
        conditions = evaluation.conditions(bitrates, quantizers, references)
        codec = load_codec(args.model)
        for q in quantizers:
            codec.quantizer(q)
    except ValueError as err:
        raise CommandError(str(err)) from None
    return conditions


EXTRA_TITLES = {"visqol": "ViSQOL MOS-LQO (speech mode)", "dnsmos": "DNSMOS OVRL (P.835, non-intrusive)",
                "plcmos": "PLCMOS (concealment, non-intrusive)"}


def _extra_metrics(text: str) -> tuple[str, ...]:
    """The ``--metrics`` names, checked: unknown or not installed is a one-line error before any work."""
    from ..evaluation import metrics

    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip() and n.strip() != "none"))
    for name in names:
        if name not in metrics.EXTRA_METRICS:
            raise CommandError(f"--metrics: unknown score {name!r}; choose from {', '.join(metrics.EXTRA_METRICS)}")
        if (why := metrics.missing_metric(name)) is not None:
            raise CommandError(f"--metrics: {why}")
    return names


def _number_list(text: str, option: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x]
    except ValueError:
        raise CommandError(f"{option}: expected comma-separated numbers, got {text!r}") from None


def _add_condition_options(p: argparse.ArgumentParser, references: str, note: str = "") -> None:
    """The options ``_conditions`` reads (eval and samples): bitrates, quantizers, reference codecs, model."""
    p.add_argument("--bitrates", default="8,9.6,13.2,16.4,24.4,32", help="kbit/s, comma-separated (default: all six)")
    p.add_argument("--quantizers", default="rvq,avq,pvq,scq", help="comma-separated (default: rvq,avq,pvq,scq)")
    p.add_argument("--references", default=references,
                   help=f"reference codecs, comma-separated, or 'none' (default: {references}{note})")
    p.add_argument("--model", help="model file (default: the shipped model in codec/pretrained/)")


def add_parsers(sub) -> None:
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
    _add_condition_options(p, "opus,speex,amrwb,lc3,g722",
                           "; G.722 always runs at its 64 kbit/s; also opus-1.6, lace and nolace: libopus "
                           "1.6.1 decoded by Opus 1.5 without and with its neural enhancements")
    p.add_argument("--metrics", default="none",
                   help="extra scores, comma-separated: visqol (ViSQOL v3, speech mode), dnsmos (DNSMOS P.835 "
                        "OVRL/SIG/BAK, non-intrusive), plcmos (PLCMOS v2, for lossy streams); slower than PESQ, from the [eval] extra (default: none)")
    p.add_argument("--split", default="valid", help="manifest split to use (default: valid)")
    p.add_argument("--clips", type=int, help="at most this many clips (manifest: the longest)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel processes (default: all cores)")
    p.add_argument("--force", action="store_true", help="discard OUT's earlier results instead of resuming")
    p.add_argument("--keep-references", action="store_true",
                   help="OUT holds results of another model or vqcodec version on the same SOURCE: keep its "
                        "reference codecs' rows (they do not depend on vqcodec) and code only vqcodec again")
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
    _add_condition_options(p, "opus,speex,amrwb,lc3")
    p.add_argument("--mushra", action="store_true", help="also write the MUSHRA test page")
    p.add_argument("--format", default="wav", choices=("wav", "flac"),
                   help="audio files: 16-bit WAV (default) or FLAC (about half the size; browsers play both)")
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
