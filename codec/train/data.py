"""LightningDataModule over the LSF feature arrays written by ``vqcodec prepare``.

Training batches are indexed by optimizer step (``StepBatches``), so a run
killed mid-epoch and resumed from its last checkpoint sees exactly the batches
the uninterrupted run would have seen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from ..corpus import features


class StepBatches:
    """Shuffled mini-batches that are a pure function of the training step.

    With ``n`` batches per epoch, step ``s`` gets batch ``s % n`` of the
    permutation drawn for epoch ``s // n`` by a generator seeded with
    ``(seed, epoch)``; under data parallelism rank ``r`` of ``w`` takes every
    ``w``-th batch-sized slice, so ranks never share items within an epoch.
    Each ``iter()`` runs from the current step (``start_step()``, the
    trainer's global step) to the end of that step's epoch, which is what
    Lightning expects of a loader when it resumes mid-epoch.

    Parameters
    ----------
    items : torch.Tensor
        Training items, shape (N, ...).
    batch_size : int
    seed : int
    start_step : callable, optional
        Returns the step to start from; 0 when not given.
    rank, world : int
        This process's data-parallel rank and the number of ranks.
    """

    def __init__(self, items: torch.Tensor, batch_size: int, *, seed: int = 0,
                 start_step: Callable[[], int] | None = None, rank: int = 0, world: int = 1):
        if len(items) < batch_size * world:
            raise ValueError(f"{len(items)} training items are fewer than one batch of {batch_size} "
                             f"on each of {world} process(es)")
        self.items = items
        self.batch_size = batch_size
        self.seed = seed
        self.start_step = start_step or (lambda: 0)
        self.rank, self.world = rank, world
        self._permutation: tuple[int, torch.Tensor] | None = None  # (epoch, order), the one in use

    def __len__(self) -> int:
        return len(self.items) // (self.batch_size * self.world)

    def batch(self, step: int) -> tuple[torch.Tensor]:
        """The batch of training step ``step`` (a 1-tuple, like a TensorDataset's)."""
        epoch, k = divmod(step, len(self))
        if self._permutation is None or self._permutation[0] != epoch:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._permutation = (epoch, torch.randperm(len(self.items), generator=generator))
        start = (k * self.world + self.rank) * self.batch_size
        return (self.items[self._permutation[1][start:start + self.batch_size]],)

    def __iter__(self) -> Iterator[tuple[torch.Tensor]]:
        step = self.start_step()
        end = (step // len(self) + 1) * len(self)
        return (self.batch(s) for s in range(step, end))

    # Lightning saves these in checkpoints and hands them back on resume; the
    # position itself is the trainer's step, so they only guard the data.
    def state_dict(self) -> dict:
        return {"seed": self.seed, "batch_size": self.batch_size, "items": len(self.items), "world": self.world}

    def load_state_dict(self, state: dict) -> None:
        if state != self.state_dict():
            raise ValueError(f"the checkpoint was trained on other batches ({state}) than this run "
                             f"({self.state_dict()}); resuming would not repeat the interrupted run")


class LSFDataModule(L.LightningDataModule):
    """Training and validation LSF frames (frames, 16), radians.

    Parameters
    ----------
    features_dir : str
        Folder with ``lsf_train.npy`` and ``lsf_valid.npy``.
    batch_size : int
        Training mini-batch size. One batch is one optimizer step (no
        gradient accumulation), which is what makes resuming exact.
    max_valid_frames : int
        Validation uses the first this many frames (consecutive, as prediction
        needs), so that the spectral-distortion check stays quick.
    packet_frames : int
        Training items are runs of this many consecutive frames, shape
        (batch, packet_frames, 16); linked to the model's ``packet_frames``.
    seed : int
        Seed of the batch order (independent of the model's random numbers).
    """

    def __init__(self, features_dir: str = "data/demo/features", batch_size: int = 64,
                 max_valid_frames: int = 20000, packet_frames: int = 1, seed: int = 0):
        super().__init__()
        self.features_dir = Path(features_dir)
        self.batch_size = batch_size
        self.packet_frames = packet_frames
        self.max_valid_frames = max_valid_frames
        self.seed = seed
        self.train_lsf: torch.Tensor | None = None
        self.valid_lsf: torch.Tensor | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.train_lsf is None:
            self.train_lsf = torch.from_numpy(np.array(features.load(self.features_dir, "train")))
            # Validation keeps consecutive frames (prediction needs them): the first ones.
            valid = features.load(self.features_dir, "valid")
            self.valid_lsf = torch.from_numpy(np.array(valid[: self.max_valid_frames]))
            if len(self.train_lsf) == 0 or len(self.valid_lsf) == 0:
                raise ValueError(f"{self.features_dir}: empty training or validation features")

    def train_dataloader(self) -> StepBatches:
        p = self.packet_frames
        runs = self.train_lsf[: len(self.train_lsf) // p * p].reshape(-1, p, self.train_lsf.shape[-1])
        trainer = self.trainer
        if trainer is None:
            return StepBatches(runs, self.batch_size, seed=self.seed)
        if trainer.accumulate_grad_batches != 1:
            raise ValueError("accumulate_grad_batches must be 1: batches are indexed by optimizer step")
        return StepBatches(runs, self.batch_size, seed=self.seed, start_step=lambda: trainer.global_step,
                           rank=trainer.global_rank, world=trainer.world_size)

    def val_dataloader(self) -> DataLoader:
        # Batches of whole packets, in order.
        size = 4096 // self.packet_frames * self.packet_frames
        return DataLoader(TensorDataset(self.valid_lsf), batch_size=size)
