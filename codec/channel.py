"""Packet-loss simulation: what a lossy channel does to a .vqc stream.

Lost packets are overwritten with zeros, so their checksums fail and the
decoder conceals them exactly as it would a packet that never arrived.
Losses follow a two-state (Gilbert) model: a lost packet is followed by
another with probability 1 - 1/burst, so ``burst`` is the mean run length of
losses and ``rate`` the long-run fraction lost (burst = 1: isolated single losses).
"""

from __future__ import annotations

import numpy as np

from .coding import bitstream


def loss_pattern(packets: int, rate: float, *, burst: float = 1.0, seed: int = 0) -> np.ndarray:
    """Boolean mask of lost packets, (packets,)."""
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"loss rate must be in [0, 1), got {rate}")
    if burst < 1.0:
        raise ValueError(f"mean burst length must be >= 1, got {burst}")
    rng = np.random.default_rng(seed)
    leave = 1.0 / burst                        # P(lost -> received)
    enter = rate * leave / (1.0 - rate)        # P(received -> lost), so the stationary loss is `rate`
    if enter > 1.0:
        raise ValueError(f"a loss rate of {rate} is impossible with mean bursts of {burst} packets")
    draws = rng.random(packets)
    lost = np.zeros(packets, dtype=bool)
    state = rng.random() < rate
    for i in range(packets):   # a two-state chain: sequential by nature, and cheap per packet
        lost[i] = state
        state = draws[i] >= leave if state else draws[i] < enter
    return lost


def drop_packets(data: bytes, rate: float, *, burst: float = 1.0, seed: int = 0) -> tuple[bytes, np.ndarray]:
    """A copy of stream ``data`` with packets lost at ``rate``; also returns the loss mask."""
    return lose(data, loss_pattern(packet_count(data), rate, burst=burst, seed=seed))


def packet_count(data: bytes) -> int:
    """Complete packets in stream ``data``."""
    header = bitstream.Header.unpack(data[:bitstream.HEADER_BYTES])
    return bitstream.packet_layout(header, len(data) - bitstream.HEADER_BYTES).packets


def lose(data: bytes, lost: np.ndarray) -> tuple[bytes, np.ndarray]:
    """A copy of stream ``data`` with the packets flagged in ``lost`` (packets,) zeroed; and ``lost``."""
    header = bitstream.Header.unpack(data[:bitstream.HEADER_BYTES])
    layout = bitstream.packet_layout(header, len(data) - bitstream.HEADER_BYTES)
    lost = np.asarray(lost, dtype=bool)[:layout.packets]
    out = bytearray(data)
    offsets = bitstream.HEADER_BYTES + layout.offsets
    for p in np.flatnonzero(lost):
        out[offsets[p]:offsets[p + 1]] = bytes(int(offsets[p + 1] - offsets[p]))
    return bytes(out), lost
