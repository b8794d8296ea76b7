"""lessonlib.quantizers.codebook.codebook_from_data: a codebook started on real encoder
outputs whose EMA statistics agree with it, so that no code is flung away at the first step."""

from __future__ import annotations

import pytest
import torch

from lessonlib.quantizers.codebook import codebook_from_data, ema_codebook_update


def _data(n=600, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[4.0, 0, 0], [-4.0, 0, 0], [0, 4.0, 0]])  # [3, D]
    return centres[torch.arange(n) % 3] + 0.1 * torch.randn(n, d, generator=g)  # [N, D]


def test_codes_are_distinct_rows_of_the_data_and_statistics_agree():
    z = _data()
    codebook, cluster_size, embed_avg = codebook_from_data(
        z, 16, count=2.5, generator=torch.Generator().manual_seed(1))
    assert codebook.shape == (16, 3) and cluster_size.shape == (16,)
    rows = [int(torch.nonzero((z == c).all(dim=1))[0, 0]) for c in codebook]  # each a data row
    assert len(set(rows)) == 16, "K distinct rows"
    assert torch.equal(cluster_size, torch.full((16,), 2.5))
    assert torch.allclose(embed_avg / cluster_size[:, None], codebook)


def test_kmeans_steps_move_codes_to_cluster_means():
    z = _data()
    centres = torch.tensor([[4.0, 0, 0], [-4.0, 0, 0], [0, 4.0, 0]])
    means = torch.stack([z[torch.arange(len(z)) % 3 == k].mean(0) for k in range(3)])  # oracle
    err = lambda c: torch.cdist(z, c).min(dim=1).values.pow(2).mean()  # noqa: E731
    covering = 0
    for seed in range(12):
        start, _, _ = codebook_from_data(z, 3, generator=torch.Generator().manual_seed(seed))
        codebook, _, _ = codebook_from_data(z, 3, kmeans_steps=10,
                                            generator=torch.Generator().manual_seed(seed))
        assert err(codebook) <= err(start) + 1e-6, "Lloyd steps never raise the error"
        nearest = torch.cdist(start, centres).argmin(dim=1)
        if sorted(nearest.tolist()) == [0, 1, 2]:  # one start row in every cluster
            covering += 1
            assert torch.allclose(codebook, means[nearest], atol=1e-5), "cluster means"
    assert covering > 0, "some start covers all three clusters"


def test_an_unused_code_stays_in_place_through_an_ema_step():
    """With counts at zero an unused code is divided by about eps; started from data, it
    stays where it is."""
    z = _data()
    k = 8
    codebook, cluster_size, embed_avg = codebook_from_data(
        z, k, generator=torch.Generator().manual_seed(2))
    batch = z[:30]  # [30, D]
    indices = torch.zeros(30, dtype=torch.long)  # only code 0 receives vectors
    new_codebook, _, _ = ema_codebook_update(codebook, cluster_size, embed_avg, batch, indices)
    assert torch.allclose(new_codebook[1:], codebook[1:], rtol=1e-3, atol=1e-4)
    zero_start = ema_codebook_update(codebook, torch.zeros(k), codebook.clone(), batch, indices)
    assert zero_start[0][1:].norm(dim=1).min() > 100 * codebook[1:].norm(dim=1).max(), (
        "the course's zero-count start flings the unused codes far away")


def test_too_few_vectors_or_a_bad_count_is_refused():
    with pytest.raises(ValueError, match="at least 10"):
        codebook_from_data(torch.randn(5, 2), 10)
    with pytest.raises(ValueError, match="positive"):
        codebook_from_data(torch.randn(50, 2), 10, count=0.0)
