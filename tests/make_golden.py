"""Write the golden streams under tests/data/golden/ and the hashes of their decoded audio.

The golden streams pin the codec's behaviour: ``tests/test_golden.py`` decodes
each committed stream and compares a SHA-256 of the decoded float32 samples,
and re-encodes each source to the committed bytes. A refactor must keep both;
a deliberate change of the coding (a new model or format) regenerates them:

    python tests/make_golden.py --force
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import soundfile as sf

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "data" / "golden"
# name: (source clip, first sample, last sample, kbit/s, quantizer, frames per packet, corrupted packet or None)
STREAMS = {
    # Half a second of digital silence first (a negative start): the decoder mutes it (codec.coding.silence).
    "arctic_avq_8": ("arctic_a0007.wav", -8000, 24000, 8.0, "avq", 50, None),
    "arctic_rvq_13.2": ("arctic_a0007.wav", 8000, 40000, 13.2, "rvq", 50, None),
    "arctic_pvq_24.4": ("arctic_a0007.wav", 16000, 48000, 24.4, "pvq", 50, None),
    "librivox_scq_32": ("sense_and_sensibility_01_austen_64kb-0870.wav", 0, 32000, 32.0, "scq", 50, None),
    "librivox_avq_9.6": ("sense_and_sensibility_01_austen_64kb-0890.wav", 0, 32000, 9.6, "avq", 4, None),
    # 80 ms packets; packet 3 has one byte flipped: its checksum fails and it is concealed.
    "librivox_avq_16.4_corrupt": ("sense_and_sensibility_01_austen_64kb-0890.wav", 0, 32000, 16.4, "avq", 4, 3),
}


def source(clip: str, start: int, stop: int) -> np.ndarray:
    """Samples [start, stop) of a 16 kHz clip, zeros (digital silence) where that lies outside it."""
    wav, sr = sf.read(HERE / "data" / clip, dtype="float32")
    assert sr == 16000 and wav.ndim == 1
    out = np.zeros(stop - start, dtype=np.float32)
    a, b = max(start, 0), min(stop, len(wav))
    out[a - start:b - start] = wav[a:b]
    return out


def corrupt(data: bytes, packet: int, bitrate: float, packet_frames: int) -> bytes:
    """``data`` with one byte in the middle of packet ``packet`` inverted."""
    from codec.coding.bitstream import HEADER_BYTES, frame_bytes

    size = packet_frames * frame_bytes(bitrate)
    out = bytearray(data)
    out[HEADER_BYTES + packet * size + size // 2] ^= 0xFF
    return bytes(out)


def digest(wav: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(wav, dtype="<f4").tobytes()).hexdigest()


def main() -> None:
    from codec import SpeechCodec

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--force", action="store_true", help="replace the committed golden streams")
    args = parser.parse_args()
    if (GOLDEN / "expected.json").exists() and not args.force:
        raise SystemExit(f"{GOLDEN / 'expected.json'} exists; pass --force to regenerate the golden streams")
    codec = SpeechCodec.load()
    expected = {"model_id": codec.model_id, "streams": {}}
    for name, (clip, start, stop, bitrate, quantizer, packet_frames, broken) in STREAMS.items():
        data = codec.encode(source(clip, start, stop), 16000, bitrate=bitrate, quantizer=quantizer,
                            packet_frames=packet_frames)
        if broken is not None:
            data = corrupt(data, broken, bitrate, packet_frames)
        (GOLDEN / f"{name}.vqc").write_bytes(data)
        decoded, _ = codec.decode(data)
        expected["streams"][name] = {"clip": clip, "start": start, "stop": stop, "bitrate": bitrate,
                                     "quantizer": quantizer, "packet_frames": packet_frames,
                                     "corrupt_packet": broken,
                                     "stream_sha256": hashlib.sha256(data).hexdigest(),
                                     "decoded_sha256": digest(decoded)}
    (GOLDEN / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
    print(f"wrote {len(STREAMS)} streams to {GOLDEN}")


if __name__ == "__main__":
    main()
