"""lessonlib.autoencoders.linear_gaussian against brute-force integration, sampling
and torch.distributions."""

from __future__ import annotations

import math

import torch
from torch.distributions import MultivariateNormal, Normal, kl_divergence

from lessonlib.autoencoders.gaussian import kl_standard_normal
from lessonlib.autoencoders.linear_gaussian import LinearGaussian, interpolate_q


def _toy(seed: int = 0, x_dim: int = 5, z_dim: int = 2, n: int = 4000):
    """Data drawn from a known linear Gaussian model, and the model fitted to it."""
    gen = torch.Generator().manual_seed(seed)
    W = torch.randn(x_dim, z_dim, generator=gen, dtype=torch.float64)
    b = torch.randn(x_dim, generator=gen, dtype=torch.float64)
    z = torch.randn(n, z_dim, generator=gen, dtype=torch.float64)
    x = z @ W.T + b + 0.3 * torch.randn(n, x_dim, generator=gen, dtype=torch.float64)
    return LinearGaussian(W, b, 0.09), x


def test_fit_recovers_the_data_covariance():
    true, x = _toy(n=20_000)
    fitted = LinearGaussian.fit(x, z_dim=2)
    cov_true = true.marginal().covariance_matrix
    assert torch.allclose(fitted.marginal().covariance_matrix, cov_true, atol=0.1)
    assert abs(fitted.s2 - 0.09) < 0.01
    # maximum likelihood: the fitted model scores the data at least as well as the truth
    assert fitted.log_marginal(x).mean() >= true.log_marginal(x).mean() - 1e-9


def test_log_marginal_and_posterior_by_numerical_integration():
    """One latent dimension: integrate p(x|z)p(z) on a fine grid."""
    model = LinearGaussian(torch.tensor([[1.5], [-0.5]], dtype=torch.float64),
                           torch.tensor([0.2, 0.1], dtype=torch.float64), 0.25)
    x = torch.tensor([[1.0, -0.3], [-2.0, 0.5]], dtype=torch.float64)  # [2, 2]
    grid = torch.linspace(-8, 8, 20_001, dtype=torch.float64)  # [G]
    log_joint = model.log_joint(x, grid[:, None, None].expand(-1, 2, 1))  # [G, 2]
    joint = log_joint.exp()
    px = torch.trapezoid(joint, grid, dim=0)  # [2]
    assert torch.allclose(px.log(), model.log_marginal(x), atol=1e-8)
    mean, cov = model.posterior(x)
    post_mean = torch.trapezoid(joint * grid[:, None], grid, dim=0) / px
    post_var = torch.trapezoid(joint * grid[:, None] ** 2, grid, dim=0) / px - post_mean**2
    assert torch.allclose(mean[:, 0], post_mean, atol=1e-8)
    assert torch.allclose(cov[0, 0].expand(2), post_var, atol=1e-8)


def test_log_likelihood_expansion_matches_the_direct_residual():
    model, x = _toy()
    x = x[:6]
    z = torch.randn(3, 6, 2, dtype=torch.float64)  # [K, B, d]
    mean = z @ model.W.T + model.b  # [K, B, D]
    direct = Normal(mean, math.sqrt(model.s2)).log_prob(x).sum(-1)
    assert torch.allclose(model.log_likelihood(x, z), direct, atol=1e-9)
    prior = Normal(0.0, 1.0).log_prob(z).sum(-1)
    assert torch.allclose(model.log_joint(x, z), direct + prior, atol=1e-9)


def test_expected_log_likelihood_by_sampling():
    model, x = _toy()
    x = x[:3]
    q_mu = torch.randn(3, 2, dtype=torch.float64)
    q_logvar = torch.randn(3, 2, dtype=torch.float64) - 1
    torch.manual_seed(0)
    z = q_mu + torch.exp(0.5 * q_logvar) * torch.randn(200_000, 3, 2, dtype=torch.float64)
    samples = model.log_likelihood(x, z)  # [200000, 3]
    se = samples.std(0) / len(samples) ** 0.5
    exact = model.expected_log_likelihood(x, q_mu, q_logvar)
    assert bool(((samples.mean(0) - exact).abs() < 5 * se).all())


def test_elbo_gap_is_the_kl_to_the_posterior():
    model, x = _toy()
    model = LinearGaussian.fit(x, z_dim=2)  # orthogonal W: a diagonal posterior
    x = x[:10]
    log_px = model.log_marginal(x)
    post_mu, post_cov = model.posterior(x)
    assert torch.allclose(post_cov, torch.diag(post_cov.diag()), atol=1e-12)
    posterior = MultivariateNormal(post_mu, covariance_matrix=post_cov)
    gen = torch.Generator().manual_seed(4)
    for _ in range(5):
        q_mu = post_mu + torch.randn(10, 2, generator=gen, dtype=torch.float64)
        q_logvar = torch.randn(10, 2, generator=gen, dtype=torch.float64)
        elbo = model.elbo(x, q_mu, q_logvar)
        q = MultivariateNormal(q_mu, covariance_matrix=torch.diag_embed(q_logvar.exp()))
        assert bool((elbo <= log_px).all())
        assert torch.allclose(log_px - elbo, kl_divergence(q, posterior), atol=1e-9)
    tight = model.elbo(x, post_mu, post_cov.diag().log().expand_as(post_mu))
    assert torch.allclose(tight, log_px, atol=1e-9)


def test_elbo_uses_the_given_kl():
    model, x = _toy()
    q = (torch.zeros(4, 2, dtype=torch.float64), torch.zeros(4, 2, dtype=torch.float64))
    plain = model.elbo(x[:4], *q)
    shifted = model.elbo(x[:4], *q, kl=lambda m, lv: kl_standard_normal(m, lv) + 1.0)
    assert torch.allclose(plain - shifted, torch.ones(4, dtype=torch.float64))


def test_interpolate_q_endpoints():
    q0 = (torch.zeros(2, 3), torch.zeros(2, 3))
    q1 = (torch.ones(2, 3), -torch.ones(2, 3))
    assert all(torch.equal(a, b) for a, b in zip(interpolate_q(q0, q1, 0.0), q0))
    assert all(torch.equal(a, b) for a, b in zip(interpolate_q(q0, q1, 1.0), q1))
    mid_mu, mid_logvar = interpolate_q(q0, q1, 0.5)
    assert torch.allclose(mid_mu, torch.full((2, 3), 0.5))
    assert torch.allclose(mid_logvar, torch.full((2, 3), -0.5))
