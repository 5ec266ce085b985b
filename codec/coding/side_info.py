"""The side information of a frame, and how it is coded: every value equally likely.

Per frame, before any spectrum, a packet carries (in this order)::

    envelope codes   one index per codebook of the envelope quantizer (4 x 4 bits)
    gain             7 bits (codec.coding.spectrum; SILENT = no spectrum coded)
    level            4 bits, the entropy model's context (codec.coding.spectrum)
    noise level      3 bits (codec.coding.noise_filling)

Each field is uniform over its alphabet (exactly log2(size) bits); consecutive
fields are merged into mixed-radix symbols so a packet needs one or two range
coder calls instead of one per field.

Per packet, after its frames' side information and tool symbols, come its
noise-band corrections (``codec.coding.noise_filling.band_levels``): one
BAND_BITS symbol per noise band, uniform too (``band_model``); streams of
packets shorter than ``noise_filling.BAND_MIN_FRAMES`` frames have none.
"""

from __future__ import annotations

import functools

import constriction
import numpy as np

from .noise_filling import BAND_BITS, NOISE_BANDS, NOISE_BITS, has_bands
from .spectrum import GAIN_BITS, LEVEL_BITS

UNIFORM_LIMIT = 1 << 24   # largest alphabet of constriction's Uniform model


@functools.lru_cache(maxsize=8)
def _field_groups(sizes: tuple[int, ...]) -> list[list[int]]:
    """Consecutive fields merged while the product of their sizes stays within UNIFORM_LIMIT."""
    groups, product = [[]], 1
    for f, size in enumerate(sizes):
        if groups[-1] and product * size > UNIFORM_LIMIT:
            groups.append([])
            product = 1
        groups[-1].append(f)
        product *= size
    return groups


@functools.lru_cache(maxsize=16)
def _uniform(size: int):
    """constriction's uniform model over ``size`` symbols, built once."""
    return constriction.stream.model.Uniform(size)


def band_model():
    """The uniform model of a packet's noise-band corrections."""
    return _uniform(2 ** BAND_BITS)


def packet_bits(packet_frames: int) -> int:
    """Bits a packet of a stream with ``packet_frames`` frames per packet spends on its noise-band
    corrections (none below ``noise_filling.BAND_MIN_FRAMES``)."""
    return BAND_BITS * (len(NOISE_BANDS) - 1) if has_bands(packet_frames) else 0


def field_sizes(codebook_sizes) -> tuple[int, ...]:
    """Alphabet sizes of a frame's side information: envelope codes, gain, level, noise level."""
    return (*(int(k) for k in codebook_sizes), 2 ** GAIN_BITS, 2 ** LEVEL_BITS, 2 ** NOISE_BITS)


def side_bits(sizes: tuple[int, ...]) -> float:
    """Bits a frame's side information takes."""
    return float(np.log2(sizes).sum())


def combine(columns: np.ndarray, sizes: tuple[int, ...]) -> list[tuple[np.ndarray, object]]:
    """Fields (n, F) with alphabet sizes ``sizes`` -> per coder call, the mixed-radix symbols (n,) int32
    and their uniform model. A frame's side information is its row of each."""
    columns = np.asarray(columns, dtype=np.int64)
    out = []
    for group in _field_groups(sizes):
        combined, stride = np.zeros(len(columns), dtype=np.int64), 1
        for f in group:
            combined += columns[:, f] * stride
            stride *= sizes[f]
        out.append((combined.astype(np.int32), _uniform(stride)))
    return out


def models(sizes: tuple[int, ...]) -> list:
    """The uniform model of each coder call, in order (what :func:`combine` pairs with its symbols)."""
    return [_uniform(int(np.prod([sizes[f] for f in group]))) for group in _field_groups(sizes)]


def split(symbols: list[np.ndarray], sizes: tuple[int, ...]) -> np.ndarray:
    """The inverse of :func:`combine`: each call's symbols (n,) -> fields (n, F), int64."""
    out = np.zeros((len(symbols[0]), len(sizes)), dtype=np.int64)
    for group, combined in zip(_field_groups(sizes), symbols):
        combined = np.asarray(combined, dtype=np.int64)
        for f in group:
            combined, out[:, f] = np.divmod(combined, sizes[f])
    return out
