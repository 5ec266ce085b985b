"""Concealment of frames whose packet was lost or failed its checksum.

A lost frame repeats the envelope of the last good frame, and its spectrum,
faded by CONCEAL_FADE per lost frame and with random signs (so a long loss
fades to silence instead of buzzing). Before any good frame the envelope is
flat and the spectrum silent. The state carries across chunks, so concealment
does not depend on where a long file was cut.
"""

from __future__ import annotations

import numpy as np

from .coding.noise_filling import random_signs
from .dsp import lsf as lsf_ops
from .dsp.lpc import ORDER

CONCEAL_FADE = 0.7                # per lost frame, on the repeated spectrum
_SIGN_SEED = 7919                 # concealment signs differ from the noise filling's at the same frame


def last_good_index(good: np.ndarray) -> np.ndarray:
    """Index of the latest good frame at or before each frame, -1 if none."""
    return np.maximum.accumulate(np.where(good, np.arange(len(good)), -1))


class Concealment:
    """What concealment remembers from one chunk to the next: the last good envelope and spectrum."""

    def __init__(self):
        self.lsf = None            # last good frame's LSFs
        self.spectrum = None       # last good frame's spectrum
        self.lost = 0              # frames lost since then

    def envelope(self, lsf: np.ndarray, good: np.ndarray) -> np.ndarray:
        """Decoded LSFs (frames, 16) with every lost frame's replaced by the last good frame's."""
        last = last_good_index(good)
        out = lsf.copy()
        have = last >= 0
        out[have] = lsf[last[have]]
        if self.lsf is not None:
            out[~have] = self.lsf
        else:
            out[~have] = lsf_ops.lpc_to_lsf(np.eye(1, ORDER + 1))[0]  # flat envelope before any good frame
        if good.any():
            self.lsf = lsf[np.flatnonzero(good)[-1]]
        return out

    def spectra(self, spectra: np.ndarray, good: np.ndarray, frame_ids: np.ndarray) -> np.ndarray:
        """Decoded spectra (frames, 320) with every lost frame's replaced by the faded repetition."""
        if good.all():
            self.spectrum, self.lost = spectra[-1], 0
            return spectra
        last = last_good_index(good)
        position = np.arange(len(good))
        source = np.where(last[:, None] >= 0, spectra[np.maximum(last, 0)],
                          self.spectrum if self.spectrum is not None else 0.0)
        distance = np.where(last >= 0, position - last, position + 1 + self.lost)
        concealed = (source * (CONCEAL_FADE ** distance)[:, None]
                     * random_signs(frame_ids + _SIGN_SEED, spectra.shape[1]))
        out = np.where(good[:, None], spectra, concealed)
        if good.any():
            self.spectrum, self.lost = spectra[np.flatnonzero(good)[-1]], int(distance[-1]) if not good[-1] else 0
        else:
            self.lost += len(good)
        return out
