"""Public checks for codebook health and maintenance (lessonlib.quantizers.codebook).

codebook_perplexity, codebook_usage, ema_codebook_update, revive_dead_codes. Each probe runs
the learner's function on a tiny hand-made case, compares it with the classic slips
(computed here on the same inputs) to name the mistake, then with lessonlib's reference.
"""

from __future__ import annotations

import math

import torch

from lessonlib.checks.core import attempt, close, expect, expect_tensor, public_check
from lessonlib.quantizers import codebook as ref

# ---------------------------------------------------------------- perplexity


def _freqs(indices: torch.Tensor, k: int) -> torch.Tensor:
    counts = torch.bincount(indices.reshape(-1), minlength=k).double()  # [K]
    return counts / counts.sum()


def _plogp(p: torch.Tensor) -> torch.Tensor:
    """p log p with 0 log 0 = 0 (elementwise)."""
    return torch.where(p > 0, p * p.clamp_min(1e-300).log(), torch.zeros_like(p))


_PERPLEXITY_SLIPS = {
    "you returned the entropy itself: perplexity is exp(entropy)":
        lambda p, c, k: -_plogp(p).sum(),
    "you took log2 and then exp: use the natural log with exp (or log2 with 2 ** H)":
        lambda p, c, k: torch.exp(-_plogp(p).sum() / math.log(2)),
    "you returned the entropy in bits (log2) without exponentiating: perplexity is "
    "exp(entropy)":
        lambda p, c, k: -_plogp(p).sum() / math.log(2),
    "the entropy has the wrong sign: H = -sum p log p (you got 1 / perplexity)":
        lambda p, c, k: torch.exp(_plogp(p).sum()),
    "you used raw counts in the entropy: turn them into frequencies p = counts / counts.sum()":
        lambda p, c, k: torch.exp(-_plogp(c).sum()),
    "you divided the counts by the number of codes K: frequencies are counts / (number of "
    "tokens)":
        lambda p, c, k: torch.exp(-_plogp(c / k).sum()),
    "you averaged p log p over the codes: the entropy is a sum over codes":
        lambda p, c, k: torch.exp(-_plogp(p).mean()),
    "you counted the distinct codes: perplexity weighs each code by its frequency (it equals "
    "the count only when the used codes are equally frequent)":
        lambda p, c, k: (c > 0).sum().double(),
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
        p = counts / counts.sum()
        want = float(ref.codebook_perplexity(indices, k))
        for slip, formula in _PERPLEXITY_SLIPS.items():
            wrong = float(formula(p, counts, k))
            if not close(wrong, want, 1e-4):
                expect(not close(value, wrong, 1e-4), slip + ".")
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
        got = float(got)
        flat = indices.reshape(-1)
        counts = torch.bincount(flat, minlength=k)  # [K]
        distinct = int((counts > 0).sum())
        want = distinct / k
        slips = {
            "you returned the number of used codes: divide by num_codes to get a fraction":
                float(distinct),
            "you counted occurrences (tokens), not distinct codes: a code used ten times "
            "counts once": flat.numel() / k,
            "you divided by the number of tokens: usage is distinct codes / num_codes":
                distinct / flat.numel(),
            "you returned the fraction of dead codes: usage is the fraction of codes used":
                1 - want,
            "a code used exactly once counts as used (>= 1, not > 1)":
                float((counts > 1).sum()) / k,
            "torch.bincount without minlength=num_codes has only max(index) + 1 bins: divide "
            "by num_codes": distinct / (int(flat.max()) + 1),
        }
        for slip, wrong in slips.items():
            if not close(wrong, want):
                expect(not close(got, wrong), slip + ".")
        expect(close(got, want), f"indices {flat.tolist()} with K={k}: expected {want}, "
               f"got {got}.")


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


def _ema_slips(codebook, cluster_size, embed_avg, z_flat, indices, decay, eps):
    """Codebooks produced by the classic mistakes: message -> [K, D]."""
    k = codebook.shape[0]
    onehot = torch.nn.functional.one_hot(indices, k).double()  # [N, K]
    counts = onehot.sum(0)  # [K]
    sums = onehot.t() @ z_flat.double()  # [K, D]
    cs = decay * cluster_size.double() + (1 - decay) * counts  # [K]
    ea = decay * embed_avg.double() + (1 - decay) * sums  # [K, D]
    n = cs.sum()
    smoothed = (cs + eps) / (n + k * eps) * n
    cs_swapped = (1 - decay) * cluster_size.double() + decay * counts
    ea_swapped = (1 - decay) * embed_avg.double() + decay * sums
    n_sw = cs_swapped.sum()
    mean = sums / counts.clamp_min(1).unsqueeze(1)  # [K, D]
    seed_loop = codebook.double().clone()
    used = counts > 0
    seed_loop[used] = decay * seed_loop[used] + (1 - decay) * mean[used]
    ea_mean = decay * embed_avg.double() + (1 - decay) * mean
    return {
        "decay is applied the wrong way round: the old value keeps the weight decay "
        "(cs = decay * cs + (1 - decay) * counts), the new batch gets 1 - decay":
            ea_swapped / ((cs_swapped + eps) / (n_sw + k * eps) * n_sw).unsqueeze(1),
        "you moved each code towards the batch mean of its vectors, like the seed's loop: the "
        "contract keeps running sums (cluster_size, embed_avg) and sets codebook = "
        "embed_avg / smoothed cluster_size": seed_loop,
        "you smoothed as cluster_size + eps: the contract's Laplace smoothing is "
        "(cs + eps) / (n + K * eps) * n with n = cs.sum()": ea / (cs + eps).unsqueeze(1),
        "the smoothed count was not multiplied back by n: (cs + eps) / (n + K * eps) is a "
        "fraction; times n it is a count again": ea / ((cs + eps) / (n + k * eps)).unsqueeze(1),
        "embed_avg should accumulate the SUM of the assigned vectors (onehot^T z_flat), not "
        "their mean": ea_mean / smoothed.unsqueeze(1),
    }


def _expect_pure(inputs, copies, what: str) -> None:
    for name, before, now in zip(("codebook", "cluster_size", "embed_avg", "z_flat",
                                  "indices"), copies, inputs):
        expect(torch.equal(before, now),
               f"{what} modified its input `{name}` in place (mul_, add_, copy_, x[k] = ...): "
               "the function must be pure; build new tensors (x = decay * x + ...) or clone "
               "first.")


def _ema_outputs(out, k: int, d: int):
    expect(isinstance(out, (tuple, list)) and len(out) == 3,
           "return a tuple (codebook, cluster_size, embed_avg).")
    cb, cs, ea = out
    expect_tensor(cb, (k, d), "the new codebook")
    expect_tensor(cs, (k,), "the new cluster_size")
    expect_tensor(ea, (k, d), "the new embed_avg")
    return cb, cs, ea


@public_check("ema_codebook_update", reference=ref.ema_codebook_update)
def check_ema_codebook_update(fn) -> None:
    """A 5-code state with an unused, empty code; default and custom decay/eps; purity."""
    inputs = _ema_case()
    copies = [t.clone() for t in inputs]
    k, d = inputs[0].shape
    for decay, eps in ((0.9, 1e-3), (0.99, 1e-5)):
        kwargs = {"decay": decay, "eps": eps} if decay != 0.99 else {}
        out = attempt(fn, *inputs, **kwargs)
        _expect_pure(inputs, copies, "ema_codebook_update")
        cb, cs, ea = _ema_outputs(out, k, d)
        expect(torch.isfinite(cb).all(),
               "the codebook has inf or nan: an unused code with cluster_size 0 divides by "
               "zero. That is what the Laplace smoothing (cs + eps) / (n + K * eps) * n is "
               "for.")
        want_cb, want_cs, want_ea = ref.ema_codebook_update(*copies, decay=decay, eps=eps)
        for slip, wrong in _ema_slips(*copies, decay, eps).items():
            if not close(wrong, want_cb.double(), 1e-4):
                expect(not close(cb.double(), wrong, 1e-4), slip + ".")
        expect(not torch.equal(cs, copies[1]),
               "cluster_size came back unchanged: update the running counts too "
               "(cs = decay * cs + (1 - decay) * counts).")
        if decay != 0.99:
            default = ref.ema_codebook_update(*copies)
            expect(not close(cb, default[0], 1e-4),
                   "you ignored the decay / eps arguments (used 0.99 and 1e-5 anyway).")
        n_total = want_cs.sum()
        smoothed = (want_cs + eps) / (n_total + k * eps) * n_total  # [K]
        expect(not (close(cs, smoothed, 1e-6) and not close(cs, want_cs, 1e-6)),
               "return the raw running count cluster_size, not the smoothed one.")
        expect(close(cs, want_cs, 1e-5),
               f"cluster_size (decay={decay}): expected {want_cs.tolist()}, got {cs.tolist()}; "
               "it is decay * cs + (1 - decay) * (number of vectors assigned to each code).")
        expect(close(ea, want_ea, 1e-5),
               f"embed_avg (decay={decay}) is off: it is decay * embed_avg + (1 - decay) * "
               "onehot^T z_flat, the running sum of the assigned vectors.")
        expect(close(cb, want_cb, 1e-4),
               f"the codebook (decay={decay}, eps={eps}) is off: it is embed_avg divided by "
               "the smoothed count (cs + eps) / (n + K * eps) * n, row by row.")


# ---------------------------------------------------------------- dead-code revival


def _revive_case():
    g = torch.Generator().manual_seed(11)
    codebook = torch.randn(7, 2, generator=g)  # [K, D]
    cluster_size = torch.tensor([4.0, 0.3, 1.0, 0.0, 2.5, 0.99, 3.0])  # [K]; dead: 1, 3, 5
    embed_avg = codebook * cluster_size.unsqueeze(1)  # [K, D]
    z_flat = torch.randn(40, 2, generator=g) + 3.0  # [N, D] far from the old codes
    return codebook, cluster_size, embed_avg, z_flat


def _revive_outputs(out, k: int, d: int):
    expect(isinstance(out, (tuple, list)) and len(out) == 4,
           "return a tuple (codebook, cluster_size, embed_avg, n_revived).")
    cb, cs, ea, n = out
    expect_tensor(cb, (k, d), "the new codebook")
    expect_tensor(cs, (k,), "the new cluster_size")
    expect_tensor(ea, (k, d), "the new embed_avg")
    expect(isinstance(n, int) or (isinstance(n, torch.Tensor) and n.numel() == 1),
           f"n_revived should be an int, got {type(n).__name__}.")
    return cb, cs, ea, int(n)


def _is_row_of(rows: torch.Tensor, z_flat: torch.Tensor) -> bool:
    gap = (rows.unsqueeze(1) - z_flat.unsqueeze(0)).abs().amax(dim=-1)  # [n, N]
    return bool((gap.min(dim=1).values < 1e-6).all())


@public_check("revive_dead_codes", reference=ref.revive_dead_codes)
def check_revive_dead_codes(fn) -> None:
    """Three dead codes of seven (one at exactly the threshold stays alive), purity, the next
    EMA step, a custom threshold, many dead codes, and the generator."""
    inputs = _revive_case()
    copies = [t.clone() for t in inputs]
    k, d = inputs[0].shape
    out = attempt(fn, *inputs, threshold=1.0, generator=torch.Generator().manual_seed(0))
    for name, before, now in zip(("codebook", "cluster_size", "embed_avg", "z_flat"),
                                 copies, inputs):
        expect(torch.equal(before, now),
               f"revive_dead_codes modified its input `{name}` in place: the function must be "
               "pure; clone the tensors first, then write the revived rows into the clones.")
    cb, cs, ea, n = _revive_outputs(out, k, d)
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
    # The next EMA step, with no vector assigned to the revived codes, must leave them in place.
    batch = torch.randn(12, d, generator=torch.Generator().manual_seed(2)) + 3.0  # [N, D]
    live_ids = (~dead).nonzero().flatten()
    idx = live_ids[torch.arange(12) % live_ids.numel()]  # [N]
    after, _, _ = ref.ema_codebook_update(cb, cs, ea, batch, idx)
    drift = float((after[dead] - cb[dead]).norm(dim=1).max())
    expect(drift < 1e-3,
           f"one EMA step after revival dragged a revived code {drift:.3g} away from its new "
           "position: set its cluster_size to threshold and its embed_avg to r * threshold, "
           "so that embed_avg / cluster_size = r.")
    expect(close(cs[dead], torch.full((int(dead.sum()),), 1.0)),
           "reset the cluster_size of each revived code to the threshold.")
    expect(close(ea[dead], cb[dead] * 1.0),
           "reset the embed_avg of each revived code to its new row r times the threshold.")

    # A custom threshold: codes 1, 2, 3, 4 and 5 are below 2.6.
    out = attempt(fn, *[t.clone() for t in copies], threshold=2.6,
                  generator=torch.Generator().manual_seed(0))
    cb2, cs2, ea2, n2 = _revive_outputs(out, k, d)
    expect(n2 == 5 and close(cs2[1:6], torch.full((5,), 2.6)),
           "with threshold=2.6, codes 1-5 are dead and their cluster_size becomes 2.6: use the "
           "threshold argument.")
    expect(close(ea2[1:6], cb2[1:6] * 2.6), "embed_avg of a revived code is r * threshold.")

    # Nothing dead: nothing changes.
    healthy = cluster_size + 5.0
    out = attempt(fn, codebook.clone(), healthy, embed_avg.clone(), z_flat.clone(), threshold=1.0,
                  generator=torch.Generator().manual_seed(0))
    cb3, _, _, n3 = _revive_outputs(out, k, d)
    expect(n3 == 0 and torch.equal(cb3, codebook),
           "with no dead code, nothing should change and n_revived should be 0.")

    # Many dead codes: each should get its own random row; the generator makes it repeatable.
    many = (torch.randn(10, 4, generator=torch.Generator().manual_seed(4)),
            torch.tensor([5.0] + [0.0] * 8 + [5.0]),
            torch.randn(10, 4, generator=torch.Generator().manual_seed(5)),
            torch.randn(64, 4, generator=torch.Generator().manual_seed(6)))
    first = _revive_outputs(attempt(fn, *[t.clone() for t in many], threshold=1.0,
                                    generator=torch.Generator().manual_seed(3)), 10, 4)
    second = _revive_outputs(attempt(fn, *[t.clone() for t in many], threshold=1.0,
                                     generator=torch.Generator().manual_seed(3)), 10, 4)
    rows = first[0][1:9]  # [8, D]
    expect(not (rows == rows[0]).all(),
           "every dead code received the same row of z_flat: draw one random row per dead "
           "code (torch.randint(0, N, (n_dead,), generator=generator)).")
    expect(torch.equal(first[0], second[0]),
           "two calls with identically seeded generators gave different codes: pass "
           "`generator=generator` to torch.randint / torch.randperm.")
