"""Reading audio: formats, rates, channels, and clear errors."""

import numpy as np
import pytest
import soundfile as sf

from codec import audio
from conftest import CLIPS


def test_reads_every_test_clip_at_16k():
    for path in CLIPS:
        wav, info = audio.load(path)
        assert wav.dtype == np.float32 and wav.ndim == 1
        assert info.sample_rate == 16000 and info.frames == len(wav) and info.channels == 1
        assert 0.01 < np.abs(wav).max() <= 1.0


@pytest.mark.parametrize("sr, subtype, fmt", [(44100, "PCM_24", "WAV"), (48000, "FLOAT", "WAV"),
                                              (8000, "PCM_U8", "WAV"), (22050, "PCM_16", "FLAC"),
                                              (32000, "VORBIS", "OGG")])
def test_resamples_and_downmixes(tmp_path, speech, sr, subtype, fmt):
    x = audio.resample(speech[:32000], 16000, sr)
    stereo = np.stack([x, 0.5 * x], axis=1)
    path = tmp_path / f"clip.{fmt.lower()}"
    sf.write(path, stereo, sr, subtype=subtype, format=fmt)
    wav, info = audio.load(path)
    assert info.sample_rate == sr and info.channels == 2 and info.frames == len(x)
    assert abs(len(wav) - 32000) <= 2
    # Mono is the channel average: 0.75 of the original, up to format and resampling error.
    ref = 0.75 * speech[:32000]
    n = min(len(wav), len(ref))
    err = np.sqrt(np.mean((wav[:n] - ref[:n]) ** 2) / np.mean(ref[:n] ** 2))
    assert err < (0.3 if subtype in ("VORBIS", "PCM_U8") else 0.01)


def test_clear_errors(tmp_path):
    with pytest.raises(audio.AudioError, match="no such file"):
        audio.load(tmp_path / "missing.wav")
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio")
    with pytest.raises(audio.AudioError, match="not a readable audio file"):
        audio.load(text)
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0), 16000)
    with pytest.raises(audio.AudioError, match="no audio samples"):
        audio.load(empty)
    bad = tmp_path / "nan.wav"
    sf.write(bad, np.array([0.0, np.nan, 0.1], dtype=np.float32), 16000, subtype="FLOAT")
    with pytest.raises(audio.AudioError, match="NaN"):
        audio.load(bad)


def test_arrays_that_are_not_audio_are_refused_with_a_hint():
    from codec.io.audio import AudioError, as_float_mono

    with pytest.raises(AudioError, match=r"pass its transpose \(wav.T\)"):
        as_float_mono(np.zeros((2, 16000)))                 # (channels, samples)
    with pytest.raises(AudioError, match="within"):
        as_float_mono(np.full(100, 1e10))                    # finite, but no audio
    assert as_float_mono(np.zeros((16000, 2))).shape == (16000,)
    assert as_float_mono(np.full(10, 1.5)).max() == 1.5     # a little over full scale is coded as it is
