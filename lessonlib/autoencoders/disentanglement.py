"""A simple disentanglement measure against known factors: the mutual information gap (MIG).

Chen et al. (2018): discretize each latent dim into equal-width bins, compute the mutual
information I(z_j; v_k) between every latent dim j and every known factor k (discrete
values), and for each factor take the gap between the most and the second most
informative latent dim, normalized by the factor's entropy H(v_k):

    MIG = mean_k ( I(z_(1); v_k) - I(z_(2); v_k) ) / H(v_k)     in [0, 1]

1 means every factor is captured by exactly one dim and by no other; 0 means each factor
is spread over several dims (or captured by none). Everything is in nats.

    mi = mutual_info_matrix(mu, factors)          # [D, K]
    score, gaps = mutual_info_gap(mu, factors)    # float, [K]
"""

from __future__ import annotations

import torch

from lessonlib.core.information import discrete_entropy


def discretize(z: torch.Tensor, bins: int = 20) -> torch.Tensor:
    """Equal-width binning of each column between its min and max: [N, D] -> int64 [N, D]."""
    z = z.detach().double()
    lo, hi = z.min(dim=0).values, z.max(dim=0).values  # [D]
    width = (hi - lo).clamp_min(1e-12) / bins  # [D]
    codes = ((z - lo) / width).floor().long()  # [N, D]
    return codes.clamp(0, bins - 1)


def _codes(values: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Map any discrete values [N] to 0..n_values-1."""
    _, inverse = torch.unique(values, return_inverse=True)
    return inverse.long(), int(inverse.max()) + 1


def mutual_information(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mutual information (nats) of two discrete variables, from their joint counts: [N], [N]."""
    a_codes, n_a = _codes(a)
    b_codes, n_b = _codes(b)
    joint = torch.bincount(a_codes * n_b + b_codes, minlength=n_a * n_b).double()
    joint = joint.reshape(n_a, n_b) / len(a_codes)  # [n_a, n_b]
    pa, pb = joint.sum(dim=1, keepdim=True), joint.sum(dim=0, keepdim=True)
    nz = joint > 0
    return float((joint[nz] * (joint[nz].log() - (pa * pb).expand_as(joint)[nz].log())).sum())


def mutual_info_matrix(z: torch.Tensor, factors: torch.Tensor, bins: int = 20) -> torch.Tensor:
    """I(z_j; v_k) for latent dims z [N, D] and discrete factors [N, K]: -> [D, K] (nats)."""
    codes = discretize(z, bins)  # [N, D]
    d, k = codes.shape[1], factors.shape[1]
    mi = torch.zeros(d, k, dtype=torch.float64)
    for j in range(d):
        for f in range(k):
            mi[j, f] = mutual_information(codes[:, j], factors[:, f])
    return mi


def mutual_info_gap(z: torch.Tensor, factors: torch.Tensor,
                    bins: int = 20) -> tuple[float, torch.Tensor]:
    """MIG of codes z [N, D] against factors [N, K]: (mean gap, per-factor gaps [K]).

    Needs D >= 2. Each gap is (largest - second largest I(z_j; v_k)) / H(v_k); a constant
    factor (H = 0) gets gap 0.
    """
    if z.shape[1] < 2:
        raise ValueError("the MIG needs at least two latent dims")
    mi = mutual_info_matrix(z, factors, bins)  # [D, K]
    top2 = mi.topk(2, dim=0).values  # [2, K]
    h = torch.tensor([discrete_entropy(factors[:, f]) for f in range(factors.shape[1])],
                     dtype=torch.float64)  # [K]
    gaps = torch.where(h > 0, (top2[0] - top2[1]) / h.clamp_min(1e-12), torch.zeros_like(h))
    return float(gaps.mean()), gaps


@torch.no_grad()
def latent_traversal(model, x: torch.Tensor, dims: list[int],
                     values: torch.Tensor) -> torch.Tensor:
    """Decode mu(x) with one latent dim swept over `values` at a time.

    x [1, C, H, W] one image; dims: the latent dims to sweep; values [V]. The model needs
    encode(x) -> (mu, logvar) and decode(z) -> logits. Returns pixel probabilities
    [len(dims) * V, C, H, W], row by row (one row per dim).
    """
    mu, _ = model.encode(x)  # [1, D]
    z = mu.repeat(len(dims) * len(values), 1)  # [R*V, D]
    for row, j in enumerate(dims):
        z[row * len(values):(row + 1) * len(values), j] = values
    return torch.sigmoid(model.decode(z)).reshape(-1, *x.shape[1:])
