"""lessonlib.autoencoders.gaussian against independent oracles; its public checks
against known slips."""

from __future__ import annotations

import math
import re

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from lessonlib.autoencoders import gaussian
from lessonlib.checks.autoencoders.gaussian import (
    check_iwae_bound,
    check_jensen,
    check_kl_standard_normal,
    check_reparam_gradients,
    check_reparameterize,
)


def test_reparameterize_moments_and_gradients():
    torch.manual_seed(0)
    mu = torch.tensor([1.5, -2.0]).repeat(50_000, 1)  # [N, 2]
    logvar = torch.tensor([math.log(0.25), 1.0]).repeat(50_000, 1)
    z = gaussian.reparameterize(mu, logvar)
    assert torch.allclose(z.mean(0), torch.tensor([1.5, -2.0]), atol=0.03)
    assert torch.allclose(z.std(0), torch.tensor([0.5, math.exp(0.5)]), rtol=0.02)
    mu = torch.randn(3, 4, requires_grad=True)
    logvar = torch.randn(3, 4, requires_grad=True)
    z = gaussian.reparameterize(mu, logvar)
    z.sum().backward()
    assert torch.allclose(mu.grad, torch.ones(3, 4))
    assert torch.allclose(logvar.grad, 0.5 * (z - mu).detach(), atol=1e-6)


def test_kl_matches_torch_distributions():
    gen = torch.Generator().manual_seed(1)
    mu = 2 * torch.randn(6, 5, generator=gen, dtype=torch.float64)
    logvar = torch.randn(6, 5, generator=gen, dtype=torch.float64)
    want = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(-1)
    assert torch.allclose(gaussian.kl_standard_normal(mu, logvar), want, atol=1e-12)
    assert torch.allclose(gaussian.kl_standard_normal(torch.zeros(2, 3), torch.zeros(2, 3)),
                          torch.zeros(2))


def test_kl_worked_numbers_of_the_beginners_path():
    """5.63 and 0.015 are right; the 4-dim table totals 5.70 (dim 1: 3.83), not 5.87."""
    kl = gaussian.kl_standard_normal
    assert abs(float(kl(torch.tensor([[3.0]]), torch.tensor([[math.log(0.04)]]))) - 5.63) < 5e-3
    assert abs(float(kl(torch.tensor([[0.1]]), torch.tensor([[math.log(0.81)]]))) - 0.0154) < 1e-4
    mu = torch.tensor([[0.1, 2.5, 0.0, 0.3]])
    var = torch.tensor([[0.9, 0.1, 0.01, 1.2]])
    per_dim = kl(mu.T, var.T.log())
    assert torch.allclose(per_dim, torch.tensor([0.0077, 3.8263, 1.8076, 0.0538]), atol=1e-4)
    assert abs(float(kl(mu, var.log())) - 5.6954) < 1e-3


def test_iwae_bound():
    gen = torch.Generator().manual_seed(2)
    log_w = torch.randn(7, 3, generator=gen, dtype=torch.float64)
    direct = torch.log(torch.exp(log_w).mean(0))
    assert torch.allclose(gaussian.iwae_bound(log_w), direct)
    assert torch.allclose(gaussian.iwae_bound(log_w[:1]), log_w[0])
    assert bool((gaussian.iwae_bound(log_w) >= log_w.mean(0)).all())  # Jensen
    far = torch.tensor([[-1000.0], [-1001.0]])
    assert torch.isfinite(gaussian.iwae_bound(far)).all()


def test_log_normal_diag_matches_torch():
    gen = torch.Generator().manual_seed(3)
    z, mu, logvar = (torch.randn(4, 5, generator=gen, dtype=torch.float64) for _ in range(3))
    want = Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(-1)
    assert torch.allclose(gaussian.log_normal_diag(z, mu, logvar), want)
    z3 = torch.randn(2, 4, 5, dtype=torch.float64)  # broadcasting [K, B, D] against [B, D]
    assert gaussian.log_normal_diag(z3, mu, logvar).shape == (2, 4)


def test_reparam_derivatives():
    assert gaussian.reparam_derivatives(2.3, 0.5, -1.2) == pytest.approx((1.0, -1.2))


# ----------------------------------------------------------------------------- the checks

def test_references_pass_and_rng_is_untouched():
    state = torch.get_rng_state()
    for check in (check_reparameterize, check_kl_standard_normal, check_iwae_bound,
                  check_reparam_gradients, check_jensen):
        assert check.run(check.reference).passed, check.name
    assert torch.equal(state, torch.get_rng_state()), "a check moved the global RNG"


def _status(check, fn):
    result = check.run(fn)
    return result.status, result.message


REPARAM_SLIPS = {
    "mean": (lambda mu, lv: mu, "returned mu only"),
    "torch.normal": (lambda mu, lv: torch.normal(mu, torch.exp(0.5 * lv)), "torch.normal"),
    "cpu noise": (lambda mu, lv: mu + torch.exp(0.5 * lv) * torch.randn(mu.shape), "CPU"),
    "uniform": (lambda mu, lv: mu + torch.exp(0.5 * lv) * torch.rand_like(mu), "uniform"),
    "seeded inside": (lambda mu, lv: mu + torch.exp(0.5 * lv) * torch.randn(
        mu.shape, generator=torch.Generator().manual_seed(0)), "fixed"),
    "noise per column": (lambda mu, lv: mu + torch.exp(0.5 * lv) * torch.randn(mu.shape[-1]),
                         "same z"),
    "noise per row": (lambda mu, lv: mu + torch.exp(0.5 * lv) * torch.randn(mu.shape[0], 1),
                      "correlated"),
    "exp(logvar/4)": (lambda mu, lv: mu + torch.exp(0.25 * lv) * torch.randn_like(mu),
                      r"exp\(logvar / 4\)"),
    "logvar as log sigma": (lambda mu, lv: mu + torch.exp(lv * 2) * torch.randn_like(mu),
                            r"exp\(2 \* logvar\)"),
    "mu detached": (lambda mu, lv: mu.detach() + torch.exp(0.5 * lv) * torch.randn_like(mu),
                    "no gradient"),
    "std detached": (lambda mu, lv: mu + torch.exp(0.5 * lv).detach() * torch.randn_like(mu),
                     "no gradient reaches logvar"),
    "float64 noise": (lambda mu, lv: mu + torch.exp(0.5 * lv) * torch.randn(
        mu.shape, dtype=torch.float64).to(mu.device), "dtype|randn_like"),
}


@pytest.mark.parametrize("slip", sorted(REPARAM_SLIPS))
def test_reparameterize_check_names_the_slip(slip):
    fn, pattern = REPARAM_SLIPS[slip]
    status, message = _status(check_reparameterize, fn)
    assert status == "wrong"
    assert re.search(pattern, message), message


@pytest.mark.parametrize("fn", [
    lambda mu, lv: torch.distributions.Normal(mu, torch.exp(0.5 * lv)).rsample(),
    lambda mu, lv: mu + torch.sqrt(torch.exp(lv)) * torch.randn_like(lv),
    lambda mu, lv: torch.exp(lv / 2) * torch.randn_like(mu) + mu,
])
def test_reparameterize_check_accepts_equivalent_forms(fn):
    assert check_reparameterize.run(fn).passed


def test_reparameterize_check_not_attempted():
    assert check_reparameterize.run(lambda mu, lv: None).status == "not attempted"


KL_SLIPS = {
    "sigma for sigma^2": (lambda m, lv: 0.5 * (m**2 + (0.5 * lv).exp() - lv - 1).sum(-1),
                          "sigma = exp"),
    "log sigma": (lambda m, lv: 0.5 * (m**2 + lv.exp() - 0.5 * lv - 1).sum(-1), "logvar / 2"),
    "logvar as log sigma": (lambda m, lv: 0.5 * (m**2 + (2 * lv).exp() - 2 * lv - 1).sum(-1),
                            "as log sigma"),
    "sum over batch": (lambda m, lv: 0.5 * (m**2 + lv.exp() - lv - 1).sum(0), "over the batch"),
    "keepdim": (lambda m, lv: 0.5 * (m**2 + lv.exp() - lv - 1).sum(-1, keepdim=True), "shape"),
    "no half": (lambda m, lv: (m**2 + lv.exp() - lv - 1).sum(-1), "1/2"),
    "mu not squared": (lambda m, lv: 0.5 * (m + lv.exp() - lv - 1).sum(-1), "mu\\^2"),
}


@pytest.mark.parametrize("slip", sorted(KL_SLIPS))
def test_kl_check_names_the_slip(slip):
    fn, pattern = KL_SLIPS[slip]
    status, message = _status(check_kl_standard_normal, fn)
    assert status == "wrong" and re.search(pattern, message), message


def test_kl_check_accepts_the_other_sign_convention():
    fn = lambda m, lv: -0.5 * (1 + lv - m.pow(2) - lv.exp()).sum(dim=-1)  # noqa: E731
    assert check_kl_standard_normal.run(fn).passed


IWAE_SLIPS = {
    "divide by K": (lambda lw: torch.logsumexp(lw, 0) / lw.shape[0], "inside the log"),
    "max": (lambda lw: lw.max(0).values - math.log(lw.shape[0]), "max"),
    "mean over everything": (lambda lw: torch.logsumexp(lw, 0).mean(), "one number"),
}


@pytest.mark.parametrize("slip", sorted(IWAE_SLIPS))
def test_iwae_check_names_the_slip(slip):
    fn, pattern = IWAE_SLIPS[slip]
    status, message = _status(check_iwae_bound, fn)
    assert status == "wrong" and re.search(pattern, message), message


def test_reparam_gradients_check():
    assert check_reparam_gradients.run(lambda m, s, e: (1.0, e * s / 2)).status == "wrong"
    assert "dz/dlogvar" in check_reparam_gradients.run(lambda m, s, e: (1.0, e * s / 2)).message
    assert check_reparam_gradients.run(lambda m, s, e: None).status == "not attempted"


def _by_backward(mu, sigma, eps):
    m = torch.tensor(float(mu), requires_grad=True)
    s = torch.tensor(float(sigma), requires_grad=True)
    (m + s * eps).backward()
    return m.grad.item(), s.grad.item()


def _by_autograd_backward(mu, sigma, eps):
    m, s = torch.nn.Parameter(torch.tensor(float(mu))), torch.nn.Parameter(torch.tensor(sigma))
    torch.autograd.backward(m + s * eps)  # no Tensor.backward call to see
    return m.grad.item(), s.grad.item()


def _by_autograd_grad(mu, sigma, eps):
    from torch.autograd import grad  # bound before the check runs: the check must still see it

    leaves = torch.tensor([mu, sigma], dtype=torch.float64, requires_grad=True)
    (g,) = grad(leaves[0] + leaves[1] * eps, leaves)
    return float(g[0]), float(g[1])


def _by_torch_func(mu, sigma, eps):
    g = torch.func.grad(lambda m, s: m + s * eps, argnums=(0, 1))(
        torch.tensor(float(mu)), torch.tensor(float(sigma)))
    return float(g[0]), float(g[1])


@pytest.mark.parametrize("fn", [_by_backward, _by_autograd_backward, _by_autograd_grad,
                                _by_torch_func])
def test_reparam_gradients_check_accepts_every_way_of_asking_autograd(fn):
    assert check_reparam_gradients.run(fn).passed


@pytest.mark.parametrize("fn", [
    lambda m, s, e: (1.0, e),  # the derivation typed in
    lambda m, s, e: (torch.tensor(1.0), torch.tensor(float(e))),
    lambda m, s, e: (float(torch.ones(())), float(m + s * e - m) / s),  # tensors, no autograd
])
def test_reparam_gradients_check_rejects_a_hard_coded_answer(fn):
    result = check_reparam_gradients.run(fn)
    assert result.status == "wrong" and "autograd never ran" in result.message, result


def test_reparam_gradients_check_leaves_no_mode_behind():
    def crashes(mu, sigma, eps):
        raise ValueError("boom")

    assert check_reparam_gradients.run(crashes).status == "wrong"
    x = torch.tensor(2.0, requires_grad=True)
    (3 * x).backward()
    assert x.grad.item() == 3.0
    assert not torch.overrides.has_torch_function((torch.ones(1),))


def test_jensen_check():
    assert check_jensen.run(None).status == "not attempted"
    assert "natural log" in check_jensen.run((math.log10(3.5), 0.3)).message
    assert check_jensen.run((math.log(3.5), math.log(8) / 3)).passed
