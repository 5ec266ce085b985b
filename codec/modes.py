"""The six bitrates and everything that depends on them, in one table.

A mode is a nominal bitrate in kbit/s; its frame budget is that many bits per
20 ms frame (160 ... 640, always a whole number of bytes, so packets have a
fixed size and the stream is exactly CBR). ``noise_gain`` scales the decoder's
noise filling (``codec.coding.noise_filling``), chosen on the development set
(``python benchmarks/noise_filling.py``, 18 clips spread over its voices, model
e3a431f453acef45): among 0.2, 0.3, 0.4, 0.55 and 0.7, 0.4 was best in PESQ-WB
from 8 to 16.4 kbit/s and 0.3 at 24.4 and 32 (within 0.01 of 0.4 in PESQ, with
the better pSNR). ``spectral_postfilter`` says whether the decoder runs the
model's spectral postfilter (``codec.spectral_postfilter``) at that rate: on the
development set (``python benchmarks/neural_postfilter.py``, 54 clips) it
lifted ViSQOL at every rate, but at 32 kbit/s it cost 0.025 PESQ-WB and 0.009
DNSMOS, so it is off there. The bitstream stores a mode by its index here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .dsp.framing import FRAME, SAMPLE_RATE


@dataclass(frozen=True)
class Mode:
    kbps: float
    noise_gain: float
    postfilter_strength: float
    spectral_postfilter: bool = True

    @property
    def frame_bits(self) -> int:
        """Bits per 20 ms frame: 160 at 8 kbit/s ... 640 at 32."""
        return round(self.kbps * 1000 * FRAME / SAMPLE_RATE)

    @property
    def frame_bytes(self) -> int:
        return self.frame_bits // 8


MODES = (
    Mode(8.0, noise_gain=0.4, postfilter_strength=0.2),
    Mode(9.6, noise_gain=0.4, postfilter_strength=0.2),
    Mode(13.2, noise_gain=0.4, postfilter_strength=0.1),
    Mode(16.4, noise_gain=0.4, postfilter_strength=0.1),
    Mode(24.4, noise_gain=0.3, postfilter_strength=0.0),
    Mode(32.0, noise_gain=0.3, postfilter_strength=0.0, spectral_postfilter=False),
)
BITRATES = tuple(m.kbps for m in MODES)


def mode_index(kbps: float) -> int:
    """Index of the mode at ``kbps`` (what the header stores); ValueError for any other rate."""
    for i, mode in enumerate(MODES):
        if abs(mode.kbps - float(kbps)) < 1e-6:
            return i
    raise ValueError(f"unsupported bitrate {kbps:g} kbit/s; choose from {', '.join(f'{b:g}' for b in BITRATES)}")


def mode(kbps: float) -> Mode:
    """The mode at ``kbps`` kbit/s."""
    return MODES[mode_index(kbps)]


def one_hot(kbps: float, rows: int) -> np.ndarray:
    """(rows, len(MODES)): 1 in the column of the mode at ``kbps``, 0 elsewhere (how the trained
    postfilters see the bitrate)."""
    out = np.zeros((rows, len(MODES)))
    out[:, mode_index(kbps)] = 1.0
    return out
