"""Protocol, gradient and search tests for codec.quantizers."""

import io
import itertools

import pytest
import torch

from codec.quantizers import (METHODS, AdditiveVQ, ProductVQ, ResidualVQ, SoftConvexVQ, build,
                              codebook_shape, fit, mean_squared_error, project_to_simplex)
from codec.quantizers.soft_convex import soft_convex_weights

ALL = sorted(METHODS)


def make(name, dim=16, **opts):
    bits = 8 if name == "vq" else 16
    torch.manual_seed(0)
    return build(name, dim, bits, **opts)


def correlated(n, dim, rho=0.9, seed=0):
    """AR(1)-correlated Gaussian vectors, unit variance per dimension."""
    g = torch.Generator().manual_seed(seed)
    white = torch.randn(n, dim, generator=g)
    x = torch.empty_like(white)
    x[:, 0] = white[:, 0]
    for i in range(1, dim):
        x[:, i] = rho * x[:, i - 1] + (1 - rho ** 2) ** 0.5 * white[:, i]
    return x


def exhaustive_error(x, entries, weights=None):
    """Per-vector (weighted) error of the best sum of one codeword per codebook, by enumeration."""
    w = torch.ones_like(x) if weights is None else weights
    best = torch.full((len(x),), float("inf"))
    for combo in itertools.product(range(entries.shape[1]), repeat=entries.shape[0]):
        total = sum(entries[m, c] for m, c in enumerate(combo))
        best = torch.minimum(best, (w * (x - total).pow(2)).sum(-1))
    return best


# ---------------------------------------------------------------- protocol
@pytest.mark.parametrize("name", ALL)
def test_protocol_invariants(name):
    q = make(name)
    x = correlated(300, 16)
    q.kmeans_init(x)
    codes = q.encode(x)
    m = q.num_codebooks
    assert codes.dtype == torch.long and codes.shape == (300, m)
    assert (codes >= 0).all() and (codes < torch.tensor(q.codebook_sizes)).all()
    x_hat = q.decode(codes)
    assert x_hat.shape == x.shape
    assert q.bits == (8 if name == "vq" else 16)
    q.eval()
    out = q(x)
    assert torch.equal(out.x_hat, x_hat) and torch.equal(out.codes, codes)
    assert out.perplexity.shape == (m,) and (out.perplexity >= 1).all()
    assert torch.equal(q.encode(x), codes), "encoding must be deterministic"
    # Leading dimensions are kept.
    assert q.encode(x.reshape(3, 100, 16)).shape == (3, 100, m)
    assert torch.equal(q.decode(codes.reshape(3, 100, m)).reshape(300, 16), x_hat)
    # Quantizing a reconstruction is (nearly) idempotent for the error it has.
    assert mean_squared_error(q, x) < x.pow(2).sum(-1).mean()


@pytest.mark.parametrize("name", ALL)
def test_rejects_bad_input(name):
    q = make(name)
    with pytest.raises(ValueError, match="shape"):
        q.encode(torch.zeros(4, 15))
    with pytest.raises(ValueError, match="NaN"):
        q.encode(torch.full((4, 16), float("nan")))
    with pytest.raises(TypeError):
        q.encode(torch.zeros(4, 16, dtype=torch.long))
    with pytest.raises(ValueError, match="out of range"):
        q.decode(torch.full((2, q.num_codebooks), 10_000))


def test_build_shapes_and_errors():
    assert codebook_shape(16) == (4, 16)
    assert codebook_shape(40) == (4, 1024)
    assert codebook_shape(16, codebook_size=256) == (2, 256)
    q = build("rvq", 16, 16)
    assert q.num_codebooks == 4 and q.codebook_sizes == [16] * 4
    assert build("vq", 8, 10).codebook_sizes == [1024]
    assert build("pvq", 10, 16).split == [3, 3, 2, 2]
    with pytest.raises(ValueError, match="unknown quantizer"):
        build("lvq", 16, 16)
    with pytest.raises(ValueError, match="evenly"):
        build("rvq", 16, 18)
    with pytest.raises(ValueError, match="split"):
        ProductVQ(16, 4, 16, split=[4, 4, 4])


# ---------------------------------------------------------------- gradients
@pytest.mark.parametrize("name", ALL)
def test_nsvq_gradient_reaches_input_and_every_codebook(name):
    q = make(name)
    x = correlated(1024, 16).requires_grad_(True)  # more vectors than codewords: nonzero error
    q.kmeans_init(x.detach())
    q.train()
    out = q(x)
    if q.gradient == "nsvq":
        # Noise substitution keeps the error norm of the hard quantizer.
        torch.testing.assert_close((out.x_hat - x).norm(dim=-1), (out.hard - x).norm(dim=-1))
        assert float(out.loss) == 0.0
    (out.x_hat - x.detach()).pow(2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for cb in q.codebooks:
        assert cb.entries.grad is not None and cb.entries.grad.abs().sum() > 0


def test_nsvq_loss_gradient_equals_kmeans_gradient():
    """On fixed inputs d||x - x~||^2/dC equals d||x - q(x)||^2/dC (the k-means gradient)."""
    q = make("rvq")
    x = correlated(64, 16)
    q.kmeans_init(x)
    q.train()
    (x - q(x).x_hat).pow(2).sum().backward()
    nsvq_grad = [cb.entries.grad.clone() for cb in q.codebooks]
    q.zero_grad()
    (x - q.decode(q.encode(x))).pow(2).sum().backward()
    for got, want in zip(nsvq_grad, (cb.entries.grad for cb in q.codebooks)):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


def test_straight_through_has_commitment_loss_and_gradients():
    q = make("avq", gradient="ste")
    x = correlated(64, 16).requires_grad_(True)
    q.train()
    out = q(x)
    torch.testing.assert_close(out.x_hat, out.hard)  # value is the hard output
    assert float(out.loss.detach()) > 0
    ((out.x_hat - x.detach()).pow(2).sum() + out.loss).backward()
    assert all(cb.entries.grad.abs().sum() > 0 for cb in q.codebooks)
    assert x.grad.abs().sum() > 0


def test_soft_convex_weights_and_limit():
    v = torch.randn(50, 7) * 3
    p = project_to_simplex(v)
    assert (p >= 0).all()
    torch.testing.assert_close(p.sum(-1), torch.ones(50))
    # A point already on the simplex is its own projection.
    on = torch.softmax(torch.randn(5, 7), -1)
    torch.testing.assert_close(project_to_simplex(on), on)

    x = correlated(128, 16)
    weak = make("scq", strength=1e-2)
    weak.kmeans_init(x)
    strong = make("scq", strength=1e4)
    strong.load_state_dict(weak.state_dict())
    hard = weak.decode(weak.encode(x))
    assert (weak.soft_forward(x) - hard).abs().max() > 1e-2, "a weak pull gives truly soft outputs"
    # A strong pull towards the one-hot assignment recovers hard residual VQ.
    torch.testing.assert_close(strong.soft_forward(x), hard, rtol=1e-3, atol=1e-3)
    weights = soft_convex_weights(x, weak.codebooks[0].entries, weak.codebooks[0].nearest(x), 1e-2)
    assert (weights >= 0).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(128))


# ---------------------------------------------------------------- training
def test_dead_codes_revive():
    q = make("rvq")
    x = correlated(512, 16)
    q.kmeans_init(x)
    with torch.no_grad():
        q.codebooks[1].entries[:5] = 1e3  # far away: never chosen
    q.train()
    for batch in x.split(64):
        q(batch)
    replaced = q.replace_dead_codes()
    assert replaced >= 5
    assert q.codebooks[1].entries.abs().max() < 100
    q.eval()
    used = torch.unique(q.encode(x)[:, 1])
    assert torch.isin(torch.arange(5), used).any(), "revived entries are used again"
    assert int(q.codebooks[1].batches_seen) == 0, "counters reset after replacement"


@pytest.mark.parametrize("name", ["rvq", "avq", "pvq", "scq"])
def test_nsvq_training_approaches_kmeans(name):
    x = correlated(4000, 16)
    trained = make(name)
    start = mean_squared_error(trained, x)
    result = fit(trained, x, steps=1500, batch_size=64, lr=1e-2)
    final = mean_squared_error(trained, x)
    lbg = make(name, gradient="kmeans")
    fit(lbg, x, lloyd_iters=10)
    reference = mean_squared_error(lbg, x)
    assert final < 0.15 * start
    assert final < 1.25 * reference, f"{name}: NSVQ {final:.3f} vs k-means {reference:.3f}"
    assert len(result.losses) >= 3


@pytest.mark.parametrize("name", ["avq", "rvq", "pvq"])
def test_lloyd_iterations_do_not_increase_error(name):
    x = correlated(3000, 16)
    q = make(name, gradient="kmeans")
    result = fit(q, x, lloyd_iters=6)
    assert all(b <= a * 1.02 for a, b in zip(result.losses, result.losses[1:]))
    assert mean_squared_error(q, x) <= result.losses[0] * 1.02


def test_state_dict_round_trip_keeps_codebooks_and_counters():
    q = make("avq")
    x = correlated(256, 16)
    q.kmeans_init(x)
    q.train()
    q(x)
    buffer = io.BytesIO()
    torch.save(q.state_dict(), buffer)
    buffer.seek(0)
    other = build("avq", 16, 16)
    other.load_state_dict(torch.load(buffer))
    assert torch.equal(other.codebooks[2].batches_used, q.codebooks[2].batches_used)
    assert int(other.codebooks[0].batches_seen) == 1
    assert torch.equal(other.encode(x), q.encode(x))


def test_to_moves_parameters_and_buffers():
    q = make("rvq").to(torch.float64)
    assert q.codebooks[0].entries.dtype == torch.float64
    assert q.codebooks[0].batches_used.dtype == torch.float64
    assert q.encode(correlated(10, 16).double()).shape == (10, 4)


@pytest.mark.parametrize("name", ALL)
def test_weights_change_the_search_not_the_protocol(name):
    q = make(name)
    x = correlated(500, 16)
    q.kmeans_init(x)
    torch.testing.assert_close(q.encode(x, torch.full_like(x, 3.0)), q.encode(x))  # uniform weights: same codes
    weights = torch.rand_like(x) * 10 + 0.1
    codes = q.encode(x, weights)
    err_weighted = (weights * (x - q.decode(codes)).pow(2)).sum(-1).mean()
    err_plain = (weights * (x - q.decode(q.encode(x))).pow(2)).sum(-1).mean()
    if name in ("vq", "pvq", "avq"):  # exact or beam search; greedy stages carry no such guarantee
        assert err_weighted < err_plain, "weighted search lowers the weighted error"
    q.train()
    out = q(x, weights)
    if q.gradient == "nsvq":
        torch.testing.assert_close((weights.sqrt() * (out.x_hat - x)).norm(dim=-1),
                                   (weights.sqrt() * (out.hard - x)).norm(dim=-1))
    with pytest.raises(ValueError, match="positive"):
        q.encode(x, torch.zeros_like(x))


def test_additive_search_is_free_of_codebook_order():
    """AVQ picks one codeword per codebook in any order; RVQ's greedy search in stage order does worse
    on the same codebooks, and AVQ's result does not depend on the order the codebooks are listed in."""
    torch.manual_seed(3)
    avq, rvq = AdditiveVQ(4, 3, 8, beam=8), ResidualVQ(4, 3, 8)
    with torch.no_grad():
        for cb in avq.codebooks:
            cb.entries.normal_()
    rvq.load_state_dict(avq.state_dict())
    x = 2 * torch.randn(500, 4)
    codes = avq.encode(x)
    assert ((codes >= 0) & (codes < 8)).all()
    assert mean_squared_error(avq, x) < 0.88 * mean_squared_error(rvq, x)   # measured 0.80 of greedy RVQ's error
    reversed_books = AdditiveVQ(4, 3, 8, beam=8)
    with torch.no_grad():
        for target, source in zip(reversed_books.codebooks, reversed(avq.codebooks)):
            target.entries.copy_(source.entries)
    torch.testing.assert_close(reversed_books.decode(reversed_books.encode(x)), avq.decode(codes))


def test_residual_beam_search():
    torch.manual_seed(1)
    q = ResidualVQ(4, 3, 4, beam=64)
    x = torch.randn(200, 4)
    wide = mean_squared_error(q, x)
    optimum = exhaustive_error(x, q._stacked_entries().detach()).mean()
    assert wide == pytest.approx(float(optimum), rel=1e-5)
    q.beam = 1
    assert mean_squared_error(q, x) >= wide


# ---------------------------------------------------------------- complexity
def test_complexity_counts_every_stage():
    rvq = build("rvq", 16, 16)
    # Per stage: 16 distances of 16 dims (16 * (31 + 16)), argmin 2 * 15, update 16 + 16.
    assert rvq.complexity().weighted == 4 * (16 * 47 + 30 + 32)
    pvq = build("pvq", 16, 16)
    assert pvq.complexity().weighted == 4 * (16 * 11 + 30 + 4)
    avq = build("avq", 16, 16, beam=8)
    assert 2.5 < avq.complexity().wmops(50) < 4.5
    assert build("avq", 16, 16, beam=1).complexity().weighted < avq.complexity().weighted
    assert isinstance(SoftConvexVQ(16, 4, 16).complexity().weighted, int)
