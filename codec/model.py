"""The trained model file: every envelope quantizer a decoder needs, identified by a hash.

Layout (``torch.save`` of plain containers, loadable with ``weights_only=True``)::

    {"format": 1,
     "quantizers": {NAME: {"method": str, "bits": int, "options": dict, "weighted": bool,
                           "packet_frames": int, "state": state_dict}}}

The model id is the first 16 hex digits of a SHA-256 over the configuration
and the tensors that decoding depends on (codebooks and mean LSF vector; usage
counters are left out), so two files with the same tables share an id.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import torch

from .envelope import EnvelopeQuantizer, make_envelope
from .fileio import atomic_write

MODEL_FORMAT = 1
_TRAINING_ONLY = ("batches_used", "batches_seen")


class ModelError(ValueError):
    """A model file that cannot be used (wrong format, missing quantizer)."""


def describe(envelope: EnvelopeQuantizer, method: str, bits: int, options: dict | None = None) -> dict:
    """One envelope quantizer's entry in a model file."""
    return {"method": method, "bits": bits, "options": dict(options or {}), "weighted": envelope.weighted,
            "packet_frames": envelope.packet_frames,
            "state": {k: v.detach().cpu().clone() for k, v in envelope.state_dict().items()}}


def model_id(entries: dict[str, dict]) -> str:
    digest = hashlib.sha256()
    for name in sorted(entries):
        entry = entries[name]
        config = {k: entry[k] for k in ("method", "bits", "options", "weighted", "packet_frames")}
        digest.update(json.dumps({name: config}, sort_keys=True).encode())
        for key in sorted(entry["state"]):
            if not key.endswith(_TRAINING_ONLY):
                digest.update(key.encode())
                digest.update(entry["state"][key].to(torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def save_model(path: str | Path, entries: dict[str, dict]) -> str:
    """Write a model file (atomically); returns its model id."""
    with atomic_write(path) as partial:
        torch.save({"format": MODEL_FORMAT, "quantizers": entries}, partial)
    return model_id(entries)


def instantiate(entry: dict) -> EnvelopeQuantizer:
    envelope = make_envelope(entry["method"], entry["bits"], entry["options"],
                             packet_frames=entry["packet_frames"], weighted=entry["weighted"])
    envelope.load_state_dict(entry["state"])
    return envelope.eval()


def load_model(path: str | Path) -> tuple[dict[str, EnvelopeQuantizer], str]:
    """Read a model file; returns ({name: EnvelopeQuantizer}, model id)."""
    try:
        raw = torch.load(Path(path), map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as err:
        raise ModelError(f"{path}: not a vqcodec model file ({err})") from None
    if not isinstance(raw, dict) or raw.get("format") != MODEL_FORMAT:
        raise ModelError(f"{path}: unsupported model format {raw.get('format') if isinstance(raw, dict) else '?'}")
    entries = raw["quantizers"]
    return {name: instantiate(entry) for name, entry in entries.items()}, model_id(entries)
