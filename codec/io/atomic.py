"""Writing files so that a reader never sees a half-written one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``.

    The temporary name keeps the suffix (``name.partial.npy``), so writers
    that look at it (numpy, soundfile) behave as for the final name. If the
    block raises, the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    partial = path.with_name(f"{path.stem}.partial{path.suffix}")
    try:
        yield partial
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
