"""The spectral postfilter in the decoder: shipped and on by default, off with the postfilter,
chunk-invariant, checked weights, and closer to the original's band energies on unseen speech."""

import numpy as np
import pytest
import soundfile as sf
from conftest import CLIPS

from codec import SpeechCodec
from codec import spectral_postfilter as sp
from codec.dsp.mdct import COEFFICIENTS
from codec.model import ModelError, default_model_path, load_model, read_model_arrays, save_model
from codec.train.spectral_postfilter import original_energies


@pytest.fixture(scope="module")
def codec():
    return SpeechCodec.load()


@pytest.fixture(scope="module")
def stream(codec):
    return codec.encode(sf.read(CLIPS[0])[0], 16000, bitrate=8.0)


def recorded(codec, data):
    """The spectra and FrameInfo (all frames) the spectral stage sees when ``data`` is decoded."""
    seen = []

    def recorder(spectra, info):
        seen.append((spectra.copy(), info))
        return spectra

    for _ in codec.open_stream(data, postfilter=False, spectral=recorder).blocks:
        pass
    return np.concatenate([s for s, _ in seen]), sp.FrameInfo(
        *(np.concatenate([getattr(i, f) for _, i in seen]) for f in ("lsf", "gain", "noise", "bands", "zeroed")))


def test_the_shipped_model_has_one_and_runs_it_by_default(codec, stream):
    assert load_model(default_model_path()).spectral is not None
    plain = SpeechCodec(codec.quantizers, codec.spectrum, codec.model_id, codec.postfilter, codec.postfilter_id)
    assert np.array_equal(codec.decode(stream, postfilter=False)[0], plain.decode(stream, postfilter=False)[0])
    assert not np.array_equal(codec.decode(stream)[0], plain.decode(stream)[0])


def test_it_is_off_where_the_mode_says(codec):
    from codec.modes import MODES

    plain = SpeechCodec(codec.quantizers, codec.spectrum, codec.model_id, codec.postfilter, codec.postfilter_id)
    wav = sf.read(CLIPS[0])[0][:32000]
    for m in MODES:
        data = codec.encode(wav, 16000, bitrate=m.kbps)
        same = np.array_equal(codec.decode(data)[0], plain.decode(data)[0])
        assert same != m.spectral_postfilter, m   # off at 32 kbit/s only (codec.modes says why)


def test_zero_gains_change_nothing(codec, stream):
    hidden = 4
    zero = {"w1": np.zeros((sp.CONTEXT * sp.FEATURES, hidden)), "b1": np.zeros(hidden),
            "w2": np.zeros((hidden, hidden)), "b2": np.zeros(hidden), "w3": np.zeros((hidden, sp.OUTPUTS)),
            "b3": np.zeros(sp.OUTPUTS)}
    identity = sp.SpectralPostfilter(sp.SpectralWeights(zero), 8.0)
    blocks = codec.open_stream(stream, postfilter=False, spectral=identity).blocks
    assert np.array_equal(np.concatenate(list(blocks)), codec.decode(stream, postfilter=False)[0])


def test_the_gains_do_not_depend_on_where_chunks_are_cut(codec, stream):
    spectra, info = recorded(codec, stream)
    assert spectra.shape[1] == COEFFICIENTS and len(spectra) > 40
    whole = sp.SpectralPostfilter(codec.spectral, 8.0)(spectra, info)
    pieces = sp.SpectralPostfilter(codec.spectral, 8.0)
    parts = []
    for a in range(0, len(spectra), 7):
        rows = slice(a, a + 7)
        parts.append(pieces(spectra[rows], sp.FrameInfo(info.lsf[rows], info.gain[rows], info.noise[rows],
                                                        info.bands[rows], info.zeroed[rows])))
    # Equal to rounding (BLAS may sum a product's terms in another order for another number of rows).
    assert np.abs(whole - np.concatenate(parts)).max() < 1e-12 * np.abs(whole).max()
    assert np.abs(whole - spectra).max() > 1e-3 * np.abs(spectra).max()   # it does change them


def test_broken_weights_are_refused_in_one_line(tmp_path):
    entries, spectrum, trained = read_model_arrays(default_model_path())
    weights = trained["spectral"]
    with pytest.raises(ValueError, match="w3 has shape"):
        sp.SpectralWeights({**weights, "w3": np.zeros((3, 3))})
    broken = {**weights, "b1": np.full(weights["b1"].shape, np.inf)}
    save_model(tmp_path / "m.npz", entries, spectrum, {**trained, "spectral": broken})
    with pytest.raises(ModelError, match="b1"):
        load_model(tmp_path / "m.npz")


def _band_errors(codec, rate):
    """Per clip, the mean squared log10 band-energy error of the decoded spectra against the
    original's, without and with the spectral postfilter, over frames with speech."""
    out = []
    for path in CLIPS:
        wav = sf.read(path)[0]
        spectra, info = recorded(codec, codec.encode(wav, 16000, bitrate=rate))
        filtered = sp.SpectralPostfilter(codec.spectral, rate)(spectra, info)
        original = original_energies(wav, len(spectra))
        speech = original.sum(axis=1) > 1e-3 * original.sum(axis=1).max()
        floor = 1e-4 * original.mean(axis=1, keepdims=True)
        out.append(tuple(np.mean((np.log10(sp.band_sums(s * s) + floor) - np.log10(original + floor))[speech] ** 2)
                         for s in (spectra, filtered)))
    return np.array(out)


# Measured on the six tests/data clips (not in training), filtered over unfiltered error: 8 kbit/s
# 0.77-0.82 (mean 0.80), 13.2 0.67-0.76 (0.70), 24.4 0.54-0.68 (0.58). Floors a little above the means.
RATIO_FLOOR = {8.0: 0.86, 24.4: 0.66}


@pytest.mark.parametrize("rate", sorted(RATIO_FLOOR))
def test_band_energies_come_closer_to_the_original_on_unseen_speech(codec, rate):
    errors = _band_errors(codec, rate)
    assert (errors[:, 1] < errors[:, 0]).all(), errors
    assert np.mean(errors[:, 1] / errors[:, 0]) < RATIO_FLOOR[rate], errors


def test_tones_pass_through(codec):
    from conftest import level_change, postfilter_tones, tone_snr

    # Coded coefficients pass unchanged, so tones keep their SNR: measured at 8 kbit/s without a
    # postfilter / with the spectral stage alone (pitch strength 0): sine 45.0 / 44.9 dB, DTMF 32.9 /
    # 32.7, sweep 32.9 / 32.9; levels within 0.1 dB. (Gains on coded coefficients took the sine to 27.)
    for name, x in postfilter_tones().items():
        data = codec.encode(x, 16000, bitrate=8.0)
        off, spectral = codec.decode(data, postfilter=False)[0], codec.decode(data, postfilter=0.0)[0]
        assert tone_snr(x, spectral) > tone_snr(x, off) - 1.0, name
        assert abs(level_change(x, spectral)) < 0.3, name


@pytest.mark.parametrize("rate, mean_floor", [(8.0, 0.2), (13.2, 0.12)])
def test_it_raises_visqol_over_the_pitch_postfilter_alone_on_unseen_speech(codec, rate, mean_floor):
    from codec.evaluation import procedure
    from codec.evaluation.metrics import missing_metric

    if (why := missing_metric("visqol")) is not None:
        pytest.skip(why)
    pitch_only = SpeechCodec(codec.quantizers, codec.spectrum, codec.model_id)
    gains = []
    for path in CLIPS:
        wav = procedure.prepared(path)
        data = codec.encode(wav, 16000, bitrate=rate)
        gains.append(procedure.score(wav, codec.decode(data)[0], ("visqol",))["visqol"]
                     - procedure.score(wav, pitch_only.decode(data)[0], ("visqol",))["visqol"])
    # Measured on the six tests/data clips (not in training), the default decoder minus the pitch
    # postfilter alone (vqcodec 0.8's default): 8 kbit/s +0.23 to +0.48 (mean +0.31), 13.2 +0.07 to
    # +0.33 (+0.20). PESQ-WB on the same clips moves -0.07 to +0.05 (means +0.00 / -0.01).
    assert min(gains) > 0.03 and np.mean(gains) > mean_floor, gains
