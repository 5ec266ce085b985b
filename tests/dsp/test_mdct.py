"""MDCT: perfect reconstruction, frame alignment with the LPC frames, energy."""

import numpy as np
import pytest

from codec import lpc, mdct


def snr_db(ref, test):
    return 10 * np.log10(np.sum(ref ** 2) / max(np.sum((ref - test) ** 2), 1e-300))


@pytest.mark.parametrize("samples", [1, 159, 160, 161, 320, 321, 16000, 16001])
def test_perfect_reconstruction(samples, speech, rng):
    wav = np.resize(speech, samples) if samples > 1 else rng.standard_normal(1)
    coefficients = mdct.analyze(wav)
    assert coefficients.shape == (mdct.num_frames(samples), 320)
    out = mdct.synthesize(coefficients, samples)
    assert out.shape == (samples,)
    assert snr_db(wav, out) > 90


def test_speech_round_trip(speech):
    coefficients = mdct.analyze(speech)
    # Every LPC frame has its MDCT frame (row i + 1), frame -1 comes first.
    assert len(coefficients) >= lpc.num_frames(len(speech)) + 1
    assert snr_db(speech, mdct.synthesize(coefficients, len(speech))) > 90


def test_frames_are_centred_on_the_lpc_frames():
    # A click in the middle of 20 ms frame 5 lands in MDCT row 6 (frame -1 is row 0) and its neighbours stay silent.
    wav = np.zeros(16000)
    wav[5 * 320 + 160] = 1.0
    energy = np.sum(mdct.analyze(wav) ** 2, axis=1)
    assert np.argmax(energy) == 6
    assert energy[4] == pytest.approx(0, abs=1e-20) and energy[8] == pytest.approx(0, abs=1e-20)


def test_tone_lands_in_its_bin():
    t = np.arange(16000) / 16000
    wav = np.sin(2 * np.pi * 1012.5 * t)  # centre of bin 40 (25 Hz bins, k + 1/2)
    spectrum = np.abs(mdct.analyze(wav)[5:-5]).mean(0)
    assert np.argmax(spectrum) == 40


def test_fast_transform_equals_the_defining_matrix(rng):
    blocks = rng.normal(size=(7, 640))
    np.testing.assert_allclose(mdct.mdct(blocks), (blocks * mdct.window()) @ mdct._basis(320), atol=1e-9)
    coefficients = rng.normal(size=(7, 320))
    np.testing.assert_allclose(mdct.imdct(coefficients),
                               (2 / 320) * (coefficients @ mdct._basis(320).T) * mdct.window(), atol=1e-12)


def test_window_keeps_a_tone_within_its_bins():
    # Why the Vorbis window: of a steady tone between bin centres, the energy more than 8 bins (200 Hz)
    # away is measured at -60 to -65 dB (the sine window: -43 to -47 dB); what leaks there costs bits.
    t = np.arange(16000) / 16000
    k = np.arange(320)
    for f in (433.7, 1006.0, 2317.0, 5120.3):
        energy = mdct.analyze(np.sin(2 * np.pi * f * t))[5:-5] ** 2
        far = energy[:, np.abs(k + 0.5 - f / 25) > 8].sum() / energy.sum()
        assert 10 * np.log10(far) < -57.0, f


def test_window_is_power_complementary():
    w = mdct.window()
    np.testing.assert_allclose(w[:320] ** 2 + w[320:] ** 2, 1.0, atol=1e-12)
    np.testing.assert_allclose(w, w[::-1], atol=1e-15)
