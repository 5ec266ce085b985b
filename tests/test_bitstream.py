"""The .vqc format: header round trip and checks, packet sizes and checksums."""

import numpy as np
import pytest

from codec import bitstream
from codec.bitstream import BitstreamError, Header

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


@pytest.mark.parametrize("bitrate, frame_bits", zip(bitstream.BITRATES, (160, 192, 264, 328, 488, 640)))
def test_packets_carry_exactly_the_nominal_bitrate(bitrate, frame_bits):
    sizes = bitstream.packet_sizes(103, 4, bitrate)
    assert len(sizes) == 26 and sizes[-1] == 3 * frame_bits // 8
    assert sum(sizes) * 8 == 103 * frame_bits


def test_unsupported_bitrate_is_a_clear_error():
    with pytest.raises(ValueError, match="unsupported bitrate 12"):
        bitstream.bitrate_index(12)


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


def test_present_packets_never_exceed_the_bytes_there():
    full = 4 * bitstream.frame_bytes(8.0)
    assert bitstream.present_packets(10, 4, 8.0, 10_000) == ([full, full, 2 * bitstream.frame_bytes(8.0)], 3)
    assert bitstream.present_packets(10, 4, 8.0, 2 * full + 5) == ([full, full], 3)
    # A header claiming 2**60 frames over 100 bytes builds one packet size, not 2**58.
    sizes, expected = bitstream.present_packets(2 ** 60, 4, 8.0, 100)
    assert sizes == [full] and expected == 2 ** 58
