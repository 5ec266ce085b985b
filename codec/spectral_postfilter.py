"""The spectral postfilter: a small trained network that sets the noise filling's level band by band.

The decoder's spectra miss energy where it counts and hold noise where it does
not: noise filling replaces the zeroed coefficients at a level the bitstream
gives only per frame (and per second and band), shaped by a guess from the
envelope. Given the original, scaling each band of 8 ms of decoded speech to
the original's energy would raise PESQ-WB by 0.37 and ViSQOL by 0.30 at 8
kbit/s (``benchmarks/postfilter_ceiling.py``). This stage estimates such
gains from what the decoder knows, per 20 ms frame, before synthesis (so it
adds no delay and leaves the time-domain postfilters after it to do their
part). Per frame it computes FEATURES:

    the log energy of each of BANDS bands of the decoded spectrum, relative to the frame's,
    the share of each band's coefficients that were zeroed (noise-filled above 800 Hz),
    the decoded LSFs, the gain, silence and noise-level indices, the packet's noise-band
    corrections (codec.coding.noise_filling), the bitrate (one-hot) and the frame's log energy,

and from this frame's and the previous frame's features a two-layer tanh
network gives a gain per band, within +-GAIN_LIMIT_DB, for the band's zeroed
coefficients (the noise filling's); coded coefficients pass unchanged. (Gains
on them too, in a first version, took a steady sine from 45 to 27 dB SNR and
DTMF to 18 dB: a tone's band energy in the MDCT wavers from frame to frame,
and so did its gain.) Trained by
``codec.train.spectral_postfilter`` to match the original's band energies
with a loss that weighs too much energy several times more than too little
(PESQ-WB punishes added noise far more than missing energy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .coding import noise_filling, spectrum
from .dsp.mdct import COEFFICIENTS
from .modes import BITRATES, one_hot
from .tanh_network import TanhNetwork

# Bands: 0-125 Hz, then 20 bands spaced evenly in log frequency up to 8 kHz (MDCT bins of 25 Hz).
BAND_EDGES = np.concatenate([[0], np.unique(np.round(np.geomspace(5, COEFFICIENTS, 21)).astype(int))])
BANDS = len(BAND_EDGES) - 1
BAND_OF_BIN = np.repeat(np.arange(BANDS), np.diff(BAND_EDGES))
CONTEXT = 2                            # frames the network sees: this one and the one before
FEATURES = 2 * BANDS + 16 + 3 + (len(noise_filling.NOISE_BANDS) - 1) + len(BITRATES) + 1
OUTPUTS = BANDS                        # a gain for each band's zeroed coefficients
GAIN_LIMIT_DB = 10.0
GAIN_LIMIT = GAIN_LIMIT_DB / 20 * np.log(10)   # the same in natural log amplitude
_ENERGY_FLOOR = 1e-9


@dataclass(frozen=True)
class FrameInfo:
    """What the decoder knows of each frame besides its spectrum (frames first in every array)."""

    lsf: np.ndarray        # (frames, 16) decoded (or concealed) LSFs, radians
    gain: np.ndarray       # (frames,) gain indices (spectrum.SILENT: nothing coded)
    noise: np.ndarray      # (frames,) noise-level indices
    bands: np.ndarray      # (frames, noise bands) noise-band correction indices
    zeroed: np.ndarray     # (frames, COEFFICIENTS) bool: the coefficient was coded as zero


class SpectralWeights(TanhNetwork):
    """The network's arrays (``codec.tanh_network``): CONTEXT frames of FEATURES in, OUTPUTS out."""

    INPUTS = CONTEXT * FEATURES
    OUTPUTS = OUTPUTS
    LABEL = "spectral postfilter"


def band_sums(values: np.ndarray) -> np.ndarray:
    """Sums over each band of (..., COEFFICIENTS) values: (..., BANDS)."""
    return np.add.reduceat(values, BAND_EDGES[:-1], axis=-1)


def features(spectra: np.ndarray, info: FrameInfo, bitrate: float) -> np.ndarray:
    """Per-frame features (frames, FEATURES) of decoded spectra (frames, COEFFICIENTS)."""
    band_log = np.log10(band_sums(spectra * spectra) + _ENERGY_FLOOR)
    total = np.log10(np.sum(spectra * spectra, axis=-1) + _ENERGY_FLOOR)
    zeroed = band_sums(info.zeroed.astype(np.float64)) / np.diff(BAND_EDGES)
    silent = info.gain == spectrum.SILENT
    # Centred and scaled to about +-1 (the network's first layer takes them as they are).
    return np.concatenate([
        (band_log - total[:, None]) / 3, zeroed, info.lsf / np.pi - 0.5,
        np.where(silent, 0.0, (info.gain - spectrum.GAIN_ZERO) / 32)[:, None], silent[:, None],
        info.noise[:, None] / 2 ** noise_filling.NOISE_BITS,
        (info.bands - noise_filling.BAND_ZERO) / 10, one_hot(bitrate, len(spectra)),
        ((total - 2) / 3)[:, None]], axis=1)


def stacked(found: np.ndarray, before: np.ndarray) -> np.ndarray:
    """Network inputs (frames, CONTEXT * FEATURES): each frame's features, then the previous frames'
    (``before``: the CONTEXT - 1 frames before the first)."""
    full = np.concatenate([before, found])
    frames = len(found)
    return np.concatenate([full[CONTEXT - 1 - i:CONTEXT - 1 - i + frames] for i in range(CONTEXT)], axis=1)


def log_gains(weights: SpectralWeights, inputs: np.ndarray) -> np.ndarray:
    """Log amplitude gains (frames, OUTPUTS), within +-GAIN_LIMIT_DB."""
    return GAIN_LIMIT * np.tanh(weights(inputs))


def bin_gains(gains: np.ndarray, zeroed: np.ndarray) -> np.ndarray:
    """Per-coefficient amplitude factors (frames, COEFFICIENTS) from log gains (frames, OUTPUTS):
    each zeroed coefficient takes its band's, a coded one 1."""
    return np.where(zeroed, np.exp(gains[:, BAND_OF_BIN]), 1.0)


class SpectralPostfilter:
    """The spectral postfilter of one decoded stream (it keeps the last frame's features between chunks).

    Parameters
    ----------
    weights : SpectralWeights
        The model's trained network.
    bitrate : float
        The stream's mode (one of ``codec.modes.BITRATES``).
    """

    def __init__(self, weights: SpectralWeights, bitrate: float):
        self.weights, self.bitrate = weights, float(bitrate)
        self.before = np.zeros((CONTEXT - 1, FEATURES))

    def __call__(self, spectra: np.ndarray, info: FrameInfo) -> np.ndarray:
        """The spectra (frames, COEFFICIENTS), each band's zeroed coefficients scaled by its gain."""
        if not len(spectra):
            return spectra
        found = features(spectra, info, self.bitrate)
        inputs = stacked(found, self.before)
        self.before = np.concatenate([self.before, found])[-(CONTEXT - 1):]
        return spectra * bin_gains(log_gains(self.weights, inputs), info.zeroed)
