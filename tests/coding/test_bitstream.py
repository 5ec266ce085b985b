"""The .vqc format: header round trip and checks, packet sizes and checksums."""

import numpy as np
import pytest

from codec import bitstream, modes
from codec.coding.bitstream import BitstreamError, Header

HEADER = Header("avq", 13.2, 4, "0123456789abcdef", 44100, 441000, 160000)


def test_header_round_trip_and_size():
    data = HEADER.pack()
    assert len(data) == bitstream.HEADER_BYTES == 40
    assert Header.unpack(data) == HEADER


@pytest.mark.parametrize("data, message", [
    (b"RIFF" + bytes(36), "bad magic"),
    (b"VQCD" + bytes(10), "truncated header"),
    (b"", "bad magic"),
])
def test_header_rejects_other_data(data, message):
    with pytest.raises(BitstreamError, match=message):
        Header.unpack(data)


def test_header_checksum_catches_every_single_bit_flip():
    data = bytearray(HEADER.pack())
    for byte in range(4, len(data)):
        for bit in range(8):
            flipped = bytearray(data)
            flipped[byte] ^= 1 << bit
            with pytest.raises(BitstreamError):
                Header.unpack(bytes(flipped))


@pytest.mark.parametrize("bitrate, frame_bits", list(zip(bitstream.BITRATES, (160, 192, 264, 328, 488, 640))))
def test_packets_carry_exactly_the_nominal_bitrate(bitrate, frame_bits):
    sizes = bitstream.packet_sizes(103, 4, bitrate)
    assert len(sizes) == 26 and sizes[-1] == 3 * frame_bits // 8
    assert sum(sizes) * 8 == 103 * frame_bits


def test_unsupported_bitrate_is_a_clear_error():
    with pytest.raises(ValueError, match="unsupported bitrate 12"):
        modes.mode_index(12)
    with pytest.raises(ValueError, match="unsupported bitrate 12"):
        Header("avq", 12.0, 4, "0123456789abcdef", 16000, 16000, 16000).pack()


def test_packet_checksum_depends_on_content_index_and_stream():
    words = np.arange(5, dtype=np.uint32)
    packet = bitstream.seal_packet(words, 40, 7, HEADER.crc)
    assert len(packet) == 40
    opened = bitstream.open_packet(packet, 7, HEADER.crc)
    np.testing.assert_array_equal(opened[:5], words)
    assert not opened[5:].any()
    assert bitstream.open_packet(packet, 8, HEADER.crc) is None          # moved packet
    assert bitstream.open_packet(packet, 7, HEADER.crc ^ 1) is None      # packet of another stream
    corrupt = bytearray(packet)
    corrupt[20] ^= 0x10
    assert bitstream.open_packet(bytes(corrupt), 7, HEADER.crc) is None
    with pytest.raises(ValueError):
        bitstream.seal_packet(np.zeros(10, dtype=np.uint32), 40, 0, 0)


def test_packet_layout_never_exceeds_the_bytes_there():
    full = 4 * bitstream.frame_bytes(8.0)
    header = Header("avq", 8.0, 4, "0123456789abcdef", 16000, 2600, 2600)
    assert header.frames == 10
    layout = bitstream.packet_layout(header, 10_000)
    assert list(np.diff(layout.offsets)) == [full, full, 2 * bitstream.frame_bytes(8.0)]
    assert (layout.packets, layout.expected, layout.frames) == (3, 3, 10)
    truncated = bitstream.packet_layout(header, 2 * full + 5)
    assert (truncated.packets, truncated.expected, truncated.frames) == (2, 3, 8)
    # A header claiming 2**62 samples over 100 bytes lists one packet, not 2**54.
    huge = bitstream.packet_layout(Header("avq", 8.0, 4, "0123456789abcdef", 16000, 2 ** 62, 2 ** 62), 100)
    assert huge.packets == 1 and huge.frames == 4 and huge.expected > 2 ** 50
