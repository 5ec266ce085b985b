"""Fitting a quantizer to a fixed set of vectors (toy data, features, tests).

This is the plain-torch loop of the NSVQ paper: Adam on the codebooks,
mini-batches, loss ``||x - x_hat||^2`` plus the method's auxiliary loss, and
periodic replacement of dead codewords that stops before the end. The
Lightning recipes for LSF envelopes (``codec.train``) reuse the same pieces.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import torch
from torch import Tensor
from tqdm.auto import tqdm

from .base import Quantizer

log = logging.getLogger(__name__)


@dataclass
class ReplacementSchedule:
    """Replace dead codewords every ``every`` steps, never in the last ``stop_before`` steps.

    An entry is dead when it was chosen in fewer than ``threshold`` of the
    batches since the last replacement.
    """

    every: int = 1000
    stop_before: int = 2000
    threshold: float = 0.01

    def due(self, step: int, total_steps: int) -> bool:
        """Whether to replace after finishing ``step`` (1-based) of ``total_steps``."""
        return self.every > 0 and step % self.every == 0 and step <= total_steps - self.stop_before


@dataclass
class FitResult:
    """History of a ``fit`` call."""

    losses: list[float] = field(default_factory=list)     # mean training loss per log interval
    replaced: list[int] = field(default_factory=list)     # entries replaced at each replacement
    seconds: float = 0.0


def mean_squared_error(q: Quantizer, x: Tensor) -> float:
    """Mean over vectors of the squared error of hard quantization, ``||x - decode(encode(x))||^2``."""
    with torch.no_grad():
        return float((x - q.decode(q.encode(x))).pow(2).sum(-1).mean())


def fit(q: Quantizer, x: Tensor, *, steps: int = 20000, batch_size: int = 64, lr: float = 1e-3,
        init: str = "uniform", replacement: ReplacementSchedule | None = None,
        lloyd_iters: int = 20, log_every: int = 500, progress: bool = False) -> FitResult:
    """Train ``q`` on the rows of ``x`` with the quantizer's own gradient mode.

    Parameters
    ----------
    q : Quantizer
        Trained in place. ``q.gradient == "kmeans"`` runs k-means initialization
        and ``lloyd_iters`` LBG iterations on all of ``x`` instead of SGD.
    x : Tensor, shape (N, D)
    steps, batch_size, lr
        Adam steps, mini-batch size and learning rate (the paper's recipe:
        20,000 steps of 64 at 1e-3).
    init : {"uniform", "kmeans"}
        Keep the U(-1/K, 1/K) initialization, or start from k-means.
    replacement : ReplacementSchedule, optional
        Dead-codeword replacement; default every 1,000 steps, none in the last 2,000.
    """
    if init not in ("uniform", "kmeans"):
        raise ValueError(f"init must be 'uniform' or 'kmeans', got {init!r}")
    result = FitResult()
    start = time.perf_counter()
    q.train()
    if q.gradient == "kmeans" or init == "kmeans":
        q.kmeans_init(x)
    if q.gradient == "kmeans":
        for _ in tqdm(range(lloyd_iters), desc="LBG", disable=not progress):
            result.losses.append(q.lloyd_step(x))
        result.seconds = time.perf_counter() - start
        return result

    schedule = replacement or ReplacementSchedule()
    optimizer = torch.optim.Adam(q.parameters(), lr=lr)
    running, count = 0.0, 0
    for step in tqdm(range(1, steps + 1), desc=f"train {type(q).__name__}", disable=not progress):
        batch = x[torch.randint(len(x), (batch_size,))]
        out = q(batch)
        loss = (batch - out.x_hat).pow(2).sum(-1).mean() + out.loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        running += float(loss.detach())
        count += 1
        if step % log_every == 0 or step == steps:
            result.losses.append(running / count)
            running, count = 0.0, 0
        if schedule.due(step, steps):
            replaced = q.replace_dead_codes(threshold=schedule.threshold)
            result.replaced.append(replaced)
            log.debug("step %d: replaced %d dead codewords", step, replaced)
    result.seconds = time.perf_counter() - start
    return result
