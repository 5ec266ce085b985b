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

from dataclasses import dataclass

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


@dataclass
class CodingOrder:
    """Where each packet's symbols sit in coding order (``SpectrumModel.coding_order``).

    ``order`` permutes the flattened (frames, N) symbols of a chunk into coding
    order; ``runs[p]`` lists packet p's (class, start, stop) slices of it.
    """

    order: np.ndarray
    runs: list[list[tuple[int, int, int]]]

    def symbols(self, q: np.ndarray, max_symbol: int) -> np.ndarray:
        """Integers (frames, N) -> alphabet indices in coding order, int32."""
        return (q.ravel()[self.order] + max_symbol).astype(np.int32)

    def integers(self, decoded: list[np.ndarray], shape: tuple[int, ...], max_symbol: int) -> np.ndarray:
        """The inverse of :meth:`symbols`: every packet's decoded alphabet indices -> integers ``shape``."""
        flat = np.empty(len(self.order), dtype=np.int64)
        flat[self.order] = np.concatenate(decoded) if decoded else np.zeros(0, dtype=np.int64)
        return (flat - max_symbol).reshape(shape)


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

    def coding_order(self, classes: np.ndarray, packets: np.ndarray | None = None, *,
                     count: int | None = None) -> CodingOrder:
        """The order both ends code symbols in, derived from the classes alone.

        Parameters
        ----------
        classes : ndarray, shape (frames, N), int
            Context class of every symbol.
        packets : ndarray, shape (frames,), int, optional
            Packet index of each frame, non-decreasing (default: all in packet 0).
        count : int, optional
            Packets (default: the last frame's packet + 1); packets without frames get no runs.

        Returns
        -------
        CodingOrder
            A packet's symbols are coded sorted by class (stable: frame by frame,
            bin by bin within a class), one constriction call per class. One sort
            serves every packet of a chunk: sorting each packet alone cost the
            decoder more than its range decoding.
        """
        classes = np.asarray(classes)
        frames, width = classes.shape[0], len(self.probabilities)
        packets = np.zeros(frames, dtype=np.int64) if packets is None else np.asarray(packets, dtype=np.int64)
        count = (int(packets[-1]) + 1 if frames else 0) if count is None else count
        # Small keys sort by radix (stable) in linear time.
        dtype = np.uint16 if count * width <= 1 << 16 else np.int64
        key = (packets[:, None] * width + classes).astype(dtype).ravel()
        order = np.argsort(key, kind="stable")
        runs: list[list[tuple[int, int, int]]] = [[] for _ in range(count)]
        if not len(key):
            return CodingOrder(order, runs)
        ordered = key[order]
        cuts = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
        starts, stops = np.concatenate([[0], cuts]), np.concatenate([cuts, [len(ordered)]])
        heads = ordered[starts].astype(np.int64)
        for packet, c, a, b in zip((heads // width).tolist(), (heads % width).tolist(), starts.tolist(),
                                   stops.tolist()):
            runs[packet].append((c, a, b))
        return CodingOrder(order, runs)

    def encode_runs(self, encoder, symbols: np.ndarray, runs: list[tuple[int, int, int]]) -> None:
        """Append one packet's ``runs`` (``CodingOrder.runs``) of ``symbols`` (``CodingOrder.symbols``)."""
        for c, a, b in runs:
            encoder.encode(symbols[a:b], self._model(c))

    def decode_runs(self, decoder, runs: list[tuple[int, int, int]]) -> np.ndarray:
        """One packet's symbols in coding order: the inverse of :meth:`encode_runs`."""
        return np.concatenate([decoder.decode(self._model(c), b - a) for c, a, b in runs]) if runs else \
            np.zeros(0, dtype=np.int32)

    # ------------------------------------------------------------ model file

    def state(self) -> dict[str, np.ndarray]:
        """The arrays a model file stores (float64)."""
        return {"beta": np.array(self.beta, dtype=np.float64), "offsets": self.offsets.copy(),
                "probabilities": self.probabilities.copy()}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> SpectrumModel:
        return cls(float(state["beta"]), np.asarray(state["offsets"]), np.asarray(state["probabilities"]))
