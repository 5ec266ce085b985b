"""The envelope coder (numpy): memoryless and predictive, closed loop, packet resets, the shared step."""

import numpy as np
import pytest
import torch
from conftest import CLIPS

from codec import audio, lpc
from codec.coding.envelope import EnvelopeCoder, sensitivity_weights
from codec.train.envelope import make_envelope, spectral_distortion_stats


@pytest.fixture(scope="module")
def lsf_sets():
    """Consecutive LSF frames: LibriVox clips for fitting, the ARCTIC clip held out."""
    fit, held_out = [], None
    for clip in CLIPS:
        lsf = lpc.lpc_to_lsf(lpc.analyze(audio.load(clip)[0])).astype(np.float32)
        if "arctic" in clip.name:
            held_out = lsf
        else:
            fit.append(lsf)
    return np.concatenate(fit), held_out


def fitted(method, train, packet_frames):
    """A k-means-initialized trainable envelope (torch) and its numpy coder."""
    torch.manual_seed(0)
    env = make_envelope(method, 16, packet_frames=packet_frames)
    env.kmeans_init(torch.from_numpy(train))
    return env, env.coder()


def sd(lsf, lsf_hat):
    return spectral_distortion_stats(lsf.astype(np.float64), lsf_hat)["sd_mean"]


@pytest.mark.parametrize("packet_frames", [1, 4])
def test_round_trip_is_stable_and_keeps_length(lsf_sets, packet_frames):
    train, held_out = lsf_sets
    _, coder = fitted("rvq", train, packet_frames)
    for n in (1, 3, 10, len(held_out)):
        codes = coder.encode(held_out[:n])
        assert codes.shape == (n, 4) and codes.dtype == np.int64
        lsf_hat = coder.decode(codes)
        assert lsf_hat.shape == (n, 16) and (np.diff(lsf_hat, axis=1) >= lpc.MIN_GAP - 1e-6).all()
    # Padding the last packet never changes the codes of the frames before it.
    np.testing.assert_array_equal(coder.encode(held_out[:10]), coder.encode(held_out[:12])[:10])
    with pytest.raises(ValueError, match="out of range"):
        coder.decode(np.full((2, 4), 16))


def test_packets_are_independent(lsf_sets):
    train, held_out = lsf_sets
    _, coder = fitted("rvq", train, 4)
    codes = coder.encode(held_out[:12])
    damaged = codes.copy()
    damaged[4:8] = (damaged[4:8] + 5) % 16
    a, b = coder.decode(codes), coder.decode(damaged)
    np.testing.assert_array_equal(a[:4], b[:4])
    np.testing.assert_array_equal(a[8:], b[8:])
    assert not np.array_equal(a[4:8], b[4:8])


def test_prediction_off_equals_memoryless(lsf_sets):
    train, held_out = lsf_sets
    _, memoryless = fitted("avq", train, 1)
    stage = memoryless.stages[0]
    predictive = EnvelopeCoder([stage, stage], memoryless.mean, np.zeros(16), packet_frames=4)   # rho = 0
    np.testing.assert_array_equal(predictive.encode(held_out), memoryless.encode(held_out))


@pytest.mark.parametrize("method", ["rvq", "avq"])
def test_prediction_lowers_spectral_distortion_on_unseen_speech(lsf_sets, method):
    train, held_out = lsf_sets
    _, memoryless = fitted(method, train, 1)
    env, predictive = fitted(method, train, 4)
    before = sd(held_out, memoryless.decode(memoryless.encode(held_out)))
    after = sd(held_out, predictive.decode(predictive.encode(held_out)))
    # Measured 0.70 (rvq) and 0.83 (avq) dB lower on this clip, codebooks k-means-fitted on 25 s of another voice.
    assert after < before - 0.5, f"{method}: predictive {after:.2f} vs memoryless {before:.2f} dB"
    assert float(env.rho.min()) > 0.3


def test_training_runs_the_decoders_closed_loop_step(lsf_sets):
    """What training feeds the predictor (EnvelopeQuantizer.next_state on hard outputs) is the decoder's
    stabilized reconstruction, frame by frame: trained and decoded envelopes cannot drift apart."""
    train, held_out = lsf_sets
    env, coder = fitted("rvq", train, 4)
    env.eval()
    runs = torch.from_numpy(held_out[:len(held_out) // 4 * 4]).reshape(-1, 4, 16)
    decoded = coder.decode(coder.encode(runs.reshape(-1, 16).numpy())).reshape(-1, 4, 16)
    previous = None
    for t in range(4):
        lsf = runs[:, t]
        prediction = env.prediction(t, previous)
        out = env.stage(t)(lsf - env.mean - prediction, env.weights(lsf))
        previous = env.next_state(out.hard, prediction)
        np.testing.assert_allclose((previous + env.mean).numpy(), decoded[:, t], rtol=0, atol=1e-6)


def test_torch_and_numpy_coders_agree_on_the_shipped_model(lsf_sets):
    """Training searches with the same numpy code the codec runs; the quantizers as torch modules
    (codec.quantizers), given the beam the codec searches avq with, give the shipped model's codes too
    (the encoder then re-ranks the search's best few: EnvelopeCoder.closest)."""
    from codec import SpeechCodec
    from codec.quantizers import build

    _, held_out = lsf_sets
    codec = SpeechCodec.load()
    for name, coder in codec.quantizers.items():
        q = build(name, 16, 16, **({"beam": coder.stages[0].beam} if name == "avq" else {}))
        assert name != "avq" or coder.stages[0].beam == 12
        with torch.no_grad():
            for cb, book in zip(q.codebooks, coder.stages[0].books):
                cb.entries.copy_(torch.from_numpy(book))
        x = held_out - coder.mean
        np.testing.assert_array_equal(q.encode(torch.from_numpy(x), torch.from_numpy(sensitivity_weights(held_out)))
                                      .numpy(), coder.stages[0].encode(x, sensitivity_weights(held_out)))


def test_sensitivity_weights_emphasize_close_lsfs():
    w = sensitivity_weights(np.array([[0.3, 0.32, 1.0, 2.0]]))
    np.testing.assert_allclose(w.mean(-1), 1.0)
    assert w[0, 0] > w[0, 2] and w[0, 1] > w[0, 3]


def test_rejects_bad_configuration():
    from codec.train.envelope import EnvelopeQuantizer

    q = make_envelope("rvq", 16).quantizer
    with pytest.raises(ValueError, match="predictive"):
        EnvelopeQuantizer(q, packet_frames=4)
    with pytest.raises(ValueError, match="packet_frames"):
        EnvelopeQuantizer(q, packet_frames=0)


def test_re_ranking_by_log_spectrum_lowers_the_envelope_sd_on_speech(monkeypatch):
    """The encoder compares the search's best few candidates by their decoded envelopes' log spectra."""
    from codec import SpeechCodec
    from codec.coding import envelope as envelope_module
    from codec.evaluation import metrics

    coder = SpeechCodec.load().quantizer("avq").with_packet_frames(50)
    shipped, change = envelope_module.RERANK_CANDIDATES, []
    for clip in CLIPS:
        a = lpc.analyze(audio.load(clip)[0])
        lsf = lpc.lpc_to_lsf(a)
        sd = {}
        for candidates in (1, shipped):
            monkeypatch.setattr(envelope_module, "RERANK_CANDIDATES", candidates)
            sd[candidates] = metrics.spectral_distortion(a, lpc.lsf_to_lpc(coder.decode(coder.encode(lsf)))).mean()
        change.append(sd[shipped] - sd[1])
    # Measured -0.069 to +0.022 dB per clip, -0.036 on the mean (all frames, 1 s packets): a frame's best
    # envelope is not always the best predictor of the next, so one clip gets a little worse.
    assert np.mean(change) < -0.02 and max(change) < 0.05, change
