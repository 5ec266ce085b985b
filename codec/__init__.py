"""vqcodec: a wideband speech codec with trained vector-quantized LSF envelopes."""

__version__ = "0.1.0"
