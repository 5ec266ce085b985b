"""The trained model file: every table a decoder needs, as plain arrays, identified by a hash.

A model file is a numpy ``.npz`` archive (read with ``allow_pickle=False``: it
holds numbers and one JSON text, never code). Its members, byte by byte, are
in ``docs/model_format.md``; in short::

    format                          int, MODEL_FORMAT
    config                          JSON: {"quantizers": {NAME: {method, bits, options, weighted,
                                           packet_frames}}, "spectrum": true|false}
    quantizers/NAME/mean            (16,) float32, mean LSF vector
    quantizers/NAME/rho             (16,) float32, per-LSF prediction coefficients
    quantizers/NAME/quantizer.codebooks.M.entries    (K, d) float32, memoryless codebooks
    quantizers/NAME/predictive.codebooks.M.entries   (K, d) float32, prediction-residual codebooks
    spectrum/beta, spectrum/offsets, spectrum/probabilities   float64 (codec.coding.entropy)
    postfilter/w1 ... postfilter/b3  float32, the trained postfilter (codec.neural_postfilter), optional
    spectral/w1 ... spectral/b3      float32, the spectral postfilter (codec.spectral_postfilter), optional

The model id is the first 16 hex digits of a SHA-256 over each quantizer's
configuration and arrays (float32) in name order, then the spectrum arrays
(float64): two files with the same coding tables share an id, and a stream names
the id of the model that can decode it. The postfilter has an id of its own,
made the same way from its arrays and the spectral postfilter's: they change how a
stream sounds, never whether it decodes, so retraining them leaves every stream
decodable.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from .coding.entropy import SpectrumModel
from .coding.envelope import EnvelopeCoder
from .io.atomic import atomic_write
from .neural_postfilter import PostfilterWeights
from .spectral_postfilter import SpectralWeights
from .tanh_network import NAMES

MODEL_FORMAT = 3                     # 1-2 were torch pickles (vqcodec 0.1)
CONFIG_KEYS = EnvelopeCoder.CONFIG_KEYS
TRAINING_ONLY = ("batches_used", "batches_seen")   # usage counters: not part of a model
TRAINED_PARTS = {"postfilter": NAMES, "spectral": NAMES}   # the decoder's networks, by their prefix


class ModelError(ValueError):
    """A model file that cannot be used (not a model, another format, missing tables)."""


@dataclass
class Model:
    """A loaded model file."""

    quantizers: dict[str, EnvelopeCoder]
    spectrum: SpectrumModel | None
    id: str
    postfilter: PostfilterWeights | None = None
    postfilter_id: str | None = None
    spectral: SpectralWeights | None = None


def default_model_path() -> Path:
    """The shipped default model inside the package."""
    return Path(str(resources.files("codec") / "pretrained" / "default.npz"))


def model_id(entries: dict[str, dict], spectrum: dict[str, np.ndarray] | None = None) -> str:
    """The id of a model's tables: ``entries`` NAME -> {config keys..., "state": {key: array}}."""
    digest = hashlib.sha256()
    for name in sorted(entries):
        entry = entries[name]
        digest.update(json.dumps({name: {k: entry[k] for k in CONFIG_KEYS}}, sort_keys=True).encode())
        for key in sorted(entry["state"]):
            if not key.endswith(TRAINING_ONLY):
                digest.update(key.encode())
                digest.update(np.ascontiguousarray(entry["state"][key], dtype=np.float32).tobytes())
    for key in sorted(spectrum or {}):
        digest.update(key.encode())
        digest.update(np.ascontiguousarray(spectrum[key], dtype=np.float64).tobytes())
    return digest.hexdigest()[:16]


def postfilter_id(trained: dict[str, dict[str, np.ndarray]]) -> str:
    """The id of the decoder's trained arrays (``read_model_arrays``'s third item), float32, like the
    model id's: the postfilter's by name, then the spectral postfilter's as ``spectral/NAME``."""
    digest = hashlib.sha256()
    for prefix, part in (("", "postfilter"), ("spectral/", "spectral")):
        weights = trained.get(part, {})
        for key in sorted(weights):
            digest.update(f"{prefix}{key}".encode())
            digest.update(np.ascontiguousarray(weights[key], dtype=np.float32).tobytes())
    return digest.hexdigest()[:16]


def save_model(path: str | Path, entries: dict[str, dict], spectrum: SpectrumModel | dict | None = None,
               trained: dict[str, dict[str, np.ndarray]] | None = None) -> str:
    """Write a model file (atomically); returns its model id.

    ``spectrum`` is a SpectrumModel, or the arrays of one as ``read_entries`` returns them;
    ``trained`` the decoder's trained arrays by part, ``"postfilter"`` (``codec.neural_postfilter``)
    and ``"spectral"`` (``codec.spectral_postfilter``), either optional.
    """
    state = spectrum.state() if isinstance(spectrum, SpectrumModel) else spectrum
    trained = trained or {}
    arrays = {"format": np.array(MODEL_FORMAT)}
    config = {"quantizers": {}, "spectrum": state is not None, **{part: part in trained for part in TRAINED_PARTS}}
    for part in TRAINED_PARTS:
        for key, value in trained.get(part, {}).items():
            arrays[f"{part}/{key}"] = np.asarray(value, dtype=np.float32)
    for name, entry in entries.items():
        config["quantizers"][name] = {k: entry[k] for k in CONFIG_KEYS}
        for key, value in entry["state"].items():
            if not key.endswith(TRAINING_ONLY):
                arrays[f"quantizers/{name}/{key}"] = np.asarray(value, dtype=np.float32)
    for key, value in (state or {}).items():
        arrays[f"spectrum/{key}"] = np.asarray(value, dtype=np.float64)
    arrays["config"] = np.frombuffer(json.dumps(config, sort_keys=True).encode(), dtype=np.uint8)
    with atomic_write(path) as partial, open(partial, "wb") as handle:
        np.savez(handle, **arrays)
    return model_id(entries, state)


def read_entries(path: str | Path) -> tuple[dict[str, dict], dict[str, np.ndarray] | None]:
    """A model file's quantizer entries (config and arrays) and spectrum arrays, to extend it."""
    entries, spectrum, _ = read_model_arrays(path)
    return entries, spectrum


def read_model_arrays(path: str | Path) -> tuple[dict[str, dict], dict[str, np.ndarray] | None,
                                                 dict[str, dict[str, np.ndarray]]]:
    """A model file's quantizer entries, spectrum arrays (None where absent) and the decoder's trained
    arrays by part (``TRAINED_PARTS``, the ones present)."""
    try:
        with np.load(Path(path), allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise ModelError(f"{path}: not a vqcodec model file ({err})") from None
    version = int(arrays["format"]) if "format" in arrays else None
    if version != MODEL_FORMAT:
        raise ModelError(f"{path}: model format {version}; this version of vqcodec reads format {MODEL_FORMAT}")
    try:
        config = json.loads(arrays["config"].tobytes())
        entries = {name: {**{k: described[k] for k in CONFIG_KEYS},
                          "state": {key.split("/", 2)[2]: value for key, value in arrays.items()
                                    if key.startswith(f"quantizers/{name}/")}}
                   for name, described in config["quantizers"].items()}
        spectrum = ({key: arrays[f"spectrum/{key}"] for key in ("beta", "offsets", "probabilities")}
                    if config["spectrum"] else None)
        trained = {part: {key: arrays[f"{part}/{key}"] for key in names}
                   for part, names in TRAINED_PARTS.items() if config.get(part)}
    except (KeyError, ValueError, TypeError) as err:
        raise ModelError(f"{path}: incomplete model file (missing {err})") from None
    return entries, spectrum, trained


def load_model(path: str | Path) -> Model:
    """Read a model file: its envelope coders by name, spectrum model, postfilter and ids."""
    entries, spectrum, trained = read_model_arrays(path)
    as_float = {part: {k: v.astype(np.float64) for k, v in arrays.items()} for part, arrays in trained.items()}
    try:
        coders = {name: EnvelopeCoder.from_state(entry, entry["state"]) for name, entry in entries.items()}
        weights = PostfilterWeights(as_float["postfilter"]) if "postfilter" in trained else None
        spectral = SpectralWeights(as_float["spectral"]) if "spectral" in trained else None
    except (KeyError, ValueError) as err:
        raise ModelError(f"{path}: incomplete or broken model file ({err})") from None
    return Model(coders, SpectrumModel.from_state(spectrum) if spectrum is not None else None,
                 model_id(entries, spectrum), weights, postfilter_id(trained) if trained else None, spectral)
