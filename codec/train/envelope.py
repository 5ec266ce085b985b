"""The trainable envelope quantizer: torch codebooks around the numpy envelope coder.

``EnvelopeQuantizer`` holds what training changes (the codebooks of the
memoryless and the predictive quantizer, the mean LSF vector and the
predictor) as torch modules and buffers. Everything else is the inference
code of ``codec.coding.envelope``: the sensitivity weights, the searches
(``codec.coding.search``) and the closed-loop step with its stabilization, so
the quantizer is trained on exactly what the decoder reconstructs.
``coder()`` is the numpy ``EnvelopeCoder`` of the current tables (validation
and export go through it); ``entry()`` is its model-file entry.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from ..coding.envelope import EnvelopeCoder, closed_loop_step, sensitivity_weights
from ..dsp import lpc
from ..model import TRAINING_ONLY
from ..quantizers import Quantizer, build


class EnvelopeQuantizer(nn.Module):
    """Trainable codebooks of an envelope coder (LSF vectors (frames, 16) in radians).

    Parameters
    ----------
    quantizer : Quantizer
        Any method from ``codec.quantizers`` with ``dim == 16``; it codes the
        first frame of every packet (and every frame when memoryless).
    predictive : Quantizer, optional
        Codes the prediction residual of the other frames of a packet. Needs
        the same number of codebooks as ``quantizer``.
    packet_frames : int
        Frames per packet; prediction restarts at each packet. 1 = memoryless.
    weighted : bool
        Weight LSF errors by spectral sensitivity (default) or use plain MSE.
    method, bits, options
        How the quantizers were built (kept for the model file).
    """

    def __init__(self, quantizer: Quantizer, *, predictive: Quantizer | None = None, packet_frames: int = 1,
                 weighted: bool = True, method: str = "", bits: int = 16, options: dict | None = None):
        super().__init__()
        if packet_frames < 1:
            raise ValueError(f"packet_frames must be >= 1, got {packet_frames}")
        if packet_frames > 1 and (predictive is None or predictive.num_codebooks != quantizer.num_codebooks):
            raise ValueError("packets of more than one frame need a predictive quantizer of the same shape")
        self.quantizer = quantizer
        self.predictive = predictive
        self.packet_frames = packet_frames
        self.weighted = weighted
        self.method, self.bits, self.options = method or quantizer.method, bits, dict(options or {})
        self.register_buffer("mean", torch.zeros(quantizer.dim))
        self.register_buffer("rho", torch.zeros(quantizer.dim))

    def weights(self, lsf: Tensor) -> Tensor | None:
        """Sensitivity weights of the data ``lsf`` (no gradient), or None when unweighted."""
        return torch.from_numpy(sensitivity_weights(lsf.detach().cpu().numpy())).to(lsf) if self.weighted else None

    @torch.no_grad()
    def fit_mean(self, lsf: Tensor) -> None:
        """Mean LSF vector and, for predictive coding, the per-LSF first-order predictor."""
        self.mean.copy_(lsf.mean(0))
        if self.predictive is not None and len(lsf) > 1:
            x = lsf - self.mean
            self.rho.copy_((x[1:] * x[:-1]).sum(0) / (x[:-1] ** 2).sum(0).clamp_min(1e-12))

    @property
    def quantizers(self) -> list[Quantizer]:
        """The memoryless quantizer, then the predictive one if any."""
        return [q for q in (self.quantizer, self.predictive) if q is not None]

    def open_loop_targets(self, lsf: Tensor) -> list[Tensor]:
        """What each quantizer codes for consecutive frames ``lsf`` (frames, 16), taking
        the true previous frame as the predictor's state (for initialization)."""
        x = lsf - self.mean
        return [x, x[1:] - self.rho * x[:-1]][: len(self.quantizers)]

    @torch.no_grad()
    def kmeans_init(self, lsf: Tensor) -> None:
        """Fit the mean (and predictor), then k-means-initialize every quantizer on its targets."""
        self.fit_mean(lsf)
        for q, targets in zip(self.quantizers, self.open_loop_targets(lsf)):
            q.kmeans_init(targets)

    def stage(self, t: int) -> Quantizer:
        """The quantizer for frame ``t`` of a packet."""
        return self.quantizer if t == 0 else self.predictive

    def prediction(self, t: int, previous: Tensor | None) -> Tensor | float:
        """Prediction of frame ``t`` of a packet from the previous decoded (mean-removed) frame."""
        return 0.0 if t == 0 else self.rho * previous

    def next_state(self, hard: Tensor, prediction: Tensor | float) -> Tensor:
        """The decoder's closed-loop step (``codec.coding.envelope.closed_loop_step``, stabilization
        included) on a batch of hard-decoded residuals: the next frame's predictor state, no gradient."""
        as_numpy = (lambda t: t.detach().cpu().numpy().astype(np.float32))
        state = closed_loop_step(as_numpy(hard), prediction if isinstance(prediction, float) else as_numpy(prediction),
                                 as_numpy(self.mean))
        return torch.from_numpy(state).to(hard)

    def entry(self) -> dict:
        """This quantizer's model-file entry: configuration and arrays (``codec.model``)."""
        state = {k: v.detach().cpu().numpy().copy() for k, v in self.state_dict().items()
                 if not k.endswith(TRAINING_ONLY)}
        return {"method": self.method, "bits": self.bits, "options": self.options, "weighted": self.weighted,
                "packet_frames": self.packet_frames, "state": state}

    def coder(self) -> EnvelopeCoder:
        """The numpy envelope coder of the current tables: exactly what encoder and decoder run."""
        entry = self.entry()
        return EnvelopeCoder.from_state(entry, entry["state"])

    def extra_repr(self) -> str:
        return f"weighted={self.weighted}, packet_frames={self.packet_frames}"


def make_envelope(method: str, bits: int, options: dict | None = None, *, packet_frames: int = 1,
                  weighted: bool = True, **quantizer_kwargs) -> EnvelopeQuantizer:
    """An envelope quantizer of ``method`` at ``bits`` per frame (two quantizers when predictive)."""
    def make():
        return build(method, 16, bits, **(options or {}), **quantizer_kwargs)

    return EnvelopeQuantizer(make(), predictive=make() if packet_frames > 1 else None, packet_frames=packet_frames,
                             weighted=weighted, method=method, bits=bits, options=options)


def spectral_distortion_stats(lsf: np.ndarray, lsf_hat: np.ndarray) -> dict[str, float]:
    """Mean SD (dB) and the shares of frames with 2-4 dB and above 4 dB (percent)."""
    sd = lpc.spectral_distortion(lpc.lsf_to_lpc(lsf), lpc.lsf_to_lpc(lsf_hat))
    return {"sd_mean": float(sd.mean()), "pct_2_4": float(100 * np.mean((sd > 2) & (sd <= 4))),
            "pct_over_4": float(100 * np.mean(sd > 4))}
