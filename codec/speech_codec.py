"""The codec: audio -> .vqc bytes -> audio, a chunk of packets at a time.

Frame j of a stream (j = 0 .. frames-1) is MDCT frame j-1 of ``codec.mdct``:
its window covers samples [320 j - 480, 320 j + 160), and its LPC analysis
window (480 samples) is centred on the same point, so each spectrum is shaped
by the envelope measured where it lies. Long inputs are processed in chunks of
CHUNK_FRAMES frames (whole packets), which bounds memory; every frame depends
only on its own samples, so chunking does not change the output.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import constriction
import numpy as np
import torch

from . import bitstream, entropy, lpc, mdct, residual
from .audio import (
    SAMPLE_RATE,
    AudioError,
    fit_blocks,
    resample,
    resample_blocks,
    to_mono,
)
from .bitstream import BitstreamError, Header
from .entropy import SpectrumModel
from .envelope import EnvelopeQuantizer
from .model import ModelError, load_model

log = logging.getLogger(__name__)

HOP = mdct.COEFFICIENTS           # 320 samples per frame
CHUNK_FRAMES = 1000               # 20 s of audio per chunk (a multiple of any packet size used)
CONCEAL_FADE = 0.7                # per lost frame, on the repeated spectrum
MAX_SAMPLE_RATE = 768_000


def default_model_path() -> Path:
    return Path(str(resources.files("codec") / "pretrained" / "default.pt"))


class SpeechCodec:
    """Encoder and decoder for one trained model.

    Parameters
    ----------
    quantizers : dict of str to EnvelopeQuantizer
        Envelope quantizers by name (``rvq``, ``avq``, ``pvq``, ``scq``).
    spectrum : SpectrumModel
        The entropy model of the coded spectra.
    model_id : str
        16 hex digits; written into every stream and checked when decoding.
    """

    def __init__(self, quantizers: dict[str, EnvelopeQuantizer], spectrum: SpectrumModel, model_id: str):
        self.quantizers = quantizers
        self.spectrum = spectrum
        self.model_id = model_id

    @classmethod
    def load(cls, path: str | Path | None = None) -> SpeechCodec:
        """The codec of a model file; without ``path``, the shipped default model."""
        model = load_model(path or default_model_path())
        if model.spectrum is None:
            raise ModelError(f"{path}: no spectrum model in this file (add one with `vqcodec train spectrum`)")
        return cls(model.quantizers, model.spectrum, model.id)

    def quantizer(self, name: str) -> EnvelopeQuantizer:
        """The model's trained envelope quantizer ``name``: LSF (frames, 16) <-> codes (frames, M)."""
        if name not in self.quantizers:
            raise ValueError(f"unknown quantizer {name!r}; this model has {', '.join(sorted(self.quantizers))}")
        return self.quantizers[name]

    # ------------------------------------------------------------------ encoder

    def encode(self, wav: np.ndarray, sample_rate: int, *, bitrate: float = 13.2, quantizer: str = "avq") -> bytes:
        """Encode audio to a .vqc stream.

        Parameters
        ----------
        wav : ndarray, shape (samples,) or (samples, channels)
            Float in [-1, 1] or integer PCM; channels are averaged.
        sample_rate : int
            Rate of ``wav`` in Hz; resampled to 16 kHz.
        bitrate : float
            kbit/s, one of 8, 9.6, 13.2, 16.4, 24.4, 32.
        quantizer : str
            Envelope quantizer: rvq, avq, pvq or scq.
        """
        original = _as_float_mono(wav)
        if not isinstance(sample_rate, (int, np.integer)) or not 0 < sample_rate <= MAX_SAMPLE_RATE:
            raise AudioError(f"sample rate must be a positive integer up to {MAX_SAMPLE_RATE} Hz, got {sample_rate}")
        x = resample(original, int(sample_rate), SAMPLE_RATE)   # float32; chunks are cut out in float64
        return b"".join(self.encode_stream([x], sample_rate=int(sample_rate), length=len(original),
                                           coded_length=len(x), bitrate=bitrate, quantizer=quantizer))

    def encode_stream(self, blocks: Iterable[np.ndarray], *, sample_rate: int, length: int, coded_length: int,
                      bitrate: float = 13.2, quantizer: str = "avq") -> Iterator[bytes]:
        """Encode 16 kHz audio arriving in blocks: yields the header, then the packets chunk by chunk.

        Parameters
        ----------
        blocks : iterable of ndarray
            Consecutive 16 kHz mono float blocks of any sizes, ``coded_length`` samples in all
            (extra samples are ignored, missing ones count as silence).
        sample_rate, length : int
            The original rate and length, for the header.
        coded_length : int
            Samples at 16 kHz.

        Memory stays bounded by one chunk (20 s) plus the largest block, and the bytes do not
        depend on how the audio was cut into blocks.
        """
        envelope = self.quantizer(quantizer)
        bitstream.bitrate_index(bitrate)
        header = Header(quantizer, float(bitrate), envelope.packet_frames, self.model_id, int(sample_rate),
                        int(length), int(coded_length))
        yield header.pack()
        frames = mdct.num_frames(coded_length)
        chunk = _chunk_frames(envelope.packet_frames)
        pending = iter(blocks)
        buffer, offset, received = np.zeros(0, dtype=np.float32), 0, 0   # buffer = samples [offset, ...)
        for start in range(0, frames, chunk):
            stop = min(frames, start + chunk)
            need = min(stop * HOP + 160, coded_length)
            while offset + len(buffer) < need:
                block = next(pending, None)
                if block is None:
                    break
                block = np.asarray(block, dtype=np.float32)[:max(0, coded_length - received)]
                received += len(block)
                buffer = block if not len(buffer) else np.concatenate([buffer, block])
            yield self._encode_chunk(buffer, start, stop, header, envelope, offset=offset)
            drop = min(len(buffer), max(0, stop * HOP - 480 - offset))   # what the next chunk no longer needs
            buffer, offset = buffer[drop:], offset + drop

    def _encode_chunk(self, x: np.ndarray, start: int, stop: int, header: Header, envelope: EnvelopeQuantizer, *,
                      offset: int = 0) -> bytes:
        spectra, codes, shaping = analyze_frames(x, start, stop, envelope, offset=offset)
        pf = header.packet_frames
        sizes = bitstream.packet_sizes(stop - start, pf, header.bitrate)
        code = residual.rate_loop(spectra, shaping, frame_budgets(stop - start, pf, header.bitrate, envelope),
                                  self.spectrum)
        packets = []
        for p, size in enumerate(sizes):
            rows = slice(p * pf, min(stop - start, (p + 1) * pf))
            while True:
                words = self._encode_packet(envelope, codes[rows], code, rows)
                if len(words) <= bitstream.payload_words(size):
                    break
                # The estimate was optimistic: a coarser gain for this packet's frames, and again
                # (SILENT frames code no spectrum, so this ends).
                gain = np.minimum(code.gain[rows] + 1, residual.SILENT)
                recoded, _ = residual.code_at_gain(spectra[rows], _rows(shaping, rows), gain, self.spectrum)
                for field in ("gain", "level", "noise", "q", "classes"):
                    getattr(code, field)[rows] = getattr(recoded, field)
            packets.append(bitstream.seal_packet(words, size, start // pf + p, header.crc))
        return b"".join(packets)

    def _encode_packet(self, envelope, codes, code: residual.FrameCode, rows: slice) -> np.ndarray:
        encoder = constriction.stream.queue.RangeEncoder()
        fields = np.column_stack([codes, code.gain[rows], code.level[rows], code.noise[rows]])
        entropy.encode_fields(encoder, fields, _field_sizes(envelope))
        coded = code.gain[rows] != residual.SILENT
        self.spectrum.encode(encoder, code.classes[rows][coded], code.q[rows][coded])
        return encoder.get_compressed()

    # ------------------------------------------------------------------ decoder

    def decode(self, data: bytes, *, original_rate: bool = False) -> tuple[np.ndarray, int]:
        """Decode a .vqc stream.

        Parameters
        ----------
        data : bytes
        original_rate : bool
            Resample to the input's original rate and length (default: 16 kHz).

        Returns
        -------
        wav : ndarray, shape (samples,), float32 in [-1, 1]
        sample_rate : int

        Raises
        ------
        BitstreamError
            Not a vqcodec stream, a corrupt header, or a stream of another model.
            Corrupt packets are concealed, not raised.
        """
        rate, length, blocks = self.open_stream(data).output(original_rate=original_rate)
        out = np.zeros(length, dtype=np.float32)
        position = 0
        for block in blocks:
            out[position:position + len(block)] = block
            position += len(block)
        return out, rate

    def open_stream(self, data) -> DecodedStream:
        """Check a stream's header and set up decoding it a chunk at a time.

        ``data`` is any bytes-like object (bytes, memoryview, an mmap of a file).
        The returned ``blocks`` iterator yields consecutive float32 blocks at
        16 kHz, ``length`` samples in all; memory stays bounded by one chunk.
        """
        header = self.read_header(data)
        envelope = self.quantizer(header.quantizer)
        if envelope.packet_frames != header.packet_frames:
            raise BitstreamError(f"stream has {header.packet_frames}-frame packets; the model's "
                                 f"{header.quantizer} uses {envelope.packet_frames}")
        frames = mdct.num_frames(header.coded_length)
        payload = memoryview(data)[bitstream.HEADER_BYTES:]
        sizes, expected = bitstream.present_packets(frames, header.packet_frames, header.bitrate, len(payload))
        offsets = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
        length, target_length = header.coded_length, header.length
        if len(sizes) < expected:
            frames = min(frames, len(sizes) * header.packet_frames)
            length = min(length, max(0, frames * HOP - 480))
            target_length = round(length * header.sample_rate / SAMPLE_RATE)
            log.warning("truncated stream: %d of %d packets; decoding %d samples", len(sizes), expected, length)
        elif len(payload) > offsets[-1]:
            log.warning("%d bytes after the last packet ignored", len(payload) - offsets[-1])

        def blocks() -> Iterator[np.ndarray]:
            state = _DecoderState()
            chunk = _chunk_frames(header.packet_frames)
            for start in range(0, frames, chunk):
                stop = min(frames, start + chunk)
                first = start // header.packet_frames
                count = len(bitstream.packet_frame_counts(stop - start, header.packet_frames))
                packets = [payload[offsets[p]:offsets[p + 1]].tobytes() for p in range(first, first + count)]
                samples = self._decode_chunk(packets, start, stop, header, envelope, state)
                lo, hi = start * HOP - 480, stop * HOP - 480
                a, b = max(lo, 0), min(hi, length)
                if a < b:
                    yield np.clip(samples[a - lo:b - lo], -1.0, 1.0).astype(np.float32)

        return DecodedStream(header, length, target_length, blocks())

    def read_header(self, data: bytes) -> Header:
        """The stream's header, checked against this codec's model."""
        header = Header.unpack(bytes(data[:bitstream.HEADER_BYTES]))
        if header.model_id != self.model_id:
            raise BitstreamError(f"stream was encoded with model {header.model_id}; this decoder has model "
                                 f"{self.model_id} (load that model with SpeechCodec.load(path) or --model)")
        if header.quantizer not in self.quantizers:
            raise BitstreamError(f"stream uses quantizer {header.quantizer}, which this model lacks")
        expected = round(header.length * SAMPLE_RATE / header.sample_rate)
        if header.sample_rate > MAX_SAMPLE_RATE or abs(header.coded_length - expected) > 2:
            raise BitstreamError("corrupt header (inconsistent lengths or sample rate)")
        return header

    def _decode_chunk(self, packets: list[bytes], start: int, stop: int, header: Header,
                      envelope: EnvelopeQuantizer, state: _DecoderState) -> np.ndarray:
        pf, frames = header.packet_frames, stop - start
        counts = bitstream.packet_frame_counts(frames, pf)
        sizes = envelope.quantizer.codebook_sizes
        codes = np.zeros((frames, len(sizes)), dtype=np.int64)
        gain, level, noise = (np.zeros(frames, dtype=np.int64) for _ in range(3))
        good = np.zeros(frames, dtype=bool)
        decoders: list = []
        for p, (packet, n) in enumerate(zip(packets, counts)):
            words = bitstream.open_packet(packet, start // pf + p, header.crc)
            if words is None:
                decoders.append(None)
                continue
            decoder = constriction.stream.queue.RangeDecoder(words)
            rows = slice(p * pf, p * pf + n)
            fields = entropy.decode_fields(decoder, n, _field_sizes(envelope))
            codes[rows] = fields[:, :len(sizes)]
            gain[rows], level[rows], noise[rows] = fields[:, len(sizes):].T
            good[rows] = True
            decoders.append(decoder)
        if not good.all():
            log.warning("%d corrupt packet(s) concealed", sum(d is None for d in decoders))

        with torch.no_grad():
            lsf = envelope.decode(torch.from_numpy(codes)).double().numpy()
        lsf = state.conceal_envelope(lsf, good)
        shaping = residual.shaping(lpc.lsf_to_lpc(lsf))
        classes = self.spectrum.classes(level, shaping.shape)
        q = np.zeros((frames, mdct.COEFFICIENTS), dtype=np.int64)
        for p, (decoder, n) in enumerate(zip(decoders, counts)):
            if decoder is not None:
                rows = np.arange(p * pf, p * pf + n)
                rows = rows[gain[rows] != residual.SILENT]
                q[rows] = self.spectrum.decode(decoder, classes[rows])
        frame_ids = np.arange(start, stop)
        spectra = residual.dequantize(q, gain, noise, shaping.weights, frame_ids,
                                      noise_gain=residual.NOISE_GAIN[header.bitrate])
        spectra = state.conceal_spectra(spectra, good, frame_ids)
        return state.overlap_add(spectra)


def analyze_frames(x: np.ndarray, start: int, stop: int, envelope: EnvelopeQuantizer, *,
               offset: int = 0) -> tuple[np.ndarray, np.ndarray, residual.Shaping]:
    """Frames ``start..stop-1`` of a 16 kHz signal of which ``x`` holds samples from ``offset`` on:
    MDCT spectra (frames, 320), envelope codes (frames, M) and the shaping of the decoded envelope."""
    segment = _segment(x, start * HOP - 480, stop * HOP + 160, offset)
    spectra = mdct.mdct(np.lib.stride_tricks.sliding_window_view(segment, mdct.WINDOW)[::HOP][:stop - start])
    # LPC window of frame j: [320 j - 400, 320 j + 80), i.e. 80 samples into the frame's MDCT block.
    emphasized = lpc.preemphasize(segment)[80:]
    windows = np.lib.stride_tricks.sliding_window_view(emphasized, lpc.WINDOW)[::HOP][:stop - start]
    lsf = lpc.lpc_to_lsf(lpc.analyze_frames(windows * lpc.analysis_window()))
    with torch.no_grad():
        codes = envelope.encode(torch.from_numpy(lsf).to(envelope.mean.dtype))
        decoded = envelope.decode(codes).double().numpy()
    return spectra, codes.numpy(), residual.shaping(lpc.lsf_to_lpc(decoded))


@dataclass
class DecodedStream:
    """A stream being decoded: its header, lengths, and the audio as an iterator of 16 kHz blocks."""

    header: Header
    length: int                  # samples at 16 kHz the blocks add up to
    original_length: int         # samples at the original rate (shorter when the stream was truncated)
    blocks: Iterator[np.ndarray]

    def output(self, *, original_rate: bool = False) -> tuple[int, int, Iterator[np.ndarray]]:
        """(rate, length, blocks) of the decoded audio, resampled (streaming) to the input's
        original rate and length on request; blocks are float32 within [-1, 1]."""
        if not original_rate or self.header.sample_rate == SAMPLE_RATE:
            return SAMPLE_RATE, self.length, self.blocks
        rate = self.header.sample_rate
        resampled = fit_blocks(resample_blocks(self.blocks, SAMPLE_RATE, rate), self.original_length)
        return rate, self.original_length, (np.clip(b, -1.0, 1.0) for b in resampled)


class _DecoderState:
    """What decoding carries from one chunk to the next: concealment memory and the overlap tail."""

    def __init__(self):
        self.lsf = None            # last good frame's LSFs
        self.spectrum = None       # last good frame's spectrum
        self.lost = 0              # frames lost since then
        self.tail = np.zeros(HOP)

    def conceal_envelope(self, lsf: np.ndarray, good: np.ndarray) -> np.ndarray:
        """Lost frames repeat the last good frame's LSFs."""
        last = _last_good_index(good)
        out = lsf.copy()
        have = last >= 0
        out[have] = lsf[last[have]]
        if self.lsf is not None:
            out[~have] = self.lsf
        else:
            out[~have] = lpc.lpc_to_lsf(np.eye(1, lpc.ORDER + 1))[0]  # flat envelope before any good frame
        if good.any():
            self.lsf = lsf[np.flatnonzero(good)[-1]]
        return out

    def conceal_spectra(self, spectra: np.ndarray, good: np.ndarray, frame_ids: np.ndarray) -> np.ndarray:
        """Lost frames repeat the last good spectrum, faded per lost frame and with random signs."""
        if good.all():
            self.spectrum, self.lost = spectra[-1], 0
            return spectra
        last = _last_good_index(good)
        position = np.arange(len(good))
        source = np.where(last[:, None] >= 0, spectra[np.maximum(last, 0)],
                          self.spectrum if self.spectrum is not None else 0.0)
        distance = np.where(last >= 0, position - last, position + 1 + self.lost)
        concealed = source * (CONCEAL_FADE ** distance)[:, None] * residual.random_signs(frame_ids + 7919)
        out = np.where(good[:, None], spectra, concealed)
        if good.any():
            self.spectrum, self.lost = spectra[np.flatnonzero(good)[-1]], int(distance[-1]) if not good[-1] else 0
        else:
            self.lost += len(good)
        return out

    def overlap_add(self, spectra: np.ndarray) -> np.ndarray:
        """Samples [320 j0 - 480, 320 j1 - 480) of frames j0..j1-1; keeps the last half-window."""
        halves = mdct.imdct(spectra).reshape(len(spectra), 2, HOP)
        out = halves[:, 0].copy()
        out[0] += self.tail
        out[1:] += halves[:-1, 1]
        self.tail = halves[-1, 1].copy()
        return out.ravel()


def _last_good_index(good: np.ndarray) -> np.ndarray:
    """Index of the latest good frame at or before each frame, -1 if none."""
    return np.maximum.accumulate(np.where(good, np.arange(len(good)), -1))


_RANGE_CODER_MARGIN = 24   # bits per packet kept for the range coder's termination and table rounding


def frame_budgets(frames: int, packet_frames: int, bitrate: float, envelope: EnvelopeQuantizer) -> np.ndarray:
    """Bits each frame's spectrum may use: its packet's range-coder capacity, less the side
    information and a margin, shared equally by the packet's frames."""
    side_bits = float(np.log2(_field_sizes(envelope)).sum())   # envelope codes + gain, level, noise
    counts = bitstream.packet_frame_counts(frames, packet_frames)
    sizes = bitstream.packet_sizes(frames, packet_frames, bitrate)
    return np.concatenate([np.full(n, (32 * bitstream.payload_words(size) - _RANGE_CODER_MARGIN) / n - side_bits)
                           for size, n in zip(sizes, counts)])


def _field_sizes(envelope: EnvelopeQuantizer) -> tuple[int, ...]:
    """Alphabet sizes of a frame's side information: envelope codes, gain, level, noise level."""
    return (*envelope.quantizer.codebook_sizes, 2 ** residual.GAIN_BITS, 2 ** residual.LEVEL_BITS,
            2 ** residual.NOISE_BITS)


def _chunk_frames(packet_frames: int) -> int:
    """Frames per chunk: CHUNK_FRAMES rounded down to whole packets."""
    return CHUNK_FRAMES - CHUNK_FRAMES % packet_frames


def _rows(shaping: residual.Shaping, rows: slice) -> residual.Shaping:
    return residual.Shaping(shaping.weights[rows], shaping.shape[rows])


def _segment(x: np.ndarray, lo: int, hi: int, offset: int = 0) -> np.ndarray:
    """Samples [lo, hi) of a signal of which ``x`` holds [offset, offset + len(x)); zeros elsewhere."""
    out = np.zeros(hi - lo)
    a, b = max(lo, offset, 0), min(hi, offset + len(x))
    if a < b:
        out[a - lo:b - lo] = x[a - offset:b - offset]
    return out


def _as_float_mono(wav: np.ndarray) -> np.ndarray:
    """Float32 mono samples from float or integer PCM, (samples,) or (samples, channels)."""
    wav = np.asarray(wav)
    if wav.ndim not in (1, 2) or wav.size == 0:
        raise AudioError(f"expected a non-empty (samples,) or (samples, channels) array, got shape {wav.shape}")
    if np.issubdtype(wav.dtype, np.integer):
        info = np.iinfo(wav.dtype)
        wav = (wav.astype(np.float64) - (info.min + info.max + 1) / 2) / ((info.max - info.min + 1) / 2)
    elif not np.issubdtype(wav.dtype, np.floating):
        raise AudioError(f"unsupported sample type {wav.dtype}")
    wav = to_mono(wav).astype(np.float32, copy=False)
    if not np.isfinite(wav).all():
        raise AudioError("audio contains NaN or Inf samples")
    return wav
