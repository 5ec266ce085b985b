"""The trained model file: every envelope quantizer a decoder needs, identified by a hash.

Layout (``torch.save`` of plain containers, loadable with ``weights_only=True``)::

    {"format": 2,
     "quantizers": {NAME: {"method": str, "bits": int, "options": dict, "weighted": bool,
                           "packet_frames": int, "state": state_dict}},
     "spectrum": {"beta", "offsets", "probabilities"} or None}

``spectrum`` is the entropy model of the coded MDCT spectrum
(``codec.entropy.SpectrumModel``); a file without it holds envelope
quantizers only (what ``vqcodec train export`` writes before
``vqcodec train spectrum`` adds it). The model id is the first 16 hex digits
of a SHA-256 over the configuration and the tensors that decoding depends on
(codebooks, mean LSF vector, predictor, spectrum tables; usage counters are
left out), so two files with the same tables share an id.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import dataclass
from pathlib import Path

import torch

from .entropy import SpectrumModel
from .envelope import EnvelopeQuantizer, make_envelope
from .fileio import atomic_write

MODEL_FORMAT = 2
_TRAINING_ONLY = ("batches_used", "batches_seen")


class ModelError(ValueError):
    """A model file that cannot be used (wrong format, missing quantizer)."""


@dataclass
class Model:
    """A loaded model file."""

    quantizers: dict[str, EnvelopeQuantizer]
    spectrum: SpectrumModel | None
    id: str


def describe(envelope: EnvelopeQuantizer, method: str, bits: int, options: dict | None = None) -> dict:
    """One envelope quantizer's entry in a model file."""
    return {"method": method, "bits": bits, "options": dict(options or {}), "weighted": envelope.weighted,
            "packet_frames": envelope.packet_frames,
            "state": {k: v.detach().cpu().clone() for k, v in envelope.state_dict().items()}}


def model_id(entries: dict[str, dict], spectrum: dict | None = None) -> str:
    digest = hashlib.sha256()
    for name in sorted(entries):
        entry = entries[name]
        config = {k: entry[k] for k in ("method", "bits", "options", "weighted", "packet_frames")}
        digest.update(json.dumps({name: config}, sort_keys=True).encode())
        for key in sorted(entry["state"]):
            if not key.endswith(_TRAINING_ONLY):
                digest.update(key.encode())
                digest.update(entry["state"][key].to(torch.float32).contiguous().numpy().tobytes())
    for key in sorted(spectrum or {}):
        digest.update(key.encode())
        digest.update(spectrum[key].to(torch.float64).contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def save_model(path: str | Path, entries: dict[str, dict], spectrum: SpectrumModel | None = None) -> str:
    """Write a model file (atomically); returns its model id."""
    state = spectrum.state() if spectrum is not None else None
    with atomic_write(path) as partial:
        torch.save({"format": MODEL_FORMAT, "quantizers": entries, "spectrum": state}, partial)
    return model_id(entries, state)


def read_entries(path: str | Path) -> tuple[dict[str, dict], dict | None]:
    """The raw quantizer entries and spectrum state of a model file (to extend it)."""
    raw = _read(path)
    return raw["quantizers"], raw.get("spectrum")


def instantiate(entry: dict) -> EnvelopeQuantizer:
    envelope = make_envelope(entry["method"], entry["bits"], entry["options"],
                             packet_frames=entry["packet_frames"], weighted=entry["weighted"])
    envelope.load_state_dict(entry["state"])
    return envelope.eval()


def load_model(path: str | Path) -> Model:
    """Read a model file: its envelope quantizers by name, spectrum model and id."""
    raw = _read(path)
    entries, spectrum = raw["quantizers"], raw.get("spectrum")
    return Model({name: instantiate(entry) for name, entry in entries.items()},
                 SpectrumModel.from_state(spectrum) if spectrum is not None else None,
                 model_id(entries, spectrum))


def _read(path: str | Path) -> dict:
    try:
        raw = torch.load(Path(path), map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as err:
        raise ModelError(f"{path}: not a vqcodec model file ({err})") from None
    if not isinstance(raw, dict) or raw.get("format") != MODEL_FORMAT:
        raise ModelError(f"{path}: unsupported model format {raw.get('format') if isinstance(raw, dict) else '?'}")
    return raw
