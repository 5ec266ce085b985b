"""The base of every reference codec: code a 16 kHz mono signal at a nominal bitrate, the way
``codec.evaluation.references`` lists them, and the error a failing tool raises."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

from ..dsp.framing import SAMPLE_RATE


class ReferenceError(RuntimeError):
    """A reference tool failed on a clip (its message is kept for the results file)."""


class ReferenceCodec:
    """Base class: a codec run at a nominal bitrate on a 16 kHz mono signal."""

    name = ""
    tools: tuple[str, ...] = ()
    install = ""                       # the Debian packages that provide it

    def missing(self) -> str | None:
        """Why this codec cannot run here, or None when it can."""
        absent = [tool for tool in self.tools if shutil.which(tool) is None]
        return f"{', '.join(absent)} not found (apt-get install {self.install})" if absent else None

    def setting(self, kbps: float) -> float | None:
        """The bitrate the codec is asked for at nominal ``kbps``; None when it has none near it."""
        return kbps

    def unsupported(self, kbps: float) -> str:
        return f"{self.name} has no mode near {kbps:g} kbit/s"

    def rates(self, bitrates: list[float]) -> tuple[list[float], dict[float, str]]:
        """The nominal rates of ``bitrates`` this codec runs at, and why it skips the others."""
        return ([k for k in bitrates if self.setting(k) is not None],
                {k: self.unsupported(k) for k in bitrates if self.setting(k) is None})

    def code(self, wav: np.ndarray, kbps: float, workdir: Path) -> tuple[np.ndarray, int]:
        """Encode and decode ``wav`` at ``setting(kbps)``; returns (decoded 16 kHz float64, coded bytes)."""
        source, coded, decoded = workdir / "in.wav", workdir / f"coded.{self.name}", workdir / "out.wav"
        sf.write(source, np.clip(wav, -1, 1), SAMPLE_RATE, subtype="PCM_16")
        for command in self.commands(source, coded, decoded, self.setting(kbps)):
            run_tool(command)
        out, rate = sf.read(decoded, dtype="float64", always_2d=True)
        if rate != SAMPLE_RATE:
            raise ReferenceError(f"{self.name} decoded at {rate} Hz, not {SAMPLE_RATE}")
        return out[:, 0], coded.stat().st_size

    def commands(self, source: Path, coded: Path, decoded: Path, kbps: float) -> list[list[str]]:
        raise NotImplementedError


def run_tool(command: list[str]) -> None:
    """Run a reference tool; its last line of standard error becomes the ReferenceError when it fails."""
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=600)
    except subprocess.CalledProcessError as err:
        message = (err.stderr or b"").decode(errors="replace").strip().splitlines()
        raise ReferenceError(f"{command[0]} failed ({err.returncode}): {message[-1] if message else ''}") from None
    except subprocess.TimeoutExpired:
        raise ReferenceError(f"{command[0]} took more than 600 s") from None
