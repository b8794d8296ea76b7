"""Two Monte Carlo estimators of d/dmu E_{z ~ N(mu, sigma^2)}[f(z)]: pathwise and score function.

* pathwise (reparameterization): z = mu + sigma * eps, differentiate f(z) through the sample;
  the estimate is the mean of f'(z) * dz/dmu = f'(z).
* score function (REINFORCE, likelihood ratio): the sample is a constant; differentiate the
  log-density instead, E[f(z) * d/dmu log q(z)] with d/dmu log q(z) = (z - mu) / sigma^2.
  It needs no derivative of f (f may be a black box), but its variance is much larger.
  A baseline b (here: the mean of the *other* samples' f, so the estimate stays unbiased)
  subtracted from f(z) reduces that variance.

Each function returns `repeats` independent estimates, each from `n` samples, so that the
spread of the estimator can be measured: shape [repeats].
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch.distributions import Normal

from lessonlib.autoencoders.gaussian import reparameterize

Sampler = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def pathwise_estimates(f: Callable[[torch.Tensor], torch.Tensor], mu: float, sigma: float,
                       n: int, repeats: int, sample: Sampler = reparameterize) -> torch.Tensor:
    """`repeats` pathwise estimates of d/dmu E[f(z)], each averaging n samples: [repeats].

    `sample(mu, logvar)` draws z with the reparameterization trick (the learner's
    `reparameterize` plugs in here); autograd differentiates through it. If f(z) carries
    no gradient at all (f built from comparisons), the pathwise estimate is 0.
    """
    mu_t = torch.full((repeats, 1), float(mu), dtype=torch.float64, requires_grad=True)
    logvar = torch.full((repeats, n), 2 * math.log(sigma), dtype=torch.float64)  # [R, N]
    z = sample(mu_t.expand(repeats, n), logvar)  # [R, N]
    total = f(z).mean(dim=1).sum()  # repeat r's estimate depends on mu_t[r] only
    if not total.requires_grad:
        return torch.zeros(repeats, dtype=torch.float64)
    total.backward()
    return mu_t.grad[:, 0].detach()  # [R]


def score_function_estimates(f: Callable[[torch.Tensor], torch.Tensor], mu: float,
                             sigma: float, n: int, repeats: int,
                             baseline: bool = False) -> torch.Tensor:
    """`repeats` score-function (REINFORCE) estimates of d/dmu E[f(z)]: [repeats].

    The sample z = q.sample() carries no gradient; the surrogate f(z) * log q(z) does.
    With `baseline`, each f(z_i) is reduced by the mean of the other n - 1 values of f
    (a leave-one-out baseline, independent of z_i, so the estimate stays unbiased).
    """
    if baseline and n < 2:
        raise ValueError("a leave-one-out baseline needs n >= 2 samples")
    mu_t = torch.full((repeats, 1), float(mu), dtype=torch.float64, requires_grad=True)
    q = Normal(mu_t.expand(repeats, n), float(sigma))
    z = q.sample()  # [R, N], no gradient: sampling is a wall for backprop
    fz = f(z)  # [R, N]
    if baseline:
        fz = fz - (fz.sum(dim=1, keepdim=True) - fz) / (n - 1)  # [R, N]
    surrogate = (fz.detach() * q.log_prob(z)).mean(dim=1)  # [R]
    surrogate.sum().backward()
    return mu_t.grad[:, 0].detach()  # [R]


def quadratic_gradient(mu: float, c: float) -> float:
    """The exact d/dmu E[(z - c)^2] for z ~ N(mu, sigma^2): E = (mu - c)^2 + sigma^2."""
    return 2.0 * (mu - c)


def quadratic_variances(mu: float, sigma: float, c: float) -> dict[str, float]:
    """Per-sample variance of each estimator for f(z) = (z - c)^2, in closed form.

    With a = mu - c and eps ~ N(0, 1): the pathwise term is f'(z) = 2(a + sigma eps), of
    variance 4 sigma^2; the score term is f(z) eps / sigma, whose second moment is
    (a^4 + 18 a^2 sigma^2 + 15 sigma^4) / sigma^2 (moments of eps: 1, 3, 15), minus the
    squared mean (2a)^2. An n-sample estimate has these variances divided by n.
    """
    a = mu - c
    return {"pathwise": 4.0 * sigma**2,
            "score function": (a**4 + 18 * a**2 * sigma**2 + 15 * sigma**4) / sigma**2 - 4 * a**2}
