"""lessonlib.autoencoders.disentanglement: mutual information against scikit-learn, and
MIG."""

from __future__ import annotations

import math

import pytest
import torch
from sklearn.metrics import mutual_info_score

from lessonlib.autoencoders.disentanglement import (
    discretize,
    mutual_info_gap,
    mutual_info_matrix,
    mutual_information,
)
from lessonlib.core.information import discrete_entropy


def test_entropy_of_a_uniform_variable_is_log_of_its_size():
    values = torch.arange(400) % 4
    assert math.isclose(discrete_entropy(values), math.log(4), rel_tol=1e-12)
    assert discrete_entropy(torch.full((10,), 3)) == 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mutual_information_matches_scikit_learn(seed):
    g = torch.Generator().manual_seed(seed)
    a = torch.randint(0, 5, (500,), generator=g)
    b = (a + torch.randint(0, 3, (500,), generator=g)) % 7  # depends on a
    assert math.isclose(mutual_information(a, b), mutual_info_score(a.numpy(), b.numpy()),
                        rel_tol=1e-9)
    assert math.isclose(mutual_information(a, a), discrete_entropy(a), rel_tol=1e-12)


def test_discretize_uses_equal_width_bins_per_column():
    z = torch.tensor([[0.0, 5.0], [0.5, 5.0], [1.0, 5.0], [0.24, 5.0]])
    codes = discretize(z, bins=4)
    assert codes[:, 0].tolist() == [0, 2, 3, 0]
    assert codes[:, 1].tolist() == [0, 0, 0, 0]  # a constant column is one bin
    assert codes.dtype == torch.int64


def _factors(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(0, 3, (n,), generator=g),
                        torch.randint(0, 8, (n,), generator=g)], dim=1)  # [N, 2]


def test_mig_is_high_when_each_factor_has_its_own_dim():
    v = _factors(4000, 0)
    g = torch.Generator().manual_seed(1)
    z = torch.stack([v[:, 0].double(), v[:, 1].double(),
                     torch.randn(4000, generator=g, dtype=torch.float64)], dim=1)  # [N, 3]
    score, gaps = mutual_info_gap(z, v, bins=20)
    assert score > 0.9 and gaps.shape == (2,)
    mi = mutual_info_matrix(z, v)
    assert mi.shape == (3, 2) and mi[0, 0] > mi[1, 0] and mi[1, 1] > mi[0, 1]


def test_mig_is_zero_when_every_factor_is_copied_into_two_dims():
    v = _factors(2000, 2)
    z = torch.stack([v[:, 0], v[:, 0], v[:, 1], v[:, 1]], dim=1).double()  # [N, 4]
    score, _ = mutual_info_gap(z, v)
    assert abs(score) < 1e-9


def test_mig_drops_when_the_factors_are_mixed():
    v = _factors(4000, 3)
    clean = torch.stack([v[:, 0], v[:, 1]], dim=1).double()
    mixed = torch.stack([v[:, 0] + v[:, 1], v[:, 0] - v[:, 1]], dim=1).double()
    assert mutual_info_gap(mixed, v)[0] < mutual_info_gap(clean, v)[0] - 0.3


def test_mig_needs_two_dims():
    with pytest.raises(ValueError):
        mutual_info_gap(torch.zeros(10, 1), torch.zeros(10, 1, dtype=torch.long))
