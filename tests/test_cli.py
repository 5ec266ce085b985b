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
