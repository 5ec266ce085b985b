"""``vqcodec eval``: alignment, fragile scores, reference codecs, resuming, tables and plots."""

import csv
import json
import shutil

import numpy as np
import pytest
import soundfile as sf
from conftest import CLIPS, DATA

from codec.evaluation import procedure, run as evaluation
from codec.cli import main
from codec.evaluation.references import REFERENCES


@pytest.fixture(scope="module")
def clip():
    return procedure.prepared(DATA / "arctic_a0007.wav")


@pytest.mark.parametrize("delay", [0.0, 37.3, -12.55, 94.6])
def test_alignment_recovers_a_fractional_delay_of_real_speech(clip, delay):
    n = len(clip) + 400
    late = np.fft.irfft(np.fft.rfft(clip, n) * np.exp(-2j * np.pi * np.fft.rfftfreq(n) * delay), n)
    ref, deg, lag = procedure.align(clip, late)
    assert abs(lag - delay) <= 0.02
    inner = slice(200, len(ref) - 200)
    snr = 10 * np.log10(np.sum(ref[inner] ** 2) / np.sum((ref - deg)[inner] ** 2))
    assert snr > 30, snr


def test_fragile_scores_are_nan_with_a_reason_not_a_crash(clip):
    silent = procedure.score(np.zeros(32000), np.zeros(32000))
    assert np.isnan(silent["pesq"]) and np.isnan(silent["psnr"])
    assert "pesq" in silent["note"] and "silent reference" in silent["note"]
    segment = clip[8000:8800]
    short = procedure.score(segment, segment * 0.9)   # 50 ms: too short for PESQ
    assert np.isnan(short["pesq"]) and "PESQ" in short["note"] and np.isfinite(short["psnr"])


def test_a_missing_tool_is_reported_and_skipped(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda tool: None)
    todo, skipped = evaluation.conditions([8.0, 32.0], ["avq"], ["opus", "lc3"])
    assert [c.label for c in todo] == ["vqcodec-avq", "vqcodec-avq"]
    assert any(line.startswith("opus: skipped, opusenc, opusdec not found") for line in skipped)
    with pytest.raises(ValueError, match="unknown reference"):
        evaluation.conditions([8.0], ["avq"], ["mp3"])


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_reference_codec_codes_speech_at_its_rate(clip, name, tmp_path):
    reference = REFERENCES[name]
    if reference.missing():
        pytest.skip(reference.missing())
    rates, _ = reference.rates([24.4])
    kbps = rates[0]
    out, size = reference.code(clip, kbps, tmp_path)
    row = procedure.score(clip, out)
    assert row["pesq"] > 3.5, row
    assert abs(row["lag"]) < 200
    measured = size * 8 / (len(clip) / 16000) / 1000
    assert 0.8 * reference.setting(kbps) < measured < 1.25 * reference.setting(kbps)


def test_operating_points_of_the_references():
    assert REFERENCES["amrwb"].rates([8.0, 13.2, 24.4, 32.0]) == (
        [8.0, 13.2, 24.4], {32.0: "no AMR-WB mode within 25 % of 32 kbit/s (highest 23.85)"})
    assert REFERENCES["amrwb"].setting(9.6) == 8.85 and REFERENCES["amrwb"].setting(16.4) == 15.85
    assert REFERENCES["lc3"].rates([13.2, 16.4])[0] == [16.4]
    assert REFERENCES["g722"].rates([8.0])[0] == [64.0]


def test_eval_command_scores_resumes_and_plots(tmp_path, capsys):
    source = tmp_path / "clips"
    source.mkdir()
    for path in CLIPS[:2]:
        shutil.copy(path, source / path.name)
    (source / "broken.wav").write_bytes(b"RIFF not really")
    out = tmp_path / "eval"
    args = ["eval", str(source), "--out", str(out), "--bitrates", "8,32", "--quantizers", "avq",
            "--references", "none", "--workers", "1", "-q"]
    assert main(args) == 0
    with open(out / "clips.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6
    broken = [r for r in rows if r["clip"] == "broken.wav"]
    assert all(r["note"].startswith("unreadable") and r["pesq"] == "nan" for r in broken)
    good = [r for r in rows if r["clip"] != "broken.wav"]
    assert all(float(r["pesq"]) > 2.0 and abs(float(r["lag"])) < 0.5 for r in good)  # vqcodec has no delay
    assert all(abs(float(r["measured_kbps"]) / float(r["kbps"]) - 1) < 0.05 for r in good)
    assert all(1.0 < float(r["sd_db"]) < 4.0 for r in good)
    summary = json.loads((out / "summary.json").read_text())
    assert {c["kbps"] for c in summary["conditions"]} == {8.0, 32.0}
    at32 = next(c for c in summary["conditions"] if c["kbps"] == 32.0)
    assert at32["clips"] == 3 and at32["pesq"]["nan"] == 1
    scores = [float(r["pesq"]) for r in good if float(r["kbps"]) == 32.0]
    assert at32["pesq"]["mean"] == pytest.approx(np.mean(scores))                  # the summary is of these rows
    assert at32["pesq"]["p10"] == pytest.approx(np.percentile(scores, 10))
    for png in ("pesq_vs_bitrate", "psnr_vs_bitrate", "sd_histogram", "quality_vs_complexity"):
        assert (out / f"{png}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # A third clip: only it is coded; the earlier rows stay as they were.
    shutil.copy(CLIPS[2], source / CLIPS[2].name)
    before = (out / "clips.csv").read_text()
    assert main(args) == 0
    after = (out / "clips.csv").read_text()
    assert after.startswith(before) and len(after.splitlines()) == len(before.splitlines()) + 2

    # Another model's results are not mixed in silently.
    run = json.loads((out / "run.json").read_text())
    (out / "run.json").write_text(json.dumps({**run, "model_id": "0" * 16}))
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "another model" in err and "--keep-references" in err
    # ... but a reference codec's rows, which do not depend on vqcodec's model, can be kept.
    with open(out / "clips.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        first, header = next(reader), reader.fieldnames
    with open(out / "clips.csv", "a", newline="") as handle:
        csv.DictWriter(handle, header).writerow({**first, "codec": "opus", "variant": "", "pesq": "3.5"})
    assert main(args + ["--keep-references"]) == 0
    with open(out / "clips.csv", newline="") as handle:
        codecs = [r["codec"] for r in csv.DictReader(handle)]
    assert codecs.count("opus") == 1 and codecs.count("vqcodec") == 8
    assert json.loads((out / "run.json").read_text()) == run
    assert main(args + ["--force"]) == 0
    assert len((out / "clips.csv").read_text().splitlines()) == 1 + 8


def test_eval_reads_a_manifest_split(tmp_path):
    import soundfile  # noqa: F401  (the manifest points at real audio)

    (tmp_path / "a").mkdir()
    for path in CLIPS[:3]:
        shutil.copy(path, tmp_path / "a" / path.name)
    with open(tmp_path / "manifest.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "duration", "speaker", "language", "split", "source"])
        for i, path in enumerate(CLIPS[:3]):
            writer.writerow([f"a/{path.name}", sf.info(path).duration, "s", "en", "valid" if i else "train", "x"])
    clips = evaluation.find_clips(tmp_path / "manifest.csv", split="valid", limit=1)
    assert len(clips) == 1 and clips[0][1].exists()
    longest = max(CLIPS[1:3], key=lambda p: sf.info(p).duration)
    assert clips[0][0] == f"a/{longest.name}"
