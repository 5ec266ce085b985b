"""Figures of an evaluation summary (``codec.evaluation.summarize``), written as PNG with matplotlib."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .procedure import SD_BINS


def _figure():
    import matplotlib

    matplotlib.use("Agg")   # files only; no display needed
    import matplotlib.pyplot as plt

    return plt


def _by_label(summary: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for entry in summary:
        groups.setdefault(entry["label"], []).append(entry)
    return {label: sorted(group, key=lambda e: e["kbps"]) for label, group in groups.items()}


def _style(label: str) -> dict:
    return {"linestyle": "-", "linewidth": 2.0} if label.startswith("vqcodec") else {"linestyle": "--", "linewidth": 1.2}


def score_vs_bitrate(summary: list[dict], score: str, ylabel: str, path: Path) -> Path:
    """Mean ``score`` per condition against nominal bitrate, one line per codec, the 25-75 % band shaded."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, group in _by_label(summary).items():
        group = [e for e in group if np.isfinite(e[score]["mean"])]
        if not group:
            continue
        kbps = [e["kbps"] for e in group]
        line, = ax.plot(kbps, [e[score]["mean"] for e in group], marker="o", label=label, **_style(label))
        ax.fill_between(kbps, [e[score]["p25"] for e in group], [e[score]["p75"] for e in group],
                        color=line.get_color(), alpha=0.12, linewidth=0)
    ax.set_xscale("log")
    rates = sorted({e["kbps"] for e in summary})
    ax.set_xticks(rates, [f"{k:g}" for k in rates])
    ax.minorticks_off()
    ax.set_xlabel("nominal bitrate (kbit/s)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    ax.set_title(f"{ylabel}: mean, 25-75 % of clips shaded")
    return _save(fig, path)


def sd_histogram(summary: list[dict], path: Path) -> Path:
    """Per quantizer, the share of speech frames per envelope-SD bin (the same at every bitrate)."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    centres = (SD_BINS[:-1] + SD_BINS[1:]) / 2
    seen = set()
    for entry in summary:
        if entry["codec"] != "vqcodec" or not entry["sd_histogram"] or entry["variant"] in seen:
            continue
        seen.add(entry["variant"])
        counts = np.array(entry["sd_histogram"], dtype=float)
        ax.step(centres, 100 * counts / counts.sum(), where="mid",
                label=f"{entry['variant']} (mean {entry['sd_db']['mean']:.2f} dB)")
    for edge in (2, 4):
        ax.axvline(edge, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel(f"envelope spectral distortion (dB, bins of {SD_BINS[1] - SD_BINS[0]:g}; last bin: "
                  f"{SD_BINS[-2]:g} and above)")
    ax.set_ylabel("% of speech frames")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("16-bit envelope quantizers: per-frame spectral distortion")
    return _save(fig, path)


def quality_vs_complexity(summary: list[dict], path: Path) -> Path:
    """Mean PESQ against encode+decode time per second of audio, one point per condition."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, group in _by_label(summary).items():
        group = [e for e in group if np.isfinite(e["pesq"]["mean"]) and np.isfinite(e["rtf"]["mean"])]
        if not group:
            continue
        ax.plot([e["rtf"]["mean"] for e in group], [e["pesq"]["mean"] for e in group], marker="o", label=label,
                **_style(label))
        for e in group:
            ax.annotate(f"{e['kbps']:g}", (e["rtf"]["mean"], e["pesq"]["mean"]), fontsize=6,
                        textcoords="offset points", xytext=(3, 3))
    ax.set_xscale("log")
    ax.set_xlabel("encode + decode time / audio time (real-time factor, one core)")
    ax.set_ylabel("PESQ-WB (MOS-LQO)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, ncol=2)
    ax.set_title("Quality against complexity (labels: kbit/s)")
    return _save(fig, path)


def all_figures(summary: list[dict], folder: Path) -> list[Path]:
    """Every figure of a summary into ``folder``; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    return [score_vs_bitrate(summary, "pesq", "PESQ-WB (MOS-LQO)", folder / "pesq_vs_bitrate.png"),
            score_vs_bitrate(summary, "psnr", "pSNR (dB)", folder / "psnr_vs_bitrate.png"),
            sd_histogram(summary, folder / "sd_histogram.png"),
            quality_vs_complexity(summary, folder / "quality_vs_complexity.png")]


def _save(fig, path: Path) -> Path:
    from ..io.atomic import atomic_write

    fig.tight_layout()
    with atomic_write(path) as partial:
        fig.savefig(partial, dpi=110)
    _figure().close(fig)
    return path
