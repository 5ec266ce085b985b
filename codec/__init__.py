"""vqcodec: a wideband speech codec with trained vector-quantized LSF envelopes.

    import codec
    c = codec.SpeechCodec.load()                     # the shipped default model
    data = c.encode(wav, sr, bitrate=13.2, quantizer="avq")
    wav, sr = c.decode(data)
    codec.encode_file("in.wav", "out.vqc", bitrate=13.2)
    codec.decode_file("out.vqc", "out.wav")
"""

__version__ = "0.1.0"

from .files import decode_file, encode_file
from .speech_codec import SpeechCodec

__all__ = ["SpeechCodec", "__version__", "decode_file", "encode_file"]
