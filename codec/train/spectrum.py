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
from ..coding.bitstream import DEFAULT_PACKET_FRAMES
from ..coding.entropy import CLASSES, MAX_SYMBOL, SpectrumModel, laplace_tables
from ..coding.envelope import EnvelopeCoder
from ..dsp.framing import num_frames
from ..encoder import analyze_frames, choose_tools
from ..io.audio import AudioError, load
from ..modes import BITRATES

log = logging.getLogger(__name__)

PRIOR_WEIGHT = 20.0   # pseudo-counts per class drawn from the Laplacian starting model


def corpus_frames(files: list[Path], envelope: EnvelopeCoder, *, progress: bool = True):
    """Spectra (TNS-filtered, as the encoder codes them), shapings and the bits of the encoder's tool
    symbols (``codec.encoder.choose_tools``) of every frame of ``files`` (concatenated, per-file packet
    alignment kept), and each file's frame count."""
    spectra, weights, shapes, tool_bits, counts, skipped = [], [], [], [], [], []
    for path in tqdm(files, desc="analysing", unit="file", disable=not progress):
        try:
            x, _ = load(path)
        except AudioError as err:   # a missing or broken corpus file costs that file, not the run
            skipped.append(str(err))
            continue
        frames = num_frames(len(x))
        s, _, shaping = analyze_frames(x, 0, frames, envelope)
        s, tools = choose_tools(x, 0, frames, s, shaping, rate_control.packet_starts([frames], envelope.packet_frames))
        spectra.append(s.astype(np.float32))
        weights.append(shaping.weights.astype(np.float32))
        shapes.append(shaping.shape.astype(np.float32))
        tool_bits.append(tools.bits())
        counts.append(frames)
    if skipped:
        log.warning("skipped %d unreadable file(s):\n  %s", len(skipped), "\n  ".join(skipped))
    if not counts:
        raise ValueError("no readable audio among the corpus files")
    return (np.concatenate(spectra), spectrum_coding.Shaping(np.concatenate(weights), np.concatenate(shapes)),
            np.concatenate(tool_bits), counts)


def _budgets(counts: list[int], packet_frames: int, bitrate: float, envelope: EnvelopeCoder,
             tool_bits: np.ndarray) -> np.ndarray:
    fields = side_info.field_sizes(envelope.codebook_sizes)
    budgets = [rate_control.frame_budgets(n, packet_frames, bitrate, fields, bits)
               for n, bits in zip(counts, np.split(tool_bits, np.cumsum(counts)[:-1]))]
    return np.concatenate(budgets)


def context_statistics(y: np.ndarray, level: np.ndarray, shape: np.ndarray, bands: int) -> tuple[np.ndarray, np.ndarray]:
    """Normal equations (gram, rhs) of the least squares of log2(|y| + 1/4) - level on
    beta * shape + offset[band]: sums over frames, so batches (one per bitrate) add up."""
    target = np.log2(np.abs(y) + spectrum_coding.LEVEL_FLOOR) - spectrum_coding.level_value(level)[:, None]
    band = np.minimum(np.arange(y.shape[1]) * bands // y.shape[1], bands - 1)
    shape = shape.astype(np.float64)
    gram = np.zeros((bands + 1, bands + 1))
    gram[0, 0] = np.sum(shape * shape)
    gram[0, 1:] = gram[1:, 0] = np.bincount(band, weights=shape.sum(0), minlength=bands)
    gram[1:, 1:] = np.diag(np.bincount(band, minlength=bands) * float(len(y)))
    rhs = np.concatenate([[np.sum(shape * target)], np.bincount(band, weights=target.sum(0), minlength=bands)])
    return gram, rhs


def fit_context(gram: np.ndarray, rhs: np.ndarray) -> tuple[float, np.ndarray]:
    """(beta, per-band offsets) from summed ``context_statistics``."""
    gram = gram.copy()
    gram[1:, 1:] += np.diag((np.diag(gram)[1:] == 0).astype(float))   # a band never seen keeps offset 0
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

    Memory holds the corpus's spectra and shapings once, and per bitrate only the
    coded integers (int16) and levels: the context's least squares is summed
    bitrate by bitrate.
    """
    envelope = envelope.with_packet_frames(DEFAULT_PACKET_FRAMES)   # code the corpus as the encoder does
    spectra, shaping, tool_bits, counts = corpus_frames(files, envelope, progress=progress)
    model = SpectrumModel.initial()
    width = 2 * MAX_SYMBOL + 1
    prior = laplace_tables()
    starts = rate_control.packet_starts(counts, envelope.packet_frames)
    bands = len(model.offsets)
    for round_ in range(rounds):
        coded_frames, gram, rhs = [], np.zeros((bands + 1, bands + 1)), np.zeros(bands + 1)
        total_bits, frames = 0.0, 0
        for bitrate in BITRATES:
            budgets = _budgets(counts, envelope.packet_frames, bitrate, envelope, tool_bits)
            code = rate_control.rate_loop(spectra, shaping, budgets, starts, model)
            rate_control.spend_slack(code, spectra, shaping, budgets, starts, model)   # code as the encoder does
            coded = code.gain != spectrum_coding.SILENT
            y = spectra[coded] * shaping.weights[coded] / spectrum_coding.gain_value(code.gain[coded])[:, None]
            g, r = context_statistics(y, code.level[coded], shaping.shape[coded], bands)
            gram, rhs = gram + g, rhs + r
            coded_frames.append((coded, code.level[coded], code.q[coded].astype(np.int16)))
            total_bits += float(model.bits(code.classes[coded], code.q[coded]).sum())
            frames += int(coded.sum())
        beta, offsets = fit_context(gram, rhs)
        model = SpectrumModel(beta, offsets, model.probabilities)
        table = np.zeros(CLASSES * width)
        for coded, level, q in coded_frames:
            classes = model.classes(level, shaping.shape[coded])
            table += np.bincount((classes * width + q + MAX_SYMBOL).ravel(), minlength=CLASSES * width)
        table = table.reshape(CLASSES, width)
        table = (table + table[:, ::-1]) / 2                       # the sign is a fair coin
        table += PRIOR_WEIGHT * prior
        model = SpectrumModel(beta, offsets, table)
        log.info("round %d: beta %.3f, %d coded frames, %.1f bits/frame under the previous model",
                 round_ + 1, beta, frames, total_bits / max(frames, 1))
    return model
