"""A latent-variable model whose log p(x) is exact: the linear Gaussian model (probabilistic PCA).

    z ~ N(0, I_d),    x | z ~ N(W z + b, s2 I_D)

Everything a VAE can only bound is available here in closed form (Tipping & Bishop, 1999):
    marginal     p(x)     = N(x; b, W W^T + s2 I)
    posterior    p(z | x) = N(M^{-1} W^T (x - b), s2 M^{-1}),   M = W^T W + s2 I_d
so the ELBO of any Gaussian q(z | x) can be compared with the true log p(x), and the gap with
KL(q || p(z | x)). Fitting by maximum likelihood is an eigen-decomposition of the data
covariance. Work in float64: the checks compare numbers to 1e-8.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.distributions import MultivariateNormal

from lessonlib.autoencoders.gaussian import LOG_2PI, kl_standard_normal


@dataclass(frozen=True)
class LinearGaussian:
    """p(z) = N(0, I_d), p(x | z) = N(W z + b, s2 I_D). W [D, d], b [D], s2 a float."""

    W: torch.Tensor  # [D, d]
    b: torch.Tensor  # [D]
    s2: float

    @property
    def x_dim(self) -> int:
        return self.W.shape[0]

    @property
    def z_dim(self) -> int:
        return self.W.shape[1]

    @classmethod
    def fit(cls, x: torch.Tensor, z_dim: int) -> LinearGaussian:
        """Maximum-likelihood fit to data x [N, D] (Tipping & Bishop's closed form).

        b is the data mean; with the covariance's eigenvalues l_1 >= ... >= l_D and
        eigenvectors U: s2 = mean(l_{d+1..D}) and W = U_d diag(sqrt(l_d - s2)).
        """
        x = x.double()
        b = x.mean(dim=0)  # [D]
        centred = x - b  # [N, D]
        cov = centred.T @ centred / x.shape[0]  # [D, D]
        eigval, eigvec = torch.linalg.eigh(cov)  # ascending
        eigval, eigvec = eigval.flip(0), eigvec.flip(1)  # descending
        s2 = float(eigval[z_dim:].mean())
        W = eigvec[:, :z_dim] * torch.sqrt(eigval[:z_dim] - s2)  # [D, d]
        return cls(W, b, s2)

    def marginal(self) -> MultivariateNormal:
        """p(x) = N(b, W W^T + s2 I) as a torch distribution."""
        cov = self.W @ self.W.T + self.s2 * torch.eye(self.x_dim, dtype=self.W.dtype)
        return MultivariateNormal(self.b, covariance_matrix=cov)

    def log_marginal(self, x: torch.Tensor) -> torch.Tensor:
        """The exact log p(x): [B, D] -> [B]."""
        return self.marginal().log_prob(x.double())

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The true posterior p(z | x): means [B, d] and the shared covariance [d, d]."""
        M = self.W.T @ self.W + self.s2 * torch.eye(self.z_dim, dtype=self.W.dtype)  # [d, d]
        M_inv = torch.linalg.inv(M)
        mean = (x.double() - self.b) @ self.W @ M_inv.T  # [B, d]
        return mean, self.s2 * M_inv

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x | z) for x [B, D] and z [..., B, d] -> [..., B].

        ||x - W z - b||^2 is expanded as ||x - b||^2 - 2 z.W^T(x - b) + z^T W^T W z, so the
        work and memory scale with d, not D (many samples z per image stay cheap).
        """
        centred = x.double() - self.b  # [B, D]
        projected = centred @ self.W  # [B, d]
        gram = self.W.T @ self.W  # [d, d]
        squared = (centred.pow(2).sum(dim=-1) - 2 * (z * projected).sum(dim=-1)
                   + ((z @ gram) * z).sum(dim=-1))  # [..., B]
        return -0.5 * (self.x_dim * (LOG_2PI + math.log(self.s2)) + squared / self.s2)

    def log_joint(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x, z) = log p(x | z) + log p(z) for x [B, D], z [..., B, d] -> [..., B]."""
        log_prior = -0.5 * (self.z_dim * LOG_2PI + z.pow(2).sum(dim=-1))
        return self.log_likelihood(x, z) + log_prior

    def expected_log_likelihood(self, x: torch.Tensor, q_mu: torch.Tensor,
                                q_logvar: torch.Tensor) -> torch.Tensor:
        """E_q[log p(x | z)] for q = N(q_mu, diag(exp(q_logvar))), exactly: [B].

        E ||x - W z - b||^2 = ||x - W mu_q - b||^2 + sum_j var_j ||W_{:, j}||^2.
        """
        residual = x.double() - q_mu @ self.W.T - self.b  # [B, D]
        spread = (q_logvar.exp() * self.W.pow(2).sum(dim=0)).sum(dim=-1)  # [B]
        return -0.5 * (self.x_dim * (LOG_2PI + math.log(self.s2))
                       + (residual.pow(2).sum(dim=-1) + spread) / self.s2)

    def elbo(self, x: torch.Tensor, q_mu: torch.Tensor, q_logvar: torch.Tensor,
             kl: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = kl_standard_normal,
             ) -> torch.Tensor:
        """ELBO(q) = E_q[log p(x | z)] - KL(q || N(0, I)) for a diagonal Gaussian q: [B].

        `kl(mu, logvar) -> [B]` is the closed-form KL to the prior (the learner's plugs in).
        """
        return self.expected_log_likelihood(x, q_mu, q_logvar) - kl(q_mu, q_logvar)


def interpolate_q(q0: tuple[torch.Tensor, torch.Tensor], q1: tuple[torch.Tensor, torch.Tensor],
                  t: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The diagonal Gaussian a fraction t of the way from q0 to q1: means and log-variances
    move linearly (t = 0 gives q0, t = 1 gives q1). Each q is (mu [B, d], logvar [B, d])."""
    (mu0, logvar0), (mu1, logvar1) = q0, q1
    return (1 - t) * mu0 + t * mu1, (1 - t) * logvar0 + t * logvar1
