"""``vqcodec mushra-report``: mean scores with 95 % intervals from the MUSHRA page's result files.

Post-screening as in ITU-R BS.1534-3: a listener who rated the hidden reference
below 90 in more than 15 % of their trials is excluded. Scores are then pooled
per condition and nominal bitrate (all clips, all remaining listeners): mean
and 95 % Student-t interval.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

FORMAT = "vqcodec-mushra-1"
SCREEN_BELOW = 90
SCREEN_SHARE = 0.15


class ResultsError(ValueError):
    """A file that is not a result file of the MUSHRA page."""


def read_results(paths: list[str | Path]) -> list[dict]:
    """The listeners' result files (JSON written by mushra.html)."""
    results = []
    for path in paths:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ResultsError(f"{path}: not a readable JSON file ({err})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("trials"), list):
            raise ResultsError(f"{path}: not a vqcodec MUSHRA result file (format {FORMAT})")
        for trial in data["trials"]:
            if not isinstance(trial.get("ratings"), dict) or "hidden_reference" not in trial["ratings"]:
                raise ResultsError(f"{path}: trial {trial.get('id')!r} has no rating of the hidden reference")
        results.append(data | {"path": str(path)})
    return results


def excluded(result: dict) -> bool:
    """True when the listener rated the hidden reference below 90 in more than 15 % of the trials."""
    trials = result["trials"]
    below = sum(t["ratings"]["hidden_reference"] < SCREEN_BELOW for t in trials)
    return below > SCREEN_SHARE * len(trials)


def summarize(results: list[dict]) -> dict:
    """Listeners kept and excluded, and per (condition, kbps) the mean, 95 % interval and rating count."""
    from scipy import stats

    kept = [r for r in results if not excluded(r)]
    ratings: dict[tuple[str, float], list[float]] = {}
    for result in kept:
        for trial in result["trials"]:
            for condition, value in trial["ratings"].items():
                ratings.setdefault((condition, float(trial["kbps"])), []).append(float(value))
    scores = []
    for (condition, kbps), values in sorted(ratings.items(), key=lambda item: (item[0][1], item[0][0])):
        values = np.array(values)
        half = (float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))
                if len(values) > 1 else math.nan)
        scores.append({"condition": condition, "kbps": kbps, "mean": float(values.mean()), "ci95": half,
                       "ratings": len(values)})
    return {"listeners": [r["listener"] for r in kept],
            "excluded": [r["listener"] for r in results if excluded(r)], "scores": scores}


def table(summary: dict) -> str:
    """Markdown: one row per condition, one column per bitrate, mean ± 95 % interval."""
    rates = sorted({s["kbps"] for s in summary["scores"]})
    conditions = sorted({s["condition"] for s in summary["scores"]},
                        key=lambda c: (c != "hidden_reference", c == "anchor_3k5", c))
    cells = {(s["condition"], s["kbps"]): s for s in summary["scores"]}
    lines = ["| condition | " + " | ".join(f"{k:g} kbit/s" for k in rates) + " |", "|---" * (len(rates) + 1) + "|"]
    for condition in conditions:
        row = []
        for k in rates:
            s = cells.get((condition, k))
            row.append("" if s is None else f"{s['mean']:.1f}" + ("" if math.isnan(s["ci95"]) else
                                                                  f" ± {s['ci95']:.1f}"))
        lines.append(f"| {condition} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def plot(summary: dict, path: Path) -> Path:
    """Mean score with 95 % error bars per condition, grouped by bitrate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io.atomic import atomic_write

    rates = sorted({s["kbps"] for s in summary["scores"]})
    conditions = sorted({s["condition"] for s in summary["scores"]})
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(rates)), 4.5))
    width = 0.8 / max(1, len(conditions))
    for i, condition in enumerate(conditions):
        points = [s for s in summary["scores"] if s["condition"] == condition]
        x = [rates.index(s["kbps"]) + (i - (len(conditions) - 1) / 2) * width for s in points]
        ax.errorbar(x, [s["mean"] for s in points], yerr=[0 if math.isnan(s["ci95"]) else s["ci95"] for s in points],
                    fmt="o", capsize=3, label=condition)
    ax.set_xticks(range(len(rates)), [f"{k:g} kbit/s" for k in rates])
    ax.set_ylim(0, 100)
    ax.set_ylabel("MUSHRA score")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    ax.set_title(f"MUSHRA: mean and 95 % interval, {len(summary['listeners'])} listener(s)")
    fig.tight_layout()
    with atomic_write(path) as partial:
        fig.savefig(partial, dpi=110)
    plt.close(fig)
    return path
