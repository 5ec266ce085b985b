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


@pytest.fixture
def rng():
    return np.random.default_rng(0)
