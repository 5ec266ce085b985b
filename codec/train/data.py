"""LightningDataModule over the LSF feature arrays written by ``vqcodec prepare``."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from .. import features


class LSFDataModule(L.LightningDataModule):
    """Training and validation LSF frames (frames, 16), radians.

    Parameters
    ----------
    features_dir : str
        Folder with ``lsf_train.npy`` and ``lsf_valid.npy``.
    batch_size : int
        Training mini-batch size.
    max_valid_frames : int
        Validation uses at most this many frames, evenly spaced, so that the
        spectral-distortion check stays quick.
    num_workers : int
        DataLoader workers (0 is fastest for in-memory tensors).
    packet_frames : int
        Training items are runs of this many consecutive frames, shape
        (batch, packet_frames, 16); linked to the model's ``packet_frames``.
    """

    def __init__(self, features_dir: str = "data/demo/features", batch_size: int = 64,
                 max_valid_frames: int = 20000, num_workers: int = 0, packet_frames: int = 1):
        super().__init__()
        self.features_dir = Path(features_dir)
        self.batch_size = batch_size
        self.packet_frames = packet_frames
        self.max_valid_frames = max_valid_frames
        self.num_workers = num_workers
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

    def train_dataloader(self) -> DataLoader:
        p = self.packet_frames
        runs = self.train_lsf[: len(self.train_lsf) // p * p].reshape(-1, p, self.train_lsf.shape[-1])
        return DataLoader(TensorDataset(runs), batch_size=self.batch_size, shuffle=True,
                          drop_last=True, num_workers=self.num_workers)

    def val_dataloader(self) -> DataLoader:
        # Batches of whole packets, in order.
        size = 4096 // self.packet_frames * self.packet_frames
        return DataLoader(TensorDataset(self.valid_lsf), batch_size=size, num_workers=self.num_workers)
