"""The neural postfilter's training: torch computes what the decoder computes; the debug recipe
fits, resumes and exports into a model file whose streams stay decodable."""

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import CLIPS, fit_resume_export

from codec import SpeechCodec
from codec import neural_postfilter as npf
from codec.dsp.framing import FRAME
from codec.train.postfilter import PostfilterNet

RECIPES = Path(__file__).parents[2] / "recipes"


def _decoded(rate=13.2):
    import soundfile as sf

    codec = SpeechCodec.load()
    wav = sf.read(CLIPS[0])[0]
    return codec.decode(codec.encode(wav, 16000, bitrate=rate), postfilter=False)[0].astype(np.float64)


@pytest.mark.parametrize("source", ["random", "shipped"])
def test_torch_computes_what_the_decoder_computes(source):
    net = PostfilterNet(64).double()
    if source == "shipped":
        weights = SpeechCodec.load().postfilter
        if weights is None:
            pytest.skip("the shipped model has no postfilter")
        net.load_weights(weights)
    else:
        torch.manual_seed(0)
        with torch.no_grad():
            for p in net.parameters():
                p.add_(0.3 * torch.randn_like(p))   # far from the identity start: every path matters
    weights = npf.PostfilterWeights({k: v.astype(np.float64) for k, v in net.weights().items()})
    if source == "random":   # the exported float32 arrays, back into the float64 net
        net.load_weights(weights)
    decoded = _decoded()
    blocks = len(decoded) // FRAME
    stream = npf.NeuralPostfilter(weights, 13.2)(decoded[:blocks * FRAME])
    x = np.concatenate([np.zeros(npf.HISTORY), decoded[:blocks * FRAME]])
    features, lags = npf.features(x, blocks, 13.2)
    first, count = 40, 60   # a window from block 40: the block before it warms the torch filter up
    with torch.no_grad():
        y = net(torch.from_numpy(x[(first - 1) * FRAME:npf.HISTORY + (first + count) * FRAME])[None],
                torch.from_numpy(np.concatenate([np.zeros((npf.CONTEXT, npf.FEATURES)), features])
                                 [first - 1 + 1:first + count + npf.CONTEXT - 1 + 1])[None],
                torch.from_numpy(np.concatenate([[npf.LAG_MIN], lags])[first - 1:first + count + 1])[None])
    y = y[0, FRAME:].numpy()
    expected = stream[first * FRAME:(first + count) * FRAME]
    assert np.abs(expected).max() > 0.05
    assert np.abs(y - expected).max() < 1e-9


@pytest.mark.slow
def test_debug_recipe_fits_resumes_and_exports_a_postfilter(prepared_corpus, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)   # the recipe's runs/ folder
    model = fit_resume_export("postfilter", prepared_corpus, tmp_path)
    shipped = SpeechCodec.load()
    assert model.id == shipped.model_id and model.postfilter is not None and len(model.postfilter_id) == 16
    # A stream of the shipped model decodes with the new file (same coding tables), filtered by
    # the new network: 16 steps of a 16-wide net do not make a good filter, but a working one.
    import soundfile as sf

    wav = sf.read(CLIPS[0])[0]
    data = shipped.encode(wav, 16000, bitrate=9.6)
    ours, _ = SpeechCodec.load(tmp_path / "m.npz").decode(data)
    plain, _ = shipped.decode(data, postfilter=False)
    assert len(ours) == len(plain) and np.isfinite(ours).all()
    assert 0 < np.abs(ours - plain).max() and np.std(ours - plain) < 0.5 * np.std(plain)
