"""The decoder as a parser of untrusted input: property tests over mutated streams.

Whatever the bytes, ``SpeechCodec.decode`` returns finite audio in [-1, 1] of
bounded length, or raises BitstreamError; it never hangs or allocates from a
length field it cannot back with payload.
"""

import struct
import time
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codec import SpeechCodec, bitstream
from codec.coding.bitstream import BitstreamError

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def codec():
    return SpeechCodec.load()


@pytest.fixture(scope="module")
def streams(codec, speech):
    # 4-frame packets: enough of them in 1.5 s to damage one in the middle.
    return {b: codec.encode(speech[:24000], 16000, bitrate=b, quantizer="rvq", packet_frames=4) for b in (8.0, 32.0)}


def check_decode(codec, data: bytes, *, original_rate: bool = False) -> None:
    start = time.perf_counter()
    try:
        out, sr = codec.decode(data, original_rate=original_rate)
    except BitstreamError:
        return
    assert time.perf_counter() - start < 5.0
    assert out.dtype == np.float32 and out.ndim == 1 and np.isfinite(out).all()
    assert np.abs(out).max(initial=0.0) <= 1.0
    # Never more audio than the payload can carry: 4 frames of 320 samples per smallest packet.
    smallest = bitstream.frame_bytes(8.0)
    assert len(out) * 16000 / sr <= (len(data) // smallest + 2) * 320 + 1


@SETTINGS
@given(data=st.binary(max_size=3000))
def test_random_bytes(codec, data):
    check_decode(codec, data)


@SETTINGS
@given(payload=st.binary(max_size=3000), which=st.sampled_from([8.0, 32.0]))
def test_valid_header_random_payload(codec, streams, payload, which):
    check_decode(codec, streams[which][:bitstream.HEADER_BYTES] + payload)


@SETTINGS
@given(flips=st.lists(st.integers(min_value=0), min_size=1, max_size=30), which=st.sampled_from([8.0, 32.0]),
       original_rate=st.booleans())
def test_bit_flips(codec, streams, flips, which, original_rate):
    data = bytearray(streams[which])
    for f in flips:
        data[f % len(data)] ^= 1 << (f // len(data) % 8)
    check_decode(codec, bytes(data), original_rate=original_rate)


@SETTINGS
@given(cut=st.integers(min_value=0), which=st.sampled_from([8.0, 32.0]))
def test_truncation(codec, streams, cut, which):
    data = streams[which]
    check_decode(codec, data[:cut % (len(data) + 1)])


@SETTINGS
@given(order=st.permutations(range(5)))
def test_packet_reordering_is_detected_and_concealed(codec, streams, order):
    data = streams[8.0]
    size = 4 * bitstream.frame_bytes(8.0)
    head, body = data[:bitstream.HEADER_BYTES], data[bitstream.HEADER_BYTES:]
    packets = [body[i * size:(i + 1) * size] for i in range(5)]
    shuffled = head + b"".join(packets[i] for i in order) + body[5 * size:]
    out, _ = codec.decode(shuffled)
    assert np.isfinite(out).all()
    moved = [i for i, j in enumerate(order) if i != j]
    if moved:   # a moved packet fails its index-seeded checksum: concealed, not decoded in the wrong place
        assert bitstream.open_packet(packets[order[moved[0]]], moved[0], bitstream.Header.unpack(head).crc) is None


@SETTINGS
@given(fields=st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255),
                        st.integers(0, 2 ** 32 - 1), st.integers(0, 2 ** 64 - 1), st.integers(0, 2 ** 64 - 1)),
       original_rate=st.booleans())
def test_header_fields_with_valid_checksum(codec, streams, fields, original_rate):
    """Any header values, re-checksummed so the parser accepts them: lengths and rates must not be trusted."""
    quantizer, bitrate, packet_frames, sample_rate, length, coded = fields
    data = streams[8.0]
    body = bytearray(data[:bitstream.HEADER_BYTES - 4])
    body[5], body[6], body[7] = quantizer, bitrate, packet_frames
    struct.pack_into("<IQQ", body, 16, sample_rate, length, coded)
    header = bytes(body) + struct.pack("<I", zlib.crc32(bytes(body)))
    check_decode(codec, header + data[bitstream.HEADER_BYTES:], original_rate=original_rate)


def test_consistent_huge_length_claim_decodes_only_what_is_there(codec, streams):
    data = streams[8.0]
    body = bytearray(data[:bitstream.HEADER_BYTES - 4])
    struct.pack_into("<IQQ", body, 16, 16000, 2 ** 40, 2 ** 40)
    header = bytes(body) + struct.pack("<I", zlib.crc32(bytes(body)))
    out, _ = codec.decode(header + data[bitstream.HEADER_BYTES:], original_rate=True)
    assert len(out) <= 24000 + 320


def reseal(data: bytes, packet: int, body: bytes) -> bytes:
    """``data`` with packet ``packet``'s payload replaced by ``body`` and its checksum recomputed, as anyone can."""
    header = bitstream.Header.unpack(data[:bitstream.HEADER_BYTES])
    layout = bitstream.packet_layout(header, len(data) - bitstream.HEADER_BYTES)
    a = bitstream.HEADER_BYTES + int(layout.offsets[packet])
    b = bitstream.HEADER_BYTES + int(layout.offsets[packet + 1])
    body = body.ljust(b - a - 4, b"\0")[:b - a - 4]
    return data[:a] + struct.pack("<I", bitstream.packet_checksum(body, packet, header.crc)) + body + data[b:]


@SETTINGS
@given(body=st.binary(min_size=4, max_size=400), packet=st.integers(0, 4), which=st.sampled_from([8.0, 32.0]))
def test_garbage_payload_with_a_valid_checksum_is_concealed(codec, streams, body, packet, which):
    """A crafted packet (valid CRC, garbage inside) costs that packet, never the stream."""
    check_decode(codec, reseal(streams[which], packet, body))


def test_resealed_garbage_that_breaks_the_entropy_decoder(codec, streams, caplog):
    import logging

    rng = np.random.default_rng(0)
    data = streams[32.0]
    clean, filtered = codec.decode(data, postfilter=False)[0], codec.decode(data)[0]
    failures = 0
    for trial in range(60):   # about 7 % of random payloads make constriction's decoder assert
        damaged = reseal(data, trial % 5, rng.integers(0, 256, 400, dtype=np.uint8).tobytes())
        with caplog.at_level(logging.WARNING):
            caplog.clear()
            out, _ = codec.decode(damaged, postfilter=False)
        failures += "corrupt packet" in caplog.text
        assert out.shape == clean.shape and np.isfinite(out).all()
        # Frames after the damaged packet's overlap decode exactly as before ...
        after = (trial % 5 + 1) * 4 * 320 - 160
        np.testing.assert_array_equal(out[after:], clean[after:])
        # ... and with the trained postfilter once its memory has passed: the features of two
        # blocks before, their pitch search's history and the LPC window (under 2,000 samples).
        if trial % 10 == 0:
            np.testing.assert_allclose(codec.decode(damaged)[0][after + 2000:], filtered[after + 2000:], atol=1e-6)
    assert failures > 0, "no payload reached the entropy decoder's failure: the test tests nothing"
