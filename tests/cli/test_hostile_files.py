"""Hostile file systems and processes: inputs never destroyed, no temporary debris, one line for every failure."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
from conftest import CLIPS

from codec.cli import main
from codec.io import files


def run(args, **kwargs):
    return subprocess.run([sys.executable, "-m", "codec", *args], capture_output=True, timeout=300, check=False,
                          **kwargs)


def test_an_input_named_like_a_temporary_file_survives(tmp_path, capsys):
    take = tmp_path / "take.partial.wav"
    take.write_bytes(CLIPS[0].read_bytes())
    assert main(["encode", str(take), str(tmp_path / "take.wav"), "-q"]) == 0
    assert take.read_bytes() == CLIPS[0].read_bytes()
    stream = tmp_path / "rec.partial.wav"       # a stream under an audio name, decoded next to itself
    stream.write_bytes((tmp_path / "take.wav").read_bytes())
    assert main(["decode", str(stream), str(tmp_path / "rec.wav"), "-q"]) == 0
    assert stream.read_bytes() == (tmp_path / "take.wav").read_bytes()
    assert sf.info(tmp_path / "rec.wav").frames == sf.info(CLIPS[0]).frames
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_outputs_that_are_not_regular_files_are_refused(tmp_path, capsys):
    fifo, link, target = tmp_path / "pipe.vqc", tmp_path / "link.vqc", tmp_path / "target.vqc"
    os.mkfifo(fifo)
    target.write_bytes(b"precious")
    link.symlink_to(target)
    for out in (fifo, link, tmp_path):
        assert main(["encode", str(CLIPS[0]), str(out), "--force", "-q"]) == 2 or out == tmp_path
    err = capsys.readouterr().err
    assert err.count("not a regular file") == 2
    assert target.read_bytes() == b"precious" and fifo.exists() and link.is_symlink()


def test_a_planted_symlink_at_a_temporary_name_is_not_followed(tmp_path):
    target = tmp_path / "victim"
    target.write_bytes(b"precious")
    (tmp_path / "out.partial.vqc").symlink_to(target)     # the old fixed temporary name
    assert main(["encode", str(CLIPS[0]), str(tmp_path / "out.vqc"), "-q"]) == 0
    assert target.read_bytes() == b"precious" and (tmp_path / "out.vqc").read_bytes()[:4] == b"VQCD"


def test_sigterm_leaves_no_partial_output(tmp_path):
    long = tmp_path / "long.wav"
    sf.write(long, np.resize(sf.read(CLIPS[0], dtype="float32")[0], 16000 * 600), 16000)
    process = subprocess.Popen([sys.executable, "-m", "codec", "encode", str(long), str(tmp_path / "out.vqc"), "-q"],
                               stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while not any(p.name.endswith(".partial.vqc") for p in tmp_path.iterdir()) and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    code, err = process.wait(timeout=60), process.stderr.read()
    assert code == 130 and b"interrupted" in err, (code, err[-2000:])   # the stderr tells a rare failure's cause
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.wav"]


def test_killing_a_folder_job_kills_its_workers(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    wav = np.resize(sf.read(CLIPS[0], dtype="float32")[0], 16000 * 120)
    for i in range(6):
        sf.write(src / f"{i}.wav", wav, 16000)
    parent = subprocess.Popen([sys.executable, "-m", "codec", "encode", str(src), str(tmp_path / "out"),
                               "--workers", "2", "-q"])
    deadline, workers = time.time() + 60, []
    while len(workers) < 2 and time.time() < deadline:
        time.sleep(0.1)
        workers = [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) == parent.pid
                   and b"spawn_main" in _cmdline(int(p))]
    assert len(workers) == 2
    parent.kill()
    parent.wait()
    time.sleep(2)
    assert not [w for w in workers if os.path.exists(f"/proc/{w}") and _state(w) != "Z"], "orphaned workers run on"


def test_a_worker_whose_parent_died_before_it_was_set_up_exits():
    # The kernel's parent-death signal only covers parents that die after the worker asked for it; one
    # that died earlier left the worker re-parented (to init or a subreaper: not always pid 1).
    code = "import os, sys; from codec.cli.common import worker_init; worker_init(int(sys.argv[1])); print('runs')"
    gone = subprocess.run([sys.executable, "-c", code, "999999"], capture_output=True, text=True)
    alive = subprocess.run([sys.executable, "-c", code, str(os.getpid())], capture_output=True, text=True)
    assert (gone.returncode, gone.stdout) == (1, "") and (alive.returncode, alive.stdout) == (0, "runs\n")


def test_an_interrupted_worker_job_ends_the_worker():
    # The pool catches every exception of a job, KeyboardInterrupt included, and would send it back to a
    # dead parent and wait for the next job: the worker must end itself instead (exit 130).
    code = ("from codec.cli.coding import _try_in_worker\n"
            "def job(codec, src, dst, args):\n    raise KeyboardInterrupt\n"
            "class Args:\n    model = None\n"
            "_try_in_worker(job, 'a', 'b', Args())\nprint('runs on')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (130, "")


def _parent(pid):
    try:
        return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def _state(pid):
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def _cmdline(pid):
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        return b""


def test_endless_inputs_are_refused_in_bounded_memory(tmp_path):
    for command in (["decode", "/dev/zero", str(tmp_path / "z.wav")], ["info", "/dev/zero"]):
        result = run(command)
        assert result.returncode == 2 and b"not a vqcodec stream" in result.stderr and b"Traceback" not in result.stderr


def test_truncated_flac_in_a_folder_is_one_line_and_the_rest_go_on(tmp_path, caplog):
    src = tmp_path / "in"
    src.mkdir()
    wav, rate = sf.read(CLIPS[0])
    for name in ("a", "b", "c"):
        sf.write(src / f"{name}.flac", wav, rate)
    data = (src / "b.flac").read_bytes()
    (src / "b.flac").write_bytes(data[:len(data) // 2])
    assert main(["encode", str(src), str(tmp_path / "out"), "--workers", "1", "-q"]) == 2
    assert "b.flac" in caplog.text and "Traceback" not in caplog.text
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.vqc", "c.vqc"]


def test_output_folder_that_cannot_be_made_is_one_line(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.wav").write_bytes(CLIPS[0].read_bytes())
    (tmp_path / "file").write_text("in the way")
    assert main(["encode", str(tmp_path / "in"), str(tmp_path / "file" / "sub"), "-q"]) == 2
    assert "cannot create the output folder" in capsys.readouterr().err


def test_rates_a_format_cannot_hold_and_the_encoder_cannot_carry(tmp_path, capsys):
    high = tmp_path / "high.wav"
    sf.write(high, np.zeros(70000), 700000)
    assert main(["encode", str(high), str(tmp_path / "h.vqc"), "-q"]) == 0
    assert main(["decode", str(tmp_path / "h.vqc"), str(tmp_path / "h.flac"), "--original-rate", "-q"]) == 2
    err = capsys.readouterr().err
    assert "h.flac: cannot write FLAC" in err and err.count("\n") == 1
    too_high = tmp_path / "too_high.wav"
    sf.write(too_high, np.zeros(100000), 1000000)
    assert main(["encode", str(too_high), str(tmp_path / "x.vqc"), "-q"]) == 2
    assert "up to" in capsys.readouterr().err or not (tmp_path / "x.vqc").exists()
    assert not (tmp_path / "x.vqc").exists()


def test_wav_over_4_gib_becomes_rf64():
    assert files.container("WAV", 2 ** 31, "PCM_16") == "RF64"          # 4 GiB of 16-bit samples
    assert files.container("WAV", 2 ** 31 - 100, "PCM_16") == "WAV"
    assert files.container("FLAC", 2 ** 40, "PCM_16") == "FLAC"


@pytest.mark.parametrize("option, value", [("--burst", "nan"), ("--burst", "inf"), ("--loss", "nan"),
                                           ("--seed", "-1")])
def test_bad_channel_options_are_one_line(tmp_path, capsys, option, value):
    main(["encode", str(CLIPS[0]), str(tmp_path / "a.vqc"), "-q"])
    capsys.readouterr()
    assert main(["decode", str(tmp_path / "a.vqc"), str(tmp_path / "a.wav"), "--loss", "0.1", option, value]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a.vqc" not in err and not (tmp_path / "a.wav").exists()


def test_simulated_losses_are_reported_as_lost_not_corrupt(tmp_path, caplog):
    main(["encode", str(CLIPS[0]), str(tmp_path / "a.vqc"), "-q"])
    assert main(["decode", str(tmp_path / "a.vqc"), str(tmp_path / "a.wav"), "--loss", "0.2", "-q"]) == 0
    assert "lost packet(s) concealed" in caplog.text and "corrupt" not in caplog.text


def test_empty_paths_are_refused(capsys):
    assert main(["encode", "", "out.vqc"]) == 2
    assert "empty file name" in capsys.readouterr().err


def test_two_encodes_to_one_output_leave_one_whole_stream(tmp_path):
    """Each writer has its own temporary file: whichever rename lands last, the output is one complete stream."""
    from codec import SpeechCodec

    out = tmp_path / "same.vqc"
    runs = [subprocess.Popen([sys.executable, "-m", "codec", "encode", str(CLIPS[0]), str(out), "--bitrate", rate,
                              "--force", "-q"]) for rate in ("8", "32")]
    assert [r.wait(timeout=120) for r in runs] == [0, 0]
    data = out.read_bytes()
    codec = SpeechCodec.load()
    expected = {codec.encode(sf.read(CLIPS[0], dtype="float32")[0], 16000, bitrate=b) for b in (8.0, 32.0)}
    assert data in expected and sorted(p.name for p in tmp_path.iterdir()) == ["same.vqc"]


def test_a_full_disk_under_soundfile_is_one_line(tmp_path, monkeypatch, capsys):
    """libsndfile reports a failed write as 'System error' (not an OSError): still one line, no output."""
    main(["encode", str(CLIPS[0]), str(tmp_path / "a.vqc"), "-q"])
    capsys.readouterr()

    def full(self, data):
        raise sf.LibsndfileError(2)   # SF_ERR_SYSTEM, what a full disk gives

    monkeypatch.setattr(sf.SoundFile, "write", full)
    assert main(["decode", str(tmp_path / "a.vqc"), str(tmp_path / "a.wav")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a.wav: write failed" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.vqc"]
