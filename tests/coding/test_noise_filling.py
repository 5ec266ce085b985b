"""Noise filling: the sent level, spread over frequency by the envelope's expected magnitudes."""

import numpy as np
import pytest

from codec import SpeechCodec
from codec.coding import noise_filling
from codec.evaluation import procedure
from conftest import CLIPS


def test_fill_keeps_the_sent_level_and_follows_the_profile():
    rng = np.random.default_rng(0)
    q = rng.integers(-1, 2, size=(5, 320))
    y = q.astype(float)
    noise = np.array([0, 1, 3, 5, 7])
    shape = np.exp(-np.arange(320) / 100.0)[None, :].repeat(5, axis=0)     # falling with frequency
    out = noise_filling.fill(y.copy(), q, noise, np.arange(5), shape, noise_gain=0.5)
    zeroed = q[:, noise_filling.NOISE_START:] == 0
    high = out[:, noise_filling.NOISE_START:]
    np.testing.assert_array_equal(high[~zeroed], y[:, noise_filling.NOISE_START:][~zeroed])   # coded values kept
    rms = np.sqrt(np.where(zeroed, high ** 2, 0).sum(-1) / zeroed.sum(-1))
    np.testing.assert_allclose(rms, noise * noise_filling.NOISE_STEP * 0.5, rtol=1e-12)
    ratio = np.abs(high) / shape[:, noise_filling.NOISE_START:]
    assert np.allclose(ratio[1][zeroed[1]], ratio[1][zeroed[1]][0])        # |noise| proportional to the shape
    np.testing.assert_array_equal(out[:, :noise_filling.NOISE_START], y[:, :noise_filling.NOISE_START])


def test_profile_is_capped_floored_and_compressed():
    p = noise_filling.profile(np.array([[0.0, 0.01, 0.09, 0.3, 5.0]]))
    np.testing.assert_allclose(p, np.sqrt([[0.02, 0.02, 0.09, 0.3, 0.3]]))


@pytest.fixture(scope="module")
def codec():
    return SpeechCodec.load()


def test_shaped_filling_beats_the_flat_level_on_real_speech(codec, monkeypatch):
    """8 kbit/s on the six test clips: measured PESQ-WB +0.21 to +0.30 per clip (mean 2.71 -> 2.97)
    over the flat filling (profile power 0, vqcodec 0.2), same streams and gain."""
    gains = []
    for clip in CLIPS:
        x = procedure.prepared(clip)
        data = codec.encode(x, 16000, bitrate=8.0, quantizer="avq")
        scores = {}
        for power in (0.0, noise_filling.PROFILE_POWER):
            with monkeypatch.context() as m:
                m.setattr(noise_filling, "PROFILE_POWER", power)
                scores[power] = procedure.score(x, codec.decode(data)[0])["pesq"]
        gains.append(scores[noise_filling.PROFILE_POWER] - scores[0.0])
    assert min(gains) > 0.12 and np.mean(gains) > 0.2
