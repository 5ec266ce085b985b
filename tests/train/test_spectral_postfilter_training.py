"""The spectral postfilter's training: torch computes the decoder's gains, the loss is the band
energies', and the debug recipe fits, resumes and exports into a model file."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import CLIPS, fit_resume_export

from codec import SpeechCodec
from codec import spectral_postfilter as sp
from codec.train.spectral_postfilter import OVERSHOOT, SpectralNet, band_loss

RECIPES = Path(__file__).parents[2] / "recipes"


def test_torch_computes_the_decoders_gains():
    torch.manual_seed(0)
    net = SpectralNet(32).double()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.3 * torch.randn_like(p))
    weights = sp.SpectralWeights({k: v.astype(np.float64) for k, v in net.weights().items()})
    net.load_weights(weights)   # the exported float32 arrays back into the net
    inputs = np.random.default_rng(0).normal(size=(50, sp.CONTEXT * sp.FEATURES))
    with torch.no_grad():
        ours = net(torch.from_numpy(inputs)).numpy()
    assert np.abs(ours - sp.log_gains(weights, inputs)).max() < 1e-12
    assert np.abs(ours).max() > 0.1


def test_the_loss_weighs_too_much_energy_more_than_too_little():
    coded, zeroed = torch.zeros(1, sp.BANDS), torch.ones(1, sp.BANDS)
    original = torch.ones(1, sp.BANDS)
    up = torch.full((1, sp.OUTPUTS), 0.5 * np.log(10) / 2)     # +5 dB
    assert band_loss(torch.zeros(1, sp.OUTPUTS), coded, zeroed, original) == 0
    loud, soft = band_loss(up, coded, zeroed, original), band_loss(-up, coded, zeroed, original)
    # (5 dB = 0.5 in log10)^2, give or take the floor 40 dB under the original
    assert abs(loud / soft - OVERSHOOT) < 0.01 and abs(soft - 0.25) < 1e-3


@pytest.mark.slow
def test_debug_recipe_fits_resumes_and_exports_a_spectral_postfilter(prepared_corpus, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)   # the recipe's runs/ folder
    model = fit_resume_export("spectral", prepared_corpus, tmp_path)
    shipped = SpeechCodec.load()
    assert model.id == shipped.model_id and model.spectral is not None
    assert model.postfilter is not None   # the other trained part is kept
    assert model.postfilter_id != shipped.postfilter_id
    # A stream of the shipped model decodes with the new file (same coding tables), with the new
    # gains: 16 steps of a 16-wide net make small ones, but they change the sound.
    data = shipped.encode(sf.read(CLIPS[0])[0], 16000, bitrate=9.6)
    ours, _ = SpeechCodec.load(tmp_path / "m.npz").decode(data)
    theirs, _ = shipped.decode(data)
    assert len(ours) == len(theirs) and np.isfinite(ours).all()
    assert 0 < np.abs(ours - theirs).max() and np.std(ours - theirs) < 0.5 * np.std(theirs)
