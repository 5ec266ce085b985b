"""Single-threaded numerics inside the codec.

The codec's matrix products are small (a chunk of frames by 17 or 640
columns): BLAS/OpenMP worker threads only spin on them (a 10-minute file was
reported to encode in 51 s wall with default threading and in 7 s with one
thread, byte-identical). Encoding and decoding therefore run each chunk with
one thread whatever the process has set; parallelism belongs across files
(the command line's folder jobs run one process per core).
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator

# The environment variables that size BLAS/OpenMP thread pools when a process loads numpy.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def single_threaded_environment() -> None:
    """One thread per pool for numpy loaded after this call, here and in spawned processes, unless the
    user set the variables (the command line and the speed benchmark call it before numpy loads)."""
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, "1")


@functools.lru_cache(maxsize=1)
def _controller():
    """The loaded thread pools (BLAS, OpenMP), inspected once: entering a limit is then ~20 microseconds."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Run the block with one BLAS/OpenMP thread, restoring the process's setting after."""
    with _controller().limit(limits=1):
        yield
