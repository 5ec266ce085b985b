"""The vqcodec command line: help, exit codes, one-line errors."""

import subprocess
import sys

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


def test_train_help_reaches_lightning():
    result = subprocess.run([sys.executable, "-m", "codec", "train", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "vqcodec train" in result.stdout and "fit" in result.stdout


def test_encode_decode_info_on_a_file(tmp_path, capsys):
    import numpy as np
    import soundfile as sf
    from conftest import CLIPS

    src = CLIPS[0]
    vqc, wav = tmp_path / "a.vqc", tmp_path / "a.wav"
    assert main(["encode", str(src), str(vqc), "--bitrate", "9.6", "--quantizer", "rvq"]) == 0
    assert main(["info", str(vqc)]) == 0
    out = capsys.readouterr().out
    assert "rvq envelope, 9.6 kbit/s nominal" in out and "0 corrupt" in out
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
