"""The encoder: 16 kHz audio -> packets, a chunk of whole packets at a time.

Per frame (``codec.dsp.framing`` places the windows): the MDCT of its block and
the LPC of its analysis window; the LSFs are quantized by the envelope coder
(``codec.coding.envelope``) and the *decoded* envelope shapes the spectrum
(``codec.coding.spectrum``); the rate control picks each frame's gain
(``codec.coding.rate_control``); each packet is range coded (side information,
then the spectrum under the trained entropy model) and sealed with its
checksum (``codec.coding.bitstream``). Every packet depends only on its own
samples, so cutting a long input into chunks does not change the bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import constriction
import numpy as np

from .coding import bitstream, noise_filling, rate_control, side_info, silence, spectrum, tns
from .coding.bitstream import Header
from .coding.entropy import CodingOrder, SpectrumModel
from .coding.envelope import EnvelopeCoder
from .dsp import framing, lpc, mdct
from .modes import mode
from .threads import single_threaded

CHUNK_FRAMES = 3000               # 60 s of audio per chunk (rounded down to whole packets): the envelope
# of a packet is coded frame after frame (each predicted from the last), all packets of a chunk at once, so
# longer chunks mean fewer, larger steps (20 s chunks of 1 s packets cost 20 % more encoding time)


def chunk_frames(packet_frames: int) -> int:
    """Frames per chunk: CHUNK_FRAMES rounded down to whole packets (at least one packet)."""
    return max(packet_frames, CHUNK_FRAMES - CHUNK_FRAMES % packet_frames)


def analyze_frames(x: np.ndarray, start: int, stop: int, envelope: EnvelopeCoder, *,
                   offset: int = 0) -> tuple[np.ndarray, np.ndarray, spectrum.Shaping]:
    """Frames ``start .. stop - 1`` of a 16 kHz signal of which ``x`` holds samples from ``offset`` on:
    MDCT spectra (frames, 320), envelope codes (frames, M) and the shaping of the decoded envelope."""
    n = stop - start
    segment = framing.segment(x, *framing.analysis_span(start, stop), offset)
    spectra = mdct.mdct(framing.blocks(segment, framing.MDCT_WINDOW, n))
    emphasized = lpc.preemphasize(segment)[framing.LPC_OFFSET:]
    windows = framing.blocks(emphasized, framing.LPC_WINDOW, n)
    lsf = lpc.lpc_to_lsf(lpc.analyze_frames(windows * lpc.analysis_window()))
    codes = envelope.encode(lsf)
    return spectra, codes, spectrum.shaping(lpc.lsf_to_lpc(envelope.decode(codes)))


@dataclass
class ToolSymbols:
    """Per frame, what the encoder decides from the input before the rate loop, as coded symbols: the
    digital-silence changes (``codec.coding.silence``) and the TNS filter (``codec.coding.tns``)."""

    silence: np.ndarray
    tns: np.ndarray

    def bits(self) -> np.ndarray:
        """What the symbols cost per frame, in bits: (frames,)."""
        return silence.bits(self.silence) + tns.bits(self.tns)

    def rows(self, rows: slice) -> ToolSymbols:
        return ToolSymbols(self.silence[rows], self.tns[rows])

    @classmethod
    def zeros(cls, frames: int) -> ToolSymbols:
        """No silence flags and no TNS filters (what a packet that fails to decode carries)."""
        return cls(np.zeros(frames, dtype=np.int64), np.zeros(frames, dtype=np.int64))

    # A packet's range-coded words hold, after its side information, these symbols in this order.
    def encode(self, encoder, rows: slice) -> None:
        """Append the symbols of frames ``rows`` to a constriction range encoder."""
        encoder.encode(self.silence[rows], silence.model())
        encoder.encode(self.tns[rows], tns.model())

    def decode(self, decoder, rows: slice) -> None:
        """Read frames ``rows``' symbols from a constriction range decoder into these arrays (in place)."""
        n = len(self.silence[rows])
        self.silence[rows] = decoder.decode(silence.model(), n)
        self.tns[rows] = decoder.decode(tns.model(), n)


def choose_tools(x: np.ndarray, start: int, stop: int, spectra: np.ndarray, shaping: spectrum.Shaping,
                 starts: np.ndarray, *, offset: int = 0) -> tuple[np.ndarray, ToolSymbols]:
    """The silence flags and TNS filters of frames ``start .. stop - 1`` (``x`` as in ``analyze_frames``,
    ``starts`` the packets' first frames), and the spectra TNS-filtered: what the rate loop codes."""
    symbols = tns.analyze(spectra * shaping.weights)
    flags = silence.changes(silence.flags(x, start, stop, offset), starts)
    return tns.flatten(spectra, shaping.weights, symbols), ToolSymbols(flags, symbols)


def encode_chunk(x: np.ndarray, start: int, stop: int, header: Header, envelope: EnvelopeCoder,
                 model: SpectrumModel, *, offset: int = 0) -> bytes:
    """The packets of frames ``start .. stop - 1`` (``start`` on a packet boundary)."""
    spectra, codes, shaping = analyze_frames(x, start, stop, envelope, offset=offset)
    pf = header.packet_frames
    starts = np.arange(0, stop - start, pf)
    spectra, tools = choose_tools(x, start, stop, spectra, shaping, starts, offset=offset)
    fields = side_info.field_sizes(envelope.codebook_sizes)
    budgets = rate_control.frame_budgets(stop - start, pf, header.bitrate, fields, tools.bits())
    code = rate_control.rate_loop(spectra, shaping, budgets, starts, model)
    rate_control.spend_slack(code, spectra, shaping, budgets, starts, model)
    noise_gain = mode(header.bitrate).noise_gain
    bands = noise_bands(code, spectra, shaping, starts, model, noise_gain) if noise_filling.has_bands(pf) else None
    sizes = bitstream.packet_sizes(stop - start, pf, header.bitrate)
    packing = _Packing.of(codes, code, tools, bands, pf, len(sizes), fields, model)
    packets = []
    for p, size in enumerate(sizes):
        rows = slice(p * pf, min(stop - start, (p + 1) * pf))
        words = packing.words(p, rows, model)
        while len(words) > bitstream.payload_words(size):   # the estimate was optimistic: this packet coarser
            rate_control.recode_coarser(code, rows, spectra, shaping, model)
            again = code.rows(rows)
            bands_again = None if bands is None else noise_bands(again, spectra[rows], shaping.rows(rows),
                                                                 np.zeros(1, dtype=np.int64), model, noise_gain)
            words = _Packing.of(codes[rows], again, tools.rows(rows), bands_again, pf, 1, fields, model).words(
                0, slice(None), model)
        packets.append(bitstream.seal_packet(words, size, start // pf + p, header.crc))
    return b"".join(packets)


def noise_bands(code: rate_control.FrameCode, spectra: np.ndarray, shaping: spectrum.Shaping, starts: np.ndarray,
                model: SpectrumModel, noise_gain: float) -> np.ndarray:
    """The packets' noise-band corrections (packets, bands) (``noise_filling.band_levels``), from the coded
    frames and the spectra they code; the profile is the decoder's (``spectrum.dequantize``)."""
    y = spectra * shaping.weights / spectrum.gain_value(code.gain)[:, None]
    y[code.gain == spectrum.SILENT] = 0.0
    profile = noise_filling.profile(model.expected_magnitude(code.level, None,
                                                             offset=model.context_offset(shaping.shape)))
    return noise_filling.band_levels(y, code.q, code.noise, profile, starts, noise_gain=noise_gain)


@dataclass
class _Packing:
    """What the range coder takes from consecutive packets: every frame's side-information symbols
    (``side_info.combine``) and tool symbols (``ToolSymbols``), and the spectra's coding order and
    symbols. Made once for a chunk: sorting packet by packet cost more than the range coding."""

    side: list
    tools: ToolSymbols
    bands: np.ndarray | None     # (packets, bands): noise-band corrections (None: the stream's packets have none)
    order: CodingOrder
    symbols: np.ndarray

    @classmethod
    def of(cls, codes: np.ndarray, code: rate_control.FrameCode, tools: ToolSymbols, bands: np.ndarray | None,
           packet_frames: int, count: int, fields: tuple[int, ...], model: SpectrumModel) -> _Packing:
        coded = code.gain != spectrum.SILENT
        order = model.coding_order(code.classes[coded], (np.arange(len(code.gain)) // packet_frames)[coded],
                                   count=count)
        side = side_info.combine(np.column_stack([codes, code.gain, code.level, code.noise]), fields)
        return cls(side, tools, bands, order, order.symbols(code.q[coded], model.max_symbol))

    def words(self, packet: int, rows: slice, model: SpectrumModel) -> np.ndarray:
        """Range-coder words of packet ``packet`` (frames ``rows``): its side information, its silence
        flags and TNS filters, its noise-band corrections, then its spectra."""
        encoder = constriction.stream.queue.RangeEncoder()
        for values, uniform in self.side:
            encoder.encode(values[rows], uniform)
        self.tools.encode(encoder, rows)
        if self.bands is not None:
            encoder.encode(self.bands[packet].astype(np.int32), side_info.band_model())
        model.encode_runs(encoder, self.symbols, self.order.runs[packet])
        return encoder.get_compressed()


def encode_stream(blocks: Iterable[np.ndarray], header: Header, envelope: EnvelopeCoder,
                  model: SpectrumModel) -> Iterator[bytes]:
    """The header, then the packets chunk by chunk, of 16 kHz audio arriving in blocks of any sizes.

    ``header.coded_length`` samples are coded (extra samples are ignored, missing
    ones count as silence). Memory stays bounded by one chunk plus the largest block.
    """
    yield header.pack()
    frames, length = header.frames, header.coded_length
    chunk = chunk_frames(header.packet_frames)
    pending = iter(blocks)
    buffer, offset, received = np.zeros(0, dtype=np.float32), 0, 0   # buffer = samples [offset, ...)
    for start in range(0, frames, chunk):
        stop = min(frames, start + chunk)
        need = min(framing.analysis_span(start, stop)[1], length)
        while offset + len(buffer) < need:
            block = next(pending, None)
            if block is None:
                break
            block = np.asarray(block, dtype=np.float32)[:max(0, length - received)]
            received += len(block)
            buffer = block if not len(buffer) else np.concatenate([buffer, block])
        with single_threaded():
            packets = encode_chunk(buffer, start, stop, header, envelope, model, offset=offset)
        yield packets
        # What the next chunk no longer needs: everything before its first window.
        drop = min(len(buffer), max(0, framing.analysis_span(stop, stop + 1)[0] - offset))
        buffer, offset = buffer[drop:], offset + drop
