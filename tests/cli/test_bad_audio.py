"""Hostile and unusual audio through the command line: it codes, or it fails in one line, and never
leaves a half-written file or touches the input."""

import numpy as np
import pytest
import soundfile as sf
import soxr

from codec import metrics
from codec.cli import main
from conftest import DATA


def _speech():
    wav, _ = sf.read(DATA / "arctic_a0007.wav")
    return wav


def _cases():
    rng = np.random.default_rng(0)
    speech = _speech()
    t = np.arange(32000) / 16000
    return {
        "one_sample.wav": (np.array([0.25]), 16000, "PCM_16"),
        "zeros.wav": (np.zeros(16000), 16000, "PCM_16"),
        "dc.wav": (np.full(16000, 0.5), 16000, "PCM_16"),
        "square_full_scale.wav": (np.sign(np.sin(2 * np.pi * 440 * t)) * 0.99997, 16000, "PCM_16"),
        "white_noise_0dbfs.wav": (np.clip(rng.normal(scale=0.5, size=32000), -1, 1), 16000, "PCM_16"),
        "clipped_speech.wav": (np.clip(speech * 8, -1, 1), 16000, "PCM_16"),
        "speech_u8.wav": (speech, 16000, "PCM_U8"),
        "speech_24bit.wav": (speech, 16000, "PCM_24"),
        "speech_float.wav": (speech, 16000, "FLOAT"),
        "speech_8k.wav": (soxr.resample(speech, 16000, 8000), 8000, "PCM_16"),
        "speech_44k.wav": (soxr.resample(speech, 16000, 44100), 44100, "PCM_16"),
        "speech_48k.wav": (soxr.resample(speech, 16000, 48000), 48000, "PCM_16"),
        "speech_96k.wav": (soxr.resample(speech, 16000, 96000), 96000, "PCM_24"),
        "stereo.wav": (np.stack([speech, -speech * 0.5], 1), 16000, "PCM_16"),
        "six_channels.wav": (np.tile(speech[:, None], (1, 6)) / 2, 16000, "PCM_16"),
    }


@pytest.mark.parametrize("name", sorted(_cases()))
def test_unusual_audio_codes(tmp_path, name):
    wav, sr, subtype = _cases()[name]
    src = tmp_path / name
    sf.write(src, wav, sr, subtype=subtype)
    before = src.read_bytes()
    assert main(["encode", "-q", str(src), str(tmp_path / "x.vqc"), "--bitrate", "24.4"]) == 0
    assert main(["decode", "-q", str(tmp_path / "x.vqc"), str(tmp_path / "x.wav"), "--original-rate"]) == 0
    out, out_sr = sf.read(tmp_path / "x.wav", always_2d=True)
    assert out_sr == sr and len(out) == len(wav) and out.shape[1] == 1 and np.isfinite(out).all()
    assert src.read_bytes() == before
    if name.startswith("speech") or name in ("stereo.wav", "six_channels.wav"):
        ref = soxr.resample(sf.read(src, always_2d=True)[0].mean(1), sr, 16000)
        deg = soxr.resample(out[:, 0], sr, 16000)
        assert metrics.pesq_wb(ref, deg[:len(ref)]) > 3.0, name


def test_nan_in_a_float_file_is_a_one_line_error(tmp_path, capsys):
    wav = _speech().copy()
    wav[100] = np.nan
    src = tmp_path / "nan.wav"
    sf.write(src, wav, 16000, subtype="FLOAT")
    assert main(["encode", str(src), str(tmp_path / "nan.vqc")]) == 2
    err = capsys.readouterr().err
    assert "NaN" in err and "Traceback" not in err and not (tmp_path / "nan.vqc").exists()


@pytest.mark.parametrize("content", [
    b"",                                              # empty file
    b"RIFF\x24\x00\x00\x00WAVEfmt ",                  # truncated WAV header
    b"%PDF-1.4 not audio at all" * 10,                # some other file
])
def test_unreadable_inputs_fail_cleanly(tmp_path, capsys, content):
    src = tmp_path / "in.wav"
    src.write_bytes(content)
    assert main(["encode", str(src), str(tmp_path / "out.vqc")]) == 2
    err = capsys.readouterr().err
    assert err.strip() and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


def test_zero_length_wav_is_a_clear_error(tmp_path, capsys):
    src = tmp_path / "empty.wav"
    sf.write(src, np.zeros(0), 16000)
    assert main(["encode", str(src), str(tmp_path / "out.vqc")]) == 2
    assert "no audio samples" in capsys.readouterr().err


@pytest.mark.parametrize("direction", ["encode", "decode"])
def test_a_disk_error_mid_file_surfaces_as_itself_and_leaves_no_output(tmp_path, monkeypatch, direction):
    """The disk fills after the first block: the OSError reaches the caller (not, say, a BufferError from
    the memory-mapped input) and no partial output is left."""
    import builtins

    from codec import encoder
    from codec.io import files

    monkeypatch.setattr(encoder, "CHUNK_FRAMES", 1000)                              # 20 s chunks
    sf.write(tmp_path / "long.wav", np.tile(_speech(), 12)[: 16000 * 45], 16000)  # three 20 s blocks
    files.encode_file(tmp_path / "long.wav", tmp_path / "long.vqc", bitrate=8)
    before = sorted(p.name for p in tmp_path.iterdir())
    writes = []

    def fill_disk_after_one_write(write):
        def failing(self, data):
            writes.append(len(data))
            if len(writes) > 1:
                raise OSError(28, "No space left on device")
            return write(self, data)
        return failing

    if direction == "decode":
        monkeypatch.setattr(sf.SoundFile, "write", fill_disk_after_one_write(sf.SoundFile.write))
        def run():
            files.decode_file(tmp_path / "long.vqc", tmp_path / "out.wav")
    else:
        class FullDisk:
            def __init__(self, handle):
                self.handle = handle
            write = fill_disk_after_one_write(lambda self, data: self.handle.write(data))
            def __enter__(self):
                return self
            def __exit__(self, *exc):
                self.handle.close()
        monkeypatch.setattr(files, "open", lambda *a: FullDisk(builtins.open(*a)), raising=False)  # noqa: SIM115

        def run():
            files.encode_file(tmp_path / "long.wav", tmp_path / "out.vqc", bitrate=8)
    with pytest.raises(OSError, match="No space left"):
        run()
    assert len(writes) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == before
