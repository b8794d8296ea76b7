"""lessonlib.autoencoders.vae_objective against independent oracles; its public
checks against slips."""

from __future__ import annotations

import math
import re

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Bernoulli, MultivariateNormal, Normal, kl_divergence

from lessonlib.autoencoders import vae_objective as vo
from lessonlib.checks.autoencoders.vae_objective import (
    check_active_units,
    check_kl_anneal_beta,
    check_vae_loss,
)


def _batch(seed: int, b: int = 5, p: int = 12, d: int = 4):
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(b, p, generator=g) > 0.5).double()
    logits = 4 * torch.randn(b, p, generator=g, dtype=torch.float64)
    mu = torch.randn(b, d, generator=g, dtype=torch.float64)
    logvar = torch.randn(b, d, generator=g, dtype=torch.float64)
    return x, logits, mu, logvar


def _oracle_kl_dims(mu, logvar):
    q = Normal(mu, torch.exp(0.5 * logvar))
    return kl_divergence(q, Normal(torch.zeros_like(mu), torch.ones_like(mu)))  # [B, D]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vae_loss_matches_torch_distributions(seed):
    x, logits, mu, logvar = _batch(seed)
    loss, recon, kl = vo.vae_loss(x, logits, mu, logvar)
    want_recon = -Bernoulli(logits=logits).log_prob(x).sum(dim=1).mean()
    want_kl = _oracle_kl_dims(mu, logvar).sum(dim=1).mean()
    assert torch.allclose(recon, want_recon) and torch.allclose(kl, want_kl)
    assert torch.allclose(loss, want_recon + want_kl)
    assert loss.dim() == recon.dim() == kl.dim() == 0


def test_vae_loss_gaussian_is_negative_log_normal_up_to_a_constant():
    x, mean, mu, logvar = _batch(3)
    _, recon, _ = vo.vae_loss(x, mean, mu, logvar, likelihood="gaussian")
    nll = -Normal(mean, 1.0).log_prob(x).sum(dim=1).mean()
    const = 0.5 * math.log(2 * math.pi) * x.shape[1]
    assert torch.allclose(recon, nll - const)


def test_vae_loss_beta_weights_only_the_kl_and_images_are_flattened():
    x, logits, mu, logvar = _batch(4, p=6)
    _, r1, k1 = vo.vae_loss(x, logits, mu, logvar)
    loss, r, k = vo.vae_loss(x.reshape(5, 1, 2, 3), logits, mu, logvar, beta=3.5)
    assert torch.allclose(r, r1) and torch.allclose(k, k1)
    assert torch.allclose(loss, r1 + 3.5 * k1)


def test_vae_loss_is_stable_for_extreme_logits():
    x = torch.tensor([[1.0, 0.0, 0.0, 1.0]])
    logits = torch.tensor([[-300.0, 300.0, -300.0, 300.0]])
    _, recon, _ = vo.vae_loss(x, logits, torch.zeros(1, 2), torch.zeros(1, 2))
    assert math.isclose(float(recon), 600.0, rel_tol=1e-6)


def test_free_bits_clamps_the_batch_mean_kl_of_each_dim_and_returns_the_true_kl():
    x, logits, mu, logvar = _batch(5, b=6, d=5)
    lam, beta = 0.7, 2.0
    loss, recon, kl = vo.vae_loss(x, logits, mu, logvar, beta=beta, free_bits=lam)
    kl_dims = _oracle_kl_dims(mu, logvar)  # [B, D]
    clamped = sum(max(lam, float(kl_dims[:, j].mean())) for j in range(kl_dims.shape[1]))
    assert math.isclose(float(loss), float(recon) + beta * clamped, rel_tol=1e-9)
    assert torch.allclose(kl, kl_dims.sum(dim=1).mean())
    # a huge free-bits budget makes the KL term constant: no KL gradient reaches mu
    mu_leaf = mu.clone().requires_grad_(True)
    vo.vae_loss(x, logits, mu_leaf, logvar, free_bits=100.0)[0].backward()
    assert torch.count_nonzero(mu_leaf.grad) == 0


def test_vae_loss_gradients_match_the_oracle():
    x, logits, mu, logvar = _batch(6)
    leaves = [t.clone().requires_grad_(True) for t in (logits, mu, logvar)]
    vo.vae_loss(x, *leaves, beta=1.7)[0].backward()
    oracle = [t.clone().requires_grad_(True) for t in (logits, mu, logvar)]
    want = (-Bernoulli(logits=oracle[0]).log_prob(x).sum(1).mean()
            + 1.7 * _oracle_kl_dims(oracle[1], oracle[2]).sum(1).mean())
    want.backward()
    for got, ref in zip(leaves, oracle):
        assert torch.allclose(got.grad, ref.grad)


def test_vae_loss_rejects_an_unknown_likelihood():
    x, logits, mu, logvar = _batch(7)
    with pytest.raises(ValueError, match="likelihood"):
        vo.vae_loss(x, logits, mu, logvar, likelihood="poisson")


def test_kl_per_dim_matches_torch_distributions():
    _, _, mu, logvar = _batch(8)
    assert torch.allclose(vo.kl_per_dim(mu, logvar), _oracle_kl_dims(mu, logvar))


@pytest.mark.parametrize("step, steps, beta_max, want", [
    (0, 100, 1.0, 0.0), (25, 100, 1.0, 0.25), (100, 100, 1.0, 1.0), (500, 100, 1.0, 1.0),
    (50, 100, 4.0, 2.0), (400, 100, 4.0, 4.0), (0, 0, 1.0, 1.0), (0, 0, 3.0, 3.0),
    (3, 7, 1.0, 3 / 7),
])
def test_kl_anneal_beta(step, steps, beta_max, want):
    got = vo.kl_anneal_beta(step, steps, beta_max)
    assert isinstance(got, float) and math.isclose(got, want)


def test_active_units_counts_dims_whose_variance_over_the_data_exceeds_the_threshold():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(200, 6, generator=g) * torch.tensor([2.0, 0.5, 0.05, 0.0, 1.0, 0.001])
    mu[:, 3] += 7.0
    variances = [float(torch.var(mu[:, j])) for j in range(6)]
    got = vo.active_units(mu)
    assert isinstance(got, int) and got == sum(v > 0.01 for v in variances) == 3
    assert vo.active_units(mu, threshold=0.5) == 2
    assert vo.active_units(torch.ones(4, 3), threshold=0.0) == 0  # strict >


def test_aggregate_mismatch_is_zero_at_the_prior_and_matches_a_gaussian_kl():
    assert abs(vo.aggregate_mismatch(torch.zeros(50, 3), torch.zeros(50, 3))) < 1e-12
    g = torch.Generator().manual_seed(1)
    mu = torch.randn(300, 3, generator=g, dtype=torch.float64) * 2 + 1
    logvar = torch.full((300, 3), -1.0, dtype=torch.float64)
    cov = torch.cov(mu.T, correction=0) + math.exp(-1.0) * torch.eye(3, dtype=torch.float64)
    want = kl_divergence(MultivariateNormal(mu.mean(0), cov),
                         MultivariateNormal(torch.zeros(3, dtype=torch.float64),
                                            torch.eye(3, dtype=torch.float64)))
    assert math.isclose(vo.aggregate_mismatch(mu, logvar), float(want), rel_tol=1e-9)


# ----------------------------------------------------------------------------- the checks


def test_references_pass():
    for check in (check_vae_loss, check_kl_anneal_beta, check_active_units):
        assert check.run(check.reference).passed


def _loss_variant(recon_fn=None, kl_fn=None, combine=None, kl_out=None):
    """A vae_loss built from replaceable parts (the reference for the others)."""

    def fn(x, logits, mu, logvar, likelihood="bernoulli", beta=1.0, free_bits=0.0):
        b = x.shape[0]
        xf = x.reshape(b, -1)
        if recon_fn is not None:
            recon = recon_fn(xf, logits, likelihood)
        elif likelihood == "bernoulli":
            recon = F.binary_cross_entropy_with_logits(logits, xf, reduction="sum") / b
        else:
            recon = 0.5 * (logits - xf).pow(2).sum() / b
        kl_dims = (kl_fn or vo.kl_per_dim)(mu, logvar)
        kl = kl_dims.sum(1).mean()
        term = torch.clamp(kl_dims.mean(0), min=free_bits).sum() if free_bits > 0 else kl
        loss = combine(recon, term, beta, kl_dims, free_bits) if combine else recon + beta * term
        return loss, recon, (kl_out(kl, beta, kl_dims, free_bits) if kl_out else kl)

    return fn


def _bce(xf, lo, lik):
    if lik == "bernoulli":
        return F.binary_cross_entropy_with_logits(lo, xf, reduction="sum") / xf.shape[0]
    return None


LOSS_SLIPS = {
    "gaussian missing the 0.5": (
        _loss_variant(recon_fn=lambda xf, lo, lik: _bce(xf, lo, lik) if lik == "bernoulli"
                      else (lo - xf).pow(2).sum() / xf.shape[0]), r"dropped the 0\.5"),
    "gaussian per-pixel mse": (
        _loss_variant(recon_fn=lambda xf, lo, lik: _bce(xf, lo, lik) if lik == "bernoulli"
                      else 0.5 * F.mse_loss(lo, xf)), r"mixed reductions.*per-pixel mean"),
    "gaussian through a sigmoid": (
        _loss_variant(recon_fn=lambda xf, lo, lik: _bce(xf, lo, lik) if lik == "bernoulli"
                      else 0.5 * (torch.sigmoid(lo) - xf).pow(2).sum() / xf.shape[0]),
        r"do not apply a sigmoid"),
    "likelihood ignored": (
        _loss_variant(recon_fn=lambda xf, lo, lik: F.binary_cross_entropy_with_logits(
            lo, xf, reduction="sum") / xf.shape[0]), r"likelihood argument is ignored"),
    "sigma vs log sigma^2": (
        _loss_variant(kl_fn=lambda m, lv: 0.5 * (m**2 + lv.exp() - 0.5 * lv - 1)),
        r"sigma vs log sigma\^2"),
    "sigma for sigma^2": (
        _loss_variant(kl_fn=lambda m, lv: 0.5 * (m**2 + torch.exp(0.5 * lv) - lv - 1)),
        r"sigma vs log sigma\^2"),
    "kl missing -1": (
        _loss_variant(kl_fn=lambda m, lv: 0.5 * (m**2 + lv.exp() - lv)), r"forgot the -1"),
    "kl averaged over dims": (
        _loss_variant(kl_fn=lambda m, lv: vo.kl_per_dim(m, lv) / m.shape[1]),
        r"mixed reductions.*averaged over the latent dims"),
    "kl summed over the batch": (
        _loss_variant(kl_fn=lambda m, lv: vo.kl_per_dim(m, lv) * m.shape[0]),
        r"mixed reductions.*summed over the batch"),
    "recon summed over the batch": (
        _loss_variant(recon_fn=lambda xf, lo, lik: F.binary_cross_entropy_with_logits(
            lo, xf, reduction="sum")), r"mixed reductions.*summed over the batch"),
    "sigmoid then bce_with_logits": (
        _loss_variant(recon_fn=lambda xf, lo, lik: F.binary_cross_entropy_with_logits(
            torch.sigmoid(lo), xf, reduction="sum") / xf.shape[0]), r"sigmoid before"),
    "manual log of sigmoid": (
        _loss_variant(recon_fn=lambda xf, lo, lik: -(
            xf * torch.log(torch.sigmoid(lo)) + (1 - xf) * torch.log(1 - torch.sigmoid(lo))
        ).sum() / xf.shape[0]), r"unstable BCE on probabilities.*inf"),
    "log with eps": (
        _loss_variant(recon_fn=lambda xf, lo, lik: -(
            xf * torch.log(torch.sigmoid(lo) + 1e-7)
            + (1 - xf) * torch.log(1 - torch.sigmoid(lo) + 1e-7)).sum() / xf.shape[0]),
        r"unstable BCE on probabilities"),
    "beta ignored": (
        _loss_variant(combine=lambda r, t, beta, kd, fb: r + t), r"beta has no effect"),
    "beta on both": (
        _loss_variant(combine=lambda r, t, beta, kd, fb: beta * (r + t)),
        r"beta multiplies both"),
    "returned kl times beta": (
        _loss_variant(kl_out=lambda kl, beta, kd, fb: beta * kl), r"returned kl is 4x"),
    "free bits ignored": (
        _loss_variant(combine=lambda r, t, beta, kd, fb: r + beta * kd.sum(1).mean()),
        r"free_bits has no effect"),
    "free bits on the total": (
        _loss_variant(combine=lambda r, t, beta, kd, fb: r + beta * torch.clamp(
            kd.sum(1), min=fb).mean()), r"clamped the total KL|free_bits has no effect"),
    "free bits as an upper bound": (
        _loss_variant(combine=lambda r, t, beta, kd, fb: r + beta * (
            torch.clamp(kd.mean(0), max=fb).sum() if fb > 0 else kd.sum(1).mean())),
        r"lower bound"),
    "free bits gradient detached": (
        _loss_variant(combine=lambda r, t, beta, kd, fb: r + beta * (
            torch.clamp(kd.mean(0).detach(), min=fb).sum() if fb > 0 else kd.sum(1).mean())),
        r"wrong gradient.*free bits"),
    "detached loss": (
        _loss_variant(combine=lambda r, t, beta, kd, fb: (r + beta * t).detach()),
        r"does not require grad"),
}


@pytest.mark.parametrize("slip", sorted(LOSS_SLIPS))
def test_check_vae_loss_names_the_slip(slip):
    fn, pattern = LOSS_SLIPS[slip]
    result = check_vae_loss.run(fn)
    assert result.status == "wrong", slip
    assert re.search(pattern, result.message, re.I), result.message


def test_check_vae_loss_on_hard_coded_784_and_unflattened_images():
    def hard_coded(x, logits, mu, logvar, likelihood="bernoulli", beta=1.0, free_bits=0.0):
        return vo.vae_loss(x.view(-1, 784), logits, mu, logvar, likelihood, beta, free_bits)

    assert re.search("784", check_vae_loss.run(hard_coded).message)

    def no_flatten(x, logits, mu, logvar, likelihood="bernoulli", beta=1.0, free_bits=0.0):
        loss, recon, kl = vo.vae_loss(x, logits, mu, logvar, likelihood, beta, free_bits)
        if likelihood == "bernoulli":  # broadcasting x [B, 1, H, W] against logits [B, P]
            bad = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
            loss, recon = loss - recon + bad, bad
        return loss, recon, kl

    assert re.search("flatten", check_vae_loss.run(no_flatten).message)


def test_check_vae_loss_states():
    assert check_vae_loss.run(lambda *a, **k: None).status == "not attempted"
    result = check_vae_loss.run(lambda x, lo, m, lv, **k: (1.0, 2.0, 3.0))
    assert result.status == "wrong" and "tensor" in result.message


ANNEAL_SLIPS = {
    "beta_max ignored": (lambda s, n, b=1.0: float(b) if n == 0 else float(min(b, s / n)),
                         r"beta_max is ignored"),
    "returns a tensor": (lambda s, n, b=1.0: torch.tensor(vo.kl_anneal_beta(s, n, b)),
                         r"not a tensor|got a tensor"),
    "divides by anneal_steps - 1": (
        lambda s, n, b=1.0: float(b) if n == 0 else float(min(b, b * s / max(n - 1, 1))),
        r"off by one"),
    "nan at zero": (lambda s, n, b=1.0: float("nan") if n == 0 else float(min(b, b * s / n)),
                    r"non-finite"),
}


@pytest.mark.parametrize("slip", sorted(ANNEAL_SLIPS))
def test_check_kl_anneal_beta_names_the_slip(slip):
    fn, pattern = ANNEAL_SLIPS[slip]
    result = check_kl_anneal_beta.run(fn)
    assert result.status == "wrong" and re.search(pattern, result.message, re.I), result.message


def test_check_active_units_on_an_ignored_threshold_and_a_float():
    result = check_active_units.run(lambda mu, threshold=0.01: int((mu.var(0) > 0.01).sum()))
    assert result.status == "wrong" and "threshold argument" in result.message
    result = check_active_units.run(lambda mu, threshold=0.01: float((mu.var(0) > 0.01).sum()))
    assert result.status == "wrong" and "int" in result.message


def test_reconstruction_nll_per_example_against_the_distributions():
    x, logits, _, _ = _batch(7)  # x [5, 12] binary, logits [5, 12]
    want = -Bernoulli(logits=logits).log_prob(x).sum(dim=1)  # [5]
    got = vo.reconstruction_nll(x.reshape(5, 3, 4), logits, "bernoulli")  # images flattened
    assert got.shape == (5,) and torch.allclose(got, want)
    mean = torch.sigmoid(logits)
    gauss = vo.reconstruction_nll(x, mean, "gaussian")
    constant = 0.5 * 12 * math.log(2 * math.pi)  # N(mean, I) normaliser, dropped
    assert torch.allclose(gauss, -Normal(mean, 1.0).log_prob(x).sum(dim=1) - constant)
    with pytest.raises(ValueError, match="likelihood"):
        vo.reconstruction_nll(x, logits, "laplace")
