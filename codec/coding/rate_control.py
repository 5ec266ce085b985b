"""Rate control: how many bits each packet's frames may use, and the gains that spend them.

Every packet has a fixed size (``codec.modes``); its range-coder capacity,
less the side information of its frames and a margin for the coder's
termination, is its spectra's budget. ``rate_loop`` picks, for all packets at
once, the finest gains whose estimated cost fits, each frame's gain following
its level (``LEVEL_TRACKING``); ``spend_slack`` gives what a packet left
unused (the gain's 1.5 dB steps) to its coarsest frames, one gain step at a
time; the encoder range codes the packet and, in the rare case the estimate
was optimistic and it overflows, ``recode_coarser`` moves that packet's frames
one gain step coarser and it tries again (SILENT frames code no spectrum, so
this ends)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import bitstream
from .noise_filling import noise_index
from .side_info import packet_bits, side_bits
from .spectrum import GAIN_STEP, ROUNDING, SILENT, Shaping, gain_value, level_index, quantize

# Bits per packet kept for the range coder's termination and table rounding. 24 was safe but wasted
# bits: on the development set (18 clips) 12 gave PESQ-WB +0.035 at 8 kbit/s and +0.006 at 13.2, and
# 4 or 0 no more (an overflowing packet is re-coded one step coarser, so a small margin stays correct).
RANGE_CODER_MARGIN = 12
# How far a frame's gain follows its level within a packet (0: equal noise, 1: equal SNR). On 18
# development clips with 50-frame packets, 0.8 against the earlier equal bits per frame: PESQ-WB
# +0.00 / +0.03 / +0.03 at 8 / 13.2 / 24.4 kbit/s; 0.5 and 1.0 were no better, 0 lost 0.4 at 8.
LEVEL_TRACKING = 0.8
CALIBRATION_PACKETS = 4      # packets the rate loop searches first, to aim its search for the others


def frame_budgets(frames: int, packet_frames: int, bitrate: float, field_sizes: tuple[int, ...],
                  tool_bits: np.ndarray) -> np.ndarray:
    """Bits each frame's spectrum may use: its packet's range-coder capacity, less a margin and the
    packet's noise-band corrections, shared equally by the packet's frames, less the frame's side
    information (alphabet sizes ``field_sizes``) and its tool symbols (``tool_bits``, (frames,):
    ``codec.encoder.ToolSymbols.bits``)."""
    side = side_bits(field_sizes)
    counts = bitstream.packet_frame_counts(frames, packet_frames)
    sizes = bitstream.packet_sizes(frames, packet_frames, bitrate)
    spare = RANGE_CODER_MARGIN + packet_bits(packet_frames)     # what a packet spends on no frame in particular
    return np.concatenate([np.full(n, (32 * bitstream.payload_words(size) - spare) / n - side)
                           for size, n in zip(sizes, counts)]) - tool_bits


@dataclass
class FrameCode:
    """Coded spectra: side information (frames,), integers and their context classes (frames, N)."""

    gain: np.ndarray
    level: np.ndarray
    noise: np.ndarray
    q: np.ndarray
    classes: np.ndarray

    FIELDS = ("gain", "level", "noise", "q", "classes")

    def rows(self, rows: slice) -> FrameCode:
        return FrameCode(*(getattr(self, field)[rows] for field in self.FIELDS))


def _quantized(weighted: np.ndarray, offset: np.ndarray, gain: np.ndarray, model, *, exact: bool = True):
    """y, q, level and classes of weighted spectra (frames, N) at gain indices (frames,);
    ``offset`` is the model's context offset of the frames' shapes. ``exact=False`` (the rate loop's
    search) keeps q and the classes in ``weighted``'s float type: the same values, fewer conversions."""
    y = weighted / gain_value(gain).astype(weighted.dtype)[:, None]
    y[gain == SILENT] = 0.0
    q = quantize(y, model.max_symbol, dtype=np.int32 if exact else y.dtype)
    level = level_index(y)
    return y, q, level, model.classes(level, None, offset=offset, as_int=exact)


def _cost(q: np.ndarray, classes: np.ndarray, gain: np.ndarray, model) -> np.ndarray:
    return np.where(gain == SILENT, 0.0, model.bits(classes, q))


def code_at_gain(spectrum: np.ndarray, shaping: Shaping, gain: np.ndarray, model) -> tuple[FrameCode, np.ndarray]:
    """Quantize every frame at its gain index; also returns the spectrum's cost in bits (frames,)."""
    gain = np.asarray(gain, dtype=np.int64)
    y, q, level, classes = _quantized(spectrum * shaping.weights, model.context_offset(shaping.shape), gain, model)
    return FrameCode(gain, level, noise_index(y, q), q, classes), _cost(q, classes, gain, model)


def rate_loop(spectrum: np.ndarray, shaping: Shaping, budgets: np.ndarray, starts: np.ndarray, model) -> FrameCode:
    """Per packet, the finest gains whose estimated spectrum cost fits the packet's budget (the sum of
    its frames' ``budgets``), at which no coefficient saturates the symbol range.

    A packet is one range-coded stream, so its bits go where its frames need
    them: every frame's gain is the packet's offset plus LEVEL_TRACKING times
    the frame's level (log2 RMS of its weighted spectrum, in gain steps) above
    the packet's mean level, and a search (``_search``) finds the finest offset that fits,
    all packets at once. Tracking 0 would give every frame the same noise
    level, 1 the same signal-to-noise ratio. ``starts`` holds each packet's
    first frame (``packet_starts``). A frame whose gain reaches SILENT codes no
    spectrum, so the coarsest offset always fits.

    A saturated coefficient (|q| clipped at the entropy model's largest symbol)
    is not a finer quantization but a wrong one: a pure tone coded that way came
    out at 0 dB SNR, its peak bins clipped and everything else zero.
    """
    frames = spectrum.shape[0]
    counts = np.diff(np.append(starts, frames))
    packet = np.repeat(np.arange(len(starts)), counts)
    weighted = spectrum * shaping.weights
    finest = _finest_unsaturated(weighted, model)
    level = np.log2(np.sqrt(np.mean(weighted * weighted, axis=-1)) + 1e-12) / GAIN_STEP
    packet_level = np.add.reduceat(level, starts) / counts
    relative = np.round(LEVEL_TRACKING * (level - packet_level[packet])).astype(np.int64)
    capacity = np.add.reduceat(budgets, starts)
    offset = model.context_offset(shaping.shape)

    def gains(packet_offset: np.ndarray, rows: slice | np.ndarray = slice(None)) -> np.ndarray:
        """The gains of frames ``rows`` at their packets' offsets ``packet_offset`` (packets,)."""
        return np.maximum(np.clip(packet_offset[packet[rows]] + relative[rows], 0, SILENT), finest[rows])

    # The search runs in float32 (twice as fast); the final coding, whose classes the decoder
    # must reproduce exactly, in float64.
    weighted32, offset32 = weighted.astype(np.float32), offset.astype(np.float32)

    def fits(packet_offset: np.ndarray, which: np.ndarray) -> np.ndarray:
        """Whether packets ``which`` (ascending) fit their budgets at offsets ``packet_offset[which]``."""
        rows = np.flatnonzero(np.isin(packet, which)) if len(which) < len(starts) else slice(None)
        gain = gains(packet_offset, rows)
        _, q, _, classes = _quantized(weighted32[rows], offset32[rows], gain, model, exact=False)
        first = np.concatenate([[0], np.cumsum(counts[which])[:-1]])
        return np.add.reduceat(_cost(q, classes, gain, model), first) <= capacity[which]

    lo = -np.maximum.reduceat(relative, starts)                 # every frame at gain 0 or finer
    hi = SILENT - np.minimum.reduceat(relative, starts)         # every frame SILENT: always fits
    # The answer sits at a nearly constant distance above a packet's mean level (for speech, within
    # +-1 step of one value per bitrate), so the loudest packets, searched first, tell where to look
    # for the others, which then settle in two or three probes instead of eight.
    loudest = np.sort(np.argsort(packet_level)[-CALIBRATION_PACKETS:])
    _search(fits, lo, hi, loudest)
    guess = np.round(packet_level + _median(lo[loudest] - packet_level[loudest])).astype(np.int64)
    _search(fits, lo, hi, np.flatnonzero(lo < hi), guess)
    gain = gains(lo)
    y, q, levels, classes = _quantized(weighted, offset, gain, model)
    return FrameCode(gain, levels, noise_index(y, q), q, classes)


def _median(values: np.ndarray) -> float:
    """np.median's value, without the import of numpy.ma that np.median triggers (10-20 ms of a
    command-line encoder's start-up)."""
    ordered = np.sort(values)
    middle = len(ordered) // 2
    return float(ordered[middle]) if len(ordered) % 2 else float(ordered[middle - 1:middle + 1].mean())


def _search(fits, lo: np.ndarray, hi: np.ndarray, which: np.ndarray, guess: np.ndarray | None = None) -> None:
    """For packets ``which``, narrow [lo, hi] in place to the smallest offset at which ``fits`` holds
    (it holds at ``hi``). Without ``guess`` by bisection; with it, the first probe is the guess, the
    next ones step away from it, 1, 2, 4, ... offsets, on the side the answer lies, until one lands on
    the other side, and bisection finishes. Every probe settles the same question as bisection's, so,
    the cost falling as the offset rises, both find the same offset."""
    step = 0
    first_fit, crossed = np.zeros(len(lo), dtype=bool), np.zeros(len(lo), dtype=bool)
    while len(which := which[lo[which] < hi[which]]):
        probe = (lo + hi) // 2
        if guess is not None and step == 0:
            probe = guess
        elif guess is not None:
            distance = 1 << (step - 1)
            probe = np.where(crossed, probe, np.where(first_fit, guess - distance, guess + distance))
        probe = np.clip(probe, lo, hi - 1)
        ok = fits(probe, which)
        if step == 0:
            first_fit[which] = ok
        crossed[which] |= ok != first_fit[which]
        hi[which] = np.where(ok, probe[which], hi[which])
        lo[which] = np.where(ok, lo[which], probe[which] + 1)
        step += 1


def _finest_unsaturated(weighted: np.ndarray, model) -> np.ndarray:
    """Per frame, the finest gain index at which no symbol saturates (SILENT if none below it):
    q = floor(|y| + ROUNDING) stays within max_symbol while |y| < max_symbol + 1 - ROUNDING, so the
    gain value must exceed max |weighted| / (max_symbol + 1 - ROUNDING)."""
    limit = np.abs(weighted).max(-1) / (model.max_symbol + 1 - ROUNDING)
    finest = np.searchsorted(gain_value(np.arange(SILENT)), limit, side="right")   # first index above the limit
    return finest.astype(np.int64)


def recode_coarser(code: FrameCode, rows: slice, spectrum: np.ndarray, shaping: Shaping, model) -> None:
    """Re-code frames ``rows`` of ``code`` one gain step coarser, in place (their packet overflowed)."""
    gain = np.minimum(code.gain[rows] + 1, SILENT)
    recoded, _ = code_at_gain(spectrum[rows], shaping.rows(rows), gain, model)
    for field in FrameCode.FIELDS:
        getattr(code, field)[rows] = getattr(recoded, field)


def packet_starts(counts: list[int], packet_frames: int) -> np.ndarray:
    """First frame of every packet of files of ``counts`` frames coded one after another."""
    file_starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return np.concatenate([s + np.arange(0, n, packet_frames) for s, n in zip(file_starts, counts)])


def spend_slack(code: FrameCode, spectrum: np.ndarray, shaping: Shaping, budgets: np.ndarray,
                starts: np.ndarray, model) -> None:
    """Spend, in place, what each packet's frames left unused: the coarsest frame of a packet moves one
    gain step finer while the packet's estimated cost still fits the sum of its frames' budgets.

    ``rate_loop`` moves all of a packet's frames together, in 1.5 dB steps of its
    offset, so it leaves up to one such step's bits unspent; frame by frame they
    still buy finer gains (on 18 development clips with 1 s packets, PESQ-WB
    +0.07 / +0.04 / +0.04 at 8 / 13.2 / 24.4 kbit/s against stopping at
    ``rate_loop``). Encoder-only: the decoder reads whatever gains the packet carries.
    ``starts`` holds the first frame of each packet (``packet_starts``).
    """
    frames = len(code.gain)
    sizes = np.diff(np.append(starts, frames))
    slots = np.arange(sizes.max())
    member = np.where(slots < sizes[:, None], starts[:, None] + slots, -1)     # (packets, slots): frame or -1
    weighted = spectrum * shaping.weights
    offset = model.context_offset(shaping.shape)
    finest = _finest_unsaturated(weighted, model)
    cost = _cost(code.q, code.classes, code.gain, model)
    left = np.add.reduceat(budgets - cost, starts)
    open_ = member >= 0
    for _ in range(4 * len(slots)):
        candidate = np.where(open_, code.gain[member], -1)
        pick = candidate.argmax(axis=1)
        packet = np.flatnonzero(candidate.max(axis=1) > 0)
        if not len(packet):
            break
        rows = member[packet, pick[packet]]
        finer = code.gain[rows] - 1
        y, q, level, classes = _quantized(weighted[rows], offset[rows], finer, model)
        delta = _cost(q, classes, finer, model) - cost[rows]
        accept = (delta <= left[packet]) & (finer >= finest[rows])
        open_[packet[~accept], pick[packet[~accept]]] = False
        rows, packet = rows[accept], packet[accept]
        code.gain[rows], code.level[rows], code.noise[rows] = finer[accept], level[accept], noise_index(y, q)[accept]
        code.q[rows], code.classes[rows] = q[accept], classes[accept]
        cost[rows] += delta[accept]
        left[packet] -= delta[accept]
