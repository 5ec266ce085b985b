"""``vqcodec samples``: decoded examples for listening, an index page, and a MUSHRA test page.

Each clip is read at 16 kHz mono, set to -26 dBov and padded with 0.5 s of
silence (as in ``codec.evaluation.procedure``), then coded under every condition; each
decoded signal is delay-aligned to the input, scored (PESQ-WB, pSNR) and
written level-matched (same RMS as the reference) as 16-bit WAV (or FLAC):

    OUT/audio/CLIP/reference.wav, anchor_3k5.wav, vqcodec-avq_13.2.wav, opus_13.2.wav, ...
    OUT/samples.json    what was written, with the scores
    OUT/index.html      players per clip and condition, scores beside them
    OUT/mushra.html     (with mushra=True) the listening test, self-contained

The pages use no external scripts or styles; audio is fetched relative to the
page, so serve the folder (``python -m http.server -d OUT``) and open it.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import numpy as np
import soundfile as sf

from ..evaluation import procedure
from ..dsp.framing import SAMPLE_RATE
from ..io.atomic import atomic_write

ANCHOR_HZ = 3500.0
PAGE_DIR = Path(__file__).parent / "pages"


def anchor(reference: np.ndarray) -> np.ndarray:
    """The low-quality anchor of ITU-R BS.1534: the reference low-passed at 3.5 kHz (zero phase)."""
    from scipy.signal import butter, sosfiltfilt

    return sosfiltfilt(butter(10, ANCHOR_HZ, fs=SAMPLE_RATE, output="sos"), reference)


def level_matched(signal: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``signal`` scaled to the RMS of ``reference``, clipped to [-1, 1]."""
    rms = np.sqrt(np.mean(signal ** 2))
    target = np.sqrt(np.mean(reference ** 2))
    return np.clip(signal * (target / rms if rms > 0 else 1.0), -1.0, 1.0)


def code_clip(codec, name: str, path: Path, conditions: list, out: Path, *,
              audio_format: str = "wav") -> dict:
    """Write one clip's reference, anchor and decoded conditions under ``out/audio/name`` as 16-bit
    ``audio_format`` ("wav" or "flac", both play in browsers); return its entry."""
    import tempfile

    reference = procedure.prepared(path)
    folder = out / "audio" / name
    folder.mkdir(parents=True, exist_ok=True)

    def write(stem: str, signal: np.ndarray) -> str:
        return _write(folder / f"{stem}.{audio_format}", signal, out)

    entry = {"clip": name, "seconds": len(reference) / SAMPLE_RATE, "reference": write("reference", reference),
             "anchor": write("anchor_3k5", level_matched(anchor(reference), reference)), "conditions": []}
    for condition in conditions:
        if condition.codec == "vqcodec":
            decoded, _ = codec.decode(codec.encode(reference, SAMPLE_RATE, bitrate=condition.kbps,
                                                  quantizer=condition.variant))
        else:
            from ..evaluation.references import REFERENCES

            with tempfile.TemporaryDirectory(prefix="vqcodec-samples-") as workdir:
                decoded, _ = REFERENCES[condition.codec].code(reference, condition.kbps, Path(workdir))
        ref, aligned, _ = procedure.align(reference, decoded)
        scores = procedure.score_aligned(ref, aligned)
        aligned = np.concatenate([aligned, np.zeros(len(reference) - len(aligned))])
        entry["conditions"].append({
            "label": condition.label, "codec": condition.codec, "variant": condition.variant,
            "kbps": condition.kbps, "pesq": _finite(scores["pesq"]), "psnr": _finite(scores["psnr"]),
            "file": write(f"{condition.label}_{condition.kbps:g}", level_matched(aligned, reference))})
    return entry


def make_samples(clips: list[tuple[str, Path]], out: Path, conditions: list, *, codec,
                 mushra: bool = False, audio_format: str = "wav", progress: bool = True) -> list[Path]:
    """Code ``clips`` under ``conditions`` into ``out`` and write the pages; returns the pages written."""
    from tqdm import tqdm

    out.mkdir(parents=True, exist_ok=True)
    if audio_format not in ("wav", "flac"):
        raise ValueError(f"audio format {audio_format!r}: choose wav or flac")
    entries = [code_clip(codec, name, path, conditions, out, audio_format=audio_format)
               for name, path in tqdm(clips, unit="clip", desc="samples", disable=not progress)]
    manifest = {"model_id": codec.model_id, "sample_rate": SAMPLE_RATE, "clips": entries}
    with atomic_write(out / "samples.json") as partial:
        partial.write_text(json.dumps(manifest, indent=2) + "\n")
    pages = [_write_page(out / "index.html", index_page(manifest))]
    if mushra:
        pages.append(_write_page(out / "mushra.html", mushra_page(mushra_trials(manifest))))
    return pages


def index_page(manifest: dict) -> str:
    """Players for every clip and condition, with PESQ-WB and pSNR beside each."""
    sections = []
    for entry in manifest["clips"]:
        rates = sorted({c["kbps"] for c in entry["conditions"]})
        labels = list(dict.fromkeys(c["label"] for c in entry["conditions"]))
        cells = {(c["label"], c["kbps"]): c for c in entry["conditions"]}
        head = "".join(f"<th>{k:g} kbit/s</th>" for k in rates)
        rows = []
        for label in labels:
            row = []
            for k in rates:
                c = cells.get((label, k))
                row.append("<td></td>" if c is None else
                           f'<td><audio controls preload="none" src="{html.escape(c["file"])}"></audio>'
                           f'<div class="score">PESQ {_fmt(c["pesq"])} · pSNR {_fmt(c["psnr"])} dB</div></td>')
            rows.append(f"<tr><th>{html.escape(label)}</th>{''.join(row)}</tr>")
        sections.append(
            f'<section><h2>{html.escape(entry["clip"])} ({entry["seconds"]:.1f} s)</h2>'
            f'<p>Reference <audio controls preload="none" src="{html.escape(entry["reference"])}"></audio> '
            f'Anchor (3.5 kHz low-pass) <audio controls preload="none" src="{html.escape(entry["anchor"])}">'
            f'</audio></p><table><tr><th></th>{head}</tr>{"".join(rows)}</table></section>')
    template = (PAGE_DIR / "index.html").read_text()
    return template.replace("{{MODEL}}", html.escape(manifest["model_id"])).replace("{{SECTIONS}}",
                                                                                    "\n".join(sections))


def mushra_trials(manifest: dict) -> list[dict]:
    """One trial per clip and nominal bitrate: the conditions at that rate, the hidden reference, the anchor."""
    trials = []
    for entry in manifest["clips"]:
        for kbps in sorted({c["kbps"] for c in entry["conditions"]}):
            stimuli = {c["label"]: c["file"] for c in entry["conditions"] if c["kbps"] == kbps}
            stimuli |= {"hidden_reference": entry["reference"], "anchor_3k5": entry["anchor"]}
            trials.append({"id": f"{entry['clip']}@{kbps:g}", "clip": entry["clip"], "kbps": kbps,
                           "reference": entry["reference"], "stimuli": stimuli})
    return trials


def mushra_page(trials: list[dict]) -> str:
    """The MUSHRA page with its trials embedded (one file, no external scripts)."""
    page = (PAGE_DIR / "mushra.html").read_text()
    script = (PAGE_DIR / "mushra.js").read_text()
    # "</" inside the embedded JSON must not close the script element.
    data = json.dumps({"trials": trials}).replace("</", "<\\/")
    return page.replace("{{TRIALS}}", data).replace("{{SCRIPT}}", script)


def _write(path: Path, signal: np.ndarray, root: Path) -> str:
    with atomic_write(path) as partial:
        sf.write(partial, signal, SAMPLE_RATE, subtype="PCM_16")
    return path.relative_to(root).as_posix()


def _write_page(path: Path, text: str) -> Path:
    with atomic_write(path) as partial:
        partial.write_text(text, encoding="utf-8")
    return path


def _finite(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
