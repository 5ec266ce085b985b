"""What every vqcodec command shares: the one-line error type and the codec of a model file."""

from __future__ import annotations

import functools


class CommandError(Exception):
    """An error caused by the user's input: printed as one line, exit code 2."""


@functools.lru_cache(maxsize=4)
def load_codec(model: str | None):
    """One codec per model file and process (worker processes load their own)."""
    from ..model import ModelError
    from ..speech_codec import SpeechCodec

    try:
        return SpeechCodec.load(model)
    except ModelError as err:
        raise CommandError(str(err)) from None
