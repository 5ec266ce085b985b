"""``SpeechCodec``: the public face of the codec, one trained model's encoder and decoder.

    c = SpeechCodec.load()                                   # the shipped model
    data = c.encode(wav, sr, bitrate=13.2, quantizer="avq")  # -> bytes
    wav, sr = c.decode(data)                                 # 16 kHz float32

The work is done by ``codec.encoder`` and ``codec.decoder``; this class holds
the model and checks what comes in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from . import decoder, encoder
from .coding import bitstream
from .coding.bitstream import BitstreamError, Header
from .coding.entropy import SpectrumModel
from .coding.envelope import EnvelopeCoder
from .dsp.framing import MAX_SAMPLE_RATE, SAMPLE_RATE, output_span
from .io.audio import AudioError, as_float_mono, resample
from .model import ModelError, default_model_path, load_model
from .modes import mode, mode_index
from .neural_postfilter import PostfilterWeights
from .spectral_postfilter import SpectralPostfilter, SpectralWeights

log = logging.getLogger(__name__)


class SpeechCodec:
    """Encoder and decoder for one trained model.

    Parameters
    ----------
    quantizers : dict of str to EnvelopeCoder
        Envelope coders by name (``rvq``, ``avq``, ``pvq``, ``scq``).
    spectrum : SpectrumModel
        The entropy model of the coded spectra.
    model_id : str
        16 hex digits; written into every stream and checked when decoding.
    postfilter : PostfilterWeights, optional
        The trained postfilter (``codec.neural_postfilter``), which ``decode(postfilter="trained")``
        runs instead of the pitch postfilter (``codec.postfilter``).
    postfilter_id : str, optional
        16 hex digits naming the weights of both postfilters.
    spectral : SpectralWeights, optional
        The spectral postfilter (``codec.spectral_postfilter``), which decoding runs unless
        ``postfilter=False``.
    """

    def __init__(self, quantizers: dict[str, EnvelopeCoder], spectrum: SpectrumModel, model_id: str,
                 postfilter: PostfilterWeights | None = None, postfilter_id: str | None = None,
                 spectral: SpectralWeights | None = None):
        self.quantizers = quantizers
        self.spectrum = spectrum
        self.model_id = model_id
        self.postfilter, self.postfilter_id, self.spectral = postfilter, postfilter_id, spectral

    @classmethod
    def load(cls, path: str | Path | None = None) -> SpeechCodec:
        """The codec of a model file; without ``path``, the shipped default model."""
        model = load_model(path or default_model_path())
        if model.spectrum is None:
            raise ModelError(f"{path}: no spectrum model in this file (add one with `vqcodec train spectrum`)")
        return cls(model.quantizers, model.spectrum, model.id, model.postfilter, model.postfilter_id, model.spectral)

    def quantizer(self, name: str) -> EnvelopeCoder:
        """The model's trained envelope quantizer ``name``: LSF (frames, 16) <-> codes (frames, M), numpy."""
        if name not in self.quantizers:
            raise ValueError(f"unknown quantizer {name!r}; this model has {', '.join(sorted(self.quantizers))}")
        return self.quantizers[name]

    # ------------------------------------------------------------------ encoder

    def encode(self, wav: np.ndarray, sample_rate: int, *, bitrate: float = 13.2, quantizer: str = "avq",
               packet_frames: int = bitstream.DEFAULT_PACKET_FRAMES) -> bytes:
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
        packet_frames : int
            20 ms frames per packet, 1 to 255 (``codec.coding.bitstream.DEFAULT_PACKET_FRAMES``: 1 s).
            Longer packets code better; a lost or corrupt packet costs that much audio.
        """
        _check_rate(sample_rate)
        original = as_float_mono(wav)
        x = resample(original, int(sample_rate), SAMPLE_RATE)
        return b"".join(self.encode_stream([x], sample_rate=int(sample_rate), length=len(original),
                                           coded_length=len(x), bitrate=bitrate, quantizer=quantizer,
                                           packet_frames=packet_frames))

    def encode_stream(self, blocks: Iterable[np.ndarray], *, sample_rate: int, length: int, coded_length: int,
                      bitrate: float = 13.2, quantizer: str = "avq",
                      packet_frames: int = bitstream.DEFAULT_PACKET_FRAMES) -> Iterator[bytes]:
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
        bitrate, quantizer, packet_frames
            As in :meth:`encode`.

        Memory stays bounded by one chunk (60 s) plus the largest block, and the bytes do not
        depend on how the audio was cut into blocks.
        """
        envelope = self.quantizer(quantizer)
        mode_index(bitrate)
        _check_rate(sample_rate)
        if isinstance(packet_frames, bool) or not isinstance(packet_frames, (int, np.integer)) \
                or not 1 <= packet_frames <= bitstream.MAX_PACKET_FRAMES:
            raise ValueError(f"packet_frames must be an integer from 1 to {bitstream.MAX_PACKET_FRAMES}, "
                             f"got {packet_frames!r}")
        envelope = envelope.with_packet_frames(int(packet_frames))
        header = Header(quantizer, float(bitrate), int(packet_frames), self.model_id, int(sample_rate),
                        int(length), int(coded_length))
        return encoder.encode_stream(blocks, header, envelope, self.spectrum)

    # ------------------------------------------------------------------ decoder

    def decode(self, data: bytes, *, original_rate: bool = False,
               postfilter: bool | float | str = True) -> tuple[np.ndarray, int]:
        """Decode a .vqc stream.

        Parameters
        ----------
        data : bytes
        original_rate : bool
            Resample to the input's original rate and length (default: 16 kHz).
        postfilter : bool, float or "trained"
            True: the pitch postfilter (``codec.postfilter``) at the bitrate's strength
            (``codec.modes``); "trained": the model's trained postfilter
            (``codec.neural_postfilter``; ValueError for a model without one); False skips
            postfiltering; a number runs the pitch postfilter at that strength (for tuning).
            Unless False, the model's spectral postfilter (``codec.spectral_postfilter``), if it
            has one, runs before synthesis at the rates ``codec.modes`` turns it on for (all but 32).

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
        rate, length, blocks = self.open_stream(data, postfilter=postfilter).output(original_rate=original_rate)
        out = np.zeros(length, dtype=np.float32)
        position = 0
        for block in blocks:
            out[position:position + len(block)] = block
            position += len(block)
        return out, rate

    def open_stream(self, data, *, postfilter: bool | float | str = True, lost: np.ndarray | None = None,
                    spectral=None) -> decoder.DecodedStream:
        """Check a stream's header and set up decoding it a chunk at a time.

        ``data`` is any bytes-like object (bytes, memoryview, an mmap of a file).
        The returned stream's ``blocks`` iterator yields consecutive float32 blocks
        at 16 kHz, ``length`` samples in all; memory stays bounded by one chunk.
        ``lost`` flags packets a simulated channel dropped (``codec.channel``): they
        are concealed and reported as lost rather than corrupt. ``postfilter`` as in :meth:`decode`.
        ``spectral`` replaces the model's spectral postfilter for this stream: a callable
        ``(spectra, codec.spectral_postfilter.FrameInfo) -> spectra`` (training uses it to record
        what the decoder knows).
        """
        header = self.read_header(data)
        envelope = self.quantizer(header.quantizer)
        envelope = envelope.with_packet_frames(header.packet_frames)
        payload = memoryview(data)[bitstream.HEADER_BYTES:]
        layout = bitstream.packet_layout(header, len(payload))
        length, target_length = header.coded_length, header.length
        if layout.packets < layout.expected:
            length = min(length, max(0, output_span(0, layout.frames)[1]))
            target_length = round(length * header.sample_rate / SAMPLE_RATE)
            log.warning("truncated stream: %d of %d packets; decoding %d samples", layout.packets, layout.expected,
                        length)
        elif len(payload) > layout.end:
            log.warning("%d bytes after the last packet ignored", len(payload) - layout.end)
        if spectral is None and postfilter is not False and self.spectral is not None \
                and mode(header.bitrate).spectral_postfilter:
            spectral = SpectralPostfilter(self.spectral, header.bitrate)
        stream = decoder.Decoder(header, envelope, self.spectrum, postfilter, lost, weights=self.postfilter,
                                 spectral=spectral)
        return decoder.DecodedStream(header, length, target_length, stream.blocks(payload, layout, length))

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


def _check_rate(sample_rate) -> None:
    """The original rate must be an integer the header can carry and a decoder accepts."""
    if isinstance(sample_rate, (bool, np.bool_)) or not isinstance(sample_rate, (int, np.integer)) \
            or not 0 < sample_rate <= MAX_SAMPLE_RATE:
        raise AudioError(f"sample rate must be an integer from 1 to {MAX_SAMPLE_RATE} Hz, got {sample_rate!r}")
