"""Training the decoder's neural postfilter (``codec.neural_postfilter``) with Lightning.

    vqcodec train postfilter fit --config recipes/postfilter.yaml
    vqcodec train postfilter export runs/postfilter --model codec/pretrained/default.npz --out model.npz

Pairs come from a prepared corpus (``vqcodec prepare``): its files of a split,
joined with 0.1 s pauses, coded and decoded at every bitrate by the model the
postfilter will serve, with its pitch postfilter off; the decoder's features
are computed once (``pairs``, cached as one ``.npz`` per rate and split). A
training item is one second of decoded speech with its clean original; the
loss compares their short-time spectra at three resolutions, magnitudes
compressed by the power 0.3 and with their phase (a loss on the log magnitude
alone let the filters trade waveform for spectral shape and lost 0.08 PESQ-WB
on the development set; this one gained). ``PostfilterNet`` computes exactly what the decoder
computes (``tests/train/test_postfilter_training.py`` checks it on the shipped weights).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from .. import neural_postfilter as npf
from ..dsp.framing import FRAME, WINDOW_LEAD
from ..modes import BITRATES
from ..postfilter import TAPS
from .pairs import PairsData, PairsModule, TanhNet, corpus_speech, missing_rates

log = logging.getLogger(__name__)

SEGMENT_BLOCKS = 50                       # one second a training item, after one block of warm-up
RESOLUTIONS = ((1024, 256), (512, 128), (256, 64))
COMPRESSION = 0.3


def pairs(corpus: Path, split: str, out: Path, *, files: int, model: str | None = None, seed: int = 0) -> None:
    """Decoded and clean speech of ``files`` random files of ``split`` at every bitrate, with the
    decoder's features, written to ``out/{split}_{rate}.npz`` (skipped where they exist)."""
    from ..io.atomic import atomic_write
    from ..speech_codec import SpeechCodec

    out.mkdir(parents=True, exist_ok=True)
    todo = missing_rates(out, split)
    if not todo:
        return
    # Blocks as the decoder cuts them: its output starts WINDOW_LEAD samples before the signal.
    clean = np.concatenate([np.zeros(WINDOW_LEAD), corpus_speech(corpus, split, files=files, seed=seed)])
    codec = SpeechCodec.load(model)
    for rate in todo:
        decoded, _ = codec.decode(codec.encode(clean[WINDOW_LEAD:], 16000, bitrate=rate), postfilter=False)
        blocks = len(clean) // FRAME
        x = np.concatenate([np.zeros(npf.HISTORY + WINDOW_LEAD), decoded])[:npf.HISTORY + blocks * FRAME]
        features, lags = npf.features(x, blocks, rate)
        with atomic_write(out / f"{split}_{rate:g}.npz") as partial, open(partial, "wb") as handle:
            np.savez(handle, clean=clean[:blocks * FRAME].astype(np.float32), decoded=x.astype(np.float32),
                     features=features.astype(np.float32), lags=lags)
        log.info("pairs: %s at %g kbit/s, %.1f min", split, rate, blocks * FRAME / 16000 / 60)


class PostfilterNet(TanhNet):
    """``codec.neural_postfilter`` in torch: the network, its controls and the filters."""

    def __init__(self, hidden: int = 64):
        super().__init__(npf.CONTEXT * npf.FEATURES, hidden, npf.SUBFRAMES * npf.CONTROLS)
        with torch.no_grad():   # start as the identity filter with a faint comb
            self.last.bias.view(npf.SUBFRAMES, npf.CONTROLS)[:, 0] = npf.COMB_START

    def forward(self, x: torch.Tensor, features: torch.Tensor, lags: torch.Tensor) -> torch.Tensor:
        """Filter ``blocks`` blocks: x (B, HISTORY + blocks FRAME), features (B, blocks + 2, FEATURES),
        lags (B, blocks + 1) (the block before, then each block's) -> (B, blocks FRAME).

        The first block starts from the identity filter (a stream's start); the decoder's state
        carries the previous block's controls instead, so compare from the second block on.
        """
        batch, blocks = x.shape[0], features.shape[1] - npf.CONTEXT + 1
        stacked = torch.cat([features[:, i:i + blocks] for i in range(npf.CONTEXT)], dim=2)
        raw = self.raw(stacked).view(batch, blocks * npf.SUBFRAMES, npf.CONTROLS)
        comb = npf.COMB_MAX * torch.sigmoid(raw[..., 0])
        gain = npf.GAIN_RANGE * torch.tanh(raw[..., 1])
        taps = npf.TAP_RANGE * torch.tanh(raw[..., 2:])
        taps = taps + torch.eye(npf.FIR_TAPS, dtype=taps.dtype)[0]
        identity = torch.eye(npf.FIR_TAPS, dtype=x.dtype)[0].expand(batch, 1, npf.FIR_TAPS)
        g = _per_sample(comb, x.new_zeros(batch, 1))
        at = npf.HISTORY + torch.arange(blocks * FRAME)
        fade = torch.clamp((torch.arange(FRAME, dtype=x.dtype) + 0.5) / npf.SUBFRAME, max=1.0).repeat(blocks)
        c = (fade * _comb(x, at, lags[:, 1:].repeat_interleave(FRAME, 1))
             + (1 - fade) * _comb(x, at, lags[:, :-1].repeat_interleave(FRAME, 1)))
        y1 = (x[:, npf.HISTORY:] + g * c) / (1 + g)
        past = torch.nn.functional.pad(y1, (npf.FIR_TAPS - 1, 0)).unfold(1, npf.FIR_TAPS, 1).flip(-1)
        return torch.exp(_per_sample(gain, x.new_zeros(batch, 1))) * (past * _per_sample(taps, identity)).sum(-1)


def _per_sample(values: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
    """(B, subframes, ...) -> (B, subframes * SUBFRAME, ...), as ``neural_postfilter._per_sample``."""
    full = torch.cat([previous, values], dim=1)
    ramp = torch.as_tensor(npf.RAMP, dtype=values.dtype).view(1, 1, npf.SUBFRAME, *([1] * (values.ndim - 2)))
    out = full[:, :-1, None] * (1 - ramp) + full[:, 1:, None] * ramp
    return out.reshape(values.shape[0], -1, *values.shape[2:])


def _comb(x: torch.Tensor, at: torch.Tensor, lags: torch.Tensor) -> torch.Tensor:
    index = at[None] - lags + 1
    return sum(float(t) * torch.gather(x, 1, index - j) for j, t in enumerate(TAPS))


def spectral_loss(y: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Compressed spectra (|S|^0.3), 0.7 of magnitude and 0.3 with phase, over three resolutions."""
    loss = y.new_zeros(())
    for size, hop in RESOLUTIONS:
        window = torch.hann_window(size, dtype=y.dtype, device=y.device)
        a = torch.stft(y, size, hop, window=window, return_complex=True)
        b = torch.stft(target, size, hop, window=window, return_complex=True)
        ma, mb = (a.abs() + 1e-8) ** COMPRESSION, (b.abs() + 1e-8) ** COMPRESSION
        phase = torch.mean(torch.abs(ma * a / (a.abs() + 1e-8) - mb * b / (b.abs() + 1e-8)) ** 2)
        loss = loss + 0.7 * torch.mean((ma - mb) ** 2) + 0.3 * phase
    return loss / len(RESOLUTIONS)


class PostfilterData(PairsData):
    """One-second items of decoded and clean speech at every bitrate.

    Parameters as ``codec.train.pairs.PairsData``'s (an item is one second), and

    Parameters
    ----------
    valid_items : int
        Fixed items per bitrate for validation.
    """

    def __init__(self, corpus: str = "data/wide", pairs_dir: str = "data/postfilter", model: str | None = None,
                 train_files: int = 1500, valid_files: int = 200, batch_size: int = 16, valid_items: int = 16,
                 seed: int = 0):
        super().__init__()
        self.save_hyperparameters()
        self.arrays: dict[str, list[dict[str, np.ndarray]]] = {}

    make_pairs = pairs

    def setup(self, stage: str | None = None) -> None:
        if not self.arrays:
            for split in ("train", "valid"):
                self.arrays[split] = [dict(np.load(Path(self.hparams.pairs_dir) / f"{split}_{rate:g}.npz"))
                                      for rate in BITRATES]

    def items(self, split: str) -> torch.Tensor:
        """(rate index, first block) of every non-overlapping item of a split: (N, 2)."""
        span = SEGMENT_BLOCKS + 1
        out = [(r, b) for r, a in enumerate(self.arrays[split])
               for b in range(2, len(a["features"]) - span, span)]
        if not out:
            raise ValueError(f"{self.hparams.pairs_dir}: {split} pairs shorter than one item")
        return torch.tensor(out)

    def batch(self, split: str, items: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Decoded (with history), features, lags and clean target of ``items``."""
        parts = [[], [], [], []]
        for r, b in items.tolist():
            a = self.arrays[split][r]
            parts[0].append(a["decoded"][b * FRAME:npf.HISTORY + (b + SEGMENT_BLOCKS + 1) * FRAME])
            parts[1].append(a["features"][b - npf.CONTEXT + 1:b + SEGMENT_BLOCKS + 1])
            parts[2].append(a["lags"][b - 1:b + SEGMENT_BLOCKS + 1])
            parts[3].append(a["clean"][(b + 1) * FRAME:(b + SEGMENT_BLOCKS + 1) * FRAME])
        types = (torch.float32, torch.float32, torch.long, torch.float32)
        return tuple(torch.as_tensor(np.stack(p), dtype=t) for p, t in zip(parts, types))

    def train_items(self) -> torch.Tensor:
        return self.items("train")

    def val_dataloader(self) -> DataLoader:
        items = self.items("valid")
        chosen = torch.cat([items[items[:, 0] == r][:self.hparams.valid_items] for r in range(len(BITRATES))])
        return DataLoader(TensorDataset(chosen), batch_size=self.hparams.batch_size)


class PostfilterModule(PairsModule):
    """Train ``PostfilterNet`` on ``PostfilterData`` (parameters as ``codec.train.pairs.PairsModule``'s)."""

    def __init__(self, hidden: int = 64, lr: float = 2e-3):
        super().__init__()
        self.save_hyperparameters()
        self.net = PostfilterNet(hidden)

    def losses(self, items: torch.Tensor, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        x, features, lags, clean = self.trainer.datamodule.batch(split, items)
        y = self.net(x, features, lags)[:, FRAME:]                     # after the warm-up block
        return spectral_loss(y, clean), spectral_loss(x[:, npf.HISTORY + FRAME:], clean)
