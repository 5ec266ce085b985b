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


def worker_init(parent: int) -> None:
    """Set up a worker process of a folder job (``parent``: the job's pid): it dies with its parent and
    cleans up on SIGTERM."""
    interrupt_on_sigterm()
    try:   # Linux: the kernel sends SIGTERM when the parent dies, so no worker outlives a killed job
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    # The parent died before the line above: the worker was re-parented (to init or to a subreaper,
    # so not necessarily pid 1) and no signal will come.
    if os.getppid() != parent:
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
