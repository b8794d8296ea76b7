"""The perception-distortion trade-off, exactly, on the linear Gaussian model.

Take chapter 3's model (lessonlib.autoencoders.linear_gaussian): z ~ N(0, I_d) is the
signal, x = W z + b + noise of variance s2 the observation, and the posterior
p(z | x) = N(m(x), C) is Gaussian with a covariance C that does not depend on x. Three
estimators of z from x:

    posterior mean    z_hat = m(x)                 the lowest possible MSE, D* = Tr C
    posterior sample  z_hat = m(x) + C^(1/2) eps   distributed exactly like z (perfect
                                                   perceptual quality), MSE = 2 D*
    rescaled mean     z_hat = S^(-1/2) m(x)        also distributed like z, deterministic,
                                                   MSE = D* + W2^2(N(0, S), N(0, I)) <= 2 D*

where S = I - C is the covariance of m(x). Blau and Michaeli (CVPR 2018) proved that a
perfect-perception estimator never needs more than twice the MMSE; the posterior sample
reaches that bound exactly here, and the rescaled mean shows it is not tight (Freirich,
Michaeli and Meir, NeurIPS 2021, derive the optimal estimators of the whole trade-off in
this Gaussian setting). Perception is measured by the squared Wasserstein-2 (Frechet)
distance between the distribution of the estimates, N(0, Sigma_hat), and the prior
N(0, I): 0 means perfect.

    family_point(model, alpha, kind)  -> (closed-form MSE, W2^2 to the prior)
    estimates(model, x, alpha, kind, generator) -> z_hat [B, d]
    kind "noise":  z_hat = m + alpha * C^(1/2) eps     (alpha = 1: the posterior sample)
    kind "scale":  z_hat = ((1 - alpha) I + alpha S^(-1/2)) m   (alpha = 1: rescaled mean)
"""

from __future__ import annotations

import torch

from lessonlib.autoencoders.linear_gaussian import LinearGaussian
from lessonlib.priors.frechet import frechet_distance

KINDS = ("noise", "scale")


def sample_model(model: LinearGaussian, n: int,
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(z [n, d], x [n, D]) drawn from the model, float64."""
    z = torch.randn(n, model.z_dim, generator=generator, dtype=torch.float64)  # [n, d]
    noise = torch.randn(n, model.x_dim, generator=generator, dtype=torch.float64)
    x = z @ model.W.T + model.b + model.s2 ** 0.5 * noise  # [n, D]
    return z, x


def _sym_power(matrix: torch.Tensor, power: float) -> torch.Tensor:
    """matrix^power for a symmetric positive definite matrix [d, d] (eigen-decomposition)."""
    values, vectors = torch.linalg.eigh(matrix)
    return (vectors * values.clamp_min(1e-300).pow(power)) @ vectors.T


def posterior_covariance(model: LinearGaussian) -> torch.Tensor:
    """C = Cov(z | x) [d, d], the same for every x."""
    return model.posterior(model.b[None])[1]


def mmse(model: LinearGaussian) -> float:
    """D* = Tr C: the mean squared error (summed over the d latents) of the posterior mean."""
    return float(torch.trace(posterior_covariance(model)))


def _linear_map(model: LinearGaussian, alpha: float) -> torch.Tensor:
    """A [d, d] with z_hat = A m(x) for the "scale" family."""
    eye = torch.eye(model.z_dim, dtype=torch.float64)
    return (1 - alpha) * eye + alpha * _sym_power(eye - posterior_covariance(model), -0.5)


def estimates(model: LinearGaussian, x: torch.Tensor, alpha: float, kind: str = "noise",
              generator: torch.Generator | None = None) -> torch.Tensor:
    """Estimates z_hat [B, d] of z from observations x [B, D]; see the module docstring."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    mean, cov = model.posterior(x)  # [B, d], [d, d]
    if kind == "scale":
        return mean @ _linear_map(model, alpha).T
    eps = torch.randn(mean.shape, generator=generator, dtype=torch.float64)  # [B, d]
    return mean + alpha * eps @ torch.linalg.cholesky(cov).T


def estimate_covariance(model: LinearGaussian, alpha: float, kind: str = "noise") -> torch.Tensor:
    """Cov(z_hat) [d, d] of an estimator (its mean is 0)."""
    cov = posterior_covariance(model)
    eye = torch.eye(model.z_dim, dtype=torch.float64)
    if kind == "noise":
        return eye - cov + alpha ** 2 * cov
    a = _linear_map(model, alpha)
    return a @ (eye - cov) @ a.T


def family_point(model: LinearGaussian, alpha: float, kind: str = "noise") -> tuple[float, float]:
    """(MSE, W2^2 to the prior) of one estimator, both in closed form.

    MSE = E|z - z_hat|^2 = Tr C + E|(I - A) m|^2 + alpha^2 Tr C for the noise family (A = I),
    Tr C + Tr((I - A) S (I - A)^T) for the scale family.
    """
    cov = posterior_covariance(model)
    eye = torch.eye(model.z_dim, dtype=torch.float64)
    d_star = float(torch.trace(cov))
    if kind == "noise":
        mse = d_star * (1 + alpha ** 2)
    else:
        gap = eye - _linear_map(model, alpha)
        mse = d_star + float(torch.trace(gap @ (eye - cov) @ gap.T))
    zero = torch.zeros(model.z_dim, dtype=torch.float64)
    return mse, frechet_distance(zero, estimate_covariance(model, alpha, kind), zero, eye)
