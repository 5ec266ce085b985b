"""The envelope quantizer: memoryless and predictive (closed loop, packet resets)."""

import pytest
import torch

from codec import audio, lpc
from codec.envelope import EnvelopeQuantizer, make_envelope, spectral_distortion_stats
from conftest import CLIPS


@pytest.fixture(scope="module")
def lsf_sets():
    """Consecutive LSF frames: LibriVox clips for fitting, the ARCTIC clip held out."""
    fit, held_out = [], None
    for clip in CLIPS:
        lsf = torch.from_numpy(lpc.lpc_to_lsf(lpc.analyze(audio.load(clip)[0]))).float()
        if "arctic" in clip.name:
            held_out = lsf
        else:
            fit.append(lsf)
    return torch.cat(fit), held_out


def fitted(method, train, packet_frames):
    torch.manual_seed(0)
    env = make_envelope(method, 16, packet_frames=packet_frames)
    env.kmeans_init(train)
    return env.eval()


def sd(lsf, lsf_hat):
    return spectral_distortion_stats(lsf.double().numpy(), lsf_hat.double().numpy())["sd_mean"]


@pytest.mark.parametrize("packet_frames", [1, 4])
def test_round_trip_is_stable_and_keeps_length(lsf_sets, packet_frames):
    train, held_out = lsf_sets
    env = fitted("rvq", train, packet_frames)
    for n in (1, 3, 10, len(held_out)):
        codes = env.encode(held_out[:n])
        assert codes.shape == (n, 4)
        lsf_hat = env.decode(codes)
        assert lsf_hat.shape == (n, 16) and (lsf_hat.diff(dim=1) >= lpc.MIN_GAP - 1e-6).all()
    # Padding the last packet never changes the codes of the frames before it.
    assert torch.equal(env.encode(held_out[:10]), env.encode(held_out[:12])[:10])


def test_packets_are_independent(lsf_sets):
    train, held_out = lsf_sets
    env = fitted("rvq", train, 4)
    codes = env.encode(held_out[:12])
    damaged = codes.clone()
    damaged[4:8] = (damaged[4:8] + 5) % 16
    a, b = env.decode(codes), env.decode(damaged)
    assert torch.equal(a[:4], b[:4]) and torch.equal(a[8:], b[8:])
    assert not torch.equal(a[4:8], b[4:8])


def test_prediction_off_equals_memoryless(lsf_sets):
    train, held_out = lsf_sets
    memoryless = fitted("avq", train, 1)
    predictive = EnvelopeQuantizer(memoryless.quantizer, predictive=memoryless.quantizer, packet_frames=4)
    predictive.mean.copy_(memoryless.mean)  # rho stays 0: every frame is coded on its own
    assert torch.equal(predictive.encode(held_out), memoryless.encode(held_out))


@pytest.mark.parametrize("method", ["rvq", "avq"])
def test_prediction_lowers_spectral_distortion_on_unseen_speech(lsf_sets, method):
    train, held_out = lsf_sets
    memoryless = sd(held_out, fitted(method, train, 1).decode(fitted(method, train, 1).encode(held_out)))
    env = fitted(method, train, 4)
    predictive = sd(held_out, env.decode(env.encode(held_out)))
    assert predictive < memoryless - 0.1, f"{method}: predictive {predictive:.2f} vs memoryless {memoryless:.2f} dB"
    assert float(env.rho.min()) > 0.3


def test_rejects_bad_configuration():
    q = make_envelope("rvq", 16).quantizer
    with pytest.raises(ValueError, match="predictive"):
        EnvelopeQuantizer(q, packet_frames=4)
    with pytest.raises(ValueError, match="packet_frames"):
        EnvelopeQuantizer(q, packet_frames=0)
