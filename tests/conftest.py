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


@pytest.fixture
def rng():
    return np.random.default_rng(0)
