"""PCA as the optimal linear autoencoder: encode = project on the top-k principal axes."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class PCA:
    """mean [D] and components [D, D] (columns sorted by explained variance)."""

    mean: torch.Tensor
    components: torch.Tensor
    variances: torch.Tensor

    @classmethod
    def fit(cls, x: torch.Tensor) -> PCA:
        """Fit on data x [N, D]."""
        mean = x.mean(dim=0)  # [D]
        centred = x - mean  # [N, D]
        cov = centred.T @ centred / (x.shape[0] - 1)  # [D, D]
        variances, vectors = torch.linalg.eigh(cov.double())  # ascending
        order = torch.argsort(variances, descending=True)
        return cls(mean, vectors[:, order].float(), variances[order].clamp_min(0).float())

    def encode(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """x [N, D] -> z [N, k]."""
        return (x - self.mean) @ self.components[:, :k]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z [N, k] -> x_hat [N, D]."""
        return z @ self.components[:, : z.shape[1]].T + self.mean

    def explained(self, k: int) -> float:
        """Fraction of the data's variance kept by the top-k axes."""
        return float(self.variances[:k].sum() / self.variances.sum())
