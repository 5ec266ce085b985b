"""The model file: plain arrays, a stable id, and one clear error for anything else."""

import json

import numpy as np
import pytest

from codec.model import MODEL_FORMAT, ModelError, default_model_path, load_model, read_entries, save_model


def test_shipped_model_round_trips_with_its_id(tmp_path):
    shipped = load_model(default_model_path())
    assert shipped.id == "e3a431f453acef45" and sorted(shipped.quantizers) == ["avq", "pvq", "rvq", "scq"]
    entries, spectrum = read_entries(default_model_path())
    assert save_model(tmp_path / "copy.npz", entries, spectrum) == shipped.id
    assert load_model(tmp_path / "copy.npz").id == shipped.id
    with np.load(tmp_path / "copy.npz", allow_pickle=False) as archive:   # numbers and one JSON text, no code
        assert all(archive[key].dtype != object for key in archive.files)


@pytest.mark.parametrize("damage", ["drop_codebook", "drop_spectrum", "old_format", "not_a_model"])
def test_broken_model_files_are_one_clear_error(tmp_path, damage):
    path = tmp_path / "model.npz"
    if damage == "not_a_model":
        path.write_bytes(b"not a model")
    else:
        with np.load(default_model_path(), allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        if damage == "drop_codebook":
            del arrays["quantizers/avq/quantizer.codebooks.0.entries"]
        elif damage == "drop_spectrum":
            del arrays["spectrum/probabilities"]
        else:
            arrays["format"] = np.array(2)
        np.savez(path, **arrays)
    with pytest.raises(ModelError) as error:
        load_model(path)
    message = str(error.value)
    assert message.startswith(str(path)) and "\n" not in message
    if damage == "old_format":
        assert f"format 2; this version of vqcodec reads format {MODEL_FORMAT}" in message
    config = json.loads(bytes(np.load(default_model_path())["config"]))
    assert config["spectrum"] is True
