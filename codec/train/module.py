"""LightningModule that trains a 16-bit envelope quantizer on LSF frames."""

from __future__ import annotations

import lightning as L
import numpy as np
import torch

from ..quantizers.training import ReplacementSchedule
from .envelope import make_envelope, spectral_distortion_stats


class EnvelopeQuantizerModule(L.LightningModule):
    """Train any ``codec.quantizers`` method on LSFs; validate by spectral distortion.

    Parameters
    ----------
    quantizer : {"rvq", "avq", "pvq", "scq", "vq"}
    bits : int
        Bits per frame (16: four codebooks of 16 entries).
    gradient : {"nsvq", "ste", "kmeans", "soft"}
        NSVQ (default), straight-through, k-means/LBG (one Lloyd iteration
        over all training frames per epoch, no optimizer), or SCQ's own "soft".
    weighted : bool
        Sensitivity-weighted LSF error in search and loss (default), or plain MSE.
    lr : float
        Adam learning rate.
    init : {"kmeans", "uniform"}
        Start from k-means on the training frames, or the U(-1/K, 1/K) of the paper.
    replace_every, replace_stop_before : int
        Dead-codeword replacement schedule in optimizer steps.
    options : dict, optional
        Extra keywords for the quantizer (``beam``, ``strength``, ...).
    packet_frames : int
        1: memoryless. More: closed-loop prediction within packets of this
        many frames, a second quantizer for the residuals (see
        ``EnvelopeQuantizer``); training batches are runs of consecutive frames.
    """

    def __init__(self, quantizer: str = "avq", bits: int = 16, gradient: str = "nsvq", weighted: bool = True,
                 lr: float = 1e-3, init: str = "kmeans", replace_every: int = 1000,
                 replace_stop_before: int = 2000, options: dict | None = None, packet_frames: int = 1):
        super().__init__()
        self.save_hyperparameters()
        self.envelope = make_envelope(quantizer, bits, options, packet_frames=packet_frames, weighted=weighted,
                                      gradient=gradient)
        self.schedule = ReplacementSchedule(every=replace_every, stop_before=replace_stop_before)
        # Saved with checkpoints, so a resumed run does not initialize again.
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))
        self.automatic_optimization = gradient != "kmeans"
        self._valid_pairs: list[tuple[np.ndarray, np.ndarray]] = []

    @property
    def quantizers(self):
        return self.envelope.quantizers

    @property
    def codebooks(self):
        """Every codebook of every quantizer of the envelope."""
        return [cb for q in self.quantizers for cb in q.codebooks]

    def on_train_start(self) -> None:
        if bool(self.initialized):
            return
        train = self.trainer.datamodule.train_lsf.to(self.device)
        if self.hparams.init == "kmeans" or self.hparams.gradient == "kmeans":
            self.envelope.kmeans_init(train)
        else:
            self.envelope.fit_mean(train)
        self._keep_rank_zero_tables()
        self.initialized.fill_(True)

    def on_train_epoch_start(self) -> None:
        if self.hparams.gradient == "kmeans":
            train = self.trainer.datamodule.train_lsf.to(self.device)
            for i, (q, targets) in enumerate(zip(self.quantizers, self.envelope.open_loop_targets(train))):
                self.log(f"train/lloyd_mse_{i}", q.lloyd_step(targets))

    def training_step(self, batch, batch_idx):
        (runs,) = batch  # (B, packet_frames, 16)
        if self.hparams.gradient == "kmeans":
            return None  # fitted in on_train_epoch_start
        env = self.envelope
        loss, previous, perplexity = 0.0, None, []
        for t in range(runs.shape[1]):
            lsf = runs[:, t]
            weights = env.weights(lsf)
            prediction = env.prediction(t, previous)
            target = lsf - env.mean - prediction
            out = env.stage(t)(target, weights)
            error = (target - out.x_hat).pow(2)
            if weights is not None:
                error = weights * error
            loss = loss + error.sum(-1).mean() + out.loss
            # Closed loop: the next prediction starts from what the decoder reconstructs, stabilization
            # included (the decoder's own step, codec.coding.envelope.closed_loop_step).
            previous = env.next_state(out.hard, prediction)
            perplexity.append(out.perplexity.mean())
        loss = loss / runs.shape[1]
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/perplexity", torch.stack(perplexity).mean())
        # Share of codewords chosen at least once since the last dead-code replacement.
        used = torch.cat([cb.batches_used > 0 for cb in self.codebooks])
        self.log("train/codebook_usage", used.float().mean())
        return loss

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
        step = self.global_step
        total = self.trainer.max_steps if self.trainer.max_steps and self.trainer.max_steps > 0 else step + 1
        if self.automatic_optimization and self.schedule.due(step, total):
            if _distributed():  # judge usage over every rank's batches
                for cb in self.codebooks:
                    torch.distributed.all_reduce(cb.batches_used)
                    torch.distributed.all_reduce(cb.batches_seen)
            replaced = sum(q.replace_dead_codes(threshold=self.schedule.threshold) for q in self.quantizers)
            self._keep_rank_zero_tables()  # the random copies may differ per rank
            self.log("train/replaced", float(replaced))

    def _keep_rank_zero_tables(self) -> None:
        """Under DDP, make every rank's codebooks and mean equal to rank 0's."""
        if _distributed():
            for tensor in [cb.entries.data for cb in self.codebooks] + [self.envelope.mean, self.envelope.rho]:
                torch.distributed.broadcast(tensor, src=0)

    def on_validation_epoch_start(self) -> None:
        self._coder = self.envelope.coder()   # validated with the numpy coder the codec runs

    def validation_step(self, batch, batch_idx) -> None:
        (lsf,) = batch
        lsf = lsf.cpu().numpy()
        self._valid_pairs.append((lsf.astype(np.float64), self._coder.decode(self._coder.encode(lsf))))

    def on_validation_epoch_end(self) -> None:
        if not self._valid_pairs:
            return
        lsf = np.concatenate([p[0] for p in self._valid_pairs])
        lsf_hat = np.concatenate([p[1] for p in self._valid_pairs])
        self._valid_pairs.clear()
        for name, value in spectral_distortion_stats(lsf, lsf_hat).items():
            self.log(f"val/{name}", value, prog_bar=name == "sd_mean", sync_dist=True)

    # Lightning restores weights, optimizer, loop counters and (StepBatches) the
    # batch order; the random numbers of NSVQ's noise and of dead-code
    # replacement are restored here, so a resumed run repeats the interrupted one.
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["torch_rng_state"] = torch.get_rng_state()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if "torch_rng_state" in checkpoint:
            torch.set_rng_state(checkpoint["torch_rng_state"])

    def configure_optimizers(self):
        if self.hparams.gradient == "kmeans":
            return None
        return torch.optim.Adam(self.envelope.parameters(), lr=self.hparams.lr)


def _distributed() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()
