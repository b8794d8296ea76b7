# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Chapter 6 · Codebook learning: EMA, dead codes, perplexity, collapse
#
# **You will:** measure how much of a codebook a VQ-VAE really uses (usage and perplexity),
# write the EMA codebook update that production VQ-VAEs use instead of a codebook loss,
# write dead-code revival, and then train four tokenizers on real MNIST digits with a
# 512-entry codebook: one with the gradient codebook of chapter 5, two with EMA (started
# with empty counts, and started on real data as practitioners do), one with EMA plus
# revival. You will measure which of them collapse, and find out why.

# %%
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from IPython.display import display

from lessonlib.checks import check_choice
from lessonlib.checks.quantizers import (
    check_codebook_perplexity,
    check_codebook_usage,
    check_ema_codebook_update,
    check_revive_dead_codes,
)
from lessonlib.core import is_fast, minibatches, pick, psnr, record, seed_everything
from lessonlib.data import load_mnist
from lessonlib.quantizers import (
    EMAVectorQuantizer,
    VectorQuantizer,
    codebook_from_data,
    nearest_code,
    to_rows,
)
from lessonlib.quantizers.codebook import ema_codebook_update as ema_update_scatter
from lessonlib.tokenizers import QuantizedAutoencoder, reconstruct, tokens_of, train_tokenizer
from lessonlib.views import Choice, IntSlider, Toggle, interactive, show_grid
from lessonlib.views.codebook_usage import render_codebook_usage
from lessonlib.views.usage_plots import code_counts, usage_histogram

CHAPTER = "ch06_codebook_learning"

# %% tags=["parameters"]
FAST = False  # papermill sets True in CI; nbgrader grading forces it too

# %%
FAST = is_fast(FAST)
seed_everything(0)
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## 1. Codebook collapse
#
# A VQ-VAE (chapter 5) replaces each encoder output $z_e$ by its nearest entry of a
# codebook $\{e_1, \dots, e_K\}$. The codebook is only worth its size if the encoder
# actually *uses* its entries. The common failure is **codebook collapse**: the encoder
# sends almost everything to a handful of entries, and the rest are never selected; they
# are **dead codes**. A codebook of 8,192 entries of which 12 are used is, in effect, a
# codebook of 12 entries: each token carries at most $\log_2 12 \approx 3.6$ bits
# instead of $\log_2 8192 = 13$.
#
# Why does it happen? With the gradient codebook of chapter 5, the codebook loss
# $\lVert \mathrm{sg}[z_e] - e_k \rVert^2$ only reaches the code $e_k$ that *won* the
# nearest-neighbour contest. A code that is never nearest to any encoder output receives
# no gradient at all. It stays where it was initialised, while the live codes and the
# encoder outputs move together elsewhere: the rich get richer and the dead stay dead.
#
# This chapter is about the cures, and about how to **measure** the disease. A rule of
# thumb from practice: usage above 90% is healthy; below 50% means half the capacity is
# wasted. Watch it during training, not only at the end.

# %% [markdown]
# ## 2. Build it: usage and perplexity
#
# Two numbers summarise how a codebook is used, computed from the token indices the
# encoder produced on real data (a tensor of any shape, for example `[B, H, W]`):
#
# * **usage**: the fraction of the $K$ codes used at least once;
# * **perplexity**: $\exp(H)$, where $H = -\sum_k p_k \log p_k$ is the entropy of the
#   usage frequencies $p_k = (\text{times code } k \text{ was used}) / (\text{number of tokens})$.
#
# Perplexity is the *effective* number of codes: it is 1 if every token is the same code
# and $K$ if all codes are used equally often. If 4 codes are used equally and the rest
# never, it is exactly 4. It is never larger than the number of used codes, so
# perplexity / K ≤ usage.
#
# *A common misreading.* A figure often quoted for a healthy VQ-VAE reads "perp=478/512
# (94%)". 478/512 is 93.4%, and more importantly perplexity/K is not the fraction of codes
# used; report the two numbers separately, as this chapter does.
#
# Write `codebook_usage(indices, num_codes) -> float` and
# `codebook_perplexity(indices, num_codes) -> Tensor` (a 0-dim tensor).
#
# <details><summary>Hint 1</summary>
#
# `torch.bincount(indices.reshape(-1), minlength=num_codes)` counts how often each of the
# K codes occurs (without `minlength` you get only `max(index) + 1` bins). Usage counts the
# codes whose count is positive; perplexity needs the counts divided by their sum.
# </details>
#
# <details><summary>Hint 2</summary>
#
# An unused code has $p_k = 0$, and `0 * log(0)` is `0 * -inf = nan` in floating point,
# although the limit is 0. Keep only the positive frequencies (`p = p[p > 0]`) before
# taking the log.
# </details>
#
# <details><summary>Hint 3</summary>
#
# Use the natural log with `torch.exp` (or `log2` with `2 ** H`: the same number). Return
# usage as a Python `float` (`float(...)` or `.item()`).
# </details>

# %% nbgrader={"grade": false, "grade_id": "codebook_usage", "locked": false, "schema_version": 3, "solution": true, "task": false}
def codebook_usage(indices, num_codes):
    """Fraction of the num_codes codes used at least once in `indices` (any shape): a float."""
    ### BEGIN SOLUTION
    counts = torch.bincount(indices.reshape(-1), minlength=num_codes)  # [K]
    return float((counts > 0).sum()) / num_codes
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_codebook_usage", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_codebook_usage(codebook_usage)
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(60)
for _k, _shape in [(512, (8, 7, 7)), (7, (3, 2)), (1000, (5,)), (64, (2, 4, 4))]:
    _idx = torch.randint(0, _k, _shape, generator=_g) // 3  # only the first third can occur
    _got = codebook_usage(_idx.clone(), _k)
    assert isinstance(_got, float), "return a Python float"
    assert abs(_got - len(set(_idx.reshape(-1).tolist())) / _k) < 1e-9, (
        "usage = number of distinct codes / num_codes")
assert codebook_usage(torch.arange(10), 10) == 1.0, "all codes used once: usage 1"
assert codebook_usage(torch.full((4, 7, 7), 9), 10) == 0.1, "one code: usage 1/K"
assert codebook_usage(torch.tensor([0, 0, 1]), 4) == 0.5, "a code used once counts"
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "codebook_perplexity", "locked": false, "schema_version": 3, "solution": true, "task": false}
def codebook_perplexity(indices, num_codes):
    """exp(entropy of the code-usage frequencies of `indices` (any shape)): a 0-dim tensor."""
    ### BEGIN SOLUTION
    counts = torch.bincount(indices.reshape(-1), minlength=num_codes).float()  # [K]
    p = counts / counts.sum()  # [K]
    p = p[p > 0]
    return torch.exp(-(p * p.log()).sum())
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_codebook_perplexity", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_codebook_perplexity(codebook_perplexity)
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(61)
for _k, _shape in [(512, (16, 7, 7)), (9, (40,)), (64, (3, 5, 5)), (1000, (2, 50))]:
    _idx = torch.randint(0, _k, _shape, generator=_g)
    _idx = torch.where(_idx % 3 == 0, _idx // 4, _idx)  # uneven usage, some codes unused
    _counts = torch.bincount(_idx.reshape(-1), minlength=_k).double()
    _oracle = torch.distributions.Categorical(probs=_counts / _counts.sum()).entropy().exp()
    _got = codebook_perplexity(_idx.clone(), _k)
    assert isinstance(_got, torch.Tensor) and _got.numel() == 1, "return a 0-dim tensor"
    assert torch.isfinite(_got).all(), "unused codes must not give nan (0 * log 0)"
    assert abs(float(_got) - float(_oracle)) < 1e-3 * float(_oracle), (
        "perplexity = exp(entropy of the frequencies), natural log")
assert abs(float(codebook_perplexity(torch.arange(512), 512)) - 512) < 1e-2, "uniform: K"
assert abs(float(codebook_perplexity(torch.zeros(3, 7, 7, dtype=torch.long), 512)) - 1) < 1e-6
_two = codebook_perplexity(torch.tensor([0, 0, 0, 1]), 100)  # p = (3/4, 1/4)
assert abs(float(_two) - math.exp(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))) < 1e-4
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Build it: the EMA codebook update
#
# The gradient codebook learns slowly and leaves dead codes behind. Production VQ-VAEs
# (VQ-VAE's appendix, VQ-VAE-2, Sonnet, most tokenizers since) drop the codebook loss and
# set each code to a **running average of the encoder outputs assigned to it**. Keep two
# buffers: a running count $N_k$ and a running sum $m_k$. For a batch $z_1, \dots, z_N$
# with nearest codes $k_1, \dots, k_N$ and decay $\gamma$ (typically 0.99):
#
# $$N_k \leftarrow \gamma N_k + (1-\gamma)\, n_k, \qquad n_k = \#\{i : k_i = k\},$$
# $$m_k \leftarrow \gamma m_k + (1-\gamma) \sum_{i:\,k_i = k} z_i,$$
# $$e_k = \frac{m_k}{\tilde N_k}, \qquad
#   \tilde N_k = \frac{N_k + \varepsilon}{n + K\varepsilon}\, n, \qquad n = \sum_k N_k .$$
#
# With $\gamma = 0$ this is one step of k-means (Lloyd's algorithm) on the batch: every
# code that received vectors jumps to the mean of its cluster. With $\gamma$ near 1 it is **online k-means**
# over mini-batches: the old value keeps weight $\gamma$, the new batch gets $1-\gamma$.
# It is not a gradient method with momentum: there is no loss, no learning rate, no
# optimizer state. (The encoder still gets the commitment loss.)
#
# $\tilde N_k$ is **Laplace smoothing**: a code whose count has decayed to 0 would
# divide by zero. Adding $\varepsilon$ to every count and rescaling so the counts still
# sum to $n$ keeps the division finite and changes nothing noticeable for live codes.
#
# *Two formulas you will meet, and why this one.* (1) A simpler update is often written,
# $e_k \leftarrow \gamma e_k + (1-\gamma)\,\mathrm{mean}(\text{assigned } z_e)$, with a loop
# that skips unused codes. That averages *batch means*, so a batch where a code got 1 vector
# weighs as much as one where it got 500, and an unused code's statistics never decay,
# so its death never shows. Keeping counts and sums separately (as above) weighs every
# vector equally, and an unused code's $N_k$ decays towards 0, which is what revival
# (section 4) detects; the worked number after the exercise shows the difference. (2) The
# smoothing is sometimes written $m_k/(N_k+\varepsilon)$; reference implementations such as
# DeepMind's Sonnet `VectorQuantizerEMA`, and this course, use
# $(N_k+\varepsilon)/(n+K\varepsilon)\cdot n$, which keeps the counts summing to $n$.
#
# Write `ema_codebook_update(codebook, cluster_size, embed_avg, z_flat, indices,
# decay=0.99, eps=1e-5)`: codebook `[K, D]`, cluster_size ($N$) `[K]`, embed_avg ($m$)
# `[K, D]`, z_flat `[N, D]`, indices `[N]`; return the new
# `(codebook, cluster_size, embed_avg)`. Two rules: **vectorized** (no Python loop over
# codes) and **pure** (do not modify the inputs; the quantizer copies the results into its
# buffers itself).
#
# <details><summary>Hint 1</summary>
#
# `onehot = F.one_hot(indices, K).type_as(z_flat)` is `[N, K]`. Then `onehot.sum(0)` is
# the count of every code `[K]`, and `onehot.t() @ z_flat` is the sum of the vectors
# assigned to every code `[K, D]`. (`torch.bincount` and `torch.zeros(K, D).index_add_(0,
# indices, z_flat)` give the same two results without building the `[N, K]` matrix.)
# </details>
#
# <details><summary>Hint 2</summary>
#
# Decay multiplies the *old* value: `cluster_size = decay * cluster_size + (1 - decay) *
# counts`. Write it like that, with `=` on new names: `cluster_size.mul_(decay)` would
# modify the caller's tensor.
# </details>
#
# <details><summary>Hint 3</summary>
#
# `n = cluster_size.sum()` (after the update); `smoothed = (cluster_size + eps) / (n + K *
# eps) * n`; the new codebook is `embed_avg / smoothed.unsqueeze(1)`. Return the raw
# `cluster_size`, not the smoothed one.
# </details>

# %% nbgrader={"grade": false, "grade_id": "ema_codebook_update", "locked": false, "schema_version": 3, "solution": true, "task": false}
def ema_codebook_update(codebook, cluster_size, embed_avg, z_flat, indices, decay=0.99,
                        eps=1e-5):
    """One EMA codebook step with Laplace smoothing; pure and vectorized.

    codebook [K, D], cluster_size [K], embed_avg [K, D], z_flat [N, D], indices [N]
    -> (codebook [K, D], cluster_size [K], embed_avg [K, D]).
    """
    ### BEGIN SOLUTION
    k = codebook.shape[0]
    onehot = F.one_hot(indices, k).type_as(z_flat)  # [N, K]
    cluster_size = decay * cluster_size + (1 - decay) * onehot.sum(0)  # [K]
    embed_avg = decay * embed_avg + (1 - decay) * onehot.t() @ z_flat  # [K, D]
    n = cluster_size.sum()
    smoothed = (cluster_size + eps) / (n + k * eps) * n  # [K]
    return embed_avg / smoothed.unsqueeze(1), cluster_size, embed_avg
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_ema_codebook_update", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check_ema_codebook_update(ema_codebook_update)
### BEGIN HIDDEN TESTS
def _ema_oracle(codebook, cluster_size, embed_avg, z_flat, indices, decay, eps):
    """Per-code loop in float64: the counts-and-sums bookkeeping, one code at a time."""
    k = codebook.shape[0]
    cs, ea = cluster_size.double().clone(), embed_avg.double().clone()
    for j in range(k):
        mask = indices == j
        cs[j] = decay * cs[j] + (1 - decay) * mask.sum()
        ea[j] = decay * ea[j] + (1 - decay) * z_flat.double()[mask].sum(0)
    n = cs.sum()
    return torch.stack([ea[j] / ((cs[j] + eps) / (n + k * eps) * n) for j in range(k)]), cs, ea


_g = torch.Generator().manual_seed(62)
for _k, _d, _n, _decay, _eps in [(7, 4, 50, 0.99, 1e-5), (16, 3, 20, 0.8, 1e-3),
                                 (32, 8, 200, 0.5, 1e-5), (5, 2, 3, 0.0, 1e-2)]:
    _cb = torch.randn(_k, _d, generator=_g)
    _cs = torch.rand(_k, generator=_g) * 3
    _cs[0] = 0.0  # an empty code
    _ea = torch.randn(_k, _d, generator=_g)
    _z = torch.randn(_n, _d, generator=_g)
    _idx = torch.randint(1, _k, (_n,), generator=_g)  # code 0 unused in this batch
    _inputs = [_cb, _cs, _ea, _z, _idx]
    _copies = [t.clone() for t in _inputs]
    _out = ema_codebook_update(*_inputs, decay=_decay, eps=_eps)
    assert all(torch.equal(a, b) for a, b in zip(_inputs, _copies)), "inputs modified in place"
    _want = _ema_oracle(*_copies, _decay, _eps)
    for _got, _w, _what in zip(_out, _want, ("codebook", "cluster_size", "embed_avg")):
        assert torch.isfinite(_got).all(), f"{_what}: inf/nan (Laplace smoothing?)"
        assert torch.allclose(_got.double(), _w, rtol=1e-4, atol=1e-5), f"{_what} differs"
# two steps in a row: the state carries over, unused codes' counts decay
_state = (torch.zeros(4, 2), torch.zeros(4), torch.zeros(4, 2))
_z = torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0]])
for _ in range(2):
    _state = ema_codebook_update(*_state, _z, torch.tensor([0, 0, 1]), decay=0.9)
assert torch.allclose(_state[1], torch.tensor([0.38, 0.19, 0.0, 0.0]), atol=1e-6)
assert torch.allclose(_state[0][0], torch.tensor([2.0, 0.0]), atol=1e-3), "code 0: mean of 1, 3"
_decayed = ema_codebook_update(*_state, _z, torch.tensor([1, 1, 1]), decay=0.9)[1]
assert abs(float(_decayed[0]) - 0.9 * 0.38) < 1e-6, "an unused code's count decays by gamma"
### END HIDDEN TESTS

# %% [markdown]
# ### A worked number: 50 vectors land on one code
#
# One code $e = (1, 0)$ (a codebook of $K = 1$, so the smoothing changes nothing), $\gamma =
# 0.99$, and a batch that assigns it 50 vectors whose mean is $(3, 2)$. What is the new code?
#
# * If the code has received 50 vectors per batch for a long time, its statistics are in
#   steady state: $N = 50$ and $m = 50\,e$. Then $N \leftarrow 0.99 \cdot 50 + 0.01 \cdot 50
#   = 50$ and $m \leftarrow 0.99 \cdot 50\,e + 0.01 \cdot 50 \cdot (3, 2)$, so the new code is
#   $0.99\,e + 0.01 \cdot (3, 2) = (1.02, 0.02)$: **0.99 × old code + 0.01 × mean of the
#   50**, the familiar form.
# * If the code usually gets 10 vectors a batch ($N = 10$, $m = 10\,e$), the same batch of
#   50 weighs five times more than usual: $N \leftarrow 9.9 + 0.5 = 10.4$, and the new code
#   is $(9.9\,e + 0.5 \cdot (3, 2)) / 10.4 = (1 - w)\,e + w \cdot (3, 2)$ with
#   $w = 0.5 / 10.4 =$ {{ema_worked_weight_of_batch/surge:.3f}} (the cell below gets it from
#   your function). The batch-mean formula would have used
#   {{ema_worked_weight_of_batch/steady:.2f}}, as if this batch were like any other.
#
# Your function, on both cases:

# %%
ema_update = check_ema_codebook_update.use(ema_codebook_update)
one_code = torch.tensor([[1.0, 0.0]])  # [K=1, D=2]
batch_of_50 = torch.tensor([3.0, 2.0]) + 0.5 * torch.randn(50, 2, generator=torch.Generator()
                                                            .manual_seed(50))  # [50, 2]
batch_of_50 = batch_of_50 - batch_of_50.mean(0) + torch.tensor([3.0, 2.0])  # mean exactly (3, 2)
to_code_0 = torch.zeros(50, dtype=torch.long)  # [50]: all 50 assigned to the code
worked = {}
for usual in (50.0, 10.0):
    new_code, new_count, _ = ema_update(one_code, torch.tensor([usual]), usual * one_code,
                                        batch_of_50, to_code_0)
    worked[usual] = new_code[0]
    print(f"code usually given {usual:2.0f} vectors: count {usual:.1f} -> {float(new_count):.2f}, "
          f"code (1, 0) -> ({float(new_code[0, 0]):.4f}, {float(new_code[0, 1]):.4f})")
print(f"batch-mean formula, 0.99 * old + 0.01 * mean: ({0.99 + 0.03:.4f}, {0.02:.4f})")
record(CHAPTER, "ema_worked_steady_code", worked[50.0].tolist())
record(CHAPTER, "ema_worked_weight_of_batch", {"steady": float(worked[50.0][1] / 2),
                                               "surge": float(worked[10.0][1] / 2)})

# %% [markdown]
# ### The textbook loop against the vectorized update
#
# The EMA update is often shown as a Python loop over codes. Below is such a loop, with the
# bookkeeping above (counts and sums for every code, used or not). It
# gives the same result as your vectorized function (asserted), but how much slower is
# it? And is "vectorized" always fast? The third contender is lessonlib's version (the one
# the later chapters use): it computes the counts with `torch.bincount` and the sums with
# `index_add_`, which touches each vector once instead of multiplying by a mostly-zero
# `[N, K]` one-hot matrix:
#
# ```python
# counts = torch.bincount(indices, minlength=K).type_as(z_flat)  # [K]
# sums = torch.zeros_like(embed_avg).index_add_(0, indices, z_flat)  # [K, D]
# ```

# %%
def ema_update_loop(codebook, cluster_size, embed_avg, z_flat, indices, decay=0.99, eps=1e-5):
    """The update one code at a time, with the counts and sums above (slow: for reference)."""
    k = codebook.shape[0]
    cluster_size, embed_avg = cluster_size.clone(), embed_avg.clone()
    for j in range(k):  # one code at a time
        mask = indices == j  # [N]
        cluster_size[j] = decay * cluster_size[j] + (1 - decay) * mask.sum()
        embed_avg[j] = decay * embed_avg[j] + (1 - decay) * z_flat[mask].sum(0)
    n = cluster_size.sum()
    codebook = torch.empty_like(codebook)
    for j in range(k):
        codebook[j] = embed_avg[j] / ((cluster_size[j] + eps) / (n + k * eps) * n)
    return codebook, cluster_size, embed_avg


def seconds_per_call(fn, *args, repeat=5):
    """Fastest wall time of fn(*args) over `repeat` calls, after one warm-up call (the
    minimum is the least disturbed by whatever else the machine is doing)."""
    fn(*args)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return min(times)


timings = {}
threads = torch.get_num_threads()
torch.set_num_threads(1)  # time all three on one CPU thread: a like-for-like comparison
for k, d, n_vec in pick([(512, 16, 3136), (8192, 256, 4096)], [(512, 16, 3136)], fast_mode=FAST):
    gen = torch.Generator().manual_seed(k)
    state = (torch.randn(k, d, generator=gen), torch.rand(k, generator=gen),
             torch.randn(k, d, generator=gen))
    z_flat = torch.randn(n_vec, d, generator=gen)  # [N, D]
    indices = torch.randint(0, k, (n_vec,), generator=gen)  # [N]
    slow = ema_update_loop(*state, z_flat, indices)
    for label, fast_version in (("your vectorized", ema_update),
                                ("bincount/index_add_", ema_update_scatter)):
        for a, b in zip(slow, fast_version(*state, z_flat, indices)):
            assert torch.allclose(a, b, rtol=1e-4, atol=1e-4), (
                f"{label} update and the per-code loop disagree")
    t_loop = seconds_per_call(ema_update_loop, *state, z_flat, indices,
                              repeat=pick(2, 3, fast_mode=FAST))
    t_vec = seconds_per_call(ema_update, *state, z_flat, indices)
    t_scatter = seconds_per_call(ema_update_scatter, *state, z_flat, indices)
    timings[k] = (t_loop, t_vec, t_scatter)
    print(f"K={k:5d}, D={d:3d}, N={n_vec}: same result (asserted). loop {1000 * t_loop:7.1f} ms, "
          f"your vectorized {1000 * t_vec:7.1f} ms ({t_loop / t_vec:5.1f}x), "
          f"bincount/index_add_ {1000 * t_scatter:6.2f} ms ({t_loop / t_scatter:6.0f}x)")
    record(CHAPTER, f"ema_speedup_vectorized_k{k}", t_loop / t_vec)
    record(CHAPTER, f"ema_speedup_scatter_k{k}", t_loop / t_scatter)
torch.set_num_threads(threads)

# %% [markdown]
# **What to notice** (timings of the full run, on one CPU thread). At K = 512 any
# vectorized version beats the loop, whose cost is dominated by K small Python-level
# steps: the one-hot version by {{ema_speedup_vectorized_k512:.0f}}×, bincount/`index_add_`
# by {{ema_speedup_scatter_k512:.0f}}×. At K = 8192, D = 256, the size of a large image
# tokenizer (full mode only), a one-hot version does N·K·D multiply-adds, almost all of them
# by zero: on a CPU it can be *no faster than the loop* (here it ran at
# {{ema_speedup_vectorized_k8192:.2f}}× the loop's speed), while the bincount/`index_add_`
# version, which touches each vector once, was {{ema_speedup_scatter_k8192:.0f}} times
# faster. "Vectorized" means no Python loop; it does not mean no wasted work. (On a GPU the
# dense matrix product is cheap enough that the one-hot form is common.)

# %% [markdown]
# ## 4. Build it: dead-code revival
#
# EMA makes live codes follow their clusters, but it does nothing for a code that nobody
# picks: its count $N_k$ just decays. **Dead-code revival** turns that decay into a
# signal. Every so often (every 50 steps below), each code with $N_k$ below a threshold is
# declared dead and **moved onto a randomly chosen encoder output** $r$ from the current
# batch. That puts it where the encoder really produces vectors, so it has a fair chance
# to win some of them; from then on the EMA refines it.
#
# One detail decides whether this works: the running statistics must move with the code.
# If the code jumps to $r$ but keeps its old $m_k$ and a count near 0, the very next EMA
# step sets $e_k = m_k / \tilde N_k$ and throws it straight back. So set
# $N_k = \text{threshold}$ and $m_k = r \cdot \text{threshold}$: then
# $m_k / N_k = r$, and the next step keeps it there.
#
# (Our threshold is on the EMA count, an average number of assignments per batch over
# roughly the last $1/(1-\gamma) = 100$ batches. A rule often quoted, "revive a code with
# fewer than 1 assignment in the last 100 batches", would be a threshold of 0.01; 1.0 is
# more eager.)
#
# Write `revive_dead_codes(codebook, cluster_size, embed_avg, z_flat, threshold=1.0,
# generator=None)` returning `(codebook, cluster_size, embed_avg, n_revived)`: pure (new
# tensors), a dead code is one with `cluster_size < threshold` (strictly), each dead code
# gets its own random row of `z_flat`, drawn with the given `generator`, and `n_revived` is
# an `int`.
#
# <details><summary>Hint 1</summary>
#
# `dead = cluster_size < threshold` is a boolean mask `[K]`; `int(dead.sum())` is how many.
# Clone the three state tensors first, then write into the clones with `clone[dead] = ...`.
# </details>
#
# <details><summary>Hint 2</summary>
#
# `rows = torch.randint(0, z_flat.shape[0], (n_dead,), generator=generator)` draws one row
# index per dead code; `z_flat[rows]` is `[n_dead, D]`, in the order of the dead codes.
# </details>
#
# <details><summary>Hint 3</summary>
#
# Write three things into the dead rows of the clones: the fresh rows into the codebook,
# the threshold into cluster_size, and the fresh rows times the threshold into embed_avg
# (so that embed_avg / cluster_size is the fresh row). With no dead code, return unchanged
# copies and 0.
# </details>

# %% nbgrader={"grade": false, "grade_id": "revive_dead_codes", "locked": false, "schema_version": 3, "solution": true, "task": false}
def revive_dead_codes(codebook, cluster_size, embed_avg, z_flat, threshold=1.0,
                      generator=None):
    """Move every code with cluster_size < threshold onto a random row of z_flat [N, D].

    Pure: returns (codebook [K, D], cluster_size [K], embed_avg [K, D], n_revived: int).
    """
    ### BEGIN SOLUTION
    dead = cluster_size < threshold  # [K]
    n_dead = int(dead.sum())
    codebook, cluster_size, embed_avg = codebook.clone(), cluster_size.clone(), embed_avg.clone()
    if n_dead == 0:
        return codebook, cluster_size, embed_avg, 0
    rows = torch.randint(0, z_flat.shape[0], (n_dead,), generator=generator)  # [n_dead]
    fresh = z_flat[rows]  # [n_dead, D]
    codebook[dead] = fresh
    cluster_size[dead] = threshold
    embed_avg[dead] = fresh * threshold
    return codebook, cluster_size, embed_avg, n_dead
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_revive_dead_codes", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check_revive_dead_codes(revive_dead_codes)
### BEGIN HIDDEN TESTS
_g = torch.Generator().manual_seed(63)
for _k, _d, _n, _thr in [(64, 8, 300, 1.0), (10, 3, 5, 0.5), (200, 4, 1000, 2.0)]:
    _cb = torch.randn(_k, _d, generator=_g)
    _cs = torch.rand(_k, generator=_g) * 3 * _thr
    _cs[:3] = torch.tensor([_thr, 0.0, 1e-9])  # exactly at the threshold: alive
    _ea = _cb * _cs.unsqueeze(1)
    _z = torch.randn(_n, _d, generator=_g) + 5.0
    _inputs = [_cb, _cs, _ea, _z]
    _copies = [t.clone() for t in _inputs]
    _out = revive_dead_codes(*_inputs, threshold=_thr, generator=torch.Generator().manual_seed(1))
    assert all(torch.equal(a, b) for a, b in zip(_inputs, _copies)), "inputs modified in place"
    _ncb, _ncs, _nea, _nrev = _out
    _dead = _copies[1] < _thr
    assert int(_nrev) == int(_dead.sum()), "n_revived counts the dead codes"
    assert torch.equal(_ncb[~_dead], _copies[0][~_dead]), "live codes must not move"
    assert torch.equal(_ncs[~_dead], _copies[1][~_dead]) and torch.equal(_nea[~_dead],
                                                                         _copies[2][~_dead])
    _gap = (_ncb[_dead].unsqueeze(1) - _z.unsqueeze(0)).abs().amax(-1)  # [n_dead, N]
    assert _gap.min(1).values.max() < 1e-6, "revived codes must be rows of z_flat"
    assert torch.allclose(_ncs[_dead], torch.full_like(_ncs[_dead], _thr)), "cs = threshold"
    assert torch.allclose(_nea[_dead], _ncb[_dead] * _thr), "embed_avg = r * threshold"
    if int(_dead.sum()) >= 8 and _n >= 100:
        assert len({tuple(r.tolist()) for r in _ncb[_dead]}) > int(_dead.sum()) // 2, (
            "each dead code should get its own random row")
    # the next EMA step (no vector for the revived codes) keeps them where they landed
    _live = (~_dead).nonzero().flatten()
    _zb = torch.randn(20, _d, generator=_g) + 5.0  # [20, D]
    _after = ema_update_loop(_ncb, _ncs, _nea, _zb, _live[torch.arange(20) % len(_live)])[0]
    assert (_after[_dead] - _ncb[_dead]).norm(dim=1).max() < 1e-3, "EMA drags revived codes back"
_none = revive_dead_codes(torch.ones(3, 2), torch.full((3,), 5.0), torch.ones(3, 2),
                          torch.zeros(4, 2))
assert int(_none[3]) == 0 and torch.equal(_none[0], torch.ones(3, 2)), "nothing dead: no change"
_rand = revive_dead_codes(torch.ones(3, 2), torch.zeros(3), torch.ones(3, 2),
                          torch.randn(50, 2))  # generator=None must work too
assert int(_rand[3]) == 3
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Lab: four codebooks on real digits
#
# Time to see collapse and its cure on real data. The tokenizer is the one of chapter 5:
# a small conv encoder maps a 28×28 MNIST digit to a 7×7 grid of D-dimensional vectors,
# the quantizer replaces each by a code from a K = 512 codebook, and a conv decoder
# rebuilds the image (Bernoulli likelihood: binary cross-entropy on the logits). Four
# quantizers, everything else identical (same random seed, data order, steps, learning
# rate):
#
# 1. **gradient**: `VectorQuantizer`, codebook loss + commitment loss (chapter 5);
# 2. **EMA, counts at 0**: `EMAVectorQuantizer` with your `ema_codebook_update`, no codebook
#    loss, started as the course's class starts it: small random codes, and every running
#    count $N_k$ at 0;
# 3. **EMA, data start**: the same EMA, started as EMA codebooks are started in practice:
#    the codes are 5 k-means steps on the untrained encoder's outputs for 256 training
#    digits, and each count starts at the average count of one batch, with the running sums
#    to match ($m_k = N_k e_k$; `lessonlib.quantizers.codebook_from_data`);
# 4. **EMA + revival**: EMA (counts at 0) plus your `revive_dead_codes` every 50 steps
#    (threshold 1.0).
#
# During training we take snapshots of how often each code is used on a fixed set of
# training digits, for the interactive of section 7. After training we measure usage and
# perplexity on **all 4,000 training digits** (196,000 tokens), and reconstruction PSNR on
# the 1,000 test digits.

# %%
usage_fn = check_codebook_usage.use(codebook_usage)
perplexity_fn = check_codebook_perplexity.use(codebook_perplexity)
revive_fn = check_revive_dead_codes.use(revive_dead_codes)

x_train, _ = load_mnist("train")  # [4000, 1, 28, 28] in [0, 1]
x_test, y_test = load_mnist("test")  # [1000, 1, 28, 28], [1000]
K, D, WIDTH = 512, 16, 32
STEPS = pick(1000, 60, fast_mode=FAST)
BATCH = pick(64, 32, fast_mode=FAST)
LR = 2e-3
REVIVE_EVERY, REVIVE_THRESHOLD = pick(50, 25, fast_mode=FAST), 1.0
SNAP_EVERY = pick(50, 15, fast_mode=FAST)
snap_images = x_train[:pick(500, 200, fast_mode=FAST)]  # fixed digits for the snapshots
METHODS = ["gradient", "EMA, counts at 0", "EMA, data start", "EMA + revival"]
SLUGS = {"gradient": "gradient", "EMA, counts at 0": "ema", "EMA, data start": "ema_data_start",
         "EMA + revival": "ema_revival"}  # names of the recorded figures
N_START = pick(256, 64, fast_mode=FAST)  # digits whose encoder outputs start the codebook
print(f"K={K}, D={D}, {STEPS} steps of {BATCH} digits, lr {LR}")


def make_quantizer(method):
    if method == "gradient":
        return VectorQuantizer(K, D, commitment_cost=0.25)
    return EMAVectorQuantizer(
        K, D, commitment_cost=0.25, decay=0.99, ema_update=ema_update, revive=revive_fn,
        revive_threshold=REVIVE_THRESHOLD if method == "EMA + revival" else None,
        revive_every=REVIVE_EVERY)


@torch.no_grad()
def start_from_data(model, images):
    """EMA codebook = 5 k-means steps on the (untrained) encoder's outputs for `images`, with
    every count at one batch's average count per code and the sums to match."""
    z = to_rows(model.encoder(images))  # [N, D]
    state = codebook_from_data(z, K, kmeans_steps=5, count=BATCH * 49 / K,
                               generator=torch.Generator().manual_seed(0))
    quantizer = model.quantizer
    for buffer, value in zip((quantizer.codebook, quantizer.cluster_size, quantizer.embed_avg),
                             state):
        buffer.copy_(value)


def new_model(method, seed=0):
    """A fresh tokenizer with the quantizer of `method`, started as that method starts."""
    seed_everything(seed)
    model = QuantizedAutoencoder(make_quantizer(method), D, WIDTH).to(DEVICE)
    if method == "EMA, data start":
        start_from_data(model, x_train[:N_START].to(DEVICE))
    return model


def train_method(method, seed=0):
    """Train one quantized autoencoder; return the model, its history and usage snapshots."""
    model = new_model(method, seed)
    snapshots = [code_counts(tokens_of(model, snap_images), K)]  # step 0: before training

    def snapshot(i, logs):
        if (i + 1) % SNAP_EVERY == 0:
            snapshots.append(code_counts(tokens_of(model, snap_images), K))

    history = train_tokenizer(model, x_train, steps=STEPS, batch_size=BATCH, lr=LR, seed=seed,
                              callback=snapshot, desc=method, progress=not FAST,
                              device=DEVICE)
    return model, history, snapshots


runs = {}
for method in METHODS:
    model, history, snapshots = train_method(method)
    train_tokens = tokens_of(model, x_train)  # [4000, 7, 7]
    x_hat = reconstruct(model, x_test)  # [1000, 1, 28, 28]
    runs[method] = {
        "model": model, "snapshots": snapshots, "tokens": train_tokens, "x_hat": x_hat,
        "usage": usage_fn(train_tokens, K),
        "perplexity": float(perplexity_fn(train_tokens, K)),
        "psnr": psnr(x_test, x_hat), "seconds": history.seconds,
        "revived": getattr(model.quantizer, "revived", 0)}

print(f"{'method':14s} {'usage':>7s} {'perplexity':>11s} {'bits/token':>10s} {'PSNR (dB)':>10s} "
      f"{'revived':>8s} {'train s':>8s}")
for method, r in runs.items():
    print(f"{method:14s} {100 * r['usage']:6.1f}% {r['perplexity']:8.1f}/{K} "
          f"{math.log2(r['perplexity']):10.1f} {r['psnr']:10.2f} {r['revived']:8d} "
          f"{r['seconds']:8.1f}")
    slug = SLUGS[method]
    record(CHAPTER, f"{slug}_usage", r["usage"])
    record(CHAPTER, f"{slug}_perplexity", r["perplexity"])
    record(CHAPTER, f"{slug}_psnr_db", r["psnr"])
    record(CHAPTER, f"{slug}_train_seconds", r["seconds"])

# %%
fig, axes = plt.subplots(1, 4, figsize=(14, 3), sharey=False)
for ax, (method, r) in zip(axes, runs.items()):
    usage_histogram(ax, r["tokens"], K, title=f"{method}: perplexity {r['perplexity']:.0f}",
                    log=True)
fig.suptitle("Code usage on the 4,000 training digits (sorted, log scale; dead codes in red)",
             fontsize=10)
fig.tight_layout()
plt.show()

showcase = torch.stack([(y_test == digit).nonzero()[0, 0] for digit in range(10)])  # [10]
fig, axes = plt.subplots(5, 1, figsize=(8, 5.5))
show_grid(axes[0], x_test[showcase], 10, "test digits")
for ax, (method, r) in zip(axes[1:], runs.items()):
    show_grid(ax, r["x_hat"][showcase], 10, f"{method}: PSNR {r['psnr']:.1f} dB (test set)")
fig.tight_layout()
plt.show()

# %% [markdown]
# **What to notice** (the full run's numbers). Three of the four codebooks collapsed. The
# gradient codebook uses {{gradient_usage:.1%}} of its 512 entries; EMA with its counts
# starting at 0 uses {{ema_usage:.1%}}; EMA started on real data uses
# {{ema_data_start_usage:.1%}}. The data start helps (its PSNR is
# {{ema_data_start_psnr_db:.1f}} dB against {{ema_psnr_db:.1f}} dB, level with the gradient
# codebook's {{gradient_psnr_db:.1f}} dB), but it does not prevent the collapse. Only
# revival does: with it {{ema_revival_usage:.0%}} of the codes are used (the healthy zone is
# above 90%), the perplexity is {{ema_revival_perplexity:.0f}}, and the reconstructions are
# the sharpest of the four ({{ema_revival_psnr_db:.1f}} dB): the decoder receives more
# information per token ($\log_2$ of the perplexity, the *bits/token* column, is the
# effective number of bits). For comparison, a perplexity often quoted for a well-trained
# VQ-VAE with K = 512 is 478, after 10,000 GPU steps; the 1,000 CPU steps of full mode
# reach {{ema_revival_perplexity:.0f}} here.
#
# Why do the three codebooks without revival collapse? Look at where their dead codes are
# at the end of training.

# %%
code_norms = {}
for method, r in runs.items():
    quantizer = r["model"].quantizer
    codebook = quantizer.codebook.weight if method == "gradient" else quantizer.codebook
    codebook = codebook.detach().cpu()  # [K, D]
    with torch.no_grad():
        z = to_rows(r["model"].encoder(snap_images.to(DEVICE))).cpu()  # [N, D]
    used = torch.zeros(K, dtype=torch.bool)
    used[r["tokens"].unique()] = True
    norms = codebook.norm(dim=1)  # [K]
    code_norms[SLUGS[method]] = {
        "z_e": float(z.norm(dim=1).median()), "live": float(norms[used].median()),
        "dead": float(norms[~used].median()) if (~used).any() else None}
    dead_norm = f"{float(norms[~used].median()):10.3g}" if (~used).any() else "      none"
    print(f"{method:17s} |z_e| median {float(z.norm(dim=1).median()):5.2f}   "
          f"live codes |e| median {float(norms[used].median()):6.2f}   "
          f"dead codes |e| median {dead_norm}")
record(CHAPTER, "code_norms", code_norms)

# %% [markdown]
# The three collapses have different stories, and the numbers above tell them (full run):
#
# * **gradient**: the dead codes still sit at their initialisation, close to the origin
#   (median norm {{code_norms/gradient/dead:.3f}}; the `VectorQuantizer` initialises them
#   uniformly in ±1/K), while the encoder outputs have a median norm of
#   {{code_norms/gradient/z_e:.2f}}. The dead codes never won a vector, so the codebook loss
#   never moved them, while the live codes (median norm {{code_norms/gradient/live:.2f}})
#   and the encoder outputs moved away together.
# * **EMA, counts at 0**: at the end the dead codes are back at a moderate norm
#   ({{code_norms/ema/dead:.2f}}, against {{code_norms/ema/live:.2f}} for the live codes),
#   but they came back from far away: the first EMA step flung them tens of thousands of
#   units out (section 6). By the time they drifted back, the encoder had
#   organised itself around the few codes that survived, and they stay unused.
# * **EMA, data start**: the dead codes (median norm {{code_norms/ema_data_start/dead:.2f}})
#   still sit where the *untrained* encoder put its outputs; the trained encoder's outputs
#   are elsewhere (median norm {{code_norms/ema_data_start/z_e:.2f}}). Every code was in use
#   at step 0; the interactive of section 7 shows how quickly they lost their vectors.
# * **EMA + revival**: no code is dead at the end. Revival resets exactly the statistics
#   that went stale and puts the code on a current encoder output, so every code gets
#   repeated chances.

# %% [markdown]
# ## 6. Lab: the first EMA step can fling codes away
#
# Replay the very first training step of both EMA runs: the same random seed, the same
# initial weights, the same first batch. One forward pass in training mode is one EMA
# update. Which codes receive vectors, and where do the others go?

# %%
def replay_first_step(method):
    """One training forward of a fresh model of `method` on the first batch: the codes that
    received vectors [K] (bool), and every code's norm before and after [K], [K]."""
    model = new_model(method)
    (x_first,) = next(minibatches(x_train, batch_size=BATCH,
                                  generator=torch.Generator().manual_seed(0)))
    before = model.quantizer.codebook.norm(dim=1).cpu()  # [K]
    with torch.no_grad():
        first_indices = model(x_first.to(DEVICE))[3]  # [B, 7, 7]; one EMA update done
    picked = torch.zeros(K, dtype=torch.bool)
    picked[first_indices.unique().cpu()] = True
    return picked, before, model.quantizer.codebook.norm(dim=1).cpu()


first_step = {}
for method in ("EMA, counts at 0", "EMA, data start"):
    picked, before, after = replay_first_step(method)
    others = ~picked
    first_step[method] = {"picked": int(picked.sum()),
                          "norm_before": float(before[others].median()),
                          "norm_after": float(after[others].median())}
    print(f"{method:17s}: {int(picked.sum()):3d} of {K} codes received vectors; the median norm "
          f"of the other {int(others.sum())} went from {float(before[others].median()):.3g} "
          f"to {float(after[others].median()):.3g}")
flung = first_step["EMA, counts at 0"]["norm_after"]
print(f"counts at 0: with no vector assigned, that norm then shrinks by gamma^t: after "
      f"{STEPS} steps 0.99^{STEPS} x {flung:.3g} = {0.99 ** STEPS * flung:.3g}")
record(CHAPTER, "ema_first_step_codes_picked", first_step["EMA, counts at 0"]["picked"])
record(CHAPTER, "first_step", {SLUGS[m]: v for m, v in first_step.items()})

# %% [markdown]
# **What the replay shows.** With its counts at 0, the EMA codebook's first batch reached
# only {{first_step/ema/picked}} of the 512 codes. Every other code got
# $e_k = \gamma m_k / \tilde N_k$ with $N_k = 0$, so $\tilde N_k \approx \varepsilon =
# 10^{-5}$: its initial $m_k$ divided by almost nothing. Laplace smoothing prevents the
# division by *zero*, but not this: the median norm of those codes went from
# {{first_step/ema/norm_before:.2f}} to {{first_step/ema/norm_after:,.0f}}, far beyond any
# encoder output. Without vectors, $m_k$ then decays like $\gamma^t$ while $N_k$ stays near
# 0, so the flung codes drift back only slowly.
#
# Started on real data, with counts and sums that agree ($m_k = N_k e_k$), the same step
# leaves the unused codes where they were (median norm {{first_step/ema_data_start/norm_before:.2f}}
# before, {{first_step/ema_data_start/norm_after:.2f}} after): an unused code's sum and count
# decay together, and their ratio stays put. The fling comes from the zero-count start, not
# from EMA.
#
# But the lab shows that the fling is not the whole story: started on data, EMA still
# collapsed. Its codes sit where the *untrained* encoder put its outputs; as the encoder
# trains, its outputs move, and a code that stops winning vectors is never pulled after
# them. EMA, like the codebook loss, updates only the codes that win. That is exactly what
# revival (or a periodic reset) addresses: it moves losing codes to where the encoder's
# outputs are *now*.

# %% [markdown]
# ## 7. Interactive: codebook utilization through training
#
# Each bar is one codebook entry (sorted by usage), its height how often it was chosen on
# 500 training digits at that point of training (200 in fast mode); red entries are
# dead. The log scale (on by default) keeps the few giant bars of a collapsed codebook from
# flattening everything else. Step through training with the slider and switch methods.
# Start at step 0: before any training, only a handful of codes are nearest to anything,
# because a freshly initialised encoder maps all digits into a small region of the latent
# space (except with the data start, whose codes were placed on exactly those outputs). Without revival the red region barely shrinks; with revival, dead codes are moved
# onto real encoder outputs every few dozen steps (50 in full mode) until almost none are
# left. In full mode, look at the last snapshots of EMA with counts at 0: the codes flung
# away at the first step have drifted back into range (section 6), and a few start to be
# picked. Started on data, EMA begins with many codes in use and then loses them as the
# encoder's outputs move away.

# %%
snap_steps = [i * SNAP_EVERY for i in range(len(runs[METHODS[0]]["snapshots"]))]
snap_counts = {m: np.stack(runs[m]["snapshots"]) for m in METHODS}  # method -> [S, K]
record(CHAPTER, "snapshot_usage", {"steps": snap_steps, **{
    m: (snap_counts[m] > 0).mean(axis=1).round(3).tolist() for m in METHODS}})
display(interactive(
    lambda snapshot, method, log: render_codebook_usage(snapshot, method, steps=snap_steps,
                                                        counts=snap_counts, log=log),
    [IntSlider("snapshot", 0, len(snap_steps) - 1, len(snap_steps) // 2, label="snapshot"),
     Choice("method", tuple(METHODS), default="EMA + revival", label="method"),
     Toggle("log", default=True, label="log scale")],
    name="codebook_utilization", chapter=CHAPTER))

# %% [markdown]
# ## 8. Strategies against collapse, and what they cost
#
# The numbers in the next cell are measured on this machine (K = 512, D = 16, one batch of
# 3,136 token vectors unless said otherwise).

# %%
gen = torch.Generator().manual_seed(7)
z_batch = torch.randn(BATCH * 49, D, generator=gen)  # a batch of token vectors
state = (torch.randn(K, D, generator=gen), torch.rand(K, generator=gen) * 2,
         torch.randn(K, D, generator=gen))
idx_batch = torch.randint(0, K, (BATCH * 49,), generator=gen)
t_ema = seconds_per_call(ema_update, *state, z_batch, idx_batch)
t_revive = seconds_per_call(lambda: revive_fn(*state, z_batch, threshold=1.0,
                                              generator=torch.Generator().manual_seed(0)))
t_nn_512 = seconds_per_call(nearest_code, z_batch, torch.randn(512, D))
t_nn_8192 = seconds_per_call(nearest_code, z_batch, torch.randn(8192, D))


with torch.no_grad():
    z_all = to_rows(runs["EMA + revival"]["model"].encoder(
        x_train[:pick(500, 200, fast_mode=FAST)].to(DEVICE))).cpu()  # [N, D], timed on the CPU
start = time.perf_counter()  # a k-means reset: 10 Lloyd steps from random encoder outputs
codebook_from_data(z_all, K, kmeans_steps=10, generator=torch.Generator().manual_seed(0))
t_kmeans = time.perf_counter() - start
costs = {"ema_update_ms": 1000 * t_ema, "revive_ms": 1000 * t_revive,
         "nearest_code_k512_ms": 1000 * t_nn_512, "nearest_code_k8192_ms": 1000 * t_nn_8192,
         "kmeans_10_iters_s": t_kmeans}
for name, value in costs.items():
    print(f"{name:24s} {value:8.2f}")
print(f"k-means ran on {z_all.shape[0]:,} encoder outputs")
print(f"revivals during training: {runs['EMA + revival']['revived']:,} code moves")
record(CHAPTER, "strategy_costs", costs)

# %% [markdown]
# | strategy | how it works | what it costs |
# |---|---|---|
# | **EMA updates** | each code is the running mean of the vectors assigned to it (online k-means); no codebook loss | two buffers of K and K·D numbers, one update per step ({{strategy_costs/ema_update_ms:.1f}} ms a step in the full run; use bincount/`index_add_` for large K); a new hyperparameter γ. Alone it does **not** revive anything: above, EMA without revival used {{ema_usage:.1%}} of the codes with its counts starting at 0 and {{ema_data_start_usage:.1%}} started on data, against {{gradient_usage:.1%}} for the gradient codebook. |
# | **Dead-code revival** | every n steps, codes with a small EMA count jump onto random encoder outputs, with their statistics reset | almost free in compute ({{strategy_costs/revive_ms:.2f}} ms a call in the full run); two hyperparameters (threshold, period); revived codes briefly disturb the decoder, and a code revived onto an outlier may die again. Here it took usage from collapse to {{ema_revival_usage:.0%}}. |
# | **Codebook reset** (k-means style) | periodically re-fit low-usage codes by running k-means on a buffer of recent encoder outputs | a buffer of encoder outputs in memory and N·K·D work per k-means iteration (10 iterations on the encoder outputs of 500 digits took {{strategy_costs/kmeans_10_iters_s:.1f}} s in the full run, against {{strategy_costs/revive_ms:.2f}} ms for a revival); more code to maintain; codes land on cluster centres rather than on single, possibly odd, vectors. |
# | **k-means initialisation** | initialise the codebook by k-means on the encoder outputs of the first batches, with EMA counts to match | a one-off k-means at the start; fixes the bad *start* (no codes far from the data, no flung EMA codes) but not codes that die later as the encoder keeps moving: above, the data start raised EMA's usage from {{ema_usage:.1%}} to {{ema_data_start_usage:.1%}} only. |
# | **Larger codebook** | more entries, finer quantization, more bits per token ($\log_2 K$) | the nearest-code search and its memory grow at least linearly with K: {{strategy_costs/nearest_code_k512_ms:.1f}} ms a batch at K = 512 against {{strategy_costs/nearest_code_k8192_ms:.0f}} ms at K = 8192 in the full run (the [N, K] distance matrix grows from 6 MB to 100 MB and falls out of the CPU caches); **not a cure**: more entries compete for the same encoder outputs, so more of them die without one of the fixes above. |
#
# Other cures you will meet: lower-dimensional or ℓ2-normalised lookups (ViT-VQGAN), and
# codebooks that are not learned at all (FSQ and LFQ, next chapter).

# %% [markdown]
# ## 9. Checkpoint: 12 of 8,192
#
# **Q1.** You trained a VQ-VAE with K = 8,192, D = 256 on ImageNet. After 50 epochs the
# reconstruction is reasonable (PSNR ≈ 28 dB), but monitoring shows that only **12**
# codebook entries are ever selected; the other 8,180 are never assigned to any encoder
# output. What happened?
#
# a) Posterior collapse, as in a VAE: the decoder ignores the tokens and reconstructs
#    from its own weights.
#
# b) Codebook collapse: early in training a handful of codes won the nearest-neighbour
#    contest; codes that never win get no update, so they stay dead. The decoder learned
#    to work with 12 symbols, whose spatial arrangement still carries enough information
#    for a decent PSNR.
#
# c) Training was too short: the learning rate of the codebook is too low, and another 50
#    epochs will bring the other 8,180 codes into use.
#
# d) ImageNet patches only come in about 12 kinds at this resolution, so the encoder
#    correctly found that the other codes are redundant.

# %% nbgrader={"grade": false, "grade_id": "answer_q1", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q1 = None
### BEGIN SOLUTION
answer_q1 = "b"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q1", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q1, question="ch06/q1", key="0d892d5dd7f607df",
             hint="Which codes receive an update in a VQ-VAE, and which never do?")
### BEGIN HIDDEN TESTS
assert answer_q1 == "b"
### END HIDDEN TESTS

# %% [markdown]
# **Explain** in a few sentences: why did the other codes die, why is the reconstruction
# still decent, why will more training not fix it, and what would you measure and change?

# %% [markdown] nbgrader={"grade": true, "grade_id": "adversarial_codebook_collapse", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# **Model answer.** This is codebook collapse. In a VQ-VAE only the selected code receives
# an update (the codebook loss, or the EMA, touches $e_k$ only for the vectors assigned to
# it). Early in training the encoder outputs were near a few codes; those won, moved with
# the encoder, and won more, while the other 8,180 were never nearest to anything and so
# never moved: they are dead, and more epochs will not change that, because a dead code
# receives no signal at all. The reconstruction stays decent because the decoder adapts:
# a 32×32 grid of 12 symbols still has 12^1024 possible arrangements, and PSNR is dominated
# by coarse structure, so a strong decoder recovers a lot. But each token carries at most
# log₂ 12 ≈ 3.6 bits instead of 13, fine detail is lost, and a prior trained on these
# tokens would have very little to model. Measure code usage and perplexity
# $\exp(-\sum_k p_k \log p_k)$ on real data during training (here both would be tiny next to
# 8,192). Fix it with EMA updates plus dead-code revival (or a k-means reset) from real
# encoder outputs, k-means initialisation, lower-dimensional or ℓ2-normalised lookups, or a
# quantizer without a learned codebook (FSQ); not with a larger codebook, which makes it
# worse.

# %% [markdown]
# ## 10. Check
#
# **Q2. What is "codebook collapse"?**
#
# a) The codebook vectors shrink to zero because the commitment loss pulls them in.
#
# b) Only a small fraction of the codebook entries are ever selected; the rest are dead,
#    and the capacity they stand for is wasted.
#
# c) The decoder learns to ignore the tokens, so every image decodes to the mean image.
#
# d) The codebook grows during training until it no longer fits in memory.

# %% nbgrader={"grade": false, "grade_id": "answer_q2", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q2 = None
### BEGIN SOLUTION
answer_q2 = "b"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q2", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q2, question="ch06/q2", key="15cad91691835bb9",
             hint="Reread section 1: what does the histogram of a collapsed codebook look like?")
### BEGIN HIDDEN TESTS
assert answer_q2 == "b"
### END HIDDEN TESTS

# %% [markdown]
# **Q3. What is the EMA codebook update, and why use it?** (interview question Q16)
#
# a) A gradient step on the codebook loss with Adam-style momentum: the EMA smooths the
#    codebook gradients.
#
# b) $e_k \leftarrow (1-\gamma)\, e_k + \gamma\, \mathrm{mean}(\text{assigned } z_e)$ with
#    γ = 0.99, so that codes follow the newest batch closely.
#
# c) Running counts $N_k \leftarrow \gamma N_k + (1-\gamma) n_k$ and running sums
#    $m_k \leftarrow \gamma m_k + (1-\gamma) \sum_{i: k_i = k} z_i$, with
#    $e_k = m_k / \tilde N_k$ (Laplace-smoothed count): mini-batch k-means, with no
#    codebook loss and no learning rate, more stable than the gradient codebook.
#
# d) Every code, used or not, moves towards the mean of all encoder outputs of the batch,
#    so that no code is left behind.

# %% nbgrader={"grade": false, "grade_id": "answer_q3", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q3 = None
### BEGIN SOLUTION
answer_q3 = "c"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q3", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q3, question="ch06/q3", key="9557d3c419d65312",
             hint="Reread section 3: what does the update track, and which way round is γ?")
### BEGIN HIDDEN TESTS
assert answer_q3 == "c"
### END HIDDEN TESTS

# %% [markdown]
# **Q4. How do you diagnose and mitigate codebook collapse?** (interview question Q22)
#
# a) Diagnose with the reconstruction loss (if it is low, the codebook is healthy);
#    mitigate by training longer.
#
# b) Diagnose by counting the codebook's parameters; mitigate with a larger codebook,
#    which always raises usage.
#
# c) Diagnose with the KL term going to zero; mitigate with KL annealing and free bits.
#
# d) Diagnose by measuring code usage and perplexity $\exp(-\sum_k p_k \log p_k)$ on real
#    data; mitigate with EMA updates, dead-code revival or reset from encoder outputs,
#    k-means initialisation, or lower-dimensional lookups.

# %% nbgrader={"grade": false, "grade_id": "answer_q4", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q4 = None
### BEGIN SOLUTION
answer_q4 = "d"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q4", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q4, question="ch06/q4", key="caba334c26f517ed",
             hint="The adversarial case above had a decent reconstruction and 12 live codes.")
### BEGIN HIDDEN TESTS
assert answer_q4 == "d"
### END HIDDEN TESTS

# %% [markdown]
# ## Summary
#
# * **Usage** (fraction of codes used at least once) and **perplexity** (exp of the
#   entropy of the usage frequencies, the effective number of codes) diagnose collapse.
#   Healthy: usage above 90%.
# * The **EMA update** keeps running counts and sums per code and sets each code to their
#   Laplace-smoothed ratio: online k-means, with no codebook loss. Keep it pure and
#   vectorized; bincount/`index_add_` scales to large K.
# * **Dead-code revival** moves codes with a small running count onto real encoder
#   outputs, and resets their statistics so that the next EMA step keeps them there.
# * EMA whose counts start at 0 flings every code the first batch misses far away
#   (Laplace smoothing divides by about ε); starting the codebook on data, with counts and
#   sums to match, removes the fling but not the collapse.
# * On MNIST with K = 512, the gradient codebook ({{gradient_usage:.1%}} of codes used) and
#   EMA without revival ({{ema_usage:.1%}} from empty counts, {{ema_data_start_usage:.1%}}
#   from a data start) collapsed; EMA with revival used {{ema_revival_usage:.0%}}, with a
#   perplexity of {{ema_revival_perplexity:.0f}} and the best PSNR.
#
# Next: **Chapter 7, FSQ and LFQ**: quantizers without a learned codebook, where collapse
# has nothing to grab.

# %% [markdown]
# ## References
#
# * van den Oord, A., Vinyals, O. and Kavukcuoglu, K. (2017). Neural discrete
#   representation learning. *NeurIPS*. (VQ-VAE; the EMA codebook update in its appendix.)
# * Razavi, A., van den Oord, A. and Vinyals, O. (2019). Generating diverse high-fidelity
#   images with VQ-VAE-2. *NeurIPS*. (EMA codebooks at scale.)
# * Dhariwal, P., Jun, H., Payne, C., Kim, J. W., Radford, A. and Sutskever, I. (2020).
#   Jukebox: a generative model for music. arXiv:2005.00341. (Codebooks started on
#   encoder outputs, and random restarts of dead codes.)
# * Łańcucki, A. et al. (2020). Robust training of vector quantized bottleneck models.
#   *IJCNN*. (Codebook re-initialisation by k-means during training.)
# * Yu, J. et al. (2022). Vector-quantized image modeling with improved VQGAN. *ICLR*.
#   (ViT-VQGAN: low-dimensional, ℓ2-normalised codebook lookups.)
# * Lloyd, S. P. (1982). Least squares quantization in PCM. *IEEE Transactions on
#   Information Theory*, 28(2). (k-means, which the EMA update runs online.)
