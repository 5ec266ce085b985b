"""vqcodec: a wideband speech codec with trained vector-quantized LSF envelopes.

    import codec
    c = codec.SpeechCodec.load()                     # the shipped default model
    data = c.encode(wav, sr, bitrate=13.2, quantizer="avq")
    wav, sr = c.decode(data)
    codec.encode_file("in.wav", "out.vqc", bitrate=13.2)
    codec.decode_file("out.vqc", "out.wav")

The package, by concern (``docs/design.md`` walks through the pipeline):

    dsp/         framing, LPC, LSF, MDCT, the weighting filter W(z)
    coding/      envelope coder and searches, spectrum quantization, noise filling,
                 rate control, entropy model, side information, bitstream
    encoder, decoder, concealment, postfilter, speech_codec (SpeechCodec), modes, model
    io/          audio files and PCM, encode_file/decode_file, atomic writes
    channel      packet-loss simulation
    evaluation/  metrics (PESQ, pSNR, SD), the evaluation procedure, reference codecs, plots
    listening/   sample pages and the MUSHRA test
    corpus/      corpus preparation and LSF features
    quantizers/  trainable vector quantizers (torch; the [train] extra)
    train/       Lightning training recipes (the [train] extra)
    cli/         the vqcodec command line
"""

import importlib

__version__ = "0.9.0"

# Short names for the modules users reach for (``from codec import lpc, metrics``), imported on first use.
_ALIASES = {"audio": "codec.io.audio", "lpc": "codec.dsp.lpc", "lsf": "codec.dsp.lsf", "mdct": "codec.dsp.mdct",
            "metrics": "codec.evaluation.metrics", "bitstream": "codec.coding.bitstream"}


def __getattr__(name):
    if name in _ALIASES:
        module = importlib.import_module(_ALIASES[name])
        globals()[name] = module
        return module
    if name in ("SpeechCodec",):
        from .speech_codec import SpeechCodec
        return SpeechCodec
    if name in ("encode_file", "decode_file"):
        from .io import files
        return getattr(files, name)
    raise AttributeError(f"module 'codec' has no attribute {name!r}")


__all__ = ["SpeechCodec", "__version__", "decode_file", "encode_file"]
