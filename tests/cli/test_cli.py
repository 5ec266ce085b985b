"""The vqcodec command line: help, exit codes, one-line errors."""

import subprocess
import sys

import pytest

from codec.cli import main


def test_complexity_table(capsys):
    assert main(["complexity", "--quantizers", "rvq,pvq"]) == 0
    out = capsys.readouterr().out
    assert "rvq" in out and "3,256" in out and "840" in out


def test_bad_arguments_give_one_line_error(capsys):
    assert main(["complexity", "--quantizers", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown quantizer" in err
    assert main(["complexity", "--bits", "17"]) == 2


def test_python_dash_m_help():
    result = subprocess.run([sys.executable, "-m", "codec", "--help"], capture_output=True, text=True, check=True)
    assert "complexity" in result.stdout


def test_train_fit_help_reaches_lightning():
    result = subprocess.run([sys.executable, "-m", "codec", "train", "fit", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--config" in result.stdout and "--trainer" in result.stdout


def test_encode_decode_info_on_a_file(tmp_path, capsys):
    import numpy as np
    import soundfile as sf
    from conftest import CLIPS

    src = CLIPS[0]
    vqc, wav = tmp_path / "a.vqc", tmp_path / "a.wav"
    assert main(["encode", str(src), str(vqc), "--bitrate", "9.6", "--quantizer", "rvq"]) == 0
    assert main(["info", str(vqc)]) == 0
    out = capsys.readouterr().out
    assert "rvq envelope, 9.6 kbit/s nominal" in out and "0 failing their checksum" in out
    assert main(["decode", str(vqc), str(wav)]) == 0
    decoded, sr = sf.read(wav)
    assert sr == 16000 and len(decoded) == sf.info(src).frames and np.abs(decoded).max() > 0.05
    # Never a silent overwrite, never an input overwritten, and no partial files left behind.
    before = vqc.read_bytes()
    assert main(["encode", str(src), str(vqc)]) == 2
    assert "exists" in capsys.readouterr().err and vqc.read_bytes() == before
    assert main(["decode", str(vqc), str(vqc), "--force"]) == 2
    assert vqc.read_bytes() == before
    assert main(["encode", str(src), str(vqc), "--force", "--bitrate", "32"]) == 0
    assert len(vqc.read_bytes()) > len(before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.vqc", "a.wav"]


def test_packet_length_is_chosen_on_the_command_line(tmp_path, capsys):
    from conftest import CLIPS

    vqc = tmp_path / "a.vqc"
    assert main(["encode", str(CLIPS[0]), str(vqc), "--packet-frames", "4", "-q"]) == 0
    assert main(["info", str(vqc)]) == 0
    assert "(4 frames each)" in capsys.readouterr().out
    assert main(["decode", str(vqc), str(tmp_path / "a.wav"), "-q"]) == 0
    assert main(["encode", str(CLIPS[0]), str(tmp_path / "b.vqc"), "--packet-frames", "256"]) == 2
    err = capsys.readouterr().err
    assert "--packet-frames must be 1 to 255" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "b.vqc").exists()


def test_encode_decode_folders_in_parallel(tmp_path):
    from conftest import speaker_folder

    (tmp_path / "in").mkdir()
    root = speaker_folder(tmp_path / "in")
    assert main(["encode", str(root), str(tmp_path / "vqc"), "--workers", "2", "-q"]) == 0
    streams = sorted((tmp_path / "vqc").rglob("*.vqc"))
    assert len(streams) == 6 and (tmp_path / "vqc" / "arctic" / "arctic_a0007.vqc") in streams
    assert main(["decode", str(tmp_path / "vqc"), str(tmp_path / "out"), "--workers", "2", "-q"]) == 0
    assert len(list((tmp_path / "out").rglob("*.wav"))) == 6


def test_bad_inputs_exit_with_one_line(tmp_path, capsys):
    junk = tmp_path / "junk.vqc"
    junk.write_bytes(b"not a stream at all")
    assert main(["decode", str(junk), str(tmp_path / "x.wav")]) == 2
    assert main(["info", str(junk)]) == 2
    assert main(["encode", str(junk), str(tmp_path / "y.vqc")]) == 2          # not audio
    assert main(["encode", str(tmp_path / "missing.wav"), str(tmp_path / "z.vqc")]) == 2
    assert main(["encode", str(junk), str(tmp_path / "y.vqc"), "--bitrate", "12"]) == 2
    err = capsys.readouterr().err
    assert "not a vqcodec stream" in err and "bitrate 12 not supported" in err and "Traceback" not in err
    assert not (tmp_path / "x.wav").exists() and not (tmp_path / "y.vqc").exists()


def _run(args, *, stdin=None, env=None, cwd=None):
    import os

    return subprocess.run([sys.executable, "-m", "codec", *args], input=stdin, capture_output=True, timeout=300,
                          env={**os.environ, **(env or {})}, cwd=cwd, check=False)


def test_version():
    from codec import __version__
    from codec.coding.bitstream import VERSION
    from codec.model import MODEL_FORMAT

    result = _run(["--version"])
    assert result.returncode == 0
    assert result.stdout.decode().strip() == (f"vqcodec {__version__} (.vqc stream format {VERSION}, "
                                              f"model file format {MODEL_FORMAT})")


def test_the_command_lines_packet_length_default_is_the_codecs():
    from codec.cli.coding import PACKET_FRAMES
    from codec.coding.bitstream import DEFAULT_PACKET_FRAMES

    assert PACKET_FRAMES == DEFAULT_PACKET_FRAMES


def test_pipes_round_trip_through_stdin_and_stdout(tmp_path):
    import io

    import soundfile as sf
    from conftest import CLIPS

    wav = CLIPS[0].read_bytes()
    encoded = _run(["encode", "-", "-", "--bitrate", "16.4"], stdin=wav)
    assert encoded.returncode == 0 and encoded.stdout[:4] == b"VQCD", encoded.stderr
    (tmp_path / "a.vqc").write_bytes(encoded.stdout)
    assert _run(["encode", str(CLIPS[0]), str(tmp_path / "b.vqc"), "--bitrate", "16.4"]).returncode == 0
    assert encoded.stdout == (tmp_path / "b.vqc").read_bytes()           # the same bytes as from a file
    decoded = _run(["decode", "-", "-"], stdin=encoded.stdout)
    assert decoded.returncode == 0 and decoded.stdout[:4] == b"RIFF"
    audio, rate = sf.read(io.BytesIO(decoded.stdout))
    assert rate == 16000 and len(audio) == sf.info(CLIPS[0]).frames
    assert _run(["decode", str(tmp_path / "a.vqc"), str(tmp_path / "a.wav")]).returncode == 0
    assert (tmp_path / "a.wav").read_bytes() == decoded.stdout            # pipe and file write the same WAV
    info = _run(["info", "-"], stdin=encoded.stdout)
    assert info.returncode == 0 and b"16.4 kbit/s nominal" in info.stdout


@pytest.mark.parametrize("name, message", [("out.xyz", "cannot write audio as .xyz"),
                                           ("noext", "cannot write audio as a file without a suffix"),
                                           ("out.opus", "cannot write audio as .opus")])
def test_unwritable_output_names_the_output(tmp_path, capsys, name, message):
    from conftest import CLIPS

    main(["encode", str(CLIPS[0]), str(tmp_path / "a.vqc"), "-q"])
    capsys.readouterr()
    assert main(["decode", str(tmp_path / "a.vqc"), str(tmp_path / name)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"vqcodec decode: error: {tmp_path / name}: {message}"), err
    assert main(["decode", str(tmp_path / "a.vqc"), str(tmp_path / "a.flac"), "--subtype", "FLOAT"]) == 2
    assert "FLAC cannot hold FLOAT" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.vqc"]


def test_output_format_comes_from_the_suffix(tmp_path):
    import soundfile as sf
    from conftest import CLIPS

    assert main(["encode", str(CLIPS[0]), str(tmp_path / "a.vqc"), "-q"]) == 0
    for suffix, fmt in ((".flac", "FLAC"), (".ogg", "OGG"), (".aiff", "AIFF"), (".wav", "WAV")):
        assert main(["decode", str(tmp_path / "a.vqc"), str(tmp_path / f"a{suffix}"), "-q"]) == 0
        assert sf.info(tmp_path / f"a{suffix}").format == fmt


def test_folder_jobs_check_collisions_first_and_go_on_after_a_bad_file(tmp_path, capsys, caplog):
    import shutil

    from conftest import CLIPS

    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(CLIPS[0], src / "a.wav")
    shutil.copy(CLIPS[1], src / "b.wav")
    import soundfile as sf
    wav, rate = sf.read(CLIPS[0])
    sf.write(src / "a.flac", wav, rate)
    assert main(["encode", str(src), str(tmp_path / "out"), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "a.flac and" in err and "would both be written to" in err and not (tmp_path / "out").exists()
    (src / "a.flac").unlink()
    (src / "c.wav").write_bytes(b"RIFF not really a wav file")
    assert main(["encode", str(src), str(tmp_path / "out"), "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert "c.wav: not a readable audio file" in caplog.text       # logged as one line, the job went on
    assert "2 of 3 file(s) done" in err and "1 of 3 file(s) failed" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.vqc", "b.vqc"]


def test_train_help_lists_the_subcommands():
    result = _run(["train", "--help"])
    text = result.stdout.decode()
    assert result.returncode == 0 and all(name in text for name in ("fit", "validate", "export", "spectrum"))
    assert "vqcodec train fit --config recipes/avq16.yaml" in text


def test_the_codec_runs_without_torch(tmp_path):
    """What a core install (no [train] extra) runs: encode, decode, info and eval through pipes and files,
    with any import of torch made to fail."""
    from conftest import CLIPS

    blocker = tmp_path / "blocked"
    blocker.mkdir()
    for name in ("torch", "lightning"):
        (blocker / f"{name}.py").write_text(f"raise ImportError('{name} is not installed (test)')\n")
    env = {"PYTHONPATH": str(blocker)}
    encoded = _run(["encode", "-", "-", "--bitrate", "8"], stdin=CLIPS[0].read_bytes(), env=env)
    assert encoded.returncode == 0, encoded.stderr.decode()
    decoded = _run(["decode", "-", str(tmp_path / "out.wav")], stdin=encoded.stdout, env=env)
    assert decoded.returncode == 0 and (tmp_path / "out.wav").stat().st_size > 1000, decoded.stderr.decode()
    assert _run(["info", "-"], stdin=encoded.stdout, env=env).returncode == 0
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / "a.wav").write_bytes(CLIPS[-1].read_bytes())
    evaluated = _run(["eval", str(clips), "--out", str(tmp_path / "eval"), "--bitrates", "8", "--quantizers", "avq",
                      "--references", "none", "--workers", "1", "-q"], env=env)
    assert evaluated.returncode == 0, evaluated.stderr.decode()
    trained = _run(["train", "fit", "--help"], env=env)
    assert trained.returncode == 2 and b"pip install -e '.[train]'" in trained.stderr
