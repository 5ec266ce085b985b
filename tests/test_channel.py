"""Packet-loss simulation and the decoder's concealment under it."""

import numpy as np
import pytest
import soundfile as sf

from codec import SpeechCodec, metrics
from codec.cli import main
from codec.channel import drop_packets, loss_pattern
from conftest import DATA


def test_loss_pattern_rate_and_bursts():
    for burst in (1.0, 3.0):
        lost = loss_pattern(100_000, 0.05, burst=burst, seed=1)
        edges = np.diff(np.concatenate([[0], lost.astype(int), [0]]))
        runs = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
        assert abs(lost.mean() - 0.05) < 0.005 and abs(runs.mean() - burst) < 0.1 * burst
    np.testing.assert_array_equal(loss_pattern(50, 0.1, seed=3), loss_pattern(50, 0.1, seed=3))
    with pytest.raises(ValueError):
        loss_pattern(10, 1.0)
    with pytest.raises(ValueError):
        loss_pattern(10, 0.1, burst=0.5)


def test_concealment_degrades_gracefully():
    codec = SpeechCodec.load()
    wav = np.concatenate([np.zeros(8000), metrics.normalize_level(sf.read(DATA / "arctic_a0007.wav")[0]),
                          np.zeros(8000)])
    data = codec.encode(wav, 16000, bitrate=13.2, packet_frames=4)   # 80 ms packets, as a live link would use
    scores = []
    for rate in (0.0, 0.1, 0.3):
        lossy, lost = drop_packets(data, rate, seed=5)
        assert len(lossy) == len(data) and (rate == 0) == (not lost.any())
        out, _ = codec.decode(lossy)
        assert out.shape == wav.shape and np.isfinite(out).all()
        scores.append(metrics.pesq_wb(wav, out))
    assert scores[0] > scores[1] > scores[2] > 1.0


def test_decode_loss_option(tmp_path):
    vqc = tmp_path / "a.vqc"
    assert main(["encode", "-q", str(DATA / "arctic_a0007.wav"), str(vqc), "--bitrate", "8"]) == 0
    assert main(["decode", "-q", str(vqc), str(tmp_path / "clean.wav")]) == 0
    assert main(["decode", "-q", str(vqc), str(tmp_path / "lossy.wav"), "--loss", "0.2", "--burst", "2"]) == 0
    clean, lossy = sf.read(tmp_path / "clean.wav")[0], sf.read(tmp_path / "lossy.wav")[0]
    assert clean.shape == lossy.shape and not np.array_equal(clean, lossy)
    assert main(["decode", "-q", str(vqc), str(tmp_path / "x.wav"), "--loss", "1.5"]) == 2


def test_the_channel_loses_the_rate_it_names():
    """Over a long run the two-state channel loses the nominal share in bursts of the nominal mean length
    (the benchmark draws one run over all clips: per-clip runs of ~120 packets mostly lose nothing at 1 %)."""
    for rate, burst in ((0.01, 1.0), (0.01, 3.0), (0.05, 3.0), (0.10, 1.0)):
        lost = loss_pattern(200_000, rate, burst=burst, seed=1)
        assert abs(lost.mean() / rate - 1) < 0.1, (rate, burst, lost.mean())
        runs = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], lost.astype(int), [0]]))))[::2]
        assert abs(runs.mean() / burst - 1) < 0.1, (rate, burst, runs.mean())
