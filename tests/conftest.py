"""Shared fixtures: the real speech clips under tests/data."""

from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / "data"
CLIPS = sorted(DATA.glob("*.wav"))


@pytest.fixture(scope="session")
def speech():
    """A 7 s LibriVox clip, 16 kHz float32."""
    from codec import audio

    wav, _ = audio.load(DATA / "sense_and_sensibility_01_austen_64kb-0870.wav")
    return wav


@pytest.fixture(scope="session")
def speech_lpc(speech):
    from codec import lpc

    return lpc.analyze(speech)


def speaker_folder(root):
    """Copy the clips into ROOT/SPEAKER/ folders: 'librivox' (5 clips) and 'arctic' (1 clip)."""
    import shutil

    for clip in CLIPS:
        speaker = "arctic" if "arctic" in clip.name else "librivox"
        (root / speaker).mkdir(exist_ok=True)
        shutil.copy(clip, root / speaker / clip.name)
    return root


def tone_snr(x: np.ndarray, y: np.ndarray) -> float:
    """Waveform SNR (dB) of a decoded tone ``y`` against ``x``, away from the first and last 0.1 s."""
    x, y = x[1600:-1600], y[1600:-1600]
    return float(10 * np.log10(np.sum(x ** 2) / np.sum((x - y) ** 2)))


def postfilter_tones() -> dict[str, np.ndarray]:
    """Two seconds each of a 1 kHz sine, DTMF 5 and a 100 Hz - 7 kHz sweep: steady tones look voiced,
    so a postfilter's comb works on them (the postfilter tests' signals)."""
    t = np.arange(2 * 16000) / 16000
    return {"sine": 0.3 * np.sin(2 * np.pi * 1000 * t),
            "dtmf": 0.25 * (np.sin(2 * np.pi * 770 * t) + np.sin(2 * np.pi * 1336 * t)),
            "sweep": 0.3 * np.sin(2 * np.pi * (100 * t + 6900 / 4 * t ** 2))}


def level_change(x: np.ndarray, y: np.ndarray) -> float:
    """Decoded energy over the input's, dB."""
    return float(10 * np.log10(np.sum(y ** 2) / np.sum(x ** 2)))


@pytest.fixture
def rng():
    return np.random.default_rng(0)
