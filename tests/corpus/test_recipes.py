"""The corpus recipes and the development set: voices held out, clips of 8-12 s of real speech."""

import numpy as np
import soundfile as sf

from codec.corpus import dev_set, recipes
from codec.corpus.prepare import Source
from conftest import CLIPS, DATA


def test_wide_corpus_never_contains_a_development_voice(monkeypatch, tmp_path):
    voices = ["festvox-ru", "kajongg-en-male1", "klettres-en", "klettres-de", "ktuberling-fr", "gcin-voice"]
    fake = [Source(tmp_path / f"{v}.ogg", v, v, "xx") for v in voices]
    monkeypatch.setattr(recipes, "all_voices", lambda cache=None: fake)
    monkeypatch.setattr(recipes, "install_packages", lambda packages: None)
    assert [s.speaker for s in recipes.wide_sources()] == ["klettres-de", "ktuberling-fr", "gcin-voice"]
    assert [s.speaker for s in recipes.dev_sources(tmp_path)] == ["festvox-ru", "kajongg-en-male1", "klettres-en"]


def test_development_voices_are_labelled_male_and_female_in_several_languages():
    sexes = {v.sex for v in recipes.DEV_VOICES.values()}
    languages = {v.language for v in recipes.DEV_VOICES.values()}
    assert sexes == {"male", "female"} and len(languages) >= 5


def test_package_folders_name_voices_and_narrowband_files_are_dropped(tmp_path):
    # klettres layout: LANG/{alpha,syllab}/*.ogg; an 8 kHz file cannot train a wideband codec.
    speech = sf.read(CLIPS[0])[0][:16000]
    for lang, rate in (("de", 16000), ("pt_BR", 16000), ("es", 8000)):
        (tmp_path / lang / "alpha").mkdir(parents=True)
        sf.write(tmp_path / lang / "alpha" / "a.wav", speech[::16000 // rate], rate)
    sources = recipes._by_folder("klettres", tmp_path, "*/*/*.wav")
    assert [(s.speaker, s.language, s.name) for s in sources] == [
        ("klettres-de", "de", "klettres/de/alpha/a"), ("klettres-pt_BR", "pt", "klettres/pt_BR/alpha/a")]


def test_joined_clips_are_8_to_12_seconds_with_pauses():
    rate = 16000
    words = [np.ones(int(s * rate)) for s in (1.0, 2.5, 3.0, 2.0, 13.0, 9.0, 4.0, 5.0, 4.0)]
    clips = dev_set.joined_clips(words)
    lengths = [len(c) / rate for c in clips]
    # 1 + 2.5 + 3 + 2 with three pauses; 13 s is too long alone; 9 alone; 4 + 5 reaches 9.25 s.
    assert lengths == [8.5 + 3 * 0.25, 9.0, 9.25]
    assert all(dev_set.MIN_SECONDS <= n <= dev_set.MAX_SECONDS for n in lengths)


def test_trimmed_drops_silent_ends_only():
    speech = sf.read(CLIPS[1])[0]
    padded = np.concatenate([np.zeros(8000), speech, np.zeros(8000)])
    out = dev_set.trimmed(padded)
    assert len(speech) - 1600 <= len(out) <= len(speech) + 320   # the clip's own quiet edges may go too
    assert np.max(np.abs(out)) == np.max(np.abs(speech))


def test_dev_set_from_real_speech(tmp_path):
    """The LibriVox clips of tests/data become development clips with a voices table."""
    sources = [Source(p, p.stem, "librivox-austen", "en") for p in sorted(DATA.glob("sense_*.wav"))]
    table = dev_set.build(sources, tmp_path)
    voices = dev_set.read_voices(table)
    assert len(voices) == 2 and {r["sex"] for r in voices.values()} == {"male"}
    for name, row in voices.items():
        wav, rate = sf.read(tmp_path / name)
        assert rate == 16000 and 8.0 <= len(wav) / rate <= 12.0 and float(row["seconds"]) == round(len(wav) / rate, 2)
        assert np.sqrt(np.mean(wav ** 2)) > 0.01   # speech, not silence


def test_unknown_voices_are_refused(tmp_path):
    import pytest

    with pytest.raises(recipes.PrepareError, match="not development voices: someone"):
        dev_set.build([Source(CLIPS[0], "x", "someone", "en")], tmp_path)
