"""Golden streams: committed .vqc files must decode to the same samples, and re-encode to the same bytes.

They pin the codec's behaviour across refactors (``tests/make_golden.py`` wrote
them; regenerate only for a deliberate change of the coding).
"""

import hashlib
import json
import logging
import struct
import zlib

import pytest
from make_golden import GOLDEN, digest, source

from codec import SpeechCodec
from codec.coding.bitstream import VERSION, BitstreamError

EXPECTED = json.loads((GOLDEN / "expected.json").read_text())


@pytest.fixture(scope="module")
def codec():
    c = SpeechCodec.load()
    assert c.model_id == EXPECTED["model_id"], "the shipped model changed: regenerate the golden streams"
    return c


@pytest.mark.parametrize("name", sorted(EXPECTED["streams"]))
def test_golden_stream_decodes_bit_identically(codec, name, caplog):
    expected = EXPECTED["streams"][name]
    data = (GOLDEN / f"{name}.vqc").read_bytes()
    assert hashlib.sha256(data).hexdigest() == expected["stream_sha256"]
    with caplog.at_level(logging.WARNING):
        decoded, rate = codec.decode(data)
    assert rate == 16000 and len(decoded) == expected["stop"] - expected["start"]
    assert digest(decoded) == expected["decoded_sha256"]
    assert ("1 corrupt packet" in caplog.text) == (expected["corrupt_packet"] is not None)


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED["streams"].items() if e["corrupt_packet"] is None))
def test_golden_source_encodes_to_the_same_bytes(codec, name):
    e = EXPECTED["streams"][name]
    data = codec.encode(source(e["clip"], e["start"], e["stop"]), 16000, bitrate=e["bitrate"],
                        quantizer=e["quantizer"], packet_frames=e["packet_frames"])
    assert hashlib.sha256(data).hexdigest() == e["stream_sha256"]


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4, 255])
def test_other_format_versions_name_both_versions(codec, version):
    data = bytearray((GOLDEN / "arctic_avq_8.vqc").read_bytes())
    data[4] = version
    data[36:40] = struct.pack("<I", zlib.crc32(bytes(data[:36])))   # a well-formed header of that version
    with pytest.raises(BitstreamError, match=f"format version {version}.*version {VERSION}"):
        codec.decode(bytes(data))
