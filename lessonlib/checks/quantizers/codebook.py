"""Public checks for codebook health and maintenance (lessonlib.quantizers.codebook).

codebook_perplexity, codebook_usage, ema_codebook_update, revive_dead_codes. Each probe runs
the learner's function on a tiny hand-made case, compares it with the classic slips
(computed here on the same inputs) to name the mistake, then with an oracle.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from lessonlib.checks.core import (
    attempt,
    close,
    expect,
    expect_tensor,
    public_check,
    reject_slips,
)
from lessonlib.core.information import entropy
from lessonlib.quantizers import codebook as ref

# ---------------------------------------------------------------- perplexity


def _perplexity_slips(counts: torch.Tensor, k: int) -> dict:
    """What each classic slip gives for per-code counts [K]: message -> number."""
    p = counts / counts.sum()  # [K]
    h = entropy(p)
    return {
        "you returned the entropy itself: perplexity is exp(entropy).": h,
        "you took log2 and then exp: use the natural log with exp (or log2 with 2 ** H).":
            torch.exp(h / math.log(2)),
        "you returned the entropy in bits (log2) without exponentiating: perplexity is "
        "exp(entropy).": h / math.log(2),
        "the entropy has the wrong sign: H = -sum p log p (you got 1 / perplexity).":
            torch.exp(-h),
        "you used raw counts in the entropy: turn them into frequencies p = counts / "
        "counts.sum().": torch.exp(entropy(counts)),
        "you divided the counts by the number of codes K: frequencies are counts / (number "
        "of tokens).": torch.exp(entropy(counts / k)),
        "you averaged p log p over the codes: the entropy is a sum over codes.":
            torch.exp(h / k),
        "you counted the distinct codes: perplexity weighs each code by its frequency (it "
        "equals the count only when the used codes are equally frequent).":
            (counts > 0).sum().double(),
    }


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
        expect(isinstance(got, torch.Tensor),
               f"return a torch.Tensor (e.g. torch.exp(entropy)), got {type(got).__name__}.")
        expect(got.numel() == 1, f"return one number (a 0-dim tensor), got shape "
               f"{list(got.shape)}.")
        value = float(got)
        expect(not math.isnan(value), "nan: unused codes have p = 0 and 0 * log 0 is nan in "
               "floating point; keep only p > 0 (or add a tiny constant inside the log).")
        expect(math.isfinite(value), f"got {value}: the perplexity is between 1 and K.")
        counts = torch.bincount(indices.reshape(-1), minlength=k).double()  # [K]
        want = float(entropy(counts / counts.sum()).exp())
        reject_slips(value, _perplexity_slips(counts, k), want=want, tol=1e-4)
        expect(close(value, want, 1e-4),
               f"indices {indices.reshape(-1).tolist()} with K={k}: expected perplexity "
               f"{want:.4f}, got {value:.4f}.")


# ---------------------------------------------------------------- usage

_USAGE_CASES = [(torch.tensor([[0, 0, 0, 1, 2], [4, 4, 4, 4, 0]]), 16),
                (torch.tensor([[[3, 3], [3, 3]]]), 4),
                (torch.tensor([0, 1, 2, 3, 5, 6, 7, 7]), 8)]


@public_check("codebook_usage", reference=ref.codebook_usage)
def check_codebook_usage(fn) -> None:
    """Distinct codes over K as a float, on [B, N] and [B, H, W] indices."""
    for indices, k in _USAGE_CASES:
        got = attempt(fn, indices.clone(), k)
        expect(not isinstance(got, torch.Tensor),
               "return a Python float: wrap the result in float(...) (or use .item()).")
        expect(isinstance(got, (float, int)) and not isinstance(got, bool),
               f"return a float, got {type(got).__name__}.")
        flat = indices.reshape(-1)
        counts = torch.bincount(flat, minlength=k)  # [K]
        distinct = int((counts > 0).sum())
        want = distinct / k
        reject_slips(float(got), {
            "you returned the number of used codes: divide by num_codes to get a fraction.":
                float(distinct),
            "you counted occurrences (tokens), not distinct codes: a code used ten times "
            "counts once.": flat.numel() / k,
            "you divided by the number of tokens: usage is distinct codes / num_codes.":
                distinct / flat.numel(),
            "you returned the fraction of dead codes: usage is the fraction of codes used.":
                1 - want,
            "a code used exactly once counts as used (>= 1, not > 1).":
                float((counts > 1).sum()) / k,
            "torch.bincount without minlength=num_codes has only max(index) + 1 bins: divide "
            "by num_codes.": distinct / (int(flat.max()) + 1),
        }, want=want)
        expect(close(float(got), want), f"indices {flat.tolist()} with K={k}: expected "
               f"{want}, got {float(got)}.")


# ---------------------------------------------------------------- EMA update


def _ema_case():
    """A tiny state: K=5, D=3, N=7; code 3 is unused and has cluster_size 0."""
    g = torch.Generator().manual_seed(6)
    codebook = torch.randn(5, 3, generator=g)  # [K, D]
    cluster_size = torch.tensor([2.0, 0.5, 1.0, 0.0, 3.0])  # [K]
    embed_avg = codebook * cluster_size.unsqueeze(1) + 0.1 * torch.randn(5, 3, generator=g)
    embed_avg[3] = torch.tensor([0.4, -0.2, 0.3])  # stale sum of a code nobody picks now
    z_flat = torch.randn(7, 3, generator=g)  # [N, D]
    indices = torch.tensor([0, 0, 1, 4, 4, 4, 2])  # [N]
    return codebook, cluster_size, embed_avg, z_flat, indices


def _ema_oracle(codebook, cluster_size, embed_avg, z_flat, indices, decay, eps):
    """One EMA step written with a one-hot matrix, in float64, and the classic slips.

    Returns (codebook [K, D], cluster_size [K], embed_avg [K, D], slips: message -> codebook).
    """
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
        "decay is applied the wrong way round: the old value keeps the weight decay "
        "(cs = decay * cs + (1 - decay) * counts), the new batch gets 1 - decay.":
            ea_swapped / smoothed_swapped.unsqueeze(1),
        "you moved each code towards the batch mean of its vectors: this exercise keeps "
        "running sums (cluster_size, embed_avg) and sets codebook = embed_avg / smoothed "
        "cluster_size.": moved,
        "you smoothed as cluster_size + eps: the Laplace smoothing asked for is "
        "(cs + eps) / (n + K * eps) * n with n = cs.sum().": ea / (cs + eps).unsqueeze(1),
        "the smoothed count was not multiplied back by n: (cs + eps) / (n + K * eps) is a "
        "fraction; times n it is a count again.":
            ea / ((cs + eps) / (n + k * eps)).unsqueeze(1),
        "embed_avg should accumulate the SUM of the assigned vectors (onehot^T z_flat), not "
        "their mean.": ea_of_means / smoothed.unsqueeze(1),
    }
    return ea / smoothed.unsqueeze(1), cs, ea, slips


def _expect_pure(inputs, copies, names, what: str) -> None:
    """The learner's call left its input tensors exactly as they were."""
    for name, before, now in zip(names, copies, inputs):
        expect(torch.equal(before, now),
               f"{what} modified its input `{name}` in place (mul_, add_, copy_, x[k] = ...): "
               "the function must be pure; clone the tensors first, or build new ones "
               "(x = decay * x + ...).")


def _expect_state(out, k: int, d: int, extra: tuple[str, ...] = ()):
    """A tuple (codebook [K, D], cluster_size [K], embed_avg [K, D], *extra)."""
    names = ("codebook", "cluster_size", "embed_avg", *extra)
    expect(isinstance(out, (tuple, list)) and len(out) == len(names),
           f"return a tuple ({', '.join(names)}).")
    for value, name, shape in zip(out, names, ((k, d), (k,), (k, d))):
        expect_tensor(value, shape, f"the new {name}")
    return out


def _ema_step(fn, decay: float, eps: float) -> None:
    """One step of a 5-code state with an unused, empty code, at the given decay and eps."""
    inputs = _ema_case()
    copies = [t.clone() for t in inputs]
    k, d = inputs[0].shape
    kwargs = {"decay": decay, "eps": eps} if decay != 0.99 else {}
    out = attempt(fn, *inputs, **kwargs)
    _expect_pure(inputs, copies, ("codebook", "cluster_size", "embed_avg", "z_flat", "indices"),
                 "ema_codebook_update")
    cb, cs, ea = _expect_state(out, k, d)
    expect(torch.isfinite(cb).all(),
           "the codebook has inf or nan: an unused code with cluster_size 0 divides by "
           "zero. That is what the Laplace smoothing (cs + eps) / (n + K * eps) * n is for.")
    want_cb, want_cs, want_ea, slips = _ema_oracle(*copies, decay, eps)
    reject_slips(cb.double(), slips, want=want_cb, tol=1e-4)
    expect(not torch.equal(cs, copies[1]),
           "cluster_size came back unchanged: update the running counts too "
           "(cs = decay * cs + (1 - decay) * counts).")
    if decay != 0.99:
        reject_slips(cb.double(), {"you ignored the decay / eps arguments (used 0.99 and 1e-5 "
                                   "anyway).": _ema_oracle(*copies, 0.99, 1e-5)[0]}, tol=1e-4)
    n = want_cs.sum()
    reject_slips(cs, {"return the raw running count cluster_size, not the smoothed one.":
                      (want_cs + eps) / (n + k * eps) * n}, want=want_cs, tol=1e-6)
    expect(close(cs, want_cs, 1e-5),
           f"cluster_size (decay={decay}): expected {[round(v, 4) for v in want_cs.tolist()]}, "
           f"got {cs.tolist()}; it is decay * cs + (1 - decay) * (number of vectors assigned "
           "to each code).")
    expect(close(ea, want_ea, 1e-5),
           f"embed_avg (decay={decay}) is off: it is decay * embed_avg + (1 - decay) * "
           "onehot^T z_flat, the running sum of the assigned vectors.")
    expect(close(cb, want_cb, 1e-4),
           f"the codebook (decay={decay}, eps={eps}) is off: it is embed_avg divided by "
           "the smoothed count (cs + eps) / (n + K * eps) * n, row by row.")


@public_check("ema_codebook_update", reference=ref.ema_codebook_update)
def check_ema_codebook_update(fn) -> None:
    """A 5-code state with an unused, empty code; custom and default decay/eps; purity."""
    _ema_step(fn, 0.9, 1e-3)
    _ema_step(fn, 0.99, 1e-5)


# ---------------------------------------------------------------- dead-code revival


def _revive_case():
    """K=7 codes in D=2 (dead at threshold 1: codes 1, 3, 5; code 2 sits exactly at 1.0)
    and 40 encoder outputs far from the old codes."""
    g = torch.Generator().manual_seed(11)
    codebook = torch.randn(7, 2, generator=g)  # [K, D]
    cluster_size = torch.tensor([4.0, 0.3, 1.0, 0.0, 2.5, 0.99, 3.0])  # [K]
    embed_avg = codebook * cluster_size.unsqueeze(1)  # [K, D]
    z_flat = torch.randn(40, 2, generator=g) + 3.0  # [N, D]
    return codebook, cluster_size, embed_avg, z_flat


def _revive_outputs(out, k: int, d: int):
    """(codebook, cluster_size, embed_avg, n_revived) with n_revived an int."""
    cb, cs, ea, n = _expect_state(out, k, d, extra=("n_revived",))
    expect(isinstance(n, int) or (isinstance(n, torch.Tensor) and n.numel() == 1),
           f"n_revived should be an int, got {type(n).__name__}.")
    return cb, cs, ea, int(n)


def _revive(fn, state, threshold: float, seed: int = 0):
    """revive_dead_codes on clones of `state`, with a generator seeded with `seed`."""
    out = attempt(fn, *[t.clone() for t in state], threshold=threshold,
                  generator=torch.Generator().manual_seed(seed))
    return _revive_outputs(out, *state[0].shape)


def _is_row_of(rows: torch.Tensor, z_flat: torch.Tensor) -> bool:
    gap = (rows.unsqueeze(1) - z_flat.unsqueeze(0)).abs().amax(dim=-1)  # [n, N]
    return bool((gap.min(dim=1).values < 1e-6).all())


def _revive_three_of_seven(fn) -> None:
    """Exactly the codes under the threshold move, each onto a row of z_flat; the inputs,
    and the statistics of live codes, stay as they were."""
    inputs = _revive_case()
    copies = [t.clone() for t in inputs]
    out = attempt(fn, *inputs, threshold=1.0, generator=torch.Generator().manual_seed(0))
    _expect_pure(inputs, copies, ("codebook", "cluster_size", "embed_avg", "z_flat"),
                 "revive_dead_codes")
    cb, cs, ea, n = _revive_outputs(out, *inputs[0].shape)
    codebook, cluster_size, embed_avg, z_flat = copies
    dead = cluster_size < 1.0  # [K]
    changed = ~(cb == codebook).all(dim=1)  # [K]
    expect(not changed[2], "code 2 has cluster_size exactly 1.0 = threshold and is alive: a code "
           "is dead when cluster_size < threshold (strictly).")
    expect(not (changed & ~dead).any(),
           "you moved live codes: only codes with cluster_size < threshold are dead "
           f"(here codes {dead.nonzero().flatten().tolist()}); leave the others untouched.")
    expect(changed[dead].all(),
           f"codes {dead.nonzero().flatten().tolist()} have cluster_size < threshold and should "
           f"have moved; moved: {changed.nonzero().flatten().tolist()}.")
    expect(_is_row_of(cb[dead], z_flat),
           "a revived code should become a copy of one random row of z_flat (an encoder "
           "output the model really produces), not noise or an average.")
    expect(n == int(dead.sum()), f"n_revived should count the revived codes "
           f"({int(dead.sum())} here), got {n}.")
    expect(torch.equal(cs[~dead], cluster_size[~dead]) and torch.equal(ea[~dead],
                                                                       embed_avg[~dead]),
           "cluster_size and embed_avg of live codes must stay as they were.")
    _revive_then_ema(cb, cs, ea, dead)


def _revive_then_ema(cb, cs, ea, dead) -> None:
    """The next EMA step, with no vector assigned to a revived code, leaves it in place."""
    batch = torch.randn(12, cb.shape[1], generator=torch.Generator().manual_seed(2)) + 3.0
    live_ids = (~dead).nonzero().flatten()
    idx = live_ids[torch.arange(12) % live_ids.numel()]  # [N]
    after = _ema_oracle(cb, cs, ea, batch, idx, 0.99, 1e-5)[0]
    drift = float((after[dead] - cb[dead]).norm(dim=1).max())
    expect(drift < 1e-3,
           f"one EMA step after revival dragged a revived code {drift:.3g} away from its new "
           "position: set its cluster_size to threshold and its embed_avg to r * threshold, "
           "so that embed_avg / cluster_size = r.")
    expect(close(cs[dead], torch.full((int(dead.sum()),), 1.0)),
           "reset the cluster_size of each revived code to the threshold.")
    expect(close(ea[dead], cb[dead] * 1.0),
           "reset the embed_avg of each revived code to its new row r times the threshold.")


def _revive_thresholds(fn) -> None:
    """threshold=2.6 kills codes 1-5; a healthy codebook (nothing dead) comes back unchanged."""
    codebook, cluster_size, embed_avg, z_flat = _revive_case()
    cb, cs, ea, n = _revive(fn, (codebook, cluster_size, embed_avg, z_flat), 2.6)
    expect(n == 5 and close(cs[1:6], torch.full((5,), 2.6)),
           "with threshold=2.6, codes 1-5 are dead and their cluster_size becomes 2.6: use the "
           "threshold argument.")
    expect(close(ea[1:6], cb[1:6] * 2.6), "embed_avg of a revived code is r * threshold.")
    cb, _, _, n = _revive(fn, (codebook, cluster_size + 5.0, embed_avg, z_flat), 1.0)
    expect(n == 0 and torch.equal(cb, codebook),
           "with no dead code, nothing should change and n_revived should be 0.")


def _revive_many(fn) -> None:
    """Eight dead codes of ten: each gets its own random row, repeatably under a seed."""
    many = (torch.randn(10, 4, generator=torch.Generator().manual_seed(4)),
            torch.tensor([5.0] + [0.0] * 8 + [5.0]),
            torch.randn(10, 4, generator=torch.Generator().manual_seed(5)),
            torch.randn(64, 4, generator=torch.Generator().manual_seed(6)))
    first, second = _revive(fn, many, 1.0, seed=3), _revive(fn, many, 1.0, seed=3)
    rows = first[0][1:9]  # [8, D]
    expect(not (rows == rows[0]).all(),
           "every dead code received the same row of z_flat: draw one random row per dead "
           "code (torch.randint(0, N, (n_dead,), generator=generator)).")
    expect(torch.equal(first[0], second[0]),
           "two calls with identically seeded generators gave different codes: pass "
           "`generator=generator` to torch.randint / torch.randperm.")


@public_check("revive_dead_codes", reference=ref.revive_dead_codes)
def check_revive_dead_codes(fn) -> None:
    """Three dead codes of seven (one at exactly the threshold stays alive), purity, the next
    EMA step, a custom threshold, nothing dead, many dead codes, and the generator."""
    _revive_three_of_seven(fn)
    _revive_thresholds(fn)
    _revive_many(fn)
