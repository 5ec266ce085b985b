"""The decoder: packets -> 16 kHz audio, a chunk of whole packets at a time.

Per chunk: each packet's checksum is verified and its side information and
spectra range decoded; packets that fail are concealed
(``codec.concealment``); the envelope codes are decoded to stable LSFs, which
give the spectral shaping and the entropy model's contexts; the spectra are
dequantized with noise filling, their TNS filters undone (``codec.coding.tns``),
rescaled band by band by the spectral postfilter (``codec.spectral_postfilter``, when
the model has one), inverse transformed and overlap-added; the time-domain
postfilter (``codec.postfilter``) sees the result, and the blocks the
encoder flagged as digital silence (``codec.coding.silence``) are muted before
it is output.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import constriction
import numpy as np

from .coding import bitstream, noise_filling, side_info, silence, spectrum, tns
from .coding.bitstream import Header, PacketLayout
from .coding.entropy import SpectrumModel
from .coding.envelope import EnvelopeCoder
from .concealment import Concealment
from .dsp import framing, lpc, mdct
from .encoder import ToolSymbols, chunk_frames
from .io.audio import fit_blocks, resample_blocks
from .modes import mode
from .neural_postfilter import NeuralPostfilter, PostfilterWeights
from .postfilter import PitchPostfilter
from .spectral_postfilter import FrameInfo
from .threads import single_threaded

log = logging.getLogger(__name__)


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
        if not original_rate or self.header.sample_rate == framing.SAMPLE_RATE:
            return framing.SAMPLE_RATE, self.length, self.blocks
        rate = self.header.sample_rate
        resampled = fit_blocks(resample_blocks(self.blocks, framing.SAMPLE_RATE, rate), self.original_length)
        return rate, self.original_length, (np.clip(b, -1.0, 1.0) for b in resampled)


class Decoder:
    """Decodes the packets of one stream in order, chunk by chunk (it keeps the concealment
    memory and the overlap-add tail between chunks)."""

    def __init__(self, header: Header, envelope: EnvelopeCoder, model: SpectrumModel,
                 postfilter: bool | float | str = True, lost: np.ndarray | None = None,
                 weights: PostfilterWeights | None = None,
                 spectral: Callable[[np.ndarray, FrameInfo], np.ndarray] | None = None):
        self.header, self.envelope, self.model = header, envelope, model
        # The spectral stage (codec.spectral_postfilter.SpectralPostfilter, or None): it sees each
        # chunk's spectra and what the decoder knows of their frames, before synthesis.
        self.spectral = spectral
        # True: the pitch postfilter at the bitrate's strength; "trained": the model's trained
        # postfilter (``weights``); False: off; a number: the pitch postfilter at that strength
        # (SpeechCodec.decode). Strength 0, the off rates included, makes it the identity.
        if postfilter == "trained":
            if weights is None:
                raise ValueError("this model has no trained postfilter (vqcodec train postfilter export adds one)")
            self.postfilter = NeuralPostfilter(weights, header.bitrate)
        else:
            self.postfilter = PitchPostfilter(mode(header.bitrate).postfilter_strength if postfilter is True
                                              else float(postfilter))
        self.lost = lost                 # packets a simulated channel dropped (codec.channel), by index
        self.fields = side_info.field_sizes(envelope.codebook_sizes)
        self.concealment = Concealment()
        self.tail = np.zeros(framing.FRAME)

    def blocks(self, payload, layout: PacketLayout, length: int) -> Iterator[np.ndarray]:
        """Samples [0, length) at 16 kHz, float32 in [-1, 1], a chunk at a time."""
        pf = self.header.packet_frames
        chunk = chunk_frames(pf)
        for start in range(0, layout.frames, chunk):
            stop = min(layout.frames, start + chunk)
            first = start // pf
            count = len(bitstream.packet_frame_counts(stop - start, pf))
            packets = [layout.packet(payload, p).tobytes() for p in range(first, first + count)]
            with single_threaded():
                samples = self.chunk(packets, start, stop)
            lo, hi = framing.output_span(start, stop)
            a, b = max(lo, 0), min(hi, length)
            if a < b:
                yield np.clip(samples[a - lo:b - lo], -1.0, 1.0).astype(np.float32)

    def chunk(self, packets: list[bytes], start: int, stop: int) -> np.ndarray:
        """Samples ``framing.output_span(start, stop)`` from the packets of frames ``start .. stop - 1``.

        A packet is concealed when its checksum fails, when the simulated channel lost
        it, or when its payload, checksum intact, does not decode (anyone can recompute
        a CRC: a crafted packet must cost that packet, never the stream).
        """
        pf, frames = self.header.packet_frames, stop - start
        counts = bitstream.packet_frame_counts(frames, pf)
        m = len(self.envelope.codebook_sizes)
        side_models = side_info.models(self.fields)
        side = [np.zeros(frames, dtype=np.int64) for _ in side_models]
        tools = ToolSymbols.zeros(frames)   # a packet that fails mutes nothing and has no TNS filters
        # ... nor noise-band corrections (a stream of short packets has none at all: neutral ones).
        bands = np.full((frames, len(noise_filling.NOISE_BANDS) - 1), noise_filling.BAND_ZERO)
        has_bands = noise_filling.has_bands(pf)
        good = np.zeros(frames, dtype=bool)
        decoders: list = [None] * len(counts)
        lost = corrupt = 0
        for p, (packet, n) in enumerate(zip(packets, counts)):
            index, rows = start // pf + p, slice(p * pf, p * pf + n)
            if self.lost is not None and self.lost[index]:
                lost += 1
                continue
            words = bitstream.open_packet(packet, index, self.header.crc)
            try:
                decoders[p] = constriction.stream.queue.RangeDecoder(words)
                for values, uniform in zip(side, side_models):
                    values[rows] = decoders[p].decode(uniform, n)
                tools.decode(decoders[p], rows)
                if has_bands:
                    bands[rows] = decoders[p].decode(side_info.band_model(), bands.shape[1])
                good[rows] = True
            except (AssertionError, ValueError, TypeError, RuntimeError):   # TypeError: no words (CRC failed)
                decoders[p], corrupt = None, corrupt + 1
                for values in (*side, tools.silence, tools.tns):
                    values[rows] = 0
                bands[rows] = noise_filling.BAND_ZERO
        fields = side_info.split(side, self.fields)
        codes, (gain, level, noise) = fields[:, :m], fields[:, m:].T
        lsf = self.envelope.decode(codes)
        shaping = spectrum.shaping(lpc.lsf_to_lpc(lsf))
        offset = self.model.context_offset(shaping.shape)   # serves the classes and the noise filling's shape
        classes = self.model.classes(level, None, offset=offset)
        # One coding order for the chunk's packets (the encoder's), then each packet's runs.
        coded = good & (gain != spectrum.SILENT)
        packet_of_row = (np.arange(frames) // pf)[coded]
        order = self.model.coding_order(classes[coded], packet_of_row, count=len(counts))
        decoded = []
        for p, decoder in enumerate(decoders):
            try:
                decoded.append(self.model.decode_runs(decoder, order.runs[p]) if decoder is not None else None)
            except (AssertionError, ValueError, RuntimeError):
                decoded.append(None)
                good[p * pf:p * pf + counts[p]], corrupt = False, corrupt + 1
        if any(d is None for d in decoded):   # a payload that failed to decode: its coded frames' integers are zeros
            lengths = np.bincount(packet_of_row, minlength=len(counts)) * mdct.COEFFICIENTS
            decoded = [np.full(k, self.model.max_symbol) if d is None else d for d, k in zip(decoded, lengths)]
        q = np.zeros((frames, mdct.COEFFICIENTS), dtype=np.int64)
        q[coded] = order.integers(decoded, (int(coded.sum()), mdct.COEFFICIENTS), self.model.max_symbol)
        if corrupt or lost:
            log.warning("%s concealed", ", ".join(f"{k} {what} packet(s)" for k, what in
                                                  ((corrupt, "corrupt"), (lost, "lost")) if k))
        concealed_lsf = self.concealment.envelope(lsf, good)
        if not good.all():   # concealed frames take the repeated envelope's shaping; good frames keep theirs
            bad = ~good
            shaping.weights[bad] = spectrum.shaping(lpc.lsf_to_lpc(concealed_lsf[bad])).weights
        frame_ids = np.arange(start, stop)
        spectra = spectrum.dequantize(q, gain, noise, shaping.weights, frame_ids,
                                      self.model.expected_magnitude(level, None, offset=offset),
                                      noise_gain=mode(self.header.bitrate).noise_gain,
                                      bands=bands if has_bands else None)
        spectra = tns.restore(spectra, shaping.weights, tools.tns)
        spectra = self.concealment.spectra(spectra, good, frame_ids)
        if self.spectral is not None:
            spectra = self.spectral(spectra, FrameInfo(concealed_lsf, gain, noise, bands, q == 0))
        return silence.mute(self.postfilter(self.overlap_add(spectra)),
                            silence.from_changes(tools.silence, np.arange(0, frames, pf)))

    def overlap_add(self, spectra: np.ndarray) -> np.ndarray:
        """Samples of ``framing.output_span`` of these frames; keeps the last half-window for the next chunk."""
        halves = mdct.imdct(spectra).reshape(len(spectra), 2, framing.FRAME)
        out = halves[:, 0].copy()
        out[0] += self.tail
        out[1:] += halves[:-1, 1]
        self.tail = halves[-1, 1].copy()
        return out.ravel()
