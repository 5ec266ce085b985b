"""The trained postfilter: per 5 ms, a pitch comb, a 16-tap FIR and a gain that a small network sets.

In the spirit of Opus 1.5's LACE: the network does not make samples, it steers
classical filters, so it cannot invent speech and costs little. Per 20 ms
block of decoded samples ``x`` (what the decoder outputs; the bitstream does
not change) it computes features from what the decoder knows:

    the block's LPC envelope as 16 LSFs (a 25 ms window ending at the block's end),
    its log energy, the pitch lag and voicing of ``codec.postfilter.pitch``,
    the bitrate (one-hot over the six modes),

and from the features of this block and the two before (causal) a
two-layer tanh network gives, for each of the block's four 5 ms subframes, a
comb gain g in [0, 0.9], a log gain gamma in [-0.5, 0.5] and FIR taps
a = e_0 + 0.5 tanh(.) (16 taps). Per sample, with the parameters interpolated
linearly from the previous subframe's (no switching clicks):

    c[n]  = sum_j TAPS[j] x[n - T + 1 - j]          (T: the block's pitch lag; over the first
                                                     5 ms, faded in from the previous block's)
    y1[n] = (x[n] + g c[n]) / (1 + g)               (a harmonic keeps its level)
    y[n]  = exp(gamma) sum_k a_k y1[n - k]

``codec.train.postfilter`` trains the same computation in torch on pairs of
decoded and clean speech (``recipes/postfilter.yaml``); the weights live in
the model file. Causal, no delay, chunk-invariant (to rounding): it keeps its history
between calls like ``codec.postfilter.PitchPostfilter``, which it replaces
when a model has weights.
"""

from __future__ import annotations

import numpy as np

from .dsp import lpc
from .dsp.framing import FRAME
from .modes import BITRATES, one_hot
from .postfilter import LAG_MAX, LAG_MIN, TAPS, apply_taps, pitch
from .tanh_network import TanhNetwork

SUBFRAME = 80                          # 5 ms: the network's control rate
SUBFRAMES = FRAME // SUBFRAME
FIR_TAPS = 16
CONTEXT = 3                            # blocks the network sees: this one and the two before
CONTROLS = 2 + FIR_TAPS                # per subframe: comb gain, log gain, FIR taps
COMB_MAX, GAIN_RANGE, TAP_RANGE, COMB_START = 0.9, 0.5, 0.5, -3.0
ENVELOPE_SPAN = 400                    # samples of the LPC window, ending at the block's end
HISTORY = 2 * LAG_MAX + 8              # past samples kept: the comb and the LPC window reach back
FEATURES = 16 + 3 + len(BITRATES)      # LSFs, energy, lag, voicing, bitrate
_WINDOW = np.hanning(ENVELOPE_SPAN + 2)[1:-1]
RAMP = (np.arange(SUBFRAME) + 0.5) / SUBFRAME                  # interpolation weights within a subframe
_LAG_FADE = np.minimum((np.arange(FRAME) + 0.5) / SUBFRAME, 1.0)


class PostfilterWeights(TanhNetwork):
    """The network's arrays (``codec.tanh_network``): CONTEXT blocks of FEATURES in, per subframe
    CONTROLS out."""

    INPUTS = CONTEXT * FEATURES
    OUTPUTS = SUBFRAMES * CONTROLS
    LABEL = "postfilter"


def features(x: np.ndarray, blocks: int, bitrate: float) -> tuple[np.ndarray, np.ndarray]:
    """Features (blocks, FEATURES) and pitch lags (blocks,) of the last ``blocks`` blocks of ``x``,
    which holds HISTORY samples before them."""
    lag, voicing = pitch(x[HISTORY - LAG_MAX:], blocks)
    ends = HISTORY + FRAME * np.arange(1, blocks + 1)
    spans = np.lib.stride_tricks.sliding_window_view(x, ENVELOPE_SPAN + 1)[ends - ENVELOPE_SPAN - 1]
    emphasized = spans[:, 1:] - lpc.PREEMPHASIS * spans[:, :-1]
    lsf = lpc.lpc_to_lsf(lpc.analyze_frames(emphasized * _WINDOW)) / np.pi
    energy = np.mean(x[HISTORY:].reshape(blocks, FRAME) ** 2, axis=1)
    # Centred and scaled to about +-1 (the network's first layer takes them as they are).
    return np.concatenate([lsf - 0.5, ((10 * np.log10(energy + 1e-10) + 40) / 20)[:, None],
                           ((lag - 160) / 130)[:, None], voicing[:, None], one_hot(bitrate, blocks)],
                          axis=1), lag


def network(weights: PostfilterWeights, context: np.ndarray) -> np.ndarray:
    """Raw controls (blocks, SUBFRAMES, CONTROLS) from features (blocks + CONTEXT - 1, FEATURES)."""
    blocks = len(context) - CONTEXT + 1
    stacked = np.concatenate([context[i:i + blocks] for i in range(CONTEXT)], axis=1)
    return weights(stacked).reshape(blocks, SUBFRAMES, CONTROLS)


def controls(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Comb gains, log gains and FIR taps from raw controls (..., CONTROLS)."""
    comb = COMB_MAX / (1 + np.exp(-raw[..., 0]))
    gain = GAIN_RANGE * np.tanh(raw[..., 1])
    taps = TAP_RANGE * np.tanh(raw[..., 2:])
    taps[..., 0] += 1.0
    return comb, gain, taps


def _per_sample(values: np.ndarray, previous: float) -> np.ndarray:
    """(subframes,) -> (subframes * SUBFRAME,): from the previous subframe's value to each one's."""
    full = np.concatenate([[previous], values])
    return (full[:-1, None] * (1 - RAMP) + full[1:, None] * RAMP).ravel()


class NeuralPostfilter:
    """The trained postfilter of one decoded stream (it keeps its history between chunks).

    Parameters
    ----------
    weights : PostfilterWeights
        The model's trained network.
    bitrate : float
        The stream's mode (one of ``codec.modes.BITRATES``).
    """

    def __init__(self, weights: PostfilterWeights, bitrate: float):
        self.weights, self.bitrate = weights, float(bitrate)
        self.history = np.zeros(HISTORY)
        self.context = np.zeros((CONTEXT - 1, FEATURES))
        self.lag = LAG_MIN
        self.last = (np.zeros(()), np.zeros(()), np.eye(1, FIR_TAPS)[0])   # the identity filter
        self.filtered = np.zeros(FIR_TAPS - 1)                             # y1's last samples

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        """Filtered samples; ``samples`` is a whole number of FRAME blocks (a decoded chunk)."""
        if not len(samples):
            return samples
        blocks = len(samples) // FRAME
        x = np.concatenate([self.history, samples])
        found, lag = features(x, blocks, self.bitrate)
        context = np.concatenate([self.context, found])
        comb, gain, taps = controls(network(self.weights, context).reshape(blocks * SUBFRAMES, CONTROLS))
        g = _per_sample(comb, self.last[0])
        # The comb c[n] = sum_j TAPS[j] x[n - T + 1 - j], at this block's lag and the previous block's:
        # ``once[k]`` holds the taps ending at x[k + 2], so c[n] = once[n - T - 1].
        once = apply_taps(x, TAPS)
        at = HISTORY - 1 + np.arange(blocks * FRAME)
        fade = np.tile(_LAG_FADE, blocks)
        c = (fade * once[at - np.repeat(lag, FRAME)]
             + (1 - fade) * once[at - np.repeat(np.concatenate([[self.lag], lag[:-1]]), FRAME)])
        y1 = (x[HISTORY:] + g * c) / (1 + g)
        # past[s, m, k] = y1[s SUBFRAME + m - k]. The taps move linearly from the previous subframe's
        # to each subframe's, so each sample is that blend of the two filters' outputs (which
        # spares a (samples, FIR_TAPS) array of interpolated taps).
        past = np.lib.stride_tricks.sliding_window_view(np.concatenate([self.filtered, y1]), FIR_TAPS)[:, ::-1]
        past = past.reshape(blocks * SUBFRAMES, SUBFRAME, FIR_TAPS)
        own = np.einsum("smk,sk->sm", past, taps)
        before = np.einsum("smk,sk->sm", past, np.concatenate([self.last[2][None], taps[:-1]]))
        fir = (before + (own - before) * RAMP).ravel()
        y = np.exp(_per_sample(gain, self.last[1])) * fir
        self.history, self.context, self.lag = x[-HISTORY:], context[-(CONTEXT - 1):], int(lag[-1])
        self.last = (comb[-1], gain[-1], taps[-1])
        self.filtered = y1[-(FIR_TAPS - 1):]
        return y.astype(samples.dtype, copy=False)
