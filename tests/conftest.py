"""Shared fixtures: the real speech clips under tests/data."""

from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / "data"
CLIPS = sorted(DATA.glob("*.wav"))


@pytest.fixture(scope="session")
def speech():
    """A 7 s LibriVox clip, 16 kHz float32."""
    from codec import audio

    wav, _ = audio.load(DATA / "sense_and_sensibility_01_austen_64kb-0870.wav")
    return wav


@pytest.fixture(scope="session")
def speech_lpc(speech):
    from codec import lpc

    return lpc.analyze(speech)


def speaker_folder(root):
    """Copy the clips into ROOT/SPEAKER/ folders: 'librivox' (5 clips) and 'arctic' (1 clip)."""
    import shutil

    for clip in CLIPS:
        speaker = "arctic" if "arctic" in clip.name else "librivox"
        (root / speaker).mkdir(exist_ok=True)
        shutil.copy(clip, root / speaker / clip.name)
    return root


@pytest.fixture(scope="session")
def prepared_corpus(tmp_path_factory):
    """The clips as a prepared corpus (vqcodec prepare): librivox trains, arctic validates."""
    from codec.cli import main

    out = tmp_path_factory.mktemp("prepared")
    assert main(["prepare", str(speaker_folder(tmp_path_factory.mktemp("speech"))), "--out", str(out),
                 "--workers", "1"]) == 0
    return out


def fit_resume_export(command: str, corpus: Path, folder: Path):
    """``vqcodec train COMMAND`` with ``recipes/COMMAND_debug.yaml`` in ``folder``: fit 12 steps, check
    the logs, resume to 16, export into m.npz over the shipped model (twice: the second refuses to
    overwrite). Returns the loaded model file."""
    import torch

    from codec.cli import main
    from codec.model import default_model_path, load_model

    runs = folder / "runs" / f"{command}_debug"
    args = ["train", command, "fit", "--config", str(Path(__file__).parents[1] / "recipes" / f"{command}_debug.yaml"),
            "--data.corpus", str(corpus), "--data.pairs_dir", str(folder / "pairs")]
    assert main(args) == 0
    last = next(runs.rglob("last.ckpt"))
    assert torch.load(last, map_location="cpu", weights_only=False)["global_step"] == 12
    metrics = next(runs.rglob("metrics.csv")).read_text()
    assert "val/loss" in metrics and "val/unfiltered" in metrics and "train/loss" in metrics
    assert main(args + ["--trainer.max_steps", "16", "--ckpt_path", str(last)]) == 0
    newest = max(runs.rglob("last.ckpt"), key=lambda p: p.stat().st_mtime_ns)
    assert torch.load(newest, map_location="cpu", weights_only=False)["global_step"] == 16
    export = ["train", command, "export", str(newest), "--model", str(default_model_path()),
              "--out", str(folder / "m.npz")]
    assert main(export) == 0
    assert main(export) == 2   # no silent overwrite
    return load_model(folder / "m.npz")


def tone_snr(x: np.ndarray, y: np.ndarray) -> float:
    """Waveform SNR (dB) of a decoded tone ``y`` against ``x``, away from the first and last 0.1 s."""
    x, y = x[1600:-1600], y[1600:-1600]
    return float(10 * np.log10(np.sum(x ** 2) / np.sum((x - y) ** 2)))


def postfilter_tones() -> dict[str, np.ndarray]:
    """Two seconds each of a 1 kHz sine, DTMF 5 and a 100 Hz - 7 kHz sweep: steady tones look voiced,
    so a postfilter's comb works on them (the postfilter tests' signals)."""
    t = np.arange(2 * 16000) / 16000
    return {"sine": 0.3 * np.sin(2 * np.pi * 1000 * t),
            "dtmf": 0.25 * (np.sin(2 * np.pi * 770 * t) + np.sin(2 * np.pi * 1336 * t)),
            "sweep": 0.3 * np.sin(2 * np.pi * (100 * t + 6900 / 4 * t ** 2))}


def level_change(x: np.ndarray, y: np.ndarray) -> float:
    """Decoded energy over the input's, dB."""
    return float(10 * np.log10(np.sum(y ** 2) / np.sum(x ** 2)))


@pytest.fixture
def rng():
    return np.random.default_rng(0)
