"""Training the decoder's spectral postfilter (``codec.spectral_postfilter``) with Lightning.

    vqcodec train spectral fit --config recipes/spectral.yaml
    vqcodec train spectral export runs/spectral --model codec/pretrained/default.npz --out model.npz

Pairs come from a prepared corpus (``vqcodec prepare``): its files of a split,
joined with 0.1 s pauses, coded at every bitrate by the model the postfilter
will serve and decoded with a recorder in the spectral stage's place, which
keeps, per frame, the decoder's features and the energy of each band's coded
and zeroed coefficients; the original's MDCT (the encoder's analysis) gives
the band energies to match (``pairs``, cached as one ``.npz`` per rate and
split). The gains act on those two energies only, so training needs no
spectra: a training item is one frame with the frame before it.

The loss is the squared difference of log band energies (log10, floored 40 dB
under the frame's mean band) with too much energy weighted OVERSHOOT times too
little: a symmetric one lifted ViSQOL but cost PESQ-WB (-0.16 at 8 kbit/s against
no postfilter in a prototype), since added noise is what PESQ punishes; with
OVERSHOOT 10 both gain (``docs/training.md`` has the choice). ``SpectralNet``
computes the decoder's gains (``tests/train/test_spectral_postfilter_training.py``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from .. import spectral_postfilter as sp
from ..dsp import framing, mdct
from ..modes import BITRATES
from .pairs import PairsData, PairsModule, TanhNet, corpus_speech, missing_rates

log = logging.getLogger(__name__)

OVERSHOOT = 10.0                          # the loss's weight on too much energy against too little
ARRAYS = ("features", "coded", "zeroed", "original")


class _Recorder:
    """Stands in for the spectral postfilter while decoding: keeps what it would see, changes nothing."""

    def __init__(self, bitrate: float):
        self.bitrate, self.parts = bitrate, {name: [] for name in ARRAYS[:3]}

    def __call__(self, spectra: np.ndarray, info: sp.FrameInfo) -> np.ndarray:
        energy = spectra * spectra
        self.parts["features"].append(sp.features(spectra, info, self.bitrate))
        self.parts["coded"].append(sp.band_sums(np.where(info.zeroed, 0.0, energy)))
        self.parts["zeroed"].append(sp.band_sums(np.where(info.zeroed, energy, 0.0)))
        return spectra


def original_energies(x: np.ndarray, frames: int) -> np.ndarray:
    """Band energies (frames, BANDS) of the MDCT of ``x`` as the encoder frames it."""
    lo, hi = framing.analysis_span(0, frames)
    spectra = mdct.mdct(framing.blocks(framing.segment(x, lo, hi), framing.MDCT_WINDOW, frames))
    return sp.band_sums(spectra * spectra)


def pairs(corpus: Path, split: str, out: Path, *, files: int, model: str | None = None, seed: int = 0) -> None:
    """Per-frame features and band energies of ``files`` random files of ``split``, decoded at every
    bitrate, written to ``out/{split}_{rate}.npz`` (skipped where they exist)."""
    from ..io.atomic import atomic_write
    from ..speech_codec import SpeechCodec

    out.mkdir(parents=True, exist_ok=True)
    todo = missing_rates(out, split)
    if not todo:
        return
    clean = corpus_speech(corpus, split, files=files, seed=seed)
    codec = SpeechCodec.load(model)
    for rate in todo:
        recorder = _Recorder(rate)
        for _ in codec.open_stream(codec.encode(clean, 16000, bitrate=rate), postfilter=False,
                                   spectral=recorder).blocks:
            pass
        arrays = {name: np.concatenate(parts) for name, parts in recorder.parts.items()}
        arrays["original"] = original_energies(clean, len(arrays["features"]))
        with atomic_write(out / f"{split}_{rate:g}.npz") as partial, open(partial, "wb") as handle:
            np.savez(handle, **{k: v.astype(np.float32) for k, v in arrays.items()})
        log.info("pairs: %s at %g kbit/s, %d frames", split, rate, len(arrays["features"]))


class SpectralNet(TanhNet):
    """``codec.spectral_postfilter``'s network in torch: log gains from stacked features, all 0 dB
    at the start."""

    def __init__(self, hidden: int = 128):
        super().__init__(sp.CONTEXT * sp.FEATURES, hidden, sp.OUTPUTS)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, CONTEXT * FEATURES) -> log amplitude gains (B, OUTPUTS), as ``sp.log_gains``."""
        return sp.GAIN_LIMIT * torch.tanh(self.raw(inputs))


def band_loss(gains: torch.Tensor, coded: torch.Tensor, zeroed: torch.Tensor, original: torch.Tensor,
              overshoot: float = OVERSHOOT) -> torch.Tensor:
    """Asymmetric squared log10 band-energy error of the decoded bands, their zeroed coefficients'
    energy scaled by the gains (B, BANDS each)."""
    filtered = coded + torch.exp(2 * gains) * zeroed
    floor = 1e-4 * original.mean(dim=1, keepdim=True) + 1e-12
    error = torch.log10(filtered + floor) - torch.log10(original + floor)
    return torch.mean(error ** 2 * torch.where(error > 0, overshoot, 1.0))


class SpectralData(PairsData):
    """Frames (with the frame before) of decoded and original band energies at every bitrate.

    Parameters as ``codec.train.pairs.PairsData``'s; an item is one frame.
    """

    def __init__(self, corpus: str = "data/wide", pairs_dir: str = "data/spectral", model: str | None = None,
                 train_files: int = 800, valid_files: int = 200, batch_size: int = 512, seed: int = 0):
        super().__init__()
        self.save_hyperparameters()
        self.tensors: dict[str, tuple[torch.Tensor, ...]] = {}

    make_pairs = pairs

    def setup(self, stage: str | None = None) -> None:
        for split in ("train", "valid"):
            if split in self.tensors:
                continue
            parts = {name: [] for name in ("inputs", *ARRAYS[1:])}
            for rate in BITRATES:
                with np.load(Path(self.hparams.pairs_dir) / f"{split}_{rate:g}.npz") as a:
                    parts["inputs"].append(sp.stacked(a["features"], np.zeros((sp.CONTEXT - 1, sp.FEATURES))))
                    for name in ARRAYS[1:]:
                        parts[name].append(a[name])
            arrays = {name: np.concatenate(p) for name, p in parts.items()}
            # Frames with speech or noise in the original: digital silence says nothing of gains.
            keep = arrays["original"].sum(axis=1) > 1e-6
            self.tensors[split] = tuple(torch.as_tensor(arrays[name][keep], dtype=torch.float32)
                                        for name in ("inputs", *ARRAYS[1:]))

    def train_items(self) -> torch.Tensor:
        return torch.arange(len(self.tensors["train"][0]))

    def val_dataloader(self) -> DataLoader:
        return DataLoader(TensorDataset(torch.arange(len(self.tensors["valid"][0]))),
                          batch_size=8 * self.hparams.batch_size)

    def batch(self, split: str, index: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Inputs, coded, zeroed and original band energies of frames ``index``."""
        return tuple(t[index] for t in self.tensors[split])


class SpectralModule(PairsModule):
    """Train ``SpectralNet`` on ``SpectralData``: parameters as ``codec.train.pairs.PairsModule``'s, and

    Parameters
    ----------
    overshoot : float
        The loss's weight on too much energy against too little (``band_loss``).
    """

    def __init__(self, hidden: int = 128, lr: float = 1e-3, overshoot: float = OVERSHOOT):
        super().__init__()
        self.save_hyperparameters()
        self.net = SpectralNet(hidden)

    def losses(self, index: torch.Tensor, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        inputs, coded, zeroed, original = self.trainer.datamodule.batch(split, index)
        gains = self.net(inputs)
        overshoot = self.hparams.overshoot
        return (band_loss(gains, coded, zeroed, original, overshoot),
                band_loss(torch.zeros_like(gains), coded, zeroed, original, overshoot))
