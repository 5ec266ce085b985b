"""Opus 1.5's neural decoder enhancements (LACE, NoLACE) as reference codecs.

The stream is encoded in-process by libopus 1.6.1 (PyPI ``opuscodec``,
variable bitrate, Ogg Opus) and decoded by libopus 1.5 with its trained
models compiled to WebAssembly (npm ``@wasm-audio-decoders/opus-ml``), run
under Node by ``opus_ml_decode.mjs``. The same bitstream is decoded three
ways, so the enhancement's own effect is measured:

    opus-1.6   no enhancement
    lace       LACE (about 100 MFLOP/s)
    nolace     NoLACE (about 400 MFLOP/s), Opus 1.5's best

libopus applies them to its SILK layer only; where the encoder picks a mode
they do not cover (here at 8 kbit/s) the three decode alike.
"""

from __future__ import annotations

import functools
import os
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np

from ..dsp.framing import SAMPLE_RATE
from .reference_codec import ReferenceCodec, ReferenceError

NPM_PACKAGE = "@wasm-audio-decoders/opus-ml"
NPM_VERSION = "0.0.3"
DECODER_SCRIPT = Path(__file__).with_name("opus_ml_decode.mjs")
OGG_RATE = 48000   # Ogg Opus counts pre-skip and granule positions at 48 kHz whatever the coded rate


def ogg_packets(data: bytes) -> tuple[list[bytes], int]:
    """The packets of a single-stream Ogg file and its last page's granule position.

    Raises
    ------
    ReferenceError
        When ``data`` is not a sequence of Ogg pages.
    """
    packets, partial, at, granule = [], b"", 0, 0
    while at < len(data):
        if data[at:at + 4] != b"OggS" or len(data) < at + 27:
            raise ReferenceError(f"not an Ogg page at byte {at}")
        granule = struct.unpack_from("<q", data, at + 6)[0]
        segments = data[at + 26]
        lacing = data[at + 27:at + 27 + segments]
        at += 27 + segments
        for size in lacing:   # a packet ends at the first segment shorter than 255 bytes
            partial += data[at:at + size]
            at += size
            if size < 255:
                packets.append(partial)
                partial = b""
    return packets, granule


@functools.lru_cache(maxsize=1)
def npm_module() -> Path | None:
    """The opus-ml package's entry point: ``$VQCODEC_OPUS_ML``, ./node_modules, or npm's global root."""
    roots = [Path("node_modules")]
    if shutil.which("npm"):
        try:
            roots.append(Path(subprocess.run(["npm", "root", "-g"], capture_output=True, text=True,
                                             timeout=60).stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    candidates = [Path(os.environ["VQCODEC_OPUS_ML"])] if "VQCODEC_OPUS_ML" in os.environ else []
    candidates += [root / NPM_PACKAGE / "index.js" for root in roots]
    return next((path.resolve() for path in candidates if path.is_file()), None)


class OpusML(ReferenceCodec):
    """libopus 1.6.1 VBR at the nominal rate, decoded by libopus 1.5 with ``enhancement``."""

    def __init__(self, name: str, enhancement: str):
        self.name, self.enhancement = name, enhancement

    def missing(self):
        try:
            import opuscodec  # noqa: F401
        except ImportError:
            return "opuscodec not installed (pip install opuscodec)"
        if shutil.which("node") is None:
            return "node not found (apt-get install nodejs npm)"
        if npm_module() is None:
            return f"{NPM_PACKAGE} not found (npm install -g {NPM_PACKAGE}@{NPM_VERSION})"
        return None

    def code(self, wav, kbps, workdir):
        from opuscodec import OpusBufferedEncoder

        pcm = np.round(np.clip(wav, -1, 1) * 32767).astype(np.int16)[:, None]
        encoder = OpusBufferedEncoder(SAMPLE_RATE, 1, bitrate=round(kbps * 1000), qext=False)
        data = encoder.write(pcm) + encoder.flush()
        packets, granule = ogg_packets(data)
        if len(packets) < 2 or not packets[0].startswith(b"OpusHead"):
            raise ReferenceError("opuscodec wrote no Opus header")
        pre_skip = struct.unpack_from("<H", packets[0], 10)[0]
        framed = b"".join(struct.pack("<I", len(p)) + p for p in packets[2:])   # after OpusHead, OpusTags
        try:
            done = subprocess.run(["node", str(DECODER_SCRIPT), str(npm_module()), self.enhancement,
                                   str(pre_skip * SAMPLE_RATE // OGG_RATE)],
                                  input=framed, capture_output=True, timeout=600)
        except subprocess.TimeoutExpired:
            raise ReferenceError("node took more than 600 s") from None
        if done.returncode != 0:
            lines = done.stderr.decode(errors="replace").strip().splitlines()
            raise ReferenceError(f"opus-ml decoder failed ({done.returncode}): {lines[-1] if lines else ''}")
        out = np.frombuffer(done.stdout, np.float32).astype(np.float64)
        return out[:(granule - pre_skip) * SAMPLE_RATE // OGG_RATE], len(data)


OPUS_ML = tuple(OpusML(name, enhancement) for name, enhancement in
                (("opus-1.6", "none"), ("lace", "lace"), ("nolace", "nolace")))
