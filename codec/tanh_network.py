"""The decoder's small trained networks: two tanh layers and a linear output, in numpy.

Both trained postfilters (``codec.neural_postfilter``, ``codec.spectral_postfilter``) run
one; ``codec.train.pairs.TanhNet`` is the same network in torch. A subclass names its input
and output sizes; the hidden width H is whatever the arrays have. Weights are checked when
they are built (``codec.model`` turns a failure into a one-line ModelError).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

NAMES = ("w1", "b1", "w2", "b2", "w3", "b3")


@dataclass(frozen=True)
class TanhNetwork:
    """Arrays w1 (INPUTS, H), b1 (H,), w2 (H, H), b2 (H,), w3 (H, OUTPUTS), b3 (OUTPUTS,)."""

    arrays: dict[str, np.ndarray]

    INPUTS: ClassVar[int]
    OUTPUTS: ClassVar[int]
    LABEL: ClassVar[str]                 # names the network in error messages

    def __post_init__(self):
        missing = [n for n in NAMES if n not in self.arrays]
        if missing:
            raise ValueError(f"{self.LABEL} weights: {', '.join(missing)} missing")
        hidden = self.arrays["w1"].shape[-1]
        shapes = {"w1": (self.INPUTS, hidden), "b1": (hidden,), "w2": (hidden, hidden), "b2": (hidden,),
                  "w3": (hidden, self.OUTPUTS), "b3": (self.OUTPUTS,)}
        for name, shape in shapes.items():
            if self.arrays[name].shape != shape:
                raise ValueError(f"{self.LABEL} weights: {name} has shape {self.arrays[name].shape}, "
                                 f"expected {shape}")
            if not np.isfinite(self.arrays[name]).all():
                raise ValueError(f"{self.LABEL} weights: {name} is not finite")

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        """Raw outputs (rows, OUTPUTS) of inputs (rows, INPUTS)."""
        hidden = np.tanh(inputs @ self.arrays["w1"] + self.arrays["b1"])
        hidden = np.tanh(hidden @ self.arrays["w2"] + self.arrays["b2"])
        return hidden @ self.arrays["w3"] + self.arrays["b3"]
