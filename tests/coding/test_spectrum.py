"""Spectrum coding: noise shaping, the rate loop and the entropy model's range coding."""

import constriction
import numpy as np

from codec import lpc, mdct
from codec.coding import noise_filling, rate_control, spectrum
from codec.coding.entropy import SpectrumModel


def _frames(speech):
    a = lpc.analyze(speech)
    spectra = mdct.analyze(speech)[1:len(a) + 1]
    return spectra, spectrum.shaping(a[:len(spectra)])


def test_weights_follow_the_weighted_envelope(speech_lpc):
    shaping = spectrum.shaping(speech_lpc)
    assert shaping.weights.shape == (len(speech_lpc), 320) and (shaping.weights > 0).all()
    np.testing.assert_allclose(shaping.shape.mean(-1), 0, atol=1e-9)
    flat = spectrum.shaping(np.eye(1, 17))
    # A(z) = 1: the weight is the de-emphasis 1 / |1 - 0.68 e^-jw|, falling from DC to 8 kHz by 1.68 / 0.32.
    assert flat.weights[0, 0] > flat.weights[0, -1]
    np.testing.assert_allclose(flat.weights[0, 0] / flat.weights[0, -1], 1.68 / 0.32, rtol=0.01)


def test_rate_loop_fits_each_budget_and_finer_budgets_code_better(speech):
    spectra, shaping = _frames(speech)
    model = SpectrumModel.initial()
    errors = []
    for budget in (150, 400):
        # One-frame packets: every frame alone must fit its budget.
        code = rate_control.rate_loop(spectra, shaping, np.full(len(spectra), budget), np.arange(len(spectra)), model)
        coded = code.gain != spectrum.SILENT
        assert (model.bits(code.classes, code.q)[coded] <= budget).all()
        decoded = spectrum.dequantize(code.q, code.gain, code.noise * 0, shaping.weights, np.arange(len(spectra)),
                                      np.ones_like(spectra))
        errors.append(np.sum(((decoded - spectra) * shaping.weights) ** 2))
    assert errors[1] < errors[0] / 4


def test_a_packets_bits_follow_its_frames_levels(speech):
    spectra, shaping = _frames(speech)
    voiced = np.argsort((spectra ** 2).sum(-1))[-5:]            # the five loudest frames ...
    packet = np.concatenate([spectra[voiced], 0.1 * spectra[voiced]])   # ... and the same 20 dB quieter
    weights = spectrum.Shaping(np.tile(shaping.weights[voiced], (2, 1)), np.tile(shaping.shape[voiced], (2, 1)))
    model = SpectrumModel.initial()
    budgets = np.full(10, 200.0)
    code = rate_control.rate_loop(packet, weights, budgets, np.array([0]), model)
    # The packet fits as a whole (a SILENT frame codes no spectrum), and each quiet copy's gain is
    # LEVEL_TRACKING x 20 dB finer (1.5 dB steps): 0.8 x 13.3 = 10.6 steps, rounded per frame to 10 or 11.
    coded = code.gain != spectrum.SILENT
    assert model.bits(code.classes[coded], code.q[coded]).sum() <= budgets.sum()
    assert np.isin(code.gain[:5] - code.gain[5:], [10, 11]).all()


def test_silent_frames_code_nothing():
    spectra = np.random.default_rng(0).normal(size=(3, 320))
    shaping = spectrum.shaping(np.tile(np.eye(1, 17), (3, 1)))
    code = rate_control.rate_loop(spectra, shaping, np.full(3, -1.0), np.array([0]), SpectrumModel.initial())
    assert (code.gain == spectrum.SILENT).all() and not code.q.any()
    assert not spectrum.dequantize(code.q, code.gain, code.noise, shaping.weights, np.arange(3), np.ones((3, 320))).any()


def test_noise_signs_do_not_depend_on_chunking():
    whole = noise_filling.random_signs(np.arange(100))
    np.testing.assert_array_equal(whole[40:60], noise_filling.random_signs(np.arange(40, 60)))
    np.testing.assert_array_equal(whole[:, 32:], noise_filling.random_signs(np.arange(100), first=32))
    assert abs(whole.mean()) < 0.02 and set(np.unique(whole)) == {-1.0, 1.0}


def test_range_coding_round_trip_and_cost_estimate(rng):
    model = SpectrumModel.initial()
    classes = rng.integers(0, 40, size=(4, 320))
    scale = np.exp2(-2.5 + 0.25 * classes)
    q = np.clip(np.round(rng.laplace(scale=scale)), -model.max_symbol, model.max_symbol).astype(np.int64)
    order = model.coding_order(classes)                          # one packet, as both ends derive it
    encoder = constriction.stream.queue.RangeEncoder()
    model.encode_runs(encoder, order.symbols(q, model.max_symbol), order.runs[0])
    words = encoder.get_compressed()
    symbols = model.decode_runs(constriction.stream.queue.RangeDecoder(words), order.runs[0])
    np.testing.assert_array_equal(order.integers([symbols], classes.shape, model.max_symbol), q)
    estimate = model.bits(classes, q).sum()
    assert estimate <= 32 * len(words) <= estimate * 1.01 + 64


def test_spectrum_training_skips_unreadable_files(tmp_path, caplog):
    import logging

    from codec.train.envelope import make_envelope
    from codec.train.spectrum import corpus_frames
    from conftest import CLIPS

    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF junk")
    envelope = make_envelope("rvq", 16).coder()
    with caplog.at_level(logging.WARNING):
        spectra, shaping, tool_bits, counts = corpus_frames([CLIPS[0], broken, tmp_path / "missing.wav"],
                                                            envelope, progress=False)
    assert len(counts) == 1 and spectra.shape == shaping.weights.shape and tool_bits.shape == (len(spectra),)
    assert "skipped 2 unreadable" in caplog.text and "broken.wav" in caplog.text


def test_spending_slack_keeps_each_packet_within_budget_and_codes_finer(speech):
    spectra, shaping = _frames(speech)
    model = SpectrumModel.initial()
    budgets = np.full(len(spectra), 150.0)
    code = rate_control.rate_loop(spectra, shaping, budgets, np.arange(0, len(spectra), 4), model)
    before = code.gain.copy()
    rate_control.spend_slack(code, spectra, shaping, budgets, np.arange(0, len(spectra), 4), model)
    assert (code.gain <= before).all() and (code.gain < before).mean() > 0.6   # measured: 0.75 of frames
    cost = np.where(code.gain == spectrum.SILENT, 0.0, model.bits(code.classes, code.q))
    starts = np.arange(0, len(spectra), 4)
    assert (np.add.reduceat(cost, starts) <= np.add.reduceat(budgets, starts) + 1e-6).all()
    # What the decoder sees is exactly the code at the new gains.
    again, _ = rate_control.code_at_gain(spectra, shaping, code.gain, model)
    np.testing.assert_array_equal(again.q, code.q)
    np.testing.assert_array_equal(again.noise, code.noise)


def test_guided_search_finds_what_bisection_finds(rng):
    # Any guess, however wrong, and any bracket: the smallest offset at which a monotone test holds.
    answer = rng.integers(-20, 140, 500)
    lo, hi = np.full(500, -30), np.full(500, 150)
    for guess in (answer, answer + rng.integers(-3, 4, 500), rng.integers(-200, 300, 500)):
        a, b = lo.copy(), hi.copy()
        rate_control._search(lambda probe, which: probe[which] >= answer[which], a, b, np.arange(500), guess)
        np.testing.assert_array_equal(a, answer)
        np.testing.assert_array_equal(b, answer)


def test_rate_loop_aimed_by_its_loudest_packets_equals_plain_bisection(speech, monkeypatch):
    # The guided search changes how many probes a packet takes, not its gains: with every packet
    # searched by bisection (all of them "calibration" packets) the code is the same, bit for bit.
    spectra, shaping = _frames(speech)
    model = SpectrumModel.initial()
    starts = np.arange(0, len(spectra), 5)
    for budget in (60.0, 150.0, 400.0):
        budgets = np.full(len(spectra), budget)
        guided = rate_control.rate_loop(spectra, shaping, budgets, starts, model)
        with monkeypatch.context() as m:
            m.setattr(rate_control, "CALIBRATION_PACKETS", len(starts))
            plain = rate_control.rate_loop(spectra, shaping, budgets, starts, model)
        np.testing.assert_array_equal(guided.gain, plain.gain)
        np.testing.assert_array_equal(guided.q, plain.q)


def test_packet_starts_restart_at_each_file():
    np.testing.assert_array_equal(rate_control.packet_starts([6, 3, 4], 4), [0, 4, 6, 9])
