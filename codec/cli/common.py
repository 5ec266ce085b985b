"""What every vqcodec command shares: the one-line error type, the codec of a model file, worker set-up."""

from __future__ import annotations

import functools
import os
import signal



class CommandError(Exception):
    """An error caused by the user's input: printed as one line, exit code 2."""


def interrupt_on_sigterm() -> None:
    """SIGTERM ends the process like Ctrl-C, so temporary files are removed on the way out."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def worker_init() -> None:
    """Set up a worker process of a folder job: it dies with its parent and cleans up on SIGTERM."""
    interrupt_on_sigterm()
    try:   # Linux: the kernel sends SIGTERM when the parent dies, so no worker outlives a killed job
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:   # the parent is already gone
        os._exit(1)


@functools.lru_cache(maxsize=4)
def load_codec(model: str | None):
    """One codec per model file and process (worker processes load their own)."""
    from ..model import ModelError
    from ..speech_codec import SpeechCodec

    try:
        return SpeechCodec.load(model)
    except ModelError as err:
        raise CommandError(str(err)) from None
