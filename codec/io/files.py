"""File-level encoding and decoding: never a half-written output, never a silent overwrite."""

from __future__ import annotations

import contextlib
import mmap
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from ..channel import drop_packets
from ..coding import bitstream
from ..dsp.framing import SAMPLE_RATE
from ..speech_codec import SpeechCodec
from .atomic import atomic_write
from .audio import fit_blocks, read_blocks, resample_blocks

STREAM_SUFFIX = ".vqc"


def _check_target(src: Path, dst: Path, force: bool) -> None:
    if dst.exists() and dst.resolve() == src.resolve():
        raise FileExistsError(f"{dst}: output would overwrite the input")
    if dst.exists() and not force:
        raise FileExistsError(f"{dst} exists; pass --force (force=True) to overwrite it")


def encode_file(src: str | Path, dst: str | Path, *, bitrate: float = 13.2, quantizer: str = "avq",
                codec: SpeechCodec | None = None, force: bool = False) -> int:
    """Encode an audio file (anything soundfile reads) to a .vqc file; returns its size in bytes.

    Streams: the file is read, resampled and coded block by block, so memory
    does not grow with its length.
    """
    src, dst = Path(src), Path(dst)
    _check_target(src, dst, force)
    codec = codec or SpeechCodec.load()
    info, blocks = read_blocks(src)
    coded_length = round(info.frames * SAMPLE_RATE / info.sample_rate)
    parts = codec.encode_stream(fit_blocks(resample_blocks(blocks, info.sample_rate, SAMPLE_RATE), coded_length),
                                sample_rate=info.sample_rate, length=info.frames, coded_length=coded_length,
                                bitrate=bitrate, quantizer=quantizer)
    size = 0
    with atomic_write(dst) as partial, open(partial, "wb") as out:
        for part in parts:
            out.write(part)
            size += len(part)
    return size


def decode_file(src: str | Path, dst: str | Path, *, original_rate: bool = False, subtype: str = "PCM_16",
                codec: SpeechCodec | None = None, force: bool = False, loss: dict | None = None) -> float:
    """Decode a .vqc file to audio (format from ``dst``'s suffix); returns the duration in seconds.

    Streams: the input is memory-mapped and the output written block by block.
    ``loss``, e.g. ``{"rate": 0.05, "burst": 2, "seed": 0}``, drops packets first
    (``codec.channel.drop_packets``) to hear the concealment.
    """
    src, dst = Path(src), Path(dst)
    _check_target(src, dst, force)
    codec = codec or SpeechCodec.load()
    with open(src, "rb") as handle:
        small = os.fstat(handle.fileno()).st_size < bitstream.HEADER_BYTES
        with contextlib.nullcontext(handle.read()) if small or loss else _mapped(handle) as data:
            if loss:
                data, _ = drop_packets(data, **loss)
            seconds = _write_decoded(codec.open_stream(data), dst, original_rate, subtype)
    return seconds


@contextlib.contextmanager
def _mapped(handle) -> Iterator[mmap.mmap]:
    """The file memory-mapped read-only, closed when the block succeeds.

    When the block raises (say, the disk fills while writing), views into the
    map still live in the traceback and closing would raise BufferError over
    the real error; the map is then left to the garbage collector.
    """
    data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    yield data
    data.close()


def _write_decoded(stream, dst: Path, original_rate: bool, subtype: str) -> float:
    rate, length, blocks = stream.output(original_rate=original_rate)
    with atomic_write(dst) as partial, sf.SoundFile(partial, "w", rate, 1, subtype=subtype) as out:
        for block in blocks:
            out.write(block)
    return length / rate


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
    """Header fields and packet checksums of a .vqc file (needs no model)."""
    data = Path(path).read_bytes()
    header = bitstream.Header.unpack(data[:bitstream.HEADER_BYTES])
    payload = data[bitstream.HEADER_BYTES:]
    layout = bitstream.packet_layout(header, len(payload))
    corrupt = sum(bitstream.open_packet(layout.packet(payload, p), p, header.crc) is None
                  for p in range(layout.packets))
    return StreamInfo(header, len(data), layout.packets, layout.expected, corrupt)


def pair_paths(src: Path, dst: Path, suffixes: tuple[str, ...], new_suffix: str) -> list[tuple[Path, Path]]:
    """(input, output) pairs: one file, or every matching file under a folder mirrored into ``dst``."""
    if src.is_dir():
        inputs = sorted(p for p in src.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
        return [(p, (dst / p.relative_to(src)).with_suffix(new_suffix)) for p in inputs]
    if not src.exists():
        raise FileNotFoundError(f"{src}: no such file or folder")
    if dst.is_dir():
        return [(src, dst / (src.stem + new_suffix))]
    return [(src, dst)]


