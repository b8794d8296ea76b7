"""Public checks for codebook health and maintenance: perplexity, usage, EMA, revival."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from lessonlib.checks.core import (
    attempt,
    attempt_pure,
    close,
    expect,
    expect_close,
    expect_number,
    expect_tensor,
    expect_tuple,
    public_check,
    reject_slips,
    rounded,
)
from lessonlib.core.information import entropy
from lessonlib.quantizers import codebook as ref

_PERPLEXITY_CASES = [  # (indices, K): some codes unused, uneven and uniform usage, any shape
    (torch.tensor([[0, 0, 0, 1]]), 6),
    (torch.tensor([[[2, 2, 5], [2, 7, 7]], [[2, 5, 5], [7, 2, 2]]]), 9),
    (torch.arange(4).repeat(3).reshape(2, 2, 3), 8),
    (torch.tensor([5, 5, 5]), 8),
]


@public_check("codebook_perplexity", reference=ref.codebook_perplexity)
def check_codebook_perplexity(fn) -> None:
    """Uneven usage with unused codes, uniform usage, a single code; [N] and [B, H, W]."""
    for indices, k in _PERPLEXITY_CASES:
        got = attempt(fn, indices.clone(), k)
        expect(isinstance(got, torch.Tensor) and got.numel() == 1, "return a one-number "
               f"torch.Tensor (e.g. torch.exp(entropy)), got {type(got).__name__}.")
        value = float(got)
        expect(not math.isnan(value), "nan: unused codes have p = 0 and 0 * log 0 is nan; keep "
               "only p > 0.")
        counts = torch.bincount(indices.reshape(-1), minlength=k).double()  # [K]
        h = entropy(counts / counts.sum())
        expect_close(value, float(h.exp()), f"indices {indices.reshape(-1).tolist()} with "
                     f"K={k}: expected perplexity {float(h.exp()):.4f}, got {value:.4f}.", {
            "you returned the entropy itself: perplexity is exp(entropy).": h,
            "you took log2 and then exp: use the natural log with exp (or 2 ** H).":
                torch.exp(h / math.log(2)),
            "you returned the entropy in bits: perplexity is exp(entropy).": h / math.log(2),
            "the entropy has the wrong sign: H = -sum p log p.": torch.exp(-h),
            "you used raw counts in the entropy: use frequencies p = counts / counts.sum().":
                torch.exp(entropy(counts)),
            "you divided the counts by the number of codes K: frequencies are counts / number "
            "of tokens.": torch.exp(entropy(counts / k)),
            "you averaged p log p over the codes: the entropy is a sum.": torch.exp(h / k),
            "you counted the distinct codes: perplexity weighs each code by its frequency.":
                (counts > 0).sum().double(),
        }, tol=1e-4)


_USAGE_CASES = [(torch.tensor([[0, 0, 0, 1, 2], [4, 4, 4, 4, 0]]), 16),
                (torch.tensor([[[3, 3], [3, 3]]]), 4),
                (torch.tensor([0, 1, 2, 3, 5, 6, 7, 7]), 8)]


@public_check("codebook_usage", reference=ref.codebook_usage)
def check_codebook_usage(fn) -> None:
    """Distinct codes over K as a float, on [B, N] and [B, H, W] indices."""
    for indices, k in _USAGE_CASES:
        got = expect_number(attempt(fn, indices.clone(), k), float)
        flat = indices.reshape(-1)
        counts = torch.bincount(flat, minlength=k)  # [K]
        distinct = int((counts > 0).sum())
        want = distinct / k
        expect_close(got, want, f"indices {flat.tolist()} with K={k}: expected {want}, got "
                     f"{got}.", {
            "you returned the number of used codes: divide by num_codes.": float(distinct),
            "you counted occurrences (tokens), not distinct codes.": flat.numel() / k,
            "you divided by the number of tokens: usage is distinct codes / num_codes.":
                distinct / flat.numel(),
            "you returned the fraction of dead codes, not of used codes.": 1 - want,
            "a code used exactly once counts as used (>= 1, not > 1).":
                float((counts > 1).sum()) / k,
            "torch.bincount without minlength has max(index) + 1 bins: divide by num_codes.":
                distinct / (int(flat.max()) + 1),
        })


_STATE = "codebook, cluster_size, embed_avg"


def _ema_oracle(codebook, cluster_size, embed_avg, z_flat, indices, decay, eps):
    """One EMA step in float64: codebook [K, D], cluster_size, embed_avg, slips -> codebook."""
    k = codebook.shape[0]
    onehot = F.one_hot(indices, k).double()  # [N, K]
    counts, sums = onehot.sum(0), onehot.t() @ z_flat.double()  # [K], [K, D]

    def step(old_weight, new_weight, batch_sums):
        cs = old_weight * cluster_size.double() + new_weight * counts  # [K]
        ea = old_weight * embed_avg.double() + new_weight * batch_sums  # [K, D]
        n = cs.sum()
        return cs, ea, (cs + eps) / (n + k * eps) * n  # smoothed counts [K]

    cs, ea, smoothed = step(decay, 1 - decay, sums)
    cs_swapped, ea_swapped, smoothed_swapped = step(1 - decay, decay, sums)
    mean = sums / counts.clamp_min(1).unsqueeze(1)  # [K, D]
    moved = codebook.double().clone()
    used = counts > 0
    moved[used] = decay * moved[used] + (1 - decay) * mean[used]
    _, ea_of_means, _ = step(decay, 1 - decay, mean)
    n = cs.sum()
    slips = {
        "decay is applied the wrong way round: cs = decay * cs + (1 - decay) * counts.":
            ea_swapped / smoothed_swapped.unsqueeze(1),
        "you moved each code towards the batch mean of its vectors: keep the running sums "
        "and set codebook = embed_avg / smoothed cluster_size.": moved,
        "you smoothed as cluster_size + eps: the Laplace smoothing is (cs + eps) / (n + K * "
        "eps) * n, n = cs.sum().": ea / (cs + eps).unsqueeze(1),
        "the smoothed count was not multiplied back by n: (cs + eps) / (n + K * eps) is a "
        "fraction.": ea / ((cs + eps) / (n + k * eps)).unsqueeze(1),
        "embed_avg should accumulate the SUM of the assigned vectors (onehot^T z_flat), not "
        "their mean.": ea_of_means / smoothed.unsqueeze(1),
    }
    return ea / smoothed.unsqueeze(1), cs, ea, slips


def _expect_state(out, k: int, d: int, names: str = _STATE):
    """A tuple (codebook [K, D], cluster_size [K], embed_avg [K, D], ...)."""
    out = expect_tuple(out, names)
    for value, name, shape in zip(out, names.split(", "), ((k, d), (k,), (k, d))):
        expect_tensor(value, shape, f"the new {name}")
    return out


def _ema_step(fn, decay: float, eps: float) -> None:
    """One step of a state with K=5, D=3, N=7 where code 3 is unused and has cluster_size 0."""
    g = torch.Generator().manual_seed(6)
    codebook = torch.randn(5, 3, generator=g)  # [K, D]
    cluster_size = torch.tensor([2.0, 0.5, 1.0, 0.0, 3.0])  # [K]
    embed_avg = codebook * cluster_size.unsqueeze(1) + 0.1 * torch.randn(5, 3, generator=g)
    embed_avg[3] = torch.tensor([0.4, -0.2, 0.3])  # stale sum of a code nobody picks now
    inputs = (codebook, cluster_size, embed_avg, torch.randn(7, 3, generator=g),  # z_flat [N, D]
              torch.tensor([0, 0, 1, 4, 4, 4, 2]))  # indices [N]
    k, d = codebook.shape
    kwargs = {"decay": decay, "eps": eps} if decay != 0.99 else {}
    out = attempt_pure(fn, *inputs, names=f"{_STATE}, z_flat, indices", **kwargs)
    cb, cs, ea = _expect_state(out, k, d)
    expect(torch.isfinite(cb).all(), "the codebook has inf or nan: an unused code (cluster_size "
           "0) divides by zero; the Laplace smoothing (cs + eps) / (n + K * eps) * n avoids it.")
    want_cb, want_cs, want_ea, slips = _ema_oracle(*inputs, decay, eps)
    reject_slips(cb.double(), slips, want=want_cb, tol=1e-4)
    expect(not torch.equal(cs, inputs[1]), "cluster_size came back unchanged: update the "
           "running counts too.")
    if decay != 0.99:
        reject_slips(cb.double(), {"you ignored the decay / eps arguments (used 0.99 and 1e-5 "
                                   "anyway).": _ema_oracle(*inputs, 0.99, 1e-5)[0]}, tol=1e-4)
    n = want_cs.sum()
    expect_close(cs, want_cs, f"cluster_size (decay={decay}): expected {rounded(want_cs)}, got "
                 f"{cs.tolist()}: decay * cs + (1 - decay) * counts.", {
                     "return the raw running count cluster_size, not the smoothed one.":
                     (want_cs + eps) / (n + k * eps) * n}, tol=1e-6)
    expect(close(ea, want_ea, 1e-5), f"embed_avg (decay={decay}) is off: it is decay * "
           "embed_avg + (1 - decay) * onehot^T z_flat.")
    expect(close(cb, want_cb, 1e-4), f"the codebook (decay={decay}, eps={eps}) is off: it is "
           "embed_avg divided by the smoothed count, row by row.")


@public_check("ema_codebook_update", reference=ref.ema_codebook_update)
def check_ema_codebook_update(fn) -> None:
    """A 5-code state with an unused, empty code; custom and default decay/eps; purity."""
    _ema_step(fn, 0.9, 1e-3)
    _ema_step(fn, 0.99, 1e-5)


def _revive(fn, state, threshold: float, seed: int = 0):
    """(codebook, cluster_size, embed_avg, int n_revived) for clones of `state`, seeded."""
    out = attempt_pure(fn, *[t.clone() for t in state], names=f"{_STATE}, z_flat",
                       threshold=threshold, generator=torch.Generator().manual_seed(seed))
    cb, cs, ea, n = _expect_state(out, *state[0].shape, names=f"{_STATE}, n_revived")
    expect(isinstance(n, int) or (isinstance(n, torch.Tensor) and n.numel() == 1),
           f"n_revived should be an int, got {type(n).__name__}.")
    return cb, cs, ea, int(n)


def _revive_three_of_seven(fn) -> tuple:
    """Threshold 1 kills codes 1, 3, 5 of 7 (not code 2, at 1.0): revival and the next step."""
    g = torch.Generator().manual_seed(11)
    codebook = torch.randn(7, 2, generator=g)  # [K, D]
    cluster_size = torch.tensor([4.0, 0.3, 1.0, 0.0, 2.5, 0.99, 3.0])  # [K]
    embed_avg = codebook * cluster_size.unsqueeze(1)  # [K, D]
    z_flat = torch.randn(40, 2, generator=g) + 3.0  # [N, D], far from the old codes
    state = codebook, cluster_size, embed_avg, z_flat
    cb, cs, ea, n = _revive(fn, state, 1.0)
    dead = cluster_size < 1.0  # [K]
    changed = ~(cb == codebook).all(dim=1)  # [K]
    expect(not changed[2], "code 2 has cluster_size exactly 1.0 = threshold and is alive: a code "
           "is dead when cluster_size < threshold (strictly).")
    dead_ids, moved_ids = dead.nonzero().flatten().tolist(), changed.nonzero().flatten().tolist()
    expect(not (changed & ~dead).any(), "you moved live codes: only codes with cluster_size "
           f"< threshold are dead (here {dead_ids}).")
    expect(changed[dead].all(), f"codes {dead_ids} are dead and should move; moved: {moved_ids}.")
    gap = (cb[dead].unsqueeze(1) - z_flat.unsqueeze(0)).abs().amax(dim=-1)  # [n_dead, N]
    expect(bool((gap.min(dim=1).values < 1e-6).all()), "a revived code should become a copy of "
           "one random row of z_flat (an output the encoder produces), not noise or an average.")
    expect(n == len(dead_ids), f"n_revived should count the revived codes ({len(dead_ids)} "
           f"here), got {n}.")
    live = ~dead
    expect(torch.equal(cs[live], cluster_size[live]) and torch.equal(ea[live], embed_avg[live]),
           "cluster_size and embed_avg of live codes must stay as they were.")
    batch = torch.randn(12, cb.shape[1], generator=torch.Generator().manual_seed(2)) + 3.0
    live_ids = (~dead).nonzero().flatten()
    idx = live_ids[torch.arange(12) % live_ids.numel()]  # [N], no vector for a revived code
    after = _ema_oracle(cb, cs, ea, batch, idx, 0.99, 1e-5)[0]
    drift = float((after[dead] - cb[dead]).norm(dim=1).max())
    expect(drift < 1e-3, f"one EMA step after revival dragged a revived code {drift:.3g} away "
           "from its new row r: set its cluster_size to the threshold t, its embed_avg to r * t.")
    expect(close(cs[dead], torch.full((len(dead_ids),), 1.0)),
           "reset the cluster_size of each revived code to the threshold.")
    expect(close(ea[dead], cb[dead] * 1.0),
           "reset the embed_avg of each revived code to its new row r times the threshold.")
    return state


@public_check("revive_dead_codes", reference=ref.revive_dead_codes)
def check_revive_dead_codes(fn) -> None:
    """Dead codes only, purity, the next EMA step, thresholds, many dead codes, the generator."""
    codebook, cluster_size, embed_avg, z_flat = _revive_three_of_seven(fn)
    cb, cs, ea, n = _revive(fn, (codebook, cluster_size, embed_avg, z_flat), 2.6)
    expect(n == 5 and close(cs[1:6], torch.full((5,), 2.6)), "with threshold=2.6, codes 1-5 "
           "are dead and their cluster_size becomes 2.6: use the threshold argument.")
    expect(close(ea[1:6], cb[1:6] * 2.6), "embed_avg of a revived code is r * threshold.")
    cb, _, _, n = _revive(fn, (codebook, cluster_size + 5.0, embed_avg, z_flat), 1.0)
    expect(n == 0 and torch.equal(cb, codebook),
           "with no dead code, nothing should change and n_revived should be 0.")
    many = (torch.randn(10, 4, generator=torch.Generator().manual_seed(4)),  # 8 dead of 10
            torch.tensor([5.0] + [0.0] * 8 + [5.0]),
            torch.randn(10, 4, generator=torch.Generator().manual_seed(5)),
            torch.randn(64, 4, generator=torch.Generator().manual_seed(6)))
    first, second = _revive(fn, many, 1.0, seed=3), _revive(fn, many, 1.0, seed=3)
    expect(not (first[0][1:9] == first[0][1]).all(), "every dead code received the same row "
           "of z_flat: draw one random row per dead code (torch.randint(0, N, (n_dead,), ...)).")
    expect(torch.equal(first[0], second[0]), "two calls with identically seeded generators "
           "gave different codes: pass `generator=generator` to torch.randint / randperm.")
