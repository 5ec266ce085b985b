"""The envelope quantizer: a 16-bit quantizer applied to mean-removed, sensitivity-weighted LSFs.

``EnvelopeQuantizer`` wraps any ``codec.quantizers`` method:

- it subtracts the training set's mean LSF vector (a fixed predictor that
  every method profits from);
- it weights each LSF error by the spectral sensitivity of that LSF
  (``sensitivity_weights``), in the search and, through weighted noise
  substitution, in training, so the trained codebooks minimize an error that
  tracks spectral distortion rather than raw LSF MSE;
- decoded LSFs are made stable (ordered, 50 Hz apart);
- optionally it predicts each frame from the previous decoded one
  (closed-loop, per-LSF coefficients rho) and quantizes only the residual
  with a second quantizer, restarting without memory every
  ``packet_frames`` frames so that packets stay independent: a lost packet
  never corrupts the envelope of the next one.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from . import lpc
from .quantizers import Quantizer, build


def sensitivity_weights(lsf: Tensor) -> Tensor:
    """Laroia et al.'s inverse-harmonic-mean weights 1/(w_i - w_{i-1}) + 1/(w_{i+1} - w_i).

    Closely spaced LSFs mark spectral peaks, where an LSF error changes the log
    spectrum most, so they get larger weights. Normalized to mean 1 per vector.

    Parameters
    ----------
    lsf : Tensor, shape (..., p), radians, ascending

    Returns
    -------
    Tensor, shape (..., p)
    """
    edges = torch.cat([torch.zeros_like(lsf[..., :1]), lsf, torch.full_like(lsf[..., :1], torch.pi)], -1)
    gaps = edges.diff(dim=-1).clamp_min(1e-3)
    w = 1.0 / gaps[..., :-1] + 1.0 / gaps[..., 1:]
    return w / w.mean(-1, keepdim=True)


class EnvelopeQuantizer(nn.Module):
    """Quantize LSF vectors (frames, 16) in radians to codes (frames, M) and back.

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
    """

    def __init__(self, quantizer: Quantizer, *, predictive: Quantizer | None = None, packet_frames: int = 1,
                 weighted: bool = True):
        super().__init__()
        if packet_frames < 1:
            raise ValueError(f"packet_frames must be >= 1, got {packet_frames}")
        if packet_frames > 1 and (predictive is None or predictive.num_codebooks != quantizer.num_codebooks):
            raise ValueError("packets of more than one frame need a predictive quantizer of the same shape")
        self.quantizer = quantizer
        self.predictive = predictive
        self.packet_frames = packet_frames
        self.weighted = weighted
        self.register_buffer("mean", torch.zeros(quantizer.dim))
        self.register_buffer("rho", torch.zeros(quantizer.dim))

    def weights(self, lsf: Tensor) -> Tensor | None:
        return sensitivity_weights(lsf) if self.weighted else None

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

    def encode(self, lsf: Tensor) -> Tensor:
        """LSFs (frames, 16), radians -> LongTensor (frames, M)."""
        packets, frames = self._packets(lsf.to(self.mean.dtype) - self.mean)
        codes, previous = [], None
        for t in range(packets.shape[1]):
            target = packets[:, t]
            prediction = self.prediction(t, previous)
            codes.append(self.stage(t).encode(target - prediction, self.weights(target + self.mean)))
            previous = self._reconstruct(t, codes[-1], prediction)
        return torch.stack(codes, 1).reshape(-1, codes[0].shape[-1])[:frames]

    def decode(self, codes: Tensor) -> Tensor:
        """Codes (frames, M) -> stable LSFs (frames, 16) in radians."""
        with torch.no_grad():
            packets, frames = self._packets(codes)
            decoded, previous = [], None
            for t in range(packets.shape[1]):
                previous = self._reconstruct(t, packets[:, t], self.prediction(t, previous))
                decoded.append(previous)
            return (torch.stack(decoded, 1).reshape(-1, self.mean.shape[0]) + self.mean)[:frames]

    def _reconstruct(self, t: int, codes: Tensor, prediction: Tensor | float) -> Tensor:
        """Decoded, stabilized, mean-removed frame ``t`` of each packet."""
        with torch.no_grad():
            raw = self.stage(t).decode(codes) + prediction + self.mean
            stable = torch.from_numpy(lpc.stabilize(raw.double().cpu().numpy())).to(raw)
        return stable - self.mean

    def _packets(self, frames: Tensor) -> tuple[Tensor, int]:
        """(frames, C) -> (packets, packet_frames, C), the last packet padded by repeating its last row."""
        n, p = frames.shape[0], self.packet_frames
        pad = -n % p
        if pad:
            frames = torch.cat([frames, frames[-1:].expand(pad, -1)])
        return frames.reshape(-1, p, frames.shape[-1]), n

    def extra_repr(self) -> str:
        return f"weighted={self.weighted}, packet_frames={self.packet_frames}"


def make_envelope(method: str, bits: int, options: dict | None = None, *, packet_frames: int = 1,
                  weighted: bool = True, **quantizer_kwargs) -> EnvelopeQuantizer:
    """An envelope quantizer of ``method`` at ``bits`` per frame (two quantizers when predictive)."""
    def make():
        return build(method, 16, bits, **(options or {}), **quantizer_kwargs)

    return EnvelopeQuantizer(make(), predictive=make() if packet_frames > 1 else None,
                             packet_frames=packet_frames, weighted=weighted)


def spectral_distortion_stats(lsf: np.ndarray, lsf_hat: np.ndarray) -> dict[str, float]:
    """Mean SD (dB) and the shares of frames with 2-4 dB and above 4 dB (percent)."""
    sd = lpc.spectral_distortion(lpc.lsf_to_lpc(lsf), lpc.lsf_to_lpc(lsf_hat))
    return {"sd_mean": float(sd.mean()), "pct_2_4": float(100 * np.mean((sd > 2) & (sd <= 4))),
            "pct_over_4": float(100 * np.mean(sd > 4))}
