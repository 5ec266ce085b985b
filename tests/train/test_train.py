"""The debug training recipe end to end on CPU: fit, resume, export, load."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml
from conftest import CLIPS, speaker_folder

from codec.cli import main
from codec.model import ModelError, load_model

RECIPES = Path(__file__).parents[2] / "recipes"


@pytest.fixture(scope="module")
def features_dir(tmp_path_factory):
    root = speaker_folder(tmp_path_factory.mktemp("speech"))
    out = tmp_path_factory.mktemp("prepared")
    assert main(["prepare", str(root), "--out", str(out), "--workers", "1"]) == 0
    return out / "features"


def test_recipes_are_valid_yaml_for_every_quantizer():
    for name in ("rvq16", "avq16", "pvq16", "scq16", "debug"):
        config = yaml.safe_load((RECIPES / f"{name}.yaml").read_text())
        assert config["model"]["bits"] == 16 and config["trainer"]["max_steps"] > 0


def test_debug_recipe_fits_resumes_and_exports(features_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["train", "fit", "--config", str(RECIPES / "debug.yaml"), "--data.features_dir", str(features_dir)]
    assert main(args) == 0
    last = next(Path("runs/debug").rglob("last.ckpt"))
    assert last.exists()
    state = torch.load(last, map_location="cpu", weights_only=False)
    assert state["global_step"] == 30
    assert (Path("runs/debug") / "config.yaml").exists() or list(Path("runs/debug").rglob("config.yaml"))
    metrics = next(Path("runs/debug").rglob("metrics.csv")).read_text()
    assert all(name in metrics for name in ("val/sd_mean", "train/perplexity", "train/codebook_usage",
                                            "train/replaced"))

    # Resume from the last checkpoint to a longer run: continues at step 30, not from scratch.
    assert main(args + ["--trainer.max_steps", "40", "--ckpt_path", str(last)]) == 0
    newest = max(Path("runs/debug").rglob("last.ckpt"), key=lambda p: p.stat().st_mtime_ns)
    assert newest != last, "the resumed run logs into a new version folder"
    assert torch.load(newest, map_location="cpu", weights_only=False)["global_step"] == 40

    assert main(["train", "export", str(newest), "--out", "model.npz"]) == 0
    assert main(["train", "export", str(newest), "--out", "model.npz"]) == 2  # no silent overwrite
    model = load_model("model.npz")
    quantizers, model_id = model.quantizers, model.id
    assert set(quantizers) == {"avq"} and len(model_id) == 16
    q = quantizers["avq"]
    lsf = np.load(features_dir / "lsf_valid.npy")[:200]
    codes = q.encode(lsf)
    assert codes.shape == (200, 4)
    lsf_hat = q.decode(codes)
    assert lsf_hat.shape == (200, 16) and (np.diff(lsf_hat, axis=1) > 0).all()
    assert np.abs(lsf_hat - lsf).mean() < 0.1  # trained: close to the input, in radians
    # The id depends on the tables, not on the file.
    assert load_model("model.npz").id == model_id

    # The spectrum's entropy model on the same tiny corpus makes it a complete codec.
    corpus = features_dir.parent
    assert main(["train", "spectrum", "model.npz", "--corpus", str(corpus), "--out", "codec.npz", "--files", "4",
                 "--rounds", "2"]) == 0
    assert main(["train", "spectrum", "model.npz", "--corpus", str(corpus), "--out", "codec.npz"]) == 2
    from codec import SpeechCodec, metrics

    codec = SpeechCodec.load("codec.npz")
    assert codec.model_id != model_id
    wav = np.concatenate([np.zeros(8000), metrics.normalize_level(sf.read(CLIPS[0])[0]), np.zeros(8000)])
    out, _ = codec.decode(codec.encode(wav, 16000, bitrate=16.4, quantizer="avq"))
    assert metrics.pesq_wb(wav, out) > 2.5


def test_load_model_rejects_other_files(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError):
        load_model(bad)


def test_predictive_recipe_trains_closed_loop_and_exports(features_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "fit", "--config", str(RECIPES / "debug.yaml"), "--data.features_dir", str(features_dir),
                 "--model.quantizer", "rvq", "--model.packet_frames", "4", "--trainer.max_steps", "20"]) == 0
    last = next(Path("runs/debug").rglob("last.ckpt"))
    assert main(["train", "export", str(last), "--out", "model.npz"]) == 0
    env = load_model("model.npz").quantizers["rvq"]
    assert env.packet_frames == 4 and len(env.stages) == 2 and float(env.rho.mean()) > 0.3
    lsf = np.load(features_dir / "lsf_valid.npy")[:50]
    assert env.decode(env.encode(lsf)).shape == (50, 16)


def test_training_killed_mid_epoch_resumes_to_the_uninterrupted_result(features_dir, tmp_path):
    """SIGKILL a real training process after a mid-epoch checkpoint; the resumed run ends bit-identical."""
    import os
    import subprocess
    import sys

    frames = len(np.load(features_dir / "lsf_train.npy"))
    batches_per_epoch = frames // 64  # one frame per item
    # Killed mid-epoch, and the resumed part crosses an epoch boundary.
    assert 30 % batches_per_epoch != 0 and 50 // batches_per_epoch > 30 // batches_per_epoch

    def fit(folder, *extra):
        command = [sys.executable, "-m", "codec", "train", "fit", "--config", str(RECIPES / "debug.yaml"),
                   "--data.features_dir", str(features_dir), "--data.batch_size", "64",
                   "--trainer.max_steps", "50", "--trainer.val_check_interval", "10", *extra]
        here = Path(__file__).parent  # the callback's module, and the package even when not installed
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(here), str(here.parents[1])]))
        return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False)

    whole, killed = tmp_path / "whole", tmp_path / "killed"
    whole.mkdir(), killed.mkdir()
    assert fit(whole).returncode == 0
    run = fit(killed, "--trainer.callbacks+=training_faults.KillAtStep", "--trainer.callbacks.step=30")
    assert run.returncode == -9, run.stderr[-2000:]
    last = next(killed.rglob("last.ckpt"))
    assert torch.load(last, map_location="cpu", weights_only=False)["global_step"] == 30
    resumed = fit(killed, "--ckpt_path", str(last))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "not resumable" not in resumed.stderr

    def final_state(folder):
        newest = max(folder.rglob("last.ckpt"), key=lambda p: p.stat().st_mtime_ns)
        checkpoint = torch.load(newest, map_location="cpu", weights_only=False)
        assert checkpoint["global_step"] == 50
        return checkpoint["state_dict"], checkpoint["optimizer_states"][0]["state"]

    (weights, adam), (weights_resumed, adam_resumed) = final_state(whole), final_state(killed)
    assert weights.keys() == weights_resumed.keys()
    for name in weights:
        assert torch.equal(weights[name], weights_resumed[name]), name
    for key in adam:
        for name in adam[key]:
            assert torch.equal(adam[key][name], adam_resumed[key][name]), (key, name)


def test_step_batches_are_a_function_of_the_step_and_split_across_ranks():
    from codec.train.data import StepBatches

    items = torch.arange(100).unsqueeze(1)
    whole = StepBatches(items, 8, seed=3)
    assert len(whole) == 12
    epoch0 = [b[0].squeeze(1) for b in whole]
    assert len(epoch0) == 12 and len(torch.cat(epoch0).unique()) == 96  # without replacement
    # Starting mid-epoch runs to the end of that epoch with the same batches.
    tail = list(StepBatches(items, 8, seed=3, start_step=lambda: 17))
    assert len(tail) == 7 and torch.equal(tail[0][0], whole.batch(17)[0])
    assert not torch.equal(whole.batch(1)[0], whole.batch(13)[0])  # a new order each epoch
    ranks = [StepBatches(items, 8, seed=3, rank=r, world=2) for r in range(2)]
    shards = [torch.cat([b[0] for b in r]) for r in ranks]
    assert len(ranks[0]) == 6 and not set(shards[0].ravel().tolist()) & set(shards[1].ravel().tolist())
    with pytest.raises(ValueError, match="other batches"):
        whole.load_state_dict(StepBatches(items, 16, seed=3).state_dict())
