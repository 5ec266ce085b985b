"""File-level encoding and decoding: streams, pipes, and never a half-written or misplaced output.

``encode_file`` and ``decode_file`` read and write block by block, so memory
does not grow with the length; ``"-"`` names standard input or output (a
pipe is read only as far as the stream's header says it reaches). Outputs go
through ``codec.io.atomic.atomic_write``: a unique temporary file renamed into
place when complete; an existing output is replaced only with ``force`` and
only if it is a regular file; an input is never an output.
"""

from __future__ import annotations

import contextlib
import io
import mmap
import os
import stat
import struct
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from ..channel import drop_packets
from ..coding import bitstream
from ..dsp.framing import SAMPLE_RATE
from ..speech_codec import SpeechCodec
from .atomic import atomic_write, check_replaceable
from .audio import AudioError, fit_blocks, read_blocks, resample_blocks

STREAM_SUFFIX = ".vqc"
STDIO = "-"
WAV_LIMIT = 2 ** 32 - 1 - 44          # bytes of samples a plain WAV can hold; beyond it, RF64
# What each suffix means to soundfile, where the suffix is not the format's own name.
_SUFFIX_FORMATS = {"aif": "AIFF", "aiff": "AIFF", "oga": "OGG", "au": "AU", "snd": "AU"}
_DEFAULT_SUBTYPE = "PCM_16"
_SAMPLE_BITS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32, "DOUBLE": 64}
_STDOUT_SUBTYPES = ("PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE")


def output_format(dst: str | Path, subtype: str | None = None) -> tuple[str, str]:
    """The soundfile (format, subtype) that writing audio to ``dst`` takes from its suffix.

    Raises AudioError, naming ``dst``, when soundfile cannot write that suffix or subtype.
    """
    dst = Path(dst)
    suffix = dst.suffix.lower().lstrip(".")
    fmt = _SUFFIX_FORMATS.get(suffix, suffix.upper())
    writable = sf.available_formats()
    if not suffix or fmt not in writable or fmt == "RAW":
        choices = ", ".join(f".{f.lower()}" for f in ("WAV", "FLAC", "OGG", "AIFF", "W64", "CAF", "MP3")
                            if f in writable)
        raise AudioError(f"{dst}: cannot write audio as {'.' + suffix if suffix else 'a file without a suffix'} "
                         f"(use {choices})")
    if subtype is None:
        subtype = _DEFAULT_SUBTYPE if sf.check_format(fmt, _DEFAULT_SUBTYPE) else sf.default_subtype(fmt)
    subtype = subtype.upper()
    if not sf.check_format(fmt, subtype):
        raise AudioError(f"{dst}: {fmt} cannot hold {subtype} samples (it takes "
                         f"{', '.join(sorted(sf.available_subtypes(fmt)))})")
    return fmt, subtype


def _check_paths(src: str, dst: str, force: bool) -> None:
    if dst == STDIO:
        return
    if not str(dst):
        raise FileNotFoundError("empty output path")
    target = Path(dst)
    if src != STDIO and target.exists() and target.resolve() == Path(src).resolve():
        raise FileExistsError(f"{dst}: output would overwrite the input")
    if os.path.lexists(target) and not force:
        raise FileExistsError(f"{dst} exists; pass --force (force=True) to overwrite it")
    check_replaceable(target)


def encode_file(src: str | Path, dst: str | Path, *, bitrate: float = 13.2, quantizer: str = "avq",
                packet_frames: int = bitstream.DEFAULT_PACKET_FRAMES, codec: SpeechCodec | None = None,
                force: bool = False, progress: Callable[[int], None] | None = None) -> int:
    """Encode an audio file (anything soundfile reads; ``"-"``: standard input) to a .vqc file
    (``"-"``: standard output); returns the stream's size in bytes. ``bitrate``, ``quantizer``
    and ``packet_frames`` as in ``SpeechCodec.encode``.

    ``progress`` is called with the number of input samples read so far.
    """
    src, dst = str(src), str(dst)
    _check_paths(src, dst, force)
    codec = codec or SpeechCodec.load()
    source = io.BytesIO(sys.stdin.buffer.read()) if src == STDIO else src   # soundfile needs to seek
    info, blocks = read_blocks(source, name="standard input" if src == STDIO else None)
    if progress is not None:
        blocks = _counted(blocks, progress)
    coded_length = round(info.frames * SAMPLE_RATE / info.sample_rate)
    parts = codec.encode_stream(fit_blocks(resample_blocks(blocks, info.sample_rate, SAMPLE_RATE), coded_length),
                                sample_rate=info.sample_rate, length=info.frames, coded_length=coded_length,
                                bitrate=bitrate, quantizer=quantizer, packet_frames=packet_frames)
    size = 0
    with _binary_output(dst) as out:
        for part in parts:
            out.write(part)
            size += len(part)
    return size


def decode_file(src: str | Path, dst: str | Path, *, original_rate: bool = False, subtype: str | None = None,
                codec: SpeechCodec | None = None, force: bool = False, loss: dict | None = None,
                postfilter: bool | str = True, progress: Callable[[int], None] | None = None) -> float:
    """Decode a .vqc file (``"-"``: standard input) to audio whose format ``dst``'s suffix picks
    (``"-"``: WAV on standard output); returns the duration in seconds.

    ``subtype`` is soundfile's sample format (default PCM_16 where the format has
    it). ``loss``, e.g. ``{"rate": 0.05, "burst": 2, "seed": 0}``, drops packets
    first (``codec.channel.drop_packets``) to hear the concealment. ``progress``
    is called with the number of output samples written so far.
    """
    src, dst = str(src), str(dst)
    _check_paths(src, dst, force)
    fmt, subtype = output_format("out.wav" if dst == STDIO else dst, subtype)
    codec = codec or SpeechCodec.load()
    with read_stream(src) as data:
        lost = None
        if loss:
            data, lost = drop_packets(bytes(data), **loss)
        stream = codec.open_stream(data, postfilter=postfilter, lost=lost)
        rate, length, blocks = stream.output(original_rate=original_rate)
        if progress is not None:
            blocks = _counted(blocks, progress)
        if dst == STDIO:
            _write_wav_stdout(blocks, rate, length, subtype)
        else:
            _write_audio(blocks, dst, rate, container(fmt, length, subtype), subtype)
    return length / rate


def _write_audio(blocks: Iterator, dst: str, rate: int, fmt: str, subtype: str) -> None:
    with atomic_write(dst) as partial:
        try:
            with sf.SoundFile(partial, "w", rate, 1, format=fmt, subtype=subtype) as out:
                for block in blocks:
                    out.write(block)
        except sf.LibsndfileError as err:
            text = str(err)
            if "System error" in text or "error writing" in text.lower():
                raise OSError(f"{dst}: write failed ({text})") from None
            raise AudioError(f"{dst}: cannot write {fmt} {subtype} at {rate} Hz ({text})") from None


def container(fmt: str, samples: int, subtype: str) -> str:
    """``fmt``, or RF64 for a WAV whose samples a plain WAV's 32-bit sizes cannot count (over 4 GiB)."""
    return "RF64" if fmt == "WAV" and samples * _SAMPLE_BITS.get(subtype, 16) // 8 > WAV_LIMIT else fmt


def _write_wav_stdout(blocks: Iterator, rate: int, length: int, subtype: str) -> None:
    """A WAV on standard output, written as it is decoded (its size is known from the stream's header)."""
    if subtype not in _STDOUT_SUBTYPES:
        raise AudioError(f"standard output: WAV on a pipe takes {', '.join(_STDOUT_SUBTYPES)}, not {subtype}")
    tag, bits = (3 if subtype in ("FLOAT", "DOUBLE") else 1), _SAMPLE_BITS[subtype]   # 3: IEEE float, 1: PCM
    data_bytes = length * bits // 8
    if data_bytes > WAV_LIMIT:
        raise AudioError(f"standard output: {data_bytes} bytes of samples do not fit a WAV; decode to a file "
                         "(written as RF64)")
    out = sys.stdout.buffer
    out.write(b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVEfmt " +
              struct.pack("<IHHIIHH", 16, tag, 1, rate, rate * bits // 8, bits // 8, bits) +
              b"data" + struct.pack("<I", data_bytes))
    for block in blocks:
        raw = io.BytesIO()
        with sf.SoundFile(raw, "w", rate, 1, format="RAW", subtype=subtype, endian="LITTLE") as pcm:
            pcm.write(block)     # the same sample conversion as a file
        out.write(raw.getvalue())
    out.flush()


@contextlib.contextmanager
def _binary_output(dst: str) -> Iterator:
    if dst == STDIO:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with atomic_write(dst) as partial, open(partial, "wb") as out:
        yield out


@contextlib.contextmanager
def read_stream(src: str | Path) -> Iterator:
    """The bytes of a .vqc stream: a regular file memory-mapped; standard input (``"-"``), a pipe or a
    device read only as far as its header says the stream reaches, so an endless input cannot fill memory."""
    if str(src) == STDIO:
        yield _read_bounded(sys.stdin.buffer)
        return
    with open(src, "rb") as handle:
        st = os.fstat(handle.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_size < bitstream.HEADER_BYTES:
            yield _read_bounded(handle)
            return
        data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        yield data
        # Closed only on success: when the block raised (a disk filling while writing), views into
        # the map still live in the traceback and closing would raise BufferError over the real error.
        data.close()


def _read_bounded(handle, block: int = 1 << 20) -> bytes:
    """The header, then at most the payload its lengths call for (plus one byte, to notice excess),
    read a block at a time: memory follows the bytes that really arrive, not what a header claims."""
    head = handle.read(bitstream.HEADER_BYTES)
    header = bitstream.Header.unpack(head)
    remaining = header.frames * bitstream.frame_bytes(header.bitrate) + 1
    parts = [head]
    while remaining > 0 and (part := handle.read(min(block, remaining))):
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def _counted(blocks: Iterator, progress: Callable[[int], None]) -> Iterator:
    done = 0
    for block in blocks:
        done += len(block)
        progress(done)
        yield block


@dataclass(frozen=True)
class StreamInfo:
    header: bitstream.Header
    file_bytes: int
    packets: int
    packets_expected: int
    corrupt_packets: int

    @property
    def seconds(self) -> float:
        return self.header.length / self.header.sample_rate

    @property
    def kbps(self) -> float:
        """Measured bitrate, header included."""
        return self.file_bytes * 8 / self.seconds / 1000 if self.seconds else float("nan")


def stream_info(path: str | Path) -> StreamInfo:
    """Header fields and packet checksums of a .vqc file (needs no model; reads bounded, like decoding)."""
    with read_stream(path) as data:
        header = bitstream.Header.unpack(bytes(data[:bitstream.HEADER_BYTES]))
        payload = memoryview(data)[bitstream.HEADER_BYTES:]
        layout = bitstream.packet_layout(header, len(payload))
        corrupt = sum(bitstream.open_packet(bytes(layout.packet(payload, p)), p, header.crc) is None
                      for p in range(layout.packets))
        size = len(data)
        del payload
    return StreamInfo(header, size, layout.packets, layout.expected, corrupt)


def pair_paths(src: Path, dst: Path, suffixes: tuple[str, ...], new_suffix: str) -> list[tuple[Path, Path]]:
    """(input, output) pairs: one file, or every matching file under a folder mirrored into ``dst``.

    Raises FileExistsError before any work when two inputs would write one output
    (``a.wav`` and ``a.flac`` both make ``a.vqc``).
    """
    if src.is_dir():
        inputs = sorted(p for p in src.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
        pairs = [(p, (dst / p.relative_to(src)).with_suffix(new_suffix)) for p in inputs]
    elif not src.exists():
        raise FileNotFoundError(f"{src}: no such file or folder")
    elif dst.is_dir():
        pairs = [(src, dst / (src.stem + new_suffix))]
    else:
        pairs = [(src, dst)]
    seen: dict[Path, Path] = {}
    for source, target in pairs:
        if target in seen:
            raise FileExistsError(f"{seen[target]} and {source} would both be written to {target}; "
                                  "rename one or encode them separately")
        seen[target] = source
    return pairs
