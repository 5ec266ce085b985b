"""ViSQOL and DNSMOS, the scores ``vqcodec eval --metrics`` adds: they rank real degradations, and
rows without them are scored again on request."""

import csv
import importlib.util
import shutil

import numpy as np
import pytest
from conftest import CLIPS, DATA

from codec import SpeechCodec
from codec.cli import main
from codec.evaluation import metrics, procedure


def _needs(name):
    if (why := metrics.missing_metric(name)) is not None:
        pytest.skip(why)


@pytest.fixture(scope="module")
def clip():
    return procedure.prepared(DATA / "sense_and_sensibility_01_austen_64kb-0870.wav")


@pytest.fixture(scope="module")
def coded(clip):
    codec = SpeechCodec.load()
    return {kbps: codec.decode(codec.encode(clip, 16000, bitrate=kbps))[0] for kbps in (8.0, 32.0)}


def test_visqol_ranks_the_coded_rates(clip, coded):
    _needs("visqol")
    identical = metrics.visqol_speech(clip, clip)
    at8, at32 = (metrics.visqol_speech(*procedure.align(clip, coded[k])[:2]) for k in (8.0, 32.0))
    # Measured: 4.55 for the clip itself (the lattice mapping's ceiling), 3.66 at 8 kbit/s and
    # 4.22 at 32 on a LibriVox clip; the floors leave PESQ-sized room.
    assert identical > 4.4, identical
    assert at32 - at8 > 0.3, (at8, at32)
    assert at32 < identical


def test_dnsmos_hears_added_noise(clip):
    _needs("dnsmos")
    clean = metrics.dnsmos(clip)
    noisy = metrics.dnsmos(clip + 0.01 * np.random.default_rng(0).standard_normal(len(clip)))
    # Measured: OVRL 3.24 clean against 2.34 with white noise 26 dB below the speech; BAK (the
    # background score) carries the drop, SIG (the speech) barely moves.
    assert clean["dnsmos"] - noisy["dnsmos"] > 0.5, (clean, noisy)
    assert clean["dnsmos_bak"] - noisy["dnsmos_bak"] > 1.0, (clean, noisy)
    with pytest.raises(metrics.MetricError, match="silent"):
        metrics.dnsmos(np.zeros(16000))


def test_eval_adds_the_scores_to_earlier_rows_on_request(tmp_path, capsys):
    _needs("visqol")
    source = tmp_path / "clips"
    source.mkdir()
    shutil.copy(CLIPS[0], source / CLIPS[0].name)
    out = tmp_path / "eval"
    args = ["eval", str(source), "--out", str(out), "--bitrates", "13.2", "--quantizers", "avq",
            "--references", "none", "--workers", "1", "-q"]
    assert main(args) == 0
    with open(out / "clips.csv", newline="") as handle:
        (row,) = csv.DictReader(handle)
    assert row["visqol"] == "nan" and float(row["pesq"]) > 3

    assert main(args + ["--metrics", "visqol"]) == 0
    with open(out / "clips.csv", newline="") as handle:
        (again,) = csv.DictReader(handle)   # the row was replaced, not appended to
    assert 3.0 < float(again["visqol"]) < 4.6 and again["pesq"] == row["pesq"]

    assert main(args + ["--metrics", "pesq2"]) == 2
    assert "unknown score 'pesq2'" in capsys.readouterr().err


def test_a_missing_score_package_is_one_line_before_any_work(tmp_path, capsys, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "speechmos" else real(name, *a))
    assert main(["eval", str(DATA), "--out", str(tmp_path / "eval"), "--metrics", "dnsmos", "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "speechmos" in err and "pip install" in err
    assert not (tmp_path / "eval").exists()


def test_plcmos_hears_lost_packets_and_is_repeatable(clip):
    _needs("plcmos")
    from codec.channel import lose, loss_pattern, packet_count

    codec = SpeechCodec.load()
    data = codec.encode(clip, 16000, bitrate=13.2, packet_frames=4)
    lossy, lost = lose(data, loss_pattern(packet_count(data), 0.2, burst=1.0, seed=1))
    whole, concealed = codec.decode(data)[0], codec.decode(lossy)[0]
    np.random.seed(7)
    before = np.random.get_state()[1].copy()
    score = metrics.plcmos(whole)
    assert np.array_equal(np.random.get_state()[1], before)   # numpy's global generator left alone
    assert metrics.plcmos(whole) == score
    # Measured: 4.71 for the stream decoded whole, 4.12 with 22 % of its 80 ms packets lost
    # (the clean clip: 4.77).
    assert lost.mean() > 0.15
    assert score - metrics.plcmos(concealed) > 0.3
