"""Gradient estimators for a discrete choice: REINFORCE against Gumbel-softmax.

The objective is J(theta) = E_{z ~ Categorical(softmax(theta))}[f(z)] with z a one-hot
vector and f(y) = ||y - target||^2 (a smooth function, also defined inside the simplex, as
a decoder would be). The exact gradient is

    dJ/dtheta_k = p_k (f(e_k) - sum_j p_j f(e_j)).

* REINFORCE (score function): f(z) * d/dtheta log p(z) = f(z) (z - p): unbiased, noisy; a
  leave-one-out baseline lowers the noise and keeps it unbiased.
* Gumbel-softmax (relaxed): differentiate f(y) through the relaxed sample y at temperature
  tau: low noise but biased (f is evaluated inside the simplex, not at a corner).
* straight-through Gumbel-softmax: f at the one-hot, gradient of the relaxed y: biased.

Each function returns `repeats` independent estimates, each the mean over n samples:
[repeats, K] (as lessonlib.autoencoders.score_function does for the Gaussian case).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from lessonlib.priors.gumbel import gumbel_softmax


def squared_distance(y: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """f(y) = ||y - target||^2 over the last dim: [..., K] -> [...]."""
    return (y - target).pow(2).sum(-1)


def exact_gradient(theta: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """dJ/dtheta [K] for J = E_{z ~ Cat(softmax theta)} ||z - target||^2 (z one-hot)."""
    p = F.softmax(theta.double(), dim=-1)  # [K]
    corners = torch.eye(theta.shape[-1], dtype=torch.float64)  # [K, K]
    f = squared_distance(corners, target.double())  # [K]
    return p * (f - (p * f).sum())


def reinforce_estimates(theta: torch.Tensor, target: torch.Tensor, n: int, repeats: int,
                        baseline: bool = False, generator: torch.Generator | None = None
                        ) -> torch.Tensor:
    """REINFORCE estimates [repeats, K], each from n samples (leave-one-out baseline optional)."""
    k = theta.shape[-1]
    p = F.softmax(theta.double(), dim=-1)  # [K]
    draws = torch.multinomial(p.expand(repeats * n, k), 1, replacement=True,
                              generator=generator).reshape(repeats, n)  # [R, N]
    z = F.one_hot(draws, k).double()  # [R, N, K]
    fz = squared_distance(z, target.double())  # [R, N]
    if baseline:
        fz = fz - (fz.sum(dim=1, keepdim=True) - fz) / (n - 1)
    score = z - p  # [R, N, K] = d/dtheta log p(z)
    return (fz.unsqueeze(-1) * score).mean(dim=1)  # [R, K]


def gumbel_estimates(theta: torch.Tensor, target: torch.Tensor, tau: float, n: int,
                     repeats: int, hard: bool = False,
                     generator: torch.Generator | None = None,
                     sampler: Callable = gumbel_softmax) -> torch.Tensor:
    """Pathwise estimates [repeats, K] through (straight-through, if hard) Gumbel-softmax."""
    k = theta.shape[-1]
    theta_r = theta.double().detach().expand(repeats, k).clone().requires_grad_(True)  # [R, K]
    logits = theta_r.unsqueeze(1).expand(repeats, n, k)  # [R, N, K]
    y = sampler(logits, tau, hard, generator)  # [R, N, K]
    squared_distance(y, target.double()).mean(dim=1).sum().backward()
    return theta_r.grad.detach()  # [R, K]


def bias_and_variance(estimates: torch.Tensor, exact: torch.Tensor) -> tuple[float, float]:
    """(|mean estimate - exact|, total variance = trace of the covariance) of [R, K] estimates."""
    bias = float((estimates.mean(0) - exact).norm())
    variance = float(estimates.var(dim=0).sum())
    return bias, variance
