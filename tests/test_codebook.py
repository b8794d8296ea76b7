"""lessonlib.quantizers.codebook against independent oracles; its public checks
against slips."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from lessonlib.checks.quantizers.codebook import (
    check_codebook_perplexity,
    check_codebook_usage,
    check_ema_codebook_update,
    check_revive_dead_codes,
)
from lessonlib.quantizers import codebook as cb

# ---------------------------------------------------------------- oracles


def ema_loop_oracle(codebook, cluster_size, embed_avg, z_flat, indices, decay, eps):
    """The textbook per-code loop with the contract's bookkeeping, in float64."""
    k = codebook.shape[0]
    cs, ea = cluster_size.double().clone(), embed_avg.double().clone()
    for j in range(k):
        mask = indices == j
        cs[j] = decay * cs[j] + (1 - decay) * mask.sum()
        ea[j] = decay * ea[j] + (1 - decay) * z_flat.double()[mask].sum(0)
    n = cs.sum()
    new = torch.stack([ea[j] / ((cs[j] + eps) / (n + k * eps) * n) for j in range(k)])
    return new, cs, ea


def random_state(k, d, n, seed):
    g = torch.Generator().manual_seed(seed)
    cluster_size = torch.rand(k, generator=g) * 3
    cluster_size[: k // 4] = 0.0  # some empty codes
    return (torch.randn(k, d, generator=g), cluster_size, torch.randn(k, d, generator=g),
            torch.randn(n, d, generator=g), torch.randint(k // 2, k, (n,), generator=g))


# ---------------------------------------------------------------- perplexity and usage


@pytest.mark.parametrize("seed", range(4))
def test_perplexity_matches_categorical_entropy(seed):
    g = torch.Generator().manual_seed(seed)
    k = [8, 64, 512, 1000][seed]
    indices = torch.randint(0, k, (3, 7, 7), generator=g) // (seed + 1)  # uneven, some unused
    counts = torch.bincount(indices.reshape(-1), minlength=k).double()
    oracle = torch.distributions.Categorical(probs=counts / counts.sum()).entropy().exp()
    got = cb.codebook_perplexity(indices, k)
    assert isinstance(got, torch.Tensor) and got.dim() == 0
    assert float(got) == pytest.approx(float(oracle), rel=1e-5)


def test_perplexity_bounds():
    assert float(cb.codebook_perplexity(torch.zeros(10, dtype=torch.long), 16)) == pytest.approx(1)
    assert float(cb.codebook_perplexity(torch.arange(16), 16)) == pytest.approx(16, rel=1e-5)
    indices = torch.tensor([0, 0, 1, 2, 2, 2])
    assert float(cb.codebook_perplexity(indices, 100)) <= 3 + 1e-6  # <= number of used codes


def test_usage_counts_distinct_codes():
    g = torch.Generator().manual_seed(0)
    for k in (7, 512):
        indices = torch.randint(0, k, (4, 7, 7), generator=g) // 3
        want = len(set(indices.reshape(-1).tolist())) / k
        got = cb.codebook_usage(indices, k)
        assert isinstance(got, float) and got == pytest.approx(want)
    assert cb.codebook_usage(torch.tensor([3, 3, 3]), 4) == 0.25


def test_usage_is_at_least_perplexity_over_k():
    g = torch.Generator().manual_seed(1)
    indices = torch.randint(0, 50, (500,), generator=g) ** 2 % 97
    assert cb.codebook_usage(indices, 128) >= float(cb.codebook_perplexity(indices, 128)) / 128


# ---------------------------------------------------------------- EMA update


@pytest.mark.parametrize("decay, eps", [(0.99, 1e-5), (0.9, 1e-3), (0.0, 1e-5), (0.5, 1e-2)])
def test_ema_update_matches_the_per_code_loop(decay, eps):
    state = random_state(16, 5, 60, seed=int(decay * 100))
    got = cb.ema_codebook_update(*state, decay=decay, eps=eps)
    want = ema_loop_oracle(*state, decay, eps)
    for a, b in zip(got, want):
        assert torch.isfinite(a).all()
        assert torch.allclose(a.double(), b, rtol=1e-5, atol=1e-6)


def test_ema_update_is_pure():
    state = random_state(8, 3, 20, seed=3)
    copies = [t.clone() for t in state]
    cb.ema_codebook_update(*state)
    assert all(torch.equal(a, b) for a, b in zip(state, copies))


def test_ema_with_zero_decay_is_one_kmeans_step():
    z = torch.tensor([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0]])
    indices = torch.tensor([0, 0, 1])
    codebook, cluster_size, _ = cb.ema_codebook_update(torch.zeros(3, 2), torch.zeros(3),
                                                       torch.zeros(3, 2), z, indices, decay=0.0)
    assert torch.allclose(codebook[0], torch.tensor([1.0, 0.0]), atol=1e-4)  # mean of its cluster
    assert torch.allclose(codebook[1], torch.tensor([10.0, 10.0]), atol=1e-4)
    assert torch.equal(cluster_size, torch.tensor([2.0, 1.0, 0.0]))


def test_unused_code_count_decays():
    state = random_state(8, 2, 10, seed=4)
    _, cluster_size, _ = cb.ema_codebook_update(*state, decay=0.9)
    unused = torch.bincount(state[4], minlength=8) == 0
    assert torch.allclose(cluster_size[unused], 0.9 * state[1][unused])


# ---------------------------------------------------------------- revival


def test_revival_semantics():
    g = torch.Generator().manual_seed(5)
    codebook = torch.randn(32, 4, generator=g)
    cluster_size = torch.rand(32, generator=g) * 2
    cluster_size[0] = 1.0  # exactly at the threshold: alive
    embed_avg = codebook * cluster_size.unsqueeze(1)
    z_flat = torch.randn(100, 4, generator=g) + 4.0
    inputs = (codebook, cluster_size, embed_avg, z_flat)
    copies = [t.clone() for t in inputs]
    new_cb, new_cs, new_ea, n = cb.revive_dead_codes(*inputs, threshold=1.0,
                                                     generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(a, b) for a, b in zip(inputs, copies)), "pure"
    dead = cluster_size < 1.0
    assert not dead[0] and n == int(dead.sum()) and isinstance(n, int)
    assert torch.equal(new_cb[~dead], codebook[~dead])
    assert torch.equal(new_cs[~dead], cluster_size[~dead])
    for row in new_cb[dead]:
        assert (z_flat == row).all(dim=1).any(), "a revived code is a row of z_flat"
    assert torch.all(new_cs[dead] == 1.0)
    assert torch.allclose(new_ea[dead], new_cb[dead])
    # the next EMA step, with no vector for the revived codes, keeps them in place
    live = (~dead).nonzero().flatten()
    after = cb.ema_codebook_update(new_cb, new_cs, new_ea, z_flat[:30],
                                   live[torch.arange(30) % len(live)])[0]
    assert (after[dead] - new_cb[dead]).norm(dim=1).max() < 1e-3


def test_revival_generator_and_nothing_dead():
    state = (torch.randn(10, 2), torch.zeros(10), torch.randn(10, 2), torch.randn(64, 2))
    a = cb.revive_dead_codes(*state, generator=torch.Generator().manual_seed(1))
    b = cb.revive_dead_codes(*state, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a[0], b[0]) and a[3] == 10
    assert len({tuple(r.tolist()) for r in a[0]}) > 5, "each dead code gets its own row"
    healthy = (state[0], torch.full((10,), 3.0), state[2], state[3])
    out = cb.revive_dead_codes(*healthy)
    assert out[3] == 0 and torch.equal(out[0], state[0])


# ---------------------------------------------------------------- public checks


def test_references_pass_their_checks():
    assert check_codebook_perplexity.run(cb.codebook_perplexity).passed
    assert check_codebook_usage.run(cb.codebook_usage).passed
    assert check_ema_codebook_update.run(cb.ema_codebook_update).passed
    assert check_revive_dead_codes.run(cb.revive_dead_codes).passed


def test_checks_report_not_attempted():
    for check, stub in [(check_codebook_perplexity, lambda i, k: None),
                        (check_codebook_usage, lambda i, k: None),
                        (check_ema_codebook_update, lambda *a, **kw: None),
                        (check_revive_dead_codes, lambda *a, **kw: None)]:
        assert check.run(stub).status == "not attempted"


def _counts(indices, k):
    return torch.bincount(indices.reshape(-1), minlength=k).float()


PERPLEXITY_SLIPS = {
    "in bits": lambda i, k: -(lambda p: (p * p.log2()).sum())(
        _counts(i, k)[_counts(i, k) > 0] / i.numel()),
    "wrong sign": lambda i, k: torch.exp((lambda p: (p * p.log()).sum())(
        _counts(i, k)[_counts(i, k) > 0] / i.numel())),
    "averaged": lambda i, k: torch.exp(-(lambda p: torch.where(
        p > 0, p * p.clamp_min(1e-30).log(), 0 * p).mean())(_counts(i, k) / i.numel())),
    "distinct codes": lambda i, k: (_counts(i, k) > 0).sum().float(),
    "divided the counts by the number of codes": lambda i, k: torch.exp(-(lambda p: (
        p * p.log()).sum())(_counts(i, k)[_counts(i, k) > 0] / k)),
    "torch.Tensor": lambda i, k: float(cb.codebook_perplexity(i, k)),
}


@pytest.mark.parametrize("phrase", list(PERPLEXITY_SLIPS))
def test_perplexity_check_names_more_slips(phrase):
    result = check_codebook_perplexity.run(PERPLEXITY_SLIPS[phrase])
    assert result.status == "wrong" and phrase in result.message, result.message


USAGE_SLIPS = {
    "fraction of dead codes": lambda i, k: 1 - cb.codebook_usage(i, k),
    "divided by the number of tokens": lambda i, k: float(torch.unique(i).numel()) / i.numel(),
    "used exactly once": lambda i, k: float((_counts(i, k) > 1).sum()) / k,
    "Python float": lambda i, k: torch.tensor(cb.codebook_usage(i, k)),
}


@pytest.mark.parametrize("phrase", list(USAGE_SLIPS))
def test_usage_check_names_more_slips(phrase):
    result = check_codebook_usage.run(USAGE_SLIPS[phrase])
    assert result.status == "wrong" and phrase in result.message, result.message


def _ema_parts(indices, k, z_flat):
    onehot = F.one_hot(indices, k).type_as(z_flat)
    return onehot.sum(0), onehot.t() @ z_flat


def ema_smoothing_plus_eps(codebook, cluster_size, embed_avg, z_flat, indices, decay=0.99,
                           eps=1e-5):
    counts, sums = _ema_parts(indices, codebook.shape[0], z_flat)
    cs = decay * cluster_size + (1 - decay) * counts
    ea = decay * embed_avg + (1 - decay) * sums
    return ea / (cs + eps).unsqueeze(1), cs, ea


def ema_not_times_n(codebook, cluster_size, embed_avg, z_flat, indices, decay=0.99, eps=1e-5):
    k = codebook.shape[0]
    counts, sums = _ema_parts(indices, k, z_flat)
    cs = decay * cluster_size + (1 - decay) * counts
    ea = decay * embed_avg + (1 - decay) * sums
    n = cs.sum()
    return ea / ((cs + eps) / (n + k * eps)).unsqueeze(1), cs, ea


def ema_mean_not_sum(codebook, cluster_size, embed_avg, z_flat, indices, decay=0.99, eps=1e-5):
    k = codebook.shape[0]
    counts, sums = _ema_parts(indices, k, z_flat)
    cs = decay * cluster_size + (1 - decay) * counts
    ea = decay * embed_avg + (1 - decay) * sums / counts.clamp_min(1).unsqueeze(1)
    n = cs.sum()
    return ea / ((cs + eps) / (n + k * eps) * n).unsqueeze(1), cs, ea


def ema_fixed_decay(codebook, cluster_size, embed_avg, z_flat, indices, decay=0.99, eps=1e-5):
    return cb.ema_codebook_update(codebook, cluster_size, embed_avg, z_flat, indices)


def ema_smoothed_count_returned(codebook, cluster_size, embed_avg, z_flat, indices, decay=0.99,
                                eps=1e-5):
    k = codebook.shape[0]
    new_cb, cs, ea = cb.ema_codebook_update(codebook, cluster_size, embed_avg, z_flat, indices,
                                            decay, eps)
    n = cs.sum()
    return new_cb, (cs + eps) / (n + k * eps) * n, ea


def ema_counts_not_updated(codebook, cluster_size, embed_avg, z_flat, indices, decay=0.99,
                           eps=1e-5):
    new_cb, _, ea = cb.ema_codebook_update(codebook, cluster_size, embed_avg, z_flat, indices,
                                           decay, eps)
    return new_cb, cluster_size.clone(), ea


EMA_SLIPS = {
    "you smoothed as cluster_size + eps": ema_smoothing_plus_eps,
    "not multiplied back by n": ema_not_times_n,
    "SUM of the assigned vectors": ema_mean_not_sum,
    "ignored the decay": ema_fixed_decay,
    "not the smoothed one": ema_smoothed_count_returned,
    "came back unchanged": ema_counts_not_updated,
}


@pytest.mark.parametrize("phrase", list(EMA_SLIPS))
def test_ema_check_names_more_slips(phrase):
    result = check_ema_codebook_update.run(EMA_SLIPS[phrase])
    assert result.status == "wrong" and phrase in result.message, result.message


def revive_at_threshold(codebook, cluster_size, embed_avg, z_flat, threshold=1.0,
                        generator=None):
    dead = cluster_size <= threshold
    return _revive_mask(codebook, cluster_size, embed_avg, z_flat, dead, threshold, generator)


def _revive_mask(codebook, cluster_size, embed_avg, z_flat, dead, threshold, generator,
                 reset_avg=True, count=None):
    n = int(dead.sum())
    rows = z_flat[torch.randint(0, z_flat.shape[0], (n,), generator=generator)]
    codebook, cluster_size, embed_avg = codebook.clone(), cluster_size.clone(), embed_avg.clone()
    codebook[dead] = rows
    cluster_size[dead] = threshold
    if reset_avg:
        embed_avg[dead] = rows * threshold
    return codebook, cluster_size, embed_avg, n if count is None else count


def revive_global_rng(codebook, cluster_size, embed_avg, z_flat, threshold=1.0, generator=None):
    return _revive_mask(codebook, cluster_size, embed_avg, z_flat, cluster_size < threshold,
                        threshold, None)


def revive_keeps_embed_avg(codebook, cluster_size, embed_avg, z_flat, threshold=1.0,
                           generator=None):
    return _revive_mask(codebook, cluster_size, embed_avg, z_flat, cluster_size < threshold,
                        threshold, generator, reset_avg=False)


def revive_counts_live(codebook, cluster_size, embed_avg, z_flat, threshold=1.0, generator=None):
    dead = cluster_size < threshold
    return _revive_mask(codebook, cluster_size, embed_avg, z_flat, dead, threshold, generator,
                        count=int((~dead).sum()))


def revive_fixed_threshold(codebook, cluster_size, embed_avg, z_flat, threshold=1.0,
                           generator=None):
    return _revive_mask(codebook, cluster_size, embed_avg, z_flat, cluster_size < 1.0, 1.0,
                        generator)


def revive_with_noise(codebook, cluster_size, embed_avg, z_flat, threshold=1.0, generator=None):
    dead = cluster_size < threshold
    fresh = torch.randn(int(dead.sum()), codebook.shape[1], generator=generator)
    codebook, cluster_size, embed_avg = codebook.clone(), cluster_size.clone(), embed_avg.clone()
    codebook[dead], cluster_size[dead], embed_avg[dead] = fresh, threshold, fresh * threshold
    return codebook, cluster_size, embed_avg, int(dead.sum())


REVIVE_SLIPS = {
    "exactly 1.0 = threshold": revive_at_threshold,
    "identically seeded generators": revive_global_rng,
    "dragged": revive_keeps_embed_avg,
    "n_revived should count": revive_counts_live,
    "use the threshold argument": revive_fixed_threshold,
    "copy of one random row": revive_with_noise,
}


@pytest.mark.parametrize("phrase", list(REVIVE_SLIPS))
def test_revive_check_names_more_slips(phrase):
    result = check_revive_dead_codes.run(REVIVE_SLIPS[phrase])
    assert result.status == "wrong" and phrase in result.message, result.message


def test_checks_are_deterministic():
    for check, ref in [(check_codebook_perplexity, cb.codebook_perplexity),
                       (check_codebook_usage, cb.codebook_usage),
                       (check_ema_codebook_update, cb.ema_codebook_update),
                       (check_revive_dead_codes, cb.revive_dead_codes)]:
        first, second = check.run(ref), check.run(ref)
        assert first == second
    assert math.isfinite(float(cb.codebook_perplexity(torch.tensor([1]), 2)))
