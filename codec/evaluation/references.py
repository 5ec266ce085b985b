"""Reference codecs users would pick instead, run through their own command-line tools.

Each ``ReferenceCodec`` codes a 16 kHz mono signal at a nominal bitrate and
returns the decoded 16 kHz signal and the size of what it wrote, so that
``codec.evaluation`` scores it exactly like vqcodec. Missing tools are
reported by ``missing()``, never an error; a bitrate a codec cannot run at
is reported by ``setting()`` returning ``None`` with ``unsupported()`` saying why.

    opus    opus-tools (opusenc VBR, opusdec)          Debian: opus-tools
    speex   speexenc -w --bitrate (highest mode <= it)  Debian: speex
    lc3     elc3 / dlc3, 10 ms frames, >= 16 kbit/s     Debian: liblc3-tools
    g722    ffmpeg's G.722 at its one rate, 64 kbit/s   Debian: ffmpeg
    amrwb   libvo-amrwbenc + libopencore-amrwb through ctypes (nearest of the
            nine modes, within 25 % of the nominal rate)
                                                        Debian: libvo-amrwbenc0 libopencore-amrwb0
    opus-1.6, lace, nolace
            libopus 1.6.1 VBR (PyPI opuscodec), decoded by libopus 1.5 without
            and with its neural enhancements (``codec.evaluation.opus_ml``)
                                                        Node and npm @wasm-audio-decoders/opus-ml
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

import numpy as np

from ..dsp.framing import SAMPLE_RATE
from .opus_ml import OPUS_ML
from .reference_codec import ReferenceCodec, ReferenceError


class Opus(ReferenceCodec):
    name, tools, install = "opus", ("opusenc", "opusdec"), "opus-tools"

    def commands(self, source, coded, decoded, kbps):
        return [["opusenc", "--quiet", "--bitrate", f"{kbps:g}", str(source), str(coded)],
                ["opusdec", "--quiet", "--rate", str(SAMPLE_RATE), str(coded), str(decoded)]]


class Speex(ReferenceCodec):
    name, tools, install = "speex", ("speexenc", "speexdec"), "speex"

    def commands(self, source, coded, decoded, kbps):
        return [["speexenc", "-w", "--bitrate", str(round(kbps * 1000)), str(source), str(coded)],
                ["speexdec", str(coded), str(decoded)]]


class LC3(ReferenceCodec):
    name, tools, install = "lc3", ("elc3", "dlc3"), "liblc3-tools"
    LOWEST_KBPS = 16.0   # 20 bytes per 10 ms frame at 16 kHz

    def setting(self, kbps):
        return kbps if kbps >= self.LOWEST_KBPS else None

    def unsupported(self, kbps):
        return f"LC3 at 16 kHz starts at {self.LOWEST_KBPS:g} kbit/s"

    def commands(self, source, coded, decoded, kbps):
        return [["elc3", "-b", str(round(kbps * 1000)), str(source), str(coded)],
                ["dlc3", str(coded), str(decoded)]]


class G722(ReferenceCodec):
    """ITU-T G.722 through ffmpeg: one rate, 64 kbit/s, whatever the nominal rate asked."""

    name, tools, install = "g722", ("ffmpeg",), "ffmpeg"
    KBPS = 64.0

    def setting(self, kbps):
        return self.KBPS if kbps == self.KBPS else None

    def unsupported(self, kbps):
        return f"G.722 runs at {self.KBPS:g} kbit/s only"

    def rates(self, bitrates):
        return [self.KBPS], {}   # always shown, at its own rate, as the high-rate anchor

    def commands(self, source, coded, decoded, kbps):
        quiet = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
        return [quiet + ["-i", str(source), "-c:a", "g722", "-f", "g722", str(coded)],
                quiet + ["-f", "g722", "-i", str(coded), "-ar", str(SAMPLE_RATE), str(decoded)]]


class AMRWB(ReferenceCodec):
    """AMR-WB (3GPP TS 26.171): VisualOn's encoder and OpenCORE's decoder, called in-process.

    Frames are in the RFC 4867 storage format (a table-of-contents byte, then
    the mode's bits); the file size counts them plus the 9-byte ``#!AMR-WB\\n``
    magic a .awb file has.
    """

    name, install = "amrwb", "libvo-amrwbenc0 libopencore-amrwb0"
    MODES_KBPS = (6.6, 8.85, 12.65, 14.25, 15.85, 18.25, 19.85, 23.05, 23.85)
    FRAME = 320
    MAGIC_BYTES = 9

    @functools.cached_property
    def _libraries(self):
        """(encoder, decoder) ctypes libraries with their prototypes, loaded once; None when missing."""
        names = ctypes.util.find_library("vo-amrwbenc"), ctypes.util.find_library("opencore-amrwb")
        if None in names:
            return None
        encoder, decoder = ctypes.CDLL(names[0]), ctypes.CDLL(names[1])
        encoder.E_IF_init.restype = decoder.D_IF_init.restype = ctypes.c_void_p
        encoder.E_IF_encode.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_short),
                                        ctypes.POINTER(ctypes.c_ubyte), ctypes.c_int]
        decoder.D_IF_decode.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_ubyte),
                                        ctypes.POINTER(ctypes.c_short), ctypes.c_int]
        encoder.E_IF_exit.argtypes = decoder.D_IF_exit.argtypes = [ctypes.c_void_p]
        return encoder, decoder

    def missing(self):
        return None if self._libraries else f"AMR-WB libraries not found (apt-get install {self.install})"

    def setting(self, kbps):
        nearest = min(self.MODES_KBPS, key=lambda mode: abs(mode - kbps))
        return nearest if abs(nearest - kbps) <= 0.25 * kbps else None

    def unsupported(self, kbps):
        return f"no AMR-WB mode within 25 % of {kbps:g} kbit/s (highest 23.85)"

    def code(self, wav, kbps, workdir):
        encoder, decoder = self._libraries
        mode = self.MODES_KBPS.index(self.setting(kbps))
        pcm = np.round(np.clip(wav, -1, 1) * 32767).astype(np.int16)
        pcm = np.concatenate([pcm, np.zeros(-len(pcm) % self.FRAME, np.int16)])
        out = np.empty_like(pcm)
        packet = (ctypes.c_ubyte * 64)()
        enc, dec = encoder.E_IF_init(), decoder.D_IF_init()
        size = self.MAGIC_BYTES
        try:
            for start in range(0, len(pcm), self.FRAME):
                frame = np.ascontiguousarray(pcm[start:start + self.FRAME])
                n = encoder.E_IF_encode(enc, mode, frame.ctypes.data_as(ctypes.POINTER(ctypes.c_short)), packet, 0)
                if n <= 0:
                    raise ReferenceError(f"AMR-WB encoder returned {n}")
                size += n
                synth = out[start:start + self.FRAME]
                decoder.D_IF_decode(dec, packet, synth.ctypes.data_as(ctypes.POINTER(ctypes.c_short)), 0)
        finally:
            encoder.E_IF_exit(enc)
            decoder.D_IF_exit(dec)
        return out[:len(wav)] / 32768.0, size


REFERENCES = {codec.name: codec for codec in (Opus(), Speex(), LC3(), G722(), AMRWB(), *OPUS_ML)}
