"""Corpus preparation and feature extraction on the real test clips."""

import shutil

import numpy as np
import pytest

from codec import lpc
from codec.corpus import features, prepare as corpus
from codec.cli import main
from conftest import CLIPS, speaker_folder


@pytest.fixture(scope="module")
def speech_folder(tmp_path_factory):
    """Two 'speakers': the LibriVox reader and the ARCTIC speaker, plus a broken file."""
    root = speaker_folder(tmp_path_factory.mktemp("corpus"))
    shutil.copy(CLIPS[0], root / "librivox" / "copy_of_first.wav")   # a byte-identical duplicate
    (root / "arctic" / "broken.wav").write_bytes(b"RIFF\x00\x00not really a wave file")
    return root


@pytest.fixture(scope="module")
def prepared(speech_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("prepared")
    assert main(["prepare", str(speech_folder), "--out", str(out), "--workers", "1"]) == 0
    return out


def test_manifest_is_speaker_disjoint_and_complete(prepared):
    entries = corpus.read_manifest(prepared / "manifest.csv")
    assert len(entries) == len(CLIPS)  # the duplicate and the broken file are left out
    assert {e.speaker for e in entries} == {"arctic", "librivox"}
    by_split = {s: {e.speaker for e in entries if e.split == s} for s in ("train", "valid")}
    assert by_split["train"] and by_split["valid"] and not by_split["train"] & by_split["valid"]
    for e in entries:
        assert (prepared / e.path).exists() and e.duration > 2
    assert "broken.wav" in (prepared / "skipped.txt").read_text()


def test_features_are_the_codecs_analysis(prepared):
    train = features.load(prepared / "features", "train")
    valid = features.load(prepared / "features", "valid")
    assert isinstance(train, np.memmap) and train.shape[1] == 16 and train.dtype == np.float32
    assert len(train) > 100 and len(valid) > 100
    assert (np.diff(train, axis=1) > 0).all()
    # Exactly the codec's own analysis of the converted files, in manifest order.
    entries = corpus.read_manifest(prepared / "manifest.csv")
    direct = np.concatenate([features.lsf_of_file(prepared / e.path) for e in entries if e.split == "valid"])
    np.testing.assert_array_equal(valid, direct)


def test_silence_is_dropped(tmp_path):
    import soundfile as sf

    wav = np.concatenate([np.zeros(16000), sf.read(CLIPS[1])[0], np.zeros(16000)])
    sf.write(tmp_path / "padded.wav", wav, 16000)
    kept = features.lsf_of_file(tmp_path / "padded.wav")
    every = features.lsf_of_file(tmp_path / "padded.wav", drop_silence=False)
    assert len(every) == lpc.num_frames(len(wav))
    assert len(every) - len(kept) >= 95  # two seconds of digital silence, 100 frames minus edges


def test_rerun_resumes_without_converting_again(speech_folder, prepared):
    stamp = {p: p.stat().st_mtime_ns for p in (prepared / "audio").rglob("*.flac")}
    assert main(["prepare", str(speech_folder), "--out", str(prepared), "--workers", "1"]) == 0
    assert stamp == {p: p.stat().st_mtime_ns for p in (prepared / "audio").rglob("*.flac")}


def test_bad_source_is_a_one_line_error(tmp_path, capsys):
    assert main(["prepare", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    assert "not a folder" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["prepare", str(empty), "--out", str(tmp_path / "o")]) == 2
    assert "no audio files" in capsys.readouterr().err


def test_few_speakers_still_get_a_validation_split():
    # Two speakers, each far above the 15 % target: the smaller one is held out, not none.
    assert corpus.speaker_split({"alice": 600.0, "bob": 400.0}, 0.15) == {"bob"}
    # One speaker: the last files by name, about 15 % of the audio, never all of them.
    flags = corpus.file_split([10.0] * 20, 0.15)
    assert flags[-3:] == [True, True, True] and sum(flags) == 3
    assert corpus.file_split([10.0], 0.15) == [False]


def test_prepare_one_speaker_makes_an_in_domain_split_and_says_so(tmp_path, caplog):
    import logging
    import shutil

    from conftest import CLIPS

    src = tmp_path / "one"
    src.mkdir()
    for clip in CLIPS[:5]:
        shutil.copy(clip, src / clip.name)
    with caplog.at_level(logging.WARNING):
        assert main(["prepare", str(src), "--out", str(tmp_path / "prepared"), "--workers", "1"]) == 0
    splits = [e.split for e in corpus.read_manifest(tmp_path / "prepared" / "manifest.csv")]
    assert "valid" in splits and "train" in splits and "one speaker only" in caplog.text


def test_augmentations_band_limit_and_add_noise(speech):
    import soundfile as sf
    from scipy import signal

    def energy_above(x, hz):
        f, p = signal.welch(x, 16000, nperseg=512)
        return p[f > hz].sum() / p.sum()

    arctic = sf.read(CLIPS[0])[0].astype(np.float32)   # full band (the LibriVox clips stop near 7 kHz)
    # Measured share of the energy above 7.3 kHz 2.6e-4 -> 1.3e-8, above 4.3 kHz 6.1e-3 -> 8.1e-5.
    assert energy_above(arctic, 7300) > 1e-4 and energy_above(features.augmented(arctic, "lp7"), 7300) < 1e-6
    assert energy_above(arctic, 4300) > 1e-3 and energy_above(features.augmented(arctic, "lp4"), 4300) < 2e-4
    noisy = features.augmented(speech, "noise", seed=1)
    speech_level = features.frame_levels_db(speech)[features.speech_frames(speech)].mean()
    noise_db = 20 * np.log10(np.std(noisy - speech))
    assert abs(noise_db - (speech_level - features.NOISE_BELOW_SPEECH_DB)) < 0.5
    np.testing.assert_array_equal(noisy, features.augmented(speech, "noise", seed=1))   # reproducible


def test_augmented_features_are_added_to_training_only(prepared):
    clean = {s: len(features.load(prepared / "features", s)) for s in ("train", "valid")}
    shards = features.extract(prepared / "manifest.csv", workers=1, augment=("lp7", "noise"))
    assert len(np.load(shards["train"])) == 3 * clean["train"]
    assert len(np.load(shards["valid"])) == clean["valid"]
    assert main(["prepare", "x", "--out", str(prepared), "--augment", "lp5"]) == 2
    features.extract(prepared / "manifest.csv", workers=1)   # back to clean for the other tests
