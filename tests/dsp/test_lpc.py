"""LPC analysis and LSF conversions on real speech, with numeric floors."""

import numpy as np
import pytest
from scipy.linalg import solve_toeplitz

from codec import lpc


def max_pole_radius(a):
    return max(np.abs(np.roots(row)).max() for row in a)


def test_levinson_matches_toeplitz_solve(rng):
    x = rng.standard_normal((5, 400))
    r = lpc.autocorrelation(x, 16)
    a, k = lpc.levinson(r)
    for row, ri in zip(a, r):
        np.testing.assert_allclose(row[1:], solve_toeplitz(ri[:-1], -ri[1:]), rtol=1e-8, atol=1e-10)
    assert (np.abs(k) < 1).all()


def test_analysis_of_speech(speech, speech_lpc):
    assert speech_lpc.shape == (lpc.num_frames(len(speech)), 17)
    assert np.all(speech_lpc[:, 0] == 1.0)
    assert max_pole_radius(speech_lpc) < 0.999


def test_lsf_round_trip_on_speech(speech_lpc):
    lsf = lpc.lpc_to_lsf(speech_lpc)
    assert lsf.shape == (len(speech_lpc), 16)
    assert (np.diff(lsf, axis=1) > 0).all() and lsf.min() > 0 and lsf.max() < np.pi
    back = lpc.lsf_to_lpc(lsf)
    assert np.abs(back - speech_lpc).max() < 1e-8
    assert lpc.spectral_distortion(speech_lpc, back).max() < 1e-6


def test_lsfs_are_the_roots_of_the_sum_and_difference_polynomials(speech_lpc):
    a = speech_lpc[100:101]
    padded = np.append(a[0], 0.0)
    roots = np.concatenate([np.roots(padded + padded[::-1]), np.roots(padded - padded[::-1])])
    angles = np.sort(np.angle(roots[np.imag(roots) > 1e-9]))
    np.testing.assert_allclose(lpc.lpc_to_lsf(a)[0], angles, atol=1e-7)


@pytest.mark.parametrize("kind", ["silence", "one_sample", "dc", "square", "noise", "clipped"])
def test_hostile_signals_give_stable_filters(kind, speech, rng):
    signals = {
        "silence": np.zeros(8000),
        "one_sample": np.array([0.5]),
        "dc": np.ones(8000),
        "square": np.sign(np.sin(2 * np.pi * 200 * np.arange(8000) / 16000)),
        "noise": rng.uniform(-1, 1, 8000),
        "clipped": np.clip(20 * speech[:16000], -1, 1),
    }
    a = lpc.analyze(signals[kind])
    assert np.isfinite(a).all()
    assert max_pole_radius(a) < 1.0
    lsf = lpc.lpc_to_lsf(a)
    assert np.isfinite(lsf).all() and (np.diff(lsf, axis=1) > 0).all()
    assert np.abs(lpc.lsf_to_lpc(lsf) - a).max() < 1e-8


def test_rejects_bad_signals():
    with pytest.raises(ValueError, match="NaN"):
        lpc.analyze(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="1-D"):
        lpc.analyze(np.zeros((2, 100)))


def test_spectral_distortion(speech_lpc):
    assert np.all(lpc.spectral_distortion(speech_lpc, speech_lpc) == 0)
    lsf = lpc.lpc_to_lsf(speech_lpc)
    nudged = lpc.lsf_to_lpc(lpc.stabilize(lsf + 0.01))
    sd = lpc.spectral_distortion(speech_lpc, nudged)
    assert (sd > 0).all() and sd.mean() < 3
    np.testing.assert_allclose(sd, lpc.spectral_distortion(nudged, speech_lpc))


def test_stabilize_and_interpolate(speech_lpc):
    lsf = lpc.lpc_to_lsf(speech_lpc)
    crowded = lsf.copy()
    crowded[:, 5] = crowded[:, 4]  # two equal LSFs: unstable
    crowded[:, 0] = -0.1
    fixed = lpc.stabilize(crowded)
    assert (np.diff(fixed, axis=1) >= lpc.MIN_GAP - 1e-12).all()
    assert fixed.min() >= lpc.MIN_GAP - 1e-12 and fixed.max() <= np.pi - lpc.MIN_GAP + 1e-12
    assert max_pole_radius(lpc.lsf_to_lpc(fixed)) < 1
    middle = lpc.interpolate(lsf[:-1], lsf[1:], 0.5)
    assert (np.diff(middle, axis=1) > 0).all()


def test_levinson_agrees_with_librosa_burg_on_a_long_ar_process(speech_lpc, rng):
    """Independent cross-check: on a long stationary AR(16) process, our autocorrelation
    + Levinson-Durbin and librosa's Burg estimator both recover the generating filter."""
    import librosa
    from scipy.signal import lfilter

    true_a = speech_lpc[100]
    x = lfilter([1.0], true_a, rng.standard_normal(200_000))
    ours, _ = lpc.levinson(lpc.autocorrelation(x[None, :], 16))
    burg = librosa.lpc(x.astype(np.float64), order=16)
    assert np.abs(ours[0] - burg).max() < 0.05
    assert lpc.spectral_distortion(true_a[None], ours).max() < 0.3
    assert lpc.spectral_distortion(burg[None], ours).max() < 0.3
