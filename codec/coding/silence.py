"""Digital silence: 5 ms blocks where the input is silent are sent as flags, and the decoder mutes them.

A transform coder spreads each frame's quantization noise over its whole
40 ms window. Where speech starts or stops next to digital silence (padding,
edited pauses, the gaps between a game's or a text-to-speech system's
phrases), that noise lands where the input had nothing at all: pre-echo
before an onset and post-echo after an offset, in a silence nothing masks.
On the development clips, whose words are joined by digitally silent pauses,
it was most of the error PESQ-WB heard at 24.4 kbit/s (``docs/design.md``).

So the encoder flags every 5 ms block whose samples all lie within one 16-bit
step of zero (Opus detects digital silence the same way), and the decoder sets
those blocks of its output to zero, which is what the input held there. Frame
``j`` carries the flags of the four blocks that overlap-add completes with it,
samples ``[FRAME * j - WINDOW_LEAD, FRAME * j - WINDOW_LEAD + FRAME)``
(``codec.dsp.framing.output_span``).

Flags rarely change, so a frame sends where they change: bit ``b`` of its
symbol is set when block ``b``'s flag differs from the block before it (the
first block of a packet is compared with "not silent"). Each block changes with
probability CHANGE_PROBABILITY, independently: a frame without a change costs
0.045 bits, a change 7 bits.
"""

from __future__ import annotations

import functools

import constriction
import numpy as np

from ..dsp import framing

BLOCK = 80                                   # 5 ms
BLOCKS = framing.FRAME // BLOCK              # blocks per frame
SILENCE_PEAK = 2.0 ** -15                    # one step of 16-bit PCM: |x| at or below it is silence
# In 800 files of the training corpus (data/wide) 1 block in 316 changed its flag; pauses of connected
# speech change more often. Any choice from 1/32 to 1/316 costs under 0.2 bits per frame more than another.
CHANGE_PROBABILITY = 1 / 128


def flags(x: np.ndarray, start: int, stop: int, offset: int = 0) -> np.ndarray:
    """Which blocks of frames ``start .. stop - 1`` are silent, from a 16 kHz signal of which ``x``
    holds samples from ``offset`` on (outside it: silence): (frames, BLOCKS) bool."""
    samples = framing.segment(x, *framing.output_span(start, stop), offset)
    return np.abs(samples).reshape(stop - start, BLOCKS, BLOCK).max(-1) <= SILENCE_PEAK


def changes(silent: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Flags (frames, BLOCKS) -> one symbol per frame (frames,) int32: bit b set where block b's flag
    differs from the block before it; ``starts`` holds each packet's first frame (coded apart)."""
    silent = np.asarray(silent, dtype=np.int64)
    before = np.concatenate([np.zeros((len(silent), 1), dtype=np.int64), silent[:, :-1]], axis=1)
    before[1:, 0] = silent[:-1, -1]
    before[starts, 0] = 0
    return ((silent ^ before) << np.arange(BLOCKS)).sum(-1).astype(np.int32)


def from_changes(symbols: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The inverse of :func:`changes`: symbols (frames,) -> flags (frames, BLOCKS) bool."""
    symbols = np.asarray(symbols, dtype=np.int64)
    change = ((symbols[:, None] >> np.arange(BLOCKS)) & 1).ravel()
    total = np.cumsum(change)
    first = starts * BLOCKS
    # Each packet counts its changes from zero: subtract the count before its first block.
    before = np.repeat(total[first] - change[first], np.diff(np.append(first, len(change))))
    return ((total - before) % 2 == 1).reshape(-1, BLOCKS)


@functools.lru_cache(maxsize=1)
def model():
    """P(symbol): each of the BLOCKS bits set with CHANGE_PROBABILITY, independently (constriction)."""
    return constriction.stream.model.Categorical(_probabilities(), perfect=False)


def _probabilities() -> np.ndarray:
    set_bits = ((np.arange(2 ** BLOCKS)[:, None] >> np.arange(BLOCKS)) & 1).sum(-1)
    return CHANGE_PROBABILITY ** set_bits * (1 - CHANGE_PROBABILITY) ** (BLOCKS - set_bits)


def bits(symbols: np.ndarray) -> np.ndarray:
    """What each frame's symbol costs, in bits (frames,)."""
    return -np.log2(_probabilities()[np.asarray(symbols, dtype=np.int64)])


def mute(samples: np.ndarray, silent: np.ndarray) -> np.ndarray:
    """Samples of ``output_span`` of frames (frames * FRAME,) with their silent blocks zeroed, in place."""
    samples.reshape(-1, BLOCK)[np.asarray(silent).ravel()] = 0.0
    return samples
