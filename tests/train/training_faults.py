"""A Lightning callback that kills its own training process, for the resume test."""

import os
import signal

import lightning as L


class KillAtStep(L.Callback):
    """SIGKILL the process when step ``step`` is about to start: no clean-up, no last save."""

    def __init__(self, step: int):
        self.step = step

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)
