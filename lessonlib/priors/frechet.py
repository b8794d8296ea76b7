"""The Frechet distance between two Gaussians, fitted to features of two image sets.

For N(mu1, S1) and N(mu2, S2) the squared 2-Wasserstein (Frechet) distance is

    d^2 = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))

(Dowson and Landau 1982). Heusel et al. (2017, NeurIPS) used it on Inception features to
score generated images; here it is computed in the feature space of whatever network one
chooses (the course uses a small digit classifier), so it is named for what it is.

Tr (S1 S2)^(1/2) is the sum of the square roots of the eigenvalues of S1 S2. For symmetric
positive semi-definite S1, S2 those eigenvalues are real and >= 0 (S1 S2 is similar to
S1^(1/2) S2 S1^(1/2)); in floating point they carry tiny imaginary parts and tiny negative
values, so the real parts are taken and negatives clamped to 0. Everything runs in float64.

    mu1, sigma1 = feature_statistics(features_of_real)       # [D], [D, D]
    mu2, sigma2 = feature_statistics(features_of_generated)
    d = frechet_distance(mu1, sigma1, mu2, sigma2)           # float
"""

from __future__ import annotations

import torch


def _as_float64(x) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach().to(device="cpu", dtype=torch.float64)
    return torch.as_tensor(x, dtype=torch.float64)


def trace_sqrt_product(sigma1, sigma2) -> float:
    """Tr (S1 S2)^(1/2) from the eigenvalues of S1 S2 (real parts, negatives clamped to 0).

    sigma1, sigma2: [D, D] symmetric positive semi-definite (tensors or arrays).
    """
    s1, s2 = _as_float64(sigma1), _as_float64(sigma2)  # [D, D]
    eigenvalues = torch.linalg.eigvals(s1 @ s2).real  # [D]
    return float(eigenvalues.clamp_min(0.0).sqrt().sum())


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """|mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)), as a Python float.

    mu1, mu2: [D] means; sigma1, sigma2: [D, D] covariances (tensors or arrays).
    """
    mu1, mu2 = _as_float64(mu1), _as_float64(mu2)  # [D]
    s1, s2 = _as_float64(sigma1), _as_float64(sigma2)  # [D, D]
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (*mu1.shape, *mu1.shape):
        raise ValueError(f"shapes do not match: mu {tuple(mu1.shape)}, {tuple(mu2.shape)}; "
                         f"sigma {tuple(s1.shape)}, {tuple(s2.shape)}")
    mean_term = float((mu1 - mu2).pow(2).sum())
    return mean_term + float(torch.trace(s1) + torch.trace(s2)) - 2.0 * trace_sqrt_product(s1, s2)


def feature_statistics(features) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean [D] and unbiased covariance [D, D] (float64) of features [N, D], N >= 2."""
    f = _as_float64(features)  # [N, D]
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"features must be [N, D] with N >= 2, got {tuple(f.shape)}")
    mu = f.mean(dim=0)  # [D]
    centred = f - mu  # [N, D]
    sigma = centred.T @ centred / (f.shape[0] - 1)  # [D, D]
    return mu, sigma


def frechet_distance_of(features1, features2) -> float:
    """Frechet distance between Gaussians fitted to two feature sets [N1, D] and [N2, D]."""
    return frechet_distance(*feature_statistics(features1), *feature_statistics(features2))
