"""The envelope quantizer: a 16-bit quantizer applied to mean-removed, sensitivity-weighted LSFs.

``EnvelopeQuantizer`` wraps any ``codec.quantizers`` method:

- it subtracts the training set's mean LSF vector (a fixed predictor that
  every method profits from);
- it weights each LSF error by the spectral sensitivity of that LSF
  (``sensitivity_weights``), in the search and, through weighted noise
  substitution, in training, so the trained codebooks minimize an error that
  tracks spectral distortion rather than raw LSF MSE;
- decoded LSFs are made stable (ordered, 50 Hz apart).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from . import lpc
from .quantizers import Quantizer


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
        Any method from ``codec.quantizers`` with ``dim == 16``.
    weighted : bool
        Weight LSF errors by spectral sensitivity (default) or use plain MSE.
    """

    def __init__(self, quantizer: Quantizer, *, weighted: bool = True):
        super().__init__()
        self.quantizer = quantizer
        self.weighted = weighted
        self.register_buffer("mean", torch.zeros(quantizer.dim))

    def weights(self, lsf: Tensor) -> Tensor | None:
        return sensitivity_weights(lsf) if self.weighted else None

    @torch.no_grad()
    def fit_mean(self, lsf: Tensor) -> None:
        self.mean.copy_(lsf.mean(0))

    def encode(self, lsf: Tensor) -> Tensor:
        """LSFs (frames, 16), radians -> LongTensor (frames, M)."""
        lsf = lsf.to(self.mean.dtype)
        return self.quantizer.encode(lsf - self.mean, self.weights(lsf))

    def decode(self, codes: Tensor) -> Tensor:
        """Codes (frames, M) -> stable LSFs (frames, 16) in radians."""
        with torch.no_grad():
            raw = self.quantizer.decode(codes) + self.mean
        return torch.from_numpy(lpc.stabilize(raw.double().cpu().numpy())).to(raw)

    def extra_repr(self) -> str:
        return f"weighted={self.weighted}"


def spectral_distortion_stats(lsf: np.ndarray, lsf_hat: np.ndarray) -> dict[str, float]:
    """Mean SD (dB) and the shares of frames with 2-4 dB and above 4 dB (percent)."""
    sd = lpc.spectral_distortion(lpc.lsf_to_lpc(lsf), lpc.lsf_to_lpc(lsf_hat))
    return {"sd_mean": float(sd.mean()), "pct_2_4": float(100 * np.mean((sd > 2) & (sd <= 4))),
            "pct_over_4": float(100 * np.mean(sd > 4))}
