"""The codec's sample rate and frame geometry: every other module takes its numbers from here.

Audio is coded at 16 kHz in 20 ms frames of ``FRAME`` = 320 samples. Stream
frame ``j`` (j = 0 .. frames - 1) owns one MDCT block and one LPC envelope:

    samples       FRAME*j - 480          FRAME*j - 400        FRAME*j + 80   FRAME*j + 160
    MDCT window   [-------------------------------- 640 --------------------------------)
    LPC window                           [------------ 480 ------------)

The LPC analysis window (30 ms) is centred on the MDCT window (40 ms, Vorbis),
so each spectrum is shaped by the envelope measured where it lies. Windows
start ``WINDOW_LEAD`` samples before their frame, so frame 0 already covers
the first samples and overlap-add of frames ``j0 .. j1 - 1`` completes samples
``[FRAME*j0 - WINDOW_LEAD, FRAME*j1 - WINDOW_LEAD)``: the decoder has no delay
to remove, and one extra frame at the end covers the last samples.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
FRAME = 320                        # 20 ms hop: one envelope and one MDCT block per frame
MDCT_WINDOW = 2 * FRAME            # 40 ms (Vorbis) window, 320 coefficients
LPC_WINDOW = 480                   # 30 ms Hann window
WINDOW_LEAD = 3 * FRAME // 2       # frame j's MDCT window starts this many samples before FRAME * j
LPC_OFFSET = (MDCT_WINDOW - LPC_WINDOW) // 2   # 80: the LPC window inside the MDCT window


def num_frames(samples: int) -> int:
    """Stream frames that code a signal of ``samples`` samples (0 for an empty one)."""
    return (samples - 1 + WINDOW_LEAD - FRAME) // FRAME + 2 if samples > 0 else 0


def analysis_span(start: int, stop: int) -> tuple[int, int]:
    """Samples [lo, hi) that frames ``start .. stop - 1`` analyse (their MDCT windows)."""
    return FRAME * start - WINDOW_LEAD, FRAME * (stop - 1) - WINDOW_LEAD + MDCT_WINDOW


def output_span(start: int, stop: int) -> tuple[int, int]:
    """Samples [lo, hi) that overlap-add completes once frames ``start .. stop - 1`` are decoded."""
    return FRAME * start - WINDOW_LEAD, FRAME * stop - WINDOW_LEAD


def segment(x: np.ndarray, lo: int, hi: int, offset: int = 0) -> np.ndarray:
    """Samples [lo, hi) of a signal of which ``x`` holds [offset, offset + len(x)); zeros elsewhere (float64)."""
    out = np.zeros(hi - lo)
    a, b = max(lo, offset, 0), min(hi, offset + len(x))
    if a < b:
        out[a - lo:b - lo] = x[a - offset:b - offset]
    return out


def blocks(x: np.ndarray, size: int, count: int) -> np.ndarray:
    """``count`` windows of ``size`` samples, one per frame (hop ``FRAME``), as a view: (count, size)."""
    return np.lib.stride_tricks.sliding_window_view(x, size)[::FRAME][:count]

MAX_SAMPLE_RATE = 768_000          # highest original rate a stream may carry (checked when encoding and decoding)
