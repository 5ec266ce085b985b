"""What the decoder's two trained postfilters share in training: speech from a prepared corpus,
their network in torch, a data module of cached decoded/original pairs whose batches are indexed
by optimizer step, and a module that logs its loss against the unfiltered one.

``codec.train.postfilter`` (the time-domain postfilter) and ``codec.train.spectral_postfilter``
each subclass ``TanhNet``, ``PairsData`` and ``PairsModule``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from pathlib import Path

import lightning as L
import numpy as np
import torch

from ..modes import BITRATES
from .data import StepBatches

log = logging.getLogger(__name__)

PAUSE = 1600                              # 0.1 s between the corpus's files


def corpus_speech(corpus: Path, split: str, *, files: int, seed: int) -> np.ndarray:
    """``files`` random files of a prepared corpus's ``split`` (shuffled with ``seed``), joined, each
    followed by a 0.1 s pause; unreadable files are skipped with a warning."""
    from ..corpus.prepare import read_manifest
    from ..io.audio import AudioError, load

    entries = sorted((e for e in read_manifest(corpus / "manifest.csv") if e.split == split), key=lambda e: e.path)
    random.Random(seed).shuffle(entries)
    clips = []
    for entry in entries[:files]:
        try:
            clips += [load(corpus / entry.path)[0], np.zeros(PAUSE)]
        except AudioError as err:
            log.warning("skipped %s", err)
    if not clips:
        raise ValueError(f"{corpus}: no readable {split} files")
    return np.concatenate(clips)


def missing_rates(out: Path, split: str) -> list[float]:
    """The bitrates whose pairs ``out/{split}_{rate}.npz`` are not cached yet."""
    return [rate for rate in BITRATES if not (out / f"{split}_{rate:g}.npz").exists()]


class TanhNet(torch.nn.Module):
    """``codec.tanh_network.TanhNetwork`` in torch, starting with a zero output layer (outputs 0)."""

    def __init__(self, inputs: int, hidden: int, outputs: int):
        super().__init__()
        self.first = torch.nn.Linear(inputs, hidden)
        self.second = torch.nn.Linear(hidden, hidden)
        self.last = torch.nn.Linear(hidden, outputs)
        with torch.no_grad():
            self.last.weight.zero_()
            self.last.bias.zero_()

    def raw(self, inputs: torch.Tensor) -> torch.Tensor:
        """The network's raw outputs, as ``TanhNetwork.__call__``."""
        return self.last(torch.tanh(self.second(torch.tanh(self.first(inputs)))))

    def _layers(self) -> dict[str, torch.Tensor]:
        return {"w1": self.first.weight.T, "b1": self.first.bias, "w2": self.second.weight.T,
                "b2": self.second.bias, "w3": self.last.weight.T, "b3": self.last.bias}

    def weights(self) -> dict[str, np.ndarray]:
        """The decoder's arrays (``codec.tanh_network.NAMES``), float32."""
        return {k: v.detach().cpu().numpy().astype(np.float32) for k, v in self._layers().items()}

    def load_weights(self, arrays) -> None:
        """Set the layers from the decoder's arrays (a TanhNetwork or a dict of them)."""
        with torch.no_grad():
            for name, tensor in self._layers().items():
                tensor.copy_(torch.as_tensor(np.asarray(arrays[name]), dtype=tensor.dtype))


class PairsData(L.LightningDataModule):
    """Pairs made once per split by ``make_pairs`` (the subclass's) and cached in ``pairs_dir``;
    training batches are ``train_items()`` drawn by optimizer step (``StepBatches``: exact resume).

    Subclasses call ``save_hyperparameters()`` with at least these:

    Parameters
    ----------
    corpus : str
        A prepared corpus (``vqcodec prepare``) with train and valid splits.
    pairs_dir : str
        Where the pairs are cached (made on first use).
    model : str, optional
        The codec model whose decoded speech the postfilter learns to filter (default: shipped).
    train_files, valid_files : int
        Random files of each split to code.
    batch_size : int
        Items per optimizer step.
    seed : int
        Chooses the files and shuffles the batches.
    """

    make_pairs: Callable[..., None]

    def prepare_data(self) -> None:
        h = self.hparams
        for split, files in (("train", h.train_files), ("valid", h.valid_files)):
            type(self).make_pairs(Path(h.corpus), split, Path(h.pairs_dir), files=files, model=h.model, seed=h.seed)

    def train_items(self) -> torch.Tensor:
        raise NotImplementedError

    def train_dataloader(self) -> StepBatches:
        trainer = self.trainer
        if trainer is not None and trainer.accumulate_grad_batches != 1:
            raise ValueError("accumulate_grad_batches must be 1: batches are indexed by optimizer step")
        return StepBatches(self.train_items(), self.hparams.batch_size, seed=self.hparams.seed,
                           start_step=(lambda: trainer.global_step) if trainer is not None else None)


class PairsModule(L.LightningModule):
    """Trains ``self.net`` on a ``PairsData``: ``losses(items, split)`` (the subclass's) gives the
    loss of the filtered and of the unfiltered speech; validation logs both.

    Subclasses call ``save_hyperparameters()`` with at least these:

    Parameters
    ----------
    hidden : int
        Width of the network's two hidden layers.
    lr : float
        Adam's learning rate, decayed to zero over ``trainer.max_steps`` by a cosine.
    """

    def losses(self, items: torch.Tensor, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def training_step(self, batch, _):
        loss, _ = self.losses(batch[0], "train")
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, _):
        loss, unfiltered = self.losses(batch[0], "valid")
        self.log("val/loss", loss)
        self.log("val/unfiltered", unfiltered)

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.parameters(), lr=self.hparams.lr)
        steps = max(1, self.trainer.max_steps)
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps),
                                 "interval": "step"}}
