"""The trained probability model of the quantized spectrum, and range coding with constriction.

Each integer q_k of a frame is coded with a categorical distribution chosen by
a context class that the decoder knows before it decodes the frame's spectrum:

    u_k   = level + beta * shape_k + offset[band(k)]        (log2 units)
    class = clip(floor((u_k - CLASS_MIN) / CLASS_STEP), 0, CLASSES - 1)

``level`` is the frame's transmitted spectral level, ``shape_k`` the expected
log-magnitude from the quantized envelope (``residual.shaping``), ``beta`` and
the per-band offsets are fitted on the corpus, and so are the per-class
probability tables (``codec.train.spectrum``). Because classes depend only on
side information, a packet's symbols are sorted by class and each class is
coded in one vectorized constriction call.
"""

from __future__ import annotations

import constriction
import numpy as np

from ..dsp.mdct import COEFFICIENTS
from .spectrum import LEVEL_FLOOR, level_value

CLASSES = 40
CLASS_MIN = -2.5
CLASS_STEP = 0.25
BANDS = 20                    # offsets per 16-bin (400 Hz) band
MAX_SYMBOL = 255              # larger magnitudes saturate
MIN_PROBABILITY = 2.0 ** -20  # what an unseen symbol costs in the rate estimate (constriction's floor is lower)


def laplace_tables(rounding: float = 0.5, classes: int = CLASSES, max_symbol: int = MAX_SYMBOL) -> np.ndarray:
    """A starting model before training: rounded Laplacians whose mean log2(|y| + 1/4) is each class centre."""
    centres = CLASS_MIN + CLASS_STEP * (np.arange(classes) + 0.5)
    scale = np.exp2(centres)[:, None]                       # crude but monotone in the class
    m = np.arange(max_symbol + 2)
    edges = np.maximum(m - rounding, 0.0)                   # |y| in [edge_m, edge_m+1) -> |q| = m
    cdf = 1.0 - np.exp(-edges / scale)
    magnitude = np.diff(cdf, axis=-1)                       # P(|q| = m), m = 0..max_symbol
    table = np.concatenate([magnitude[:, :0:-1] / 2, magnitude[:, :1], magnitude[:, 1:] / 2], axis=-1)
    return normalize(table)


def normalize(table: np.ndarray) -> np.ndarray:
    table = np.maximum(table, MIN_PROBABILITY)
    return table / table.sum(-1, keepdims=True)


class SpectrumModel:
    """Context classes, per-class symbol probabilities and the range coding of spectra.

    Parameters
    ----------
    beta : float
        Weight of the envelope's expected shape in the context.
    offsets : ndarray, shape (BANDS,)
        Per-band context offset, log2 units.
    probabilities : ndarray, shape (CLASSES, 2 * MAX_SYMBOL + 1)
        P(q = s - MAX_SYMBOL | class) per row.
    """

    def __init__(self, beta: float, offsets: np.ndarray, probabilities: np.ndarray):
        probabilities = np.asarray(probabilities, dtype=np.float64)
        if probabilities.ndim != 2 or probabilities.shape[1] % 2 != 1:
            raise ValueError(f"probability table must be (classes, odd), got {probabilities.shape}")
        self.beta = float(beta)
        self.offsets = np.asarray(offsets, dtype=np.float64)
        self.probabilities = normalize(probabilities)
        self.max_symbol = probabilities.shape[1] // 2
        self.cost = -np.log2(self.probabilities).astype(np.float32).ravel()
        self._band_of_bin = np.minimum(np.arange(COEFFICIENTS) * len(self.offsets) // COEFFICIENTS,
                                       len(self.offsets) - 1)
        self._models: dict = {}

    @classmethod
    def initial(cls) -> SpectrumModel:
        """The untrained starting point: beta 1, no offsets, Laplacian tables."""
        return cls(1.0, np.zeros(BANDS), laplace_tables())

    # ------------------------------------------------------------ contexts and costs

    def context_offset(self, shape: np.ndarray) -> np.ndarray:
        """The part of the context that does not depend on the frame's level, in class steps:
        (beta * shape_k + offset[band(k)] - CLASS_MIN) / CLASS_STEP, (frames, N)."""
        return (self.beta * shape + (self.offsets[self._band_of_bin] - CLASS_MIN)) / CLASS_STEP

    def classes(self, level: np.ndarray, shape: np.ndarray, *, offset: np.ndarray | None = None,
                as_int: bool = True) -> np.ndarray:
        """Context class per bin from (frames,) level indices and (frames, N) shapes.

        ``offset``, the precomputed :meth:`context_offset` of ``shape``, saves
        its recomputation when the same frames are tried at many gains;
        ``as_int=False`` keeps the classes in ``offset``'s float type (the rate
        loop's search indexes with them directly).
        """
        offset = self.context_offset(shape) if offset is None else offset
        u = offset + (level_value(level) / CLASS_STEP).astype(offset.dtype)[:, None]
        classes = np.clip(np.floor(u), 0, len(self.probabilities) - 1)
        return classes.astype(np.int64) if as_int else classes

    def expected_magnitude(self, level: np.ndarray, shape: np.ndarray | None, *,
                           offset: np.ndarray | None = None) -> np.ndarray:
        """The |y_k| the context predicts, (frames, N): the context is log2(|y| + LEVEL_FLOOR).
        ``offset``, the precomputed :meth:`context_offset` of ``shape``, as in :meth:`classes`."""
        offset = self.context_offset(shape) if offset is None else offset
        u = offset + (level_value(level) / CLASS_STEP)[:, None]
        return np.maximum(np.exp2(u * CLASS_STEP + CLASS_MIN) - LEVEL_FLOOR, 0.0)

    def bits(self, classes: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Estimated cost of each frame's integers in bits: (frames, N) -> (frames,).

        ``classes`` and ``q`` may be integer, or float holding integers (the rate loop's search)."""
        width = self.probabilities.shape[1]
        index = classes * width + q + self.max_symbol   # integer-valued even when classes and q are float
        return self.cost[index.astype(np.intp, copy=False)].sum(-1)

    # ------------------------------------------------------------ range coding

    def _model(self, c: int):
        if c not in self._models:
            self._models[c] = constriction.stream.model.Categorical(self.probabilities[c], perfect=False)
        return self._models[c]

    def _class_runs(self, classes: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
        """The coding order both ends derive from the classes alone: symbols sorted by class (stable),
        and (class, start, stop) of each class's run in that order, classes ascending."""
        order = np.argsort(classes, kind="stable")
        ordered = classes[order]
        cuts = (np.flatnonzero(ordered[1:] != ordered[:-1]) + 1).tolist()
        starts, stops = [0, *cuts], [*cuts, len(ordered)]
        return order, [(int(ordered[a]), a, b) for a, b in zip(starts, stops) if b > a]

    def encode(self, encoder, classes: np.ndarray, q: np.ndarray) -> None:
        """Append integers ``q`` (any shape) coded under their ``classes`` to ``encoder``."""
        order, runs = self._class_runs(classes.ravel())
        symbols = (q.ravel()[order] + self.max_symbol).astype(np.int32)
        for c, a, b in runs:
            encoder.encode(symbols[a:b], self._model(c))

    def decode(self, decoder, classes: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`encode`: integers with the shape of ``classes``."""
        order, runs = self._class_runs(classes.ravel())
        symbols = np.empty(classes.size, dtype=np.int64)
        if runs:
            symbols[order] = np.concatenate([decoder.decode(self._model(c), b - a) for c, a, b in runs])
        return (symbols - self.max_symbol).reshape(classes.shape)

    # ------------------------------------------------------------ model file

    def state(self) -> dict[str, np.ndarray]:
        """The arrays a model file stores (float64)."""
        return {"beta": np.array(self.beta, dtype=np.float64), "offsets": self.offsets.copy(),
                "probabilities": self.probabilities.copy()}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> SpectrumModel:
        return cls(float(state["beta"]), np.asarray(state["offsets"]), np.asarray(state["probabilities"]))
