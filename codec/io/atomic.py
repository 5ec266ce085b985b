"""Writing files so that a reader never sees a half-written one, and nothing but the target is touched."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path


def check_replaceable(path: str | Path) -> None:
    """Raise unless ``path`` is absent or a regular file (never replace a device, folder, pipe or symlink)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        raise FileExistsError(f"{path}: exists and is not a regular file; refusing to replace it")


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[Path]:
    """Yield a new temporary file beside ``path``; on success rename it to ``path``.

    The temporary file has a unique name (``.NAME.XXXXXXXX.partial.EXT``,
    created exclusively, so it can never be an existing file, an input or a
    planted symlink) and keeps the suffix, so writers that look at it (numpy,
    soundfile) behave as for the final name. If the block raises, or the
    process is interrupted (the command line turns SIGTERM into an
    interruption), the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    check_replaceable(path)
    try:
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".partial{path.suffix}")
    except OSError as err:
        raise OSError(f"{path}: cannot write there ({err.strerror or err})") from None
    os.close(handle)
    partial = Path(name)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(partial, 0o666 & ~umask)   # mkstemp's 0600 would make outputs private
        yield partial
        check_replaceable(path)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
