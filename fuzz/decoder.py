"""Coverage-guided fuzzing of the decoder with atheris (libFuzzer).

The only allowed outcomes for any input are audio (finite, within [-1, 1])
or BitstreamError. The corpus is seeded with real streams at every bitrate.
Three of every four inputs are re-sealed first (``VQCODEC_FUZZ_RESEAL=0``
turns it off): header and packet checksums recomputed, as an attacker can, so
mutations reach the range decoder and the entropy model instead of stopping
at a checksum.

    pip install atheris
    python fuzz/decoder.py -runs=250000 -rss_limit_mb=8192 -max_len=4096 fuzz/corpus   # corpus is created, grown
    python fuzz/decoder.py -max_total_time=600 -rss_limit_mb=8192 fuzz/corpus

libFuzzer's process grows by about 17 KB per execution (the same decoding
outside it does not), so long campaigns run as consecutive runs of 250,000
sharing the corpus folder.

Every crash libFuzzer finds is written as crash-<hash> in the working folder;
replay one with ``python fuzz/decoder.py crash-<hash>``.
"""

from __future__ import annotations

import logging
import os
import struct
import sys
import zlib
from pathlib import Path

import atheris
import constriction  # noqa: F401  (imported uninstrumented: coverage is wanted in our parser)
import numpy as np
import scipy.fft  # noqa: F401

with atheris.instrument_imports(include=["codec"]):
    from codec import SpeechCodec
    from codec.coding import bitstream
    from codec.coding.bitstream import BITRATES, BitstreamError

CODEC = None


def seed_corpus(folder: Path, codec: SpeechCodec) -> None:
    """Real streams (1.5 s of speech, every bitrate, two quantizers) as starting points."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        return
    clip = Path(__file__).resolve().parent.parent / "tests" / "data" / "arctic_a0007.wav"
    wav, sr = sf.read(clip)
    for bitrate in BITRATES:
        for quantizer in ("avq", "rvq"):
            data = codec.encode(wav[:24000], sr, bitrate=bitrate, quantizer=quantizer)
            (folder / f"seed_{quantizer}_{bitrate:g}.vqc").write_bytes(data)


RESEAL = os.environ.get("VQCODEC_FUZZ_RESEAL", "1") != "0"


def reseal(data: bytes) -> bytes:
    """``data`` with a valid header checksum and every complete packet's checksum recomputed."""
    if len(data) < bitstream.HEADER_BYTES or data[:4] != bitstream.MAGIC:
        return data
    out = bytearray(data)
    out[36:40] = struct.pack("<I", zlib.crc32(bytes(out[:36])))
    try:
        header = bitstream.Header.unpack(bytes(out[:bitstream.HEADER_BYTES]))
    except BitstreamError:
        return bytes(out)
    layout = bitstream.packet_layout(header, len(out) - bitstream.HEADER_BYTES)
    for p in range(layout.packets):
        a, b = bitstream.HEADER_BYTES + int(layout.offsets[p]), bitstream.HEADER_BYTES + int(layout.offsets[p + 1])
        if b - a >= 4:
            out[a:a + 4] = struct.pack("<I", bitstream.packet_checksum(bytes(out[a + 4:b]), p, header.crc))
    return bytes(out)


def test_one_input(data: bytes) -> None:
    if RESEAL and len(data) % 4 != 3:
        data = reseal(data)
    try:
        out, _ = CODEC.decode(data, original_rate=len(data) % 2 == 1)
    except BitstreamError:
        return
    if not (np.isfinite(out).all() and np.abs(out).max(initial=0.0) <= 1.0):
        raise AssertionError("decoder produced non-finite or out-of-range audio")


def main() -> None:
    global CODEC   # libFuzzer calls test_one_input with bytes only
    logging.disable(logging.WARNING)   # concealment warnings on every mutated packet
    CODEC = SpeechCodec.load()
    corpus = [a for a in sys.argv[1:] if not a.startswith("-") and not Path(a).is_file()]
    for folder in corpus:
        seed_corpus(Path(folder), CODEC)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
