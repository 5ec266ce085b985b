"""Training the spectrum's entropy model on a corpus (``vqcodec train spectrum``).

Needs no gradients: the model is a context mapping (beta, per-band offsets)
fitted by least squares, and per-class symbol frequencies counted from the
integers the codec actually produces. The two depend on each other through the
rate loop (the gain it picks depends on the costs), so training alternates:
code the corpus at every bitrate with the current model, refit the context
mapping to the coded frames, recount the classes' symbols, repeat.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..coding import rate_control, side_info, spectrum as spectrum_coding
from ..coding.entropy import CLASSES, MAX_SYMBOL, SpectrumModel, laplace_tables
from ..coding.envelope import EnvelopeCoder
from ..dsp.framing import num_frames
from ..encoder import analyze_frames
from ..io.audio import AudioError, load
from ..modes import BITRATES

log = logging.getLogger(__name__)

PRIOR_WEIGHT = 20.0   # pseudo-counts per class drawn from the Laplacian starting model


def corpus_frames(files: list[Path], envelope: EnvelopeCoder, *, progress: bool = True):
    """Spectra and shapings of every frame of ``files`` (concatenated, per-file packet alignment kept)."""
    spectra, weights, shapes, counts, skipped = [], [], [], [], []
    for path in tqdm(files, desc="analysing", unit="file", disable=not progress):
        try:
            x, _ = load(path)
        except AudioError as err:   # a missing or broken corpus file costs that file, not the run
            skipped.append(str(err))
            continue
        frames = num_frames(len(x))
        s, _, shaping = analyze_frames(x, 0, frames, envelope)
        spectra.append(s.astype(np.float32))
        weights.append(shaping.weights.astype(np.float32))
        shapes.append(shaping.shape.astype(np.float32))
        counts.append(frames)
    if skipped:
        log.warning("skipped %d unreadable file(s):\n  %s", len(skipped), "\n  ".join(skipped))
    if not counts:
        raise ValueError("no readable audio among the corpus files")
    return (np.concatenate(spectra), spectrum_coding.Shaping(np.concatenate(weights), np.concatenate(shapes)), counts)


def _budgets(counts: list[int], packet_frames: int, bitrate: float, envelope: EnvelopeCoder) -> np.ndarray:
    fields = side_info.field_sizes(envelope.codebook_sizes)
    return np.concatenate([rate_control.frame_budgets(n, packet_frames, bitrate, fields) for n in counts])


def fit_context(y: np.ndarray, level: np.ndarray, shape: np.ndarray, bands: int) -> tuple[float, np.ndarray]:
    """Least squares of log2(|y| + 1/4) - level on beta * shape + offset[band]."""
    target = np.log2(np.abs(y) + spectrum_coding.LEVEL_FLOOR) - spectrum_coding.level_value(level)[:, None]
    band = np.broadcast_to(np.minimum(np.arange(y.shape[1]) * bands // y.shape[1], bands - 1), y.shape).ravel()
    s, t = shape.ravel().astype(np.float64), target.ravel()
    n_b = np.bincount(band, minlength=bands)
    # Normal equations of [shape, one-hot(band)].
    gram = np.zeros((bands + 1, bands + 1))
    gram[0, 0] = s @ s
    gram[0, 1:] = gram[1:, 0] = np.bincount(band, weights=s, minlength=bands)
    gram[1:, 1:] = np.diag(np.maximum(n_b, 1))
    rhs = np.concatenate([[s @ t], np.bincount(band, weights=t, minlength=bands)])
    solution = np.linalg.solve(gram, rhs)
    return float(solution[0]), solution[1:]


def fit_spectrum_model(files: list[Path], envelope: EnvelopeCoder, *, rounds: int = 3,
                       progress: bool = True) -> SpectrumModel:
    """Fit the entropy model on ``files`` with the envelope quantizer the codec will use.

    Parameters
    ----------
    files : list of Path
        Speech files of the training split.
    envelope : EnvelopeCoder
        A trained envelope quantizer (the contexts depend on the decoded envelope).
    rounds : int
        Code/refit/recount iterations (the estimate settles after two or three).
    """
    spectra, shaping, counts = corpus_frames(files, envelope, progress=progress)
    model = SpectrumModel.initial()
    width = 2 * MAX_SYMBOL + 1
    prior = laplace_tables()
    starts = rate_control.packet_starts(counts, envelope.packet_frames)
    for round_ in range(rounds):
        ys, levels, shapes, qs = [], [], [], []
        total_bits = 0.0
        for bitrate in BITRATES:
            budgets = _budgets(counts, envelope.packet_frames, bitrate, envelope)
            code = rate_control.rate_loop(spectra, shaping, budgets, model)
            rate_control.spend_slack(code, spectra, shaping, budgets, starts, model)   # code as the encoder does
            coded = code.gain != spectrum_coding.SILENT
            y = spectra[coded] * shaping.weights[coded] / spectrum_coding.gain_value(code.gain[coded])[:, None]
            ys.append(y)
            levels.append(code.level[coded])
            shapes.append(shaping.shape[coded])
            qs.append(code.q[coded])
            total_bits += float(model.bits(code.classes[coded], code.q[coded]).sum())
        y, level, shape, q = (np.concatenate(a) for a in (ys, levels, shapes, qs))
        beta, offsets = fit_context(y, level, shape, len(model.offsets))
        model = SpectrumModel(beta, offsets, model.probabilities)
        classes = model.classes(level, shape)
        table = np.bincount((classes * width + q + MAX_SYMBOL).ravel(), minlength=CLASSES * width)
        table = table.reshape(CLASSES, width).astype(np.float64)
        table = (table + table[:, ::-1]) / 2                       # the sign is a fair coin
        table += PRIOR_WEIGHT * prior
        model = SpectrumModel(beta, offsets, table)
        log.info("round %d: beta %.3f, %d coded frames, %.1f bits/frame under the previous model",
                 round_ + 1, beta, len(y), total_bits / max(len(y), 1))
    return model
