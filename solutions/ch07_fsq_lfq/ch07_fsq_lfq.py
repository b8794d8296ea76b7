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
# # Chapter 7 · FSQ and LFQ: quantizers without a codebook
#
# **You will:** write finite scalar quantization (FSQ), which rounds each channel of the
# encoder output to a few fixed levels, and its token indices; write lookup-free
# quantization (LFQ), its one-bit-per-channel special case, with the entropy terms that
# MAGVIT-v2 adds to it; see the grids they round to; and then train the same MNIST
# tokenizer with five quantizers (the learned codebook of chapter 5, EMA with revival from
# chapter 6, FSQ, and LFQ with and without its entropy terms), comparing code usage,
# perplexity, reconstruction, parameters and lines of code.

# %%
import ast
import inspect
import itertools
import math
import random
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display
from torch import nn

from lessonlib.checks import check_choice
from lessonlib.checks.quantizers import (
    check_fsq_indices_to_codes,
    check_fsq_quantize,
    check_lfq_entropy_terms,
    check_lfq_quantize,
)
from lessonlib.core import is_fast, pick, psnr, record, seed_everything
from lessonlib.data import load_mnist
from lessonlib.quantizers import (
    FSQ,
    LFQ,
    EMAVectorQuantizer,
    VectorQuantizer,
    codebook_perplexity,
    codebook_usage,
    fsq_codes_to_indices,
    fsq_levels,
    implicit_codebook_size,
    lfq_codebook,
)
from lessonlib.quantizers import (
    codebook as codebook_lib,
)
from lessonlib.quantizers import (
    ema as vq_ema_lib,
)
from lessonlib.quantizers import (
    fsq as fsq_lib,
)
from lessonlib.quantizers import (
    lfq as lfq_lib,
)
from lessonlib.quantizers import (
    vq as vq_lib,
)
from lessonlib.tokenizers import QuantizedAutoencoder, reconstruct, tokens_of, train_tokenizer
from lessonlib.views import Choice, IntSlider, interactive, show_grid
from lessonlib.views.fsq_grid import COURSE, PAPER, render_fsq_grid, render_grid_conventions
from lessonlib.views.usage_plots import usage_histogram

CHAPTER = "ch07_fsq_lfq"

# %% tags=["parameters"]
FAST = False  # papermill sets True in CI; nbgrader grading forces it too

# %%
FAST = is_fast(FAST)
seed_everything(0)
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## 1. Round instead of look up
#
# Chapters 5 and 6 learned a codebook $\{e_1, \dots, e_K\}$ and sent each encoder output to
# its nearest entry. It works, but it is fragile: the codebook needs its own loss (or an
# EMA), the encoder a commitment loss, and without dead-code revival most of the entries
# die (in chapter 6 the gradient codebook and EMA alone both collapsed on MNIST).
#
# **Finite scalar quantization** (FSQ; Mentzer, Minnen, Agustsson and Tschannen, ICLR 2024)
# drops the learned codebook. The encoder outputs $d$ channels per position (here
# $d = 4$); each channel is bounded and then **rounded** to one of $L_i$ fixed values:
#
# $$\hat z_i = \operatorname{round}\!\Big(\tfrac{L_i - 1}{2}\tanh(z_i) - s_i\Big) + s_i,
# \qquad s_i = \begin{cases} \tfrac12 & L_i \text{ even} \\ 0 & L_i \text{ odd.}\end{cases}$$
#
# * $\tanh$ bounds the channel to $(-1, 1)$; the scale $\tfrac{L_i-1}{2}$ stretches it so
#   that rounding lands on exactly $L_i$ values;
# * an odd $L$ gives the integers $-\tfrac{L-1}{2}, \dots, \tfrac{L-1}{2}$ ($L = 5$:
#   $-2, -1, 0, 1, 2$); an even $L$ needs the half shift and gives half-integers
#   ($L = 4$: $-1.5, -0.5, 0.5, 1.5$). This symmetric grid is the course's convention;
#   section 5 compares it with the grid of the FSQ paper's own code.
#
# The **codebook is implicit**: every combination of levels is a code, so there are
# $\prod_i L_i$ of them, with **no parameters**, no codebook loss, no commitment loss, no
# EMA and no revival. The only trick left is the one you know from chapter 5: `round`
# has zero gradient almost everywhere, so FSQ uses the **straight-through estimator**
# around it (forward: the rounded value; backward: the gradient of the bounded value).
#
# A token is the code's index: channel $i$'s level becomes a digit
# $k_i = \hat z_i + \tfrac{L_i - 1}{2} \in \{0, \dots, L_i - 1\}$, and the digits are read as
# one number in a **mixed radix**, dim 0 least significant:
# $\text{index} = k_0 + L_0 k_1 + L_0 L_1 k_2 + \dots$ (like a clock: seconds, then minutes
# worth 60 seconds, then hours worth 60 · 60).
#
# **Three statements you will meet, corrected.**
#
# * FSQ is often summarised as $\operatorname{round}(L_i \tanh(z_i))$, or as quantizing
#   "to $\{-L, \dots, L\}$". Both give $2L + 1$ values per channel, not $L$ ($L = 8$,
#   $d = 6$ would give $17^6 \approx 24$ million codes, not $8^6$). The scale is
#   $\tfrac{L-1}{2}$; a grid written "$\{-L/2, \dots, L/2\}$" is also one level too wide.
# * A widely copied snippet computes $\operatorname{round}(\tfrac{L-1}{2}\tanh z)$ without
#   the half shift, with the comment "scale to $[-L/2, L/2]$" (the range is
#   $[-\tfrac{L-1}{2}, \tfrac{L-1}{2}]$). For odd $L$ that is right; for even $L$ it reaches
#   only $L - 1$ levels ($L = 4$: $-1, 0, 1$; the values $\pm 2$ need $\tanh z = \pm 1$
#   exactly), so levels (8, 5, 5, 5) would give $7 \cdot 125 = 875$ codes, not 1000.
# * FSQ is sometimes said to need "no straight-through estimator". It does need one around
#   `round` (the FSQ paper's own code has a `round_ste` function). What FSQ does not need is
#   any *extra loss* that goes with the straight-through estimator in a VQ-VAE (codebook and
#   commitment terms).
#
# The implicit codebook sizes of the chapter:

# %%
sizes = {"FSQ levels (8, 5, 5, 5)": (8, 5, 5, 5), "FSQ L = 5, d = 6": (5,) * 6,
         "FSQ L = 8, d = 6": (8,) * 6, "LFQ d = 18 (L = 2)": (2,) * 18}
for name, levels in sizes.items():
    k = implicit_codebook_size(levels)
    print(f"{name:26s} K = {' x '.join(map(str, levels)) if len(levels) < 7 else '2^18'} "
          f"= {k:>9,d}   ({math.log2(k):.2f} bits per token, 0 parameters)")
record(CHAPTER, "implicit_sizes", {name: implicit_codebook_size(lv) for name, lv in sizes.items()})
print(f"for comparison, a learned codebook of the same size 262,144 with D = 256 would hold "
      f"{262_144 * 256:,} parameters")

# %% [markdown]
# ## 2. Interactive: the FSQ grid
#
# Choose the number of levels $L$ (the same for every channel here) and the number of
# channels $d$. Left: the **rounding staircase** of one channel, the bounded value
# $\tfrac{L-1}{2}\tanh z$ (dashed) and what rounding makes of it (solid). Middle: the
# **grid** of the first two channels: 300 random encoder outputs (blue), each joined to the
# code it snaps to (orange). Right: the **implicit codebook size** $L^d$ beside some
# familiar ones. The third control switches to the FSQ paper's grid (section 5).
#
# Things to try: an even $L$ (no level at 0: the grid is symmetric but 0 is a boundary);
# $L = 2$ (one bit per channel: that is LFQ, section 6); $d = 6$ with $L = 5$ (15,625 codes)
# and with $L = 8$ (262,144). Notice that a code at the edge of the grid owns the whole
# tail of $\tanh$: large outputs all land there.

# %%
grid_samples = torch.randn(300, 2, generator=torch.Generator().manual_seed(0)) * 1.2  # [300, 2]
display(interactive(
    lambda level, dims, grid: render_fsq_grid(level, dims, grid, samples=grid_samples),
    [IntSlider("level", 2, 16, 5, label="levels L"),
     IntSlider("dims", 1, 8, 4, label="channels d"),
     Choice("grid", (COURSE, PAPER), default=COURSE, label="grid")],
    name="fsq_grid", chapter=CHAPTER))

# %% [markdown]
# ## 3. Build it: `fsq_quantize`
#
# Write `fsq_quantize(z, levels) -> (z_hat, indices)`:
#
# * `z`: the encoder output, shape `[B, d, ...]` (channels in dim 1, any number of
#   trailing dims: `[B, d]`, `[B, d, H, W]`, ...); `levels`: a tuple of $d$ integers $L_i$;
# * `z_hat`: same shape as `z`, on the grid of section 1, with a **straight-through**
#   gradient around the rounding only (so $\partial \hat z_i / \partial z_i$ is that of
#   $\tfrac{L_i-1}{2}\tanh z_i$);
# * `indices`: shape `[B, ...]` (the channel dim is combined away), `torch.long`, the mixed
#   radix of the digits $k_i = \hat z_i + \tfrac{L_i-1}{2}$ with dim 0 least significant.
#
# Make every constant tensor on `z`'s device (`torch.tensor(..., device=z.device)`): the lab
# of section 8 trains on the GPU when there is one, and your function runs inside it. The
# same holds for the LFQ functions of sections 6 and 7.
#
# <details><summary>Hint 1</summary>
#
# Turn the per-channel numbers into tensors that broadcast over `[B, d, ...]`:
# `torch.tensor([...]).view(1, -1, *[1] * (z.dim() - 2))`. You need the half-range
# $(L_i - 1)/2$, the shift $s_i$ (0.5 for even $L_i$, else 0) and the place values.
# </details>
#
# <details><summary>Hint 2</summary>
#
# Straight-through rounding is `x + (x.round() - x).detach()`. Apply it to the bounded,
# shifted value `half * torch.tanh(z) - shift`, then add the shift back. The place values
# are $[1, L_0, L_0 L_1, \dots]$: `math.prod(levels[:i])` for dim $i$.
# </details>
#
# <details><summary>Hint 3</summary>
#
# For the indices, work on `z_hat.detach()`: `digits = (z_hat + half).round().long()`
# (the `.round()` guards against float error), then `(digits * place).sum(dim=1)`.
# </details>

# %% nbgrader={"grade": false, "grade_id": "fsq_quantize", "locked": false, "schema_version": 3, "solution": true, "task": false}
def fsq_quantize(z, levels):
    """Bound with tanh, round with straight-through; z [B, d, ...] -> (z_hat, indices [B, ...])."""
    ### BEGIN SOLUTION
    shape = (1, -1) + (1,) * (z.dim() - 2)
    half = torch.tensor([(L - 1) / 2 for L in levels], dtype=z.dtype, device=z.device)
    half = half.view(shape)  # [1, d, 1, ...]
    shift = torch.tensor([0.5 if L % 2 == 0 else 0.0 for L in levels], dtype=z.dtype,
                         device=z.device).view(shape)
    bounded = half * torch.tanh(z) - shift  # [B, d, ...]
    z_hat = bounded + (bounded.round() - bounded).detach() + shift
    place = torch.tensor([math.prod(levels[:i]) for i in range(len(levels))],
                         device=z.device).view(shape)
    digits = (z_hat.detach() + half).round().long()  # [B, d, ...] in 0..L-1
    return z_hat, (digits * place).sum(dim=1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_fsq_quantize", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check_fsq_quantize(fsq_quantize)
### BEGIN HIDDEN TESTS
def _oracle_fsq(z, levels):
    """Brute force: nearest grid value of the bounded input, index by enumerating the grid."""
    grids = [[j - (L - 1) / 2 for j in range(L)] for L in levels]
    table = {tuple(reversed(c)): k for k, c in enumerate(itertools.product(*reversed(grids)))}
    rows = z.movedim(1, -1).reshape(-1, len(levels)).double()  # [N, d]
    hat = torch.empty_like(rows)
    for _c, _L in enumerate(levels):
        grid = torch.tensor(grids[_c], dtype=torch.float64)
        bounded = (_L - 1) / 2 * torch.tanh(rows[:, _c])
        hat[:, _c] = grid[(bounded.unsqueeze(1) - grid).abs().argmin(1)]
    idx = torch.tensor([table[tuple(r)] for r in hat.tolist()])
    return hat, idx


_rng = random.Random(11)
for _trial in range(6):
    _levels = tuple(_rng.randint(2, 9) for _ in range(_rng.randint(1, 5)))
    _shape = (_rng.randint(1, 3), len(_levels)) + tuple(_rng.randint(1, 4) for _ in range(_rng.randint(0, 2)))
    _z = torch.randn(_shape, generator=torch.Generator().manual_seed(_trial)) * 2.5 + 0.01
    _z_keep = _z.clone()
    _z_hat, _idx = fsq_quantize(_z, _levels)
    assert torch.equal(_z, _z_keep), "do not modify z in place"
    _hat, _want = _oracle_fsq(_z, _levels)
    assert tuple(_z_hat.shape) == _shape and tuple(_idx.shape) == (_shape[0],) + _shape[2:], _levels
    assert torch.allclose(_z_hat.detach().movedim(1, -1).reshape(-1, len(_levels)).double(), _hat, atol=1e-6), f"values, levels {_levels}"
    assert _idx.dtype == torch.int64 and torch.equal(_idx.reshape(-1), _want), f"indices, levels {_levels}"
# even-level offset: L = 4 and L = 8 take exactly their half-integer levels, even saturated
_ramp = torch.cat([torch.linspace(-5, 5, 2001), torch.tensor([-1e4, 1e4, 0.0])]).view(1, 1, -1)
for _L in (2, 4, 6, 8):
    _vals = sorted(set(fsq_quantize(_ramp, (_L,))[0].detach().reshape(-1).tolist()))
    assert _vals == fsq_levels(_L).tolist(), f"L = {_L}: levels {_vals}"
    assert sorted(set(fsq_quantize(_ramp, (_L,))[1].reshape(-1).tolist())) == list(range(_L))
# straight-through gradient equals autograd of the scaled tanh
_z = (torch.randn(3, 4, 2, 2, generator=torch.Generator().manual_seed(5)) * 1.5).requires_grad_(True)
_w = torch.randn(3, 4, 2, 2, generator=torch.Generator().manual_seed(6))
(fsq_quantize(_z, (8, 5, 4, 3))[0] * _w).sum().backward()
_z2 = _z.detach().clone().requires_grad_(True)
_half = torch.tensor([3.5, 2.0, 1.5, 1.0]).view(1, 4, 1, 1)
((_half * torch.tanh(_z2)) * _w).sum().backward()
assert torch.allclose(_z.grad, _z2.grad, atol=1e-5), "straight-through around round only"
# every one of the 1000 codes is reachable (inputs placed at the centre of each level)
_codes = fsq_lib.fsq_codebook((8, 5, 5, 5))  # [1000, 4]
_pre = torch.atanh(_codes / torch.tensor([3.5, 2.0, 2.0, 2.0]) * 0.999)
assert torch.equal(fsq_quantize(_pre, (8, 5, 5, 5))[1], torch.arange(1000)), "all 1000 codes, in index order"
### END HIDDEN TESTS
assert True

# %% [markdown]
# ## 4. Build it: from indices back to codes
#
# A Transformer prior (chapter 10) generates **indices**; the decoder needs the **codes**.
# Write `fsq_indices_to_codes(indices, levels) -> codes`: `indices` of shape `[B, ...]`,
# codes of shape `[B, d, ...]` (float), the exact inverse of the mixed radix of section 3.
#
# <details><summary>Hint 1</summary>
#
# Digit $i$ is `(indices // place_i) % L_i` with `place_i = math.prod(levels[:i])`: integer
# division removes the less significant digits, the remainder removes the more significant
# ones.
# </details>
#
# <details><summary>Hint 2</summary>
#
# Stack the $d$ digits at dim 1 (`torch.stack(digits, dim=1)`), convert to float, and
# subtract $(L_i - 1)/2$ per channel (a `[1, d, 1, ...]` tensor, as in section 3). For even
# $L$ the offset is a half-integer: do not use `//` for it.
# </details>

# %% nbgrader={"grade": false, "grade_id": "fsq_indices_to_codes", "locked": false, "schema_version": 3, "solution": true, "task": false}
def fsq_indices_to_codes(indices, levels):
    """Mixed-radix indices [B, ...] (dim 0 least significant) -> grid codes [B, d, ...]."""
    ### BEGIN SOLUTION
    digits = [(indices // math.prod(levels[:i])) % L for i, L in enumerate(levels)]
    codes = torch.stack(digits, dim=1).float()  # [B, d, ...]
    half = torch.tensor([(L - 1) / 2 for L in levels], device=codes.device)
    half = half.view((1, -1) + (1,) * (codes.dim() - 2))
    return codes - half
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_fsq_indices_to_codes", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_fsq_indices_to_codes(fsq_indices_to_codes)
### BEGIN HIDDEN TESTS
def _oracle_codebook(levels):
    grids = [[j - (L - 1) / 2 for j in range(L)] for L in levels]
    return torch.tensor([tuple(reversed(c)) for c in itertools.product(*reversed(grids))])


_rng = random.Random(21)
for _trial in range(8):
    _levels = tuple(_rng.randint(2, 9) for _ in range(_rng.randint(1, 5)))
    _k = math.prod(_levels)
    _all = fsq_indices_to_codes(torch.arange(_k), _levels)
    assert tuple(_all.shape) == (_k, len(_levels)) and _all.is_floating_point()
    assert torch.equal(_all.double(), _oracle_codebook(_levels).double()), f"levels {_levels}"
    _idx = torch.randint(0, _k, (2, 3, 2), generator=torch.Generator().manual_seed(_trial))
    _codes = fsq_indices_to_codes(_idx, _levels)
    assert tuple(_codes.shape) == (2, len(_levels), 3, 2)
    assert torch.equal(fsq_codes_to_indices(_codes.float(), _levels), _idx), "round trip"
assert fsq_indices_to_codes(torch.tensor([1, 8, 999]), (8, 5, 5, 5)).tolist() == [
    [-2.5, -2.0, -2.0, -2.0], [-3.5, -1.0, -2.0, -2.0], [3.5, 2.0, 2.0, 2.0]]
### END HIDDEN TESTS
assert True

# %% [markdown]
# **Round trip, property-style.** For random level tuples and random shapes: codes →
# indices → codes and indices → codes → indices must be exact (no tolerance: the values
# are integers and half-integers, which floats represent exactly). Then two checks of the
# quantizer as a whole: the implicit codebook of (8, 5, 5, 5) has 1000 codes and every one
# of them is reachable by rounding (we place one input inside each cell of the grid), and
# the gradient path: the straight-through estimator passes a gradient to the encoder,
# with no codebook and no extra loss.

# %%
quantize = check_fsq_quantize.use(fsq_quantize)
to_codes = check_fsq_indices_to_codes.use(fsq_indices_to_codes)

rng = random.Random(0)
trials = pick(200, 40, fast_mode=FAST)
for trial in range(trials):
    levels = tuple(rng.randint(2, 10) for _ in range(rng.randint(1, 6)))
    k = implicit_codebook_size(levels)
    shape = (rng.randint(1, 4),) + tuple(rng.randint(1, 5) for _ in range(rng.randint(0, 2)))
    idx = torch.randint(0, k, shape, generator=torch.Generator().manual_seed(trial))
    codes = to_codes(idx, levels)  # [B, d, ...]
    assert torch.equal(fsq_codes_to_indices(codes, levels), idx), (levels, shape)
    z = torch.randn((shape[0], len(levels)) + shape[1:]) * 2
    z_hat, idx2 = quantize(z, levels)
    assert torch.equal(to_codes(idx2, levels), z_hat.detach()), (levels, shape)
print(f"{trials} random level tuples: indices -> codes -> indices and z -> (z_hat, index) -> "
      "codes are exact")

levels = (8, 5, 5, 5)
all_codes = to_codes(torch.arange(1000), levels)  # [1000, 4]
half = torch.tensor([(L - 1) / 2 for L in levels])
inside = torch.atanh(all_codes / half * 0.999)  # an input that rounds to each code
_, reached = quantize(inside, levels)
used = codebook_usage(reached, 1000)
print(f"FSQ(L=(8,5,5,5)): K_implicit = {implicit_codebook_size(levels)}, "
      f"usage when every cell gets an input = {100 * used:.0f}%")
z = torch.randn(2, 4, 7, 7, requires_grad=True)
z_hat, _ = quantize(z, levels)
(z_hat ** 2).sum().backward()
grad_ok = z.grad is not None and bool(z.grad.abs().sum() > 0)
fsq_module = FSQ(levels, quantize=quantize)
n_params = sum(p.numel() for p in fsq_module.parameters())
aux = float(fsq_module(torch.randn(2, 4, 7, 7))[2])
print(f"FSQ gradient path: gradient reaches z: {grad_ok}; quantizer parameters: {n_params}; "
      f"extra loss: {aux}")
record(CHAPTER, "fsq_usage_all_cells", used)
record(CHAPTER, "fsq_gradient_reaches_encoder", grad_ok)

# %% [markdown]
# Usage is 100% here *by construction*: we fed one input into each cell. Whether a trained
# encoder spreads its outputs over all cells is another question, answered in section 8.

# %% [markdown]
# ## 5. Whose grid? The course's, the FSQ paper's, and two common mistakes
#
# The FSQ paper's own code (its appendix) differs from the course's convention in two
# ways: it shifts the input of $\tanh$ so that, for even $L$, **0 is a level**, and it
# divides the rounded value by $\lfloor L/2 \rfloor$ so that the codes lie in $[-1, 1]$.
# For $L = 5$ both grids are the same up to that scale ($-2..2$ against $-1..1$ in steps of
# 0.5). For $L = 4$ they differ in kind: the course's grid is symmetric without a zero
# ($\pm 0.5, \pm 1.5$), the paper's has a zero and is lopsided ($-1, -0.5, 0, 0.5$). Both
# have $L$ levels, and the choice does not change the codebook size, only which values the
# decoder sees; what matters is that encoding and decoding agree.
#
# The figure shows, for $L = 4$ and $L = 5$, what each version outputs as the encoder
# output sweeps from $-3.5$ to $3.5$ (left) and the set of levels it can reach (right),
# including the two mistaken versions of section 1: the snippet without the half shift
# (3 levels for $L = 4$) and the formula $\operatorname{round}(L\tanh z)$ ($2L + 1$
# levels).

# %%
fig = render_grid_conventions((4, 5))
plt.show()

# %% [markdown]
# ## 6. Build it: LFQ, one bit per channel
#
# **Lookup-free quantization** (LFQ; Yu et al., MAGVIT-v2, ICLR 2024) is FSQ with $L = 2$
# taken to its simplest form: each channel becomes its **sign**,
# $\hat z_i = \operatorname{sign}(z_i) \in \{-1, +1\}$ (with $\operatorname{sign}(0) = +1$,
# a convention: `torch.sign(0)` is 0, which is not a code), again with a straight-through
# gradient (here the identity: no $\tanh$). The implicit codebook is $\{-1, +1\}^d$, $2^d$
# codes: with $d = 18$, $2^{18} = 262{,}144$, as many as FSQ with $8^6$. "Lookup-free"
# because finding the nearest code needs no search: the nearest vector of $\{-1, +1\}^d$ to
# $z$ is its sign. The index is the bit pattern: bit $i$ is 1 where $\hat z_i = +1$,
# $\text{index} = \sum_i [\hat z_i = +1]\, 2^i$ (dim 0 least significant, FSQ's mixed radix
# with every $L_i = 2$).
#
# Write `lfq_quantize(z) -> (z_hat, indices)` for `z` of shape `[B, d, ...]`.
#
# <details><summary>Hint 1</summary>
#
# `torch.where(z >= 0, 1.0, -1.0)` gives the signs with 0 mapped to +1. Then the
# straight-through: `z + (q - z).detach()`.
# </details>
#
# <details><summary>Hint 2</summary>
#
# Bits: `(q > 0).long()`; place values $2^i$ as a `[1, d, 1, ...]` tensor; sum over dim 1.
# </details>

# %% nbgrader={"grade": false, "grade_id": "lfq_quantize", "locked": false, "schema_version": 3, "solution": true, "task": false}
def lfq_quantize(z):
    """Sign quantization with sign(0) = +1 and straight-through; z [B, d, ...] ->
    (z_hat in {-1, +1}, indices [B, ...] = sum_i bit_i 2^i)."""
    ### BEGIN SOLUTION
    q = torch.where(z >= 0, 1.0, -1.0).to(z.dtype)  # [B, d, ...]
    place = (2 ** torch.arange(z.shape[1], device=z.device)).view((1, -1) + (1,) * (z.dim() - 2))
    return z + (q - z).detach(), ((q > 0).long() * place).sum(dim=1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_lfq_quantize", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_lfq_quantize(lfq_quantize)
### BEGIN HIDDEN TESTS
for _d, _shape in [(1, (5, 1)), (3, (2, 3, 4)), (18, (3, 18)), (10, (2, 10, 7, 7))]:
    _z = torch.randn(_shape, generator=torch.Generator().manual_seed(_d))
    _z.view(-1)[::7] = 0.0
    _z_hat, _idx = lfq_quantize(_z)
    _rows = _z.movedim(1, -1).reshape(-1, _d).tolist()
    _want = [sum(2 ** i for i, v in enumerate(r) if v >= 0) for r in _rows]
    assert _idx.dtype == torch.int64 and _idx.reshape(-1).tolist() == _want, f"d = {_d}"
    assert torch.equal(_z_hat.detach(), torch.where(_z >= 0, 1.0, -1.0)), f"d = {_d}"
    assert int(_idx.max()) < 2 ** _d
_z = torch.randn(4, 5, 3, requires_grad=True)
_w = torch.randn(4, 5, 3)
(lfq_quantize(_z)[0] * _w).sum().backward()
assert torch.equal(_z.grad, _w), "straight-through: identity gradient"
assert lfq_quantize(torch.zeros(1, 4))[1].tolist() == [15], "sign(0) = +1 -> all bits 1"
assert torch.equal(lfq_quantize(_z.detach())[1], fsq_quantize(_z.detach(), (2,) * 5)[1]), "FSQ with L = 2"
### END HIDDEN TESTS
assert True

# %% [markdown]
# ## 7. Build it: LFQ's entropy terms
#
# FSQ's bounded rounding keeps every channel's values within reach of all its levels. LFQ
# has only the sign, and nothing stops a channel from settling on one sign for every
# input: a dead bit halves the codes in use. MAGVIT-v2 therefore adds an **entropy
# penalty** computed from soft assignments. For an encoder output $z_i$ (one row of
# $d$ numbers) and every code $c \in \{-1, +1\}^d$, let
#
# $$p_i(c) = \operatorname{softmax}_c\big(-\tau\, \lVert z_i - c \rVert^2\big)
#          = \operatorname{softmax}_c\big(2\tau\, z_i \cdot c\big),$$
#
# with $\tau$ the **inverse temperature**. Then
#
# * the **per-sample entropy** $\frac1N\sum_i H(p_i)$ should be *small*: each output
#   confidently near one code;
# * the **codebook entropy** $H\big(\frac1N\sum_i p_i\big)$ should be *large*: over the
#   batch, the codes are used evenly;
#
# and the auxiliary loss is $\lambda\,\big(\text{per-sample} - \text{codebook}\big)$.
# $H(p) = -\sum_c p(c) \log p(c)$ with the **natural log** (nats).
#
# Write `lfq_entropy_terms(z, inv_temperature=100.0) -> (per_sample_entropy,
# codebook_entropy)` for rows `z` of shape `[N, d]` with a small $d$ (it enumerates all
# $2^d$ codes): two 0-dim tensors, differentiable in `z`. The code $c$ with index $k$ has
# bit $i$ of $k$ in dim $i$ (as in section 6), though neither entropy depends on the order.
#
# <details><summary>Hint 1: where does the factor 2 come from?</summary>
#
# Expand $\lVert z - c\rVert^2 = \lVert z\rVert^2 - 2\, z\cdot c + \lVert c\rVert^2$.
# The first term does not depend on $c$, and $\lVert c\rVert^2 = d$ for every code, so
# inside a softmax over $c$ only $2\, z \cdot c$ survives.
# </details>
#
# <details><summary>Hint 2</summary>
#
# All codes at once: `k = torch.arange(2 ** d)`, bits `(k[:, None] >> torch.arange(d)) & 1`
# (shape `[2^d, d]`), codes `2 * bits - 1`. Logits `2 * inv_temperature * z @ codes.T`
# (shape `[N, 2^d]`), probabilities by softmax over dim 1.
# </details>
#
# <details><summary>Hint 3</summary>
#
# Per-sample: `-(p * log p).sum(1).mean()` (use `log_softmax` for log p). Codebook:
# average `p` over dim 0 first, then its entropy; guard `0 * log 0` with
# `p.clamp_min(1e-12).log()`. Neither value is negative; the minus sign between them
# belongs to the loss, not to the entropies.
# </details>

# %% nbgrader={"grade": false, "grade_id": "lfq_entropy_terms", "locked": false, "schema_version": 3, "solution": true, "task": false}
def lfq_entropy_terms(z, inv_temperature=100.0):
    """z [N, d] -> (mean_i H(p_i), H(mean_i p_i)), p_i = softmax(2 * inv_temperature * z_i C^T)."""
    ### BEGIN SOLUTION
    d = z.shape[1]
    k = torch.arange(2 ** d, device=z.device).unsqueeze(1)  # [K, 1]
    bits = (k >> torch.arange(d, device=z.device)) & 1  # [K, d]
    codes = (2 * bits - 1).to(z.dtype)  # [K, d] in {-1, +1}
    log_p = (2 * inv_temperature * z @ codes.t()).log_softmax(dim=1)  # [N, K]
    p = log_p.exp()
    per_sample = -(p * log_p).sum(dim=1).mean()
    mean_p = p.mean(dim=0)  # [K]
    return per_sample, -(mean_p * mean_p.clamp_min(1e-12).log()).sum()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_lfq_entropy_terms", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check_lfq_entropy_terms(lfq_entropy_terms)
### BEGIN HIDDEN TESTS
def _bernoulli_h(p):
    return -(p * p.log() + (1 - p) * (1 - p).log())


def _oracle_codebook_entropy(z, tau):
    codes = list(itertools.product([-1.0, 1.0], repeat=z.shape[1]))
    mean_p = [0.0] * len(codes)
    for row in z.tolist():
        logits = [2 * tau * sum(a * b for a, b in zip(row, c)) for c in codes]
        top = max(logits)
        w = [math.exp(v - top) for v in logits]
        for k, v in enumerate(w):
            mean_p[k] += v / sum(w) / len(z)
    return -sum(p * math.log(p) for p in mean_p if p > 0)


for _d, _n, _tau, _scale in [(1, 7, 1.0, 1.0), (2, 9, 3.0, 0.3), (5, 12, 0.7, 0.5), (3, 6, 100.0, 0.003)]:
    _z = torch.randn(_n, _d, generator=torch.Generator().manual_seed(_d), dtype=torch.float64) * _scale
    if _tau == 100.0:
        _per, _cb = lfq_entropy_terms(_z.float())
    else:
        _per, _cb = lfq_entropy_terms(_z.float(), _tau)
    # the softmax over {-1,+1}^d factorizes over bits: P(bit j = +1) = sigmoid(4 tau z_j)
    _want_per = float(_bernoulli_h(torch.sigmoid(4 * _tau * _z)).sum(1).mean())
    assert math.isclose(float(_per), _want_per, rel_tol=1e-3, abs_tol=1e-5), f"per-sample, d={_d} tau={_tau}"
    assert math.isclose(float(_cb), _oracle_codebook_entropy(_z, _tau), rel_tol=1e-3, abs_tol=1e-5), f"codebook, d={_d} tau={_tau}"
    assert float(_cb) >= float(_per) - 1e-5
# extremes: all outputs confidently on one code -> both 0; one output on each code -> log 2^d
_per, _cb = lfq_entropy_terms(torch.full((5, 3), 4.0), 10.0)
assert float(_per) < 1e-4 and float(_cb) < 1e-4
_per, _cb = lfq_entropy_terms(lfq_codebook(3) * 4.0, 10.0)
assert float(_per) < 1e-4 and abs(float(_cb) - math.log(8)) < 1e-4, "natural log: log(8) nats"
# gradient against autograd through the factorized oracle plus a dense oracle
_z = (torch.randn(10, 3, generator=torch.Generator().manual_seed(4)) * 0.4).requires_grad_(True)
_per, _cb = lfq_entropy_terms(_z, 1.5)
(_per - 2 * _cb).backward()
_z2 = _z.detach().clone().requires_grad_(True)
_codes = torch.tensor(list(itertools.product([-1.0, 1.0], repeat=3)))
_p = torch.softmax(3.0 * _z2 @ _codes.t(), dim=1)
_mp = _p.mean(0)
(_bernoulli_h(torch.sigmoid(6.0 * _z2)).sum(1).mean() + 2 * (_mp * _mp.log()).sum()).backward()
assert torch.allclose(_z.grad, _z2.grad, atol=1e-4), "gradient of per_sample - 2 * codebook"
### END HIDDEN TESTS
assert True

# %% [markdown]
# **Two remarks before training.**
#
# *The per-sample term factorizes.* Because $2\tau\, z \cdot c = \sum_j 2\tau z_j c_j$, the
# softmax over $\{-1,+1\}^d$ is a product of independent bits with
# $P(c_j = +1) = \sigma(4\tau z_j)$, so $H(p_i) = \sum_j H_{\text{Bernoulli}}(\sigma(4\tau
# z_{ij}))$ (the hidden tests use this as an independent oracle). The codebook term does
# not factorize (it is the entropy of a mixture), which is why we enumerate the $2^d$ codes
# and keep $d$ small; at $d = 18$ real implementations split the bits into groups.
# A sketch of LFQ that circulates widely computes exactly such per-bit entropies of
# $\sigma(z)$, but it *maximizes* them (`entropy_loss = -per_dim_entropy.mean()`), which pushes every $z$
# towards 0, the opposite of MAGVIT-v2's per-sample term; and it has no codebook term, the
# one that actually spreads the codes.
#
# *The temperature must match the scale of $z$.* The default of `lfq_entropy_terms`,
# $\tau = 100$, is MAGVIT-v2's. Our encoder's outputs are of order 1, so at $\tau = 100$ the
# logits differ by hundreds and every $p_i$ is practically one-hot: the per-sample entropy
# is already near 0, and the gradient of the two terms reaches only the rare channel values
# within about $1/(4\tau)$ of 0, where a bit is still undecided. The next cell measures this
# on encoder-like outputs ($z \sim \mathcal N(0, 1)$); the experiment uses $\tau = 1$.

# %%
entropy_terms = check_lfq_entropy_terms.use(lfq_entropy_terms)
z_rows = torch.randn(512, 10, generator=torch.Generator().manual_seed(1))  # [N, d], |z| ~ 1
for tau in (100.0, 10.0, 1.0):
    per, cb = entropy_terms(z_rows, tau)
    p_bit = torch.sigmoid(4 * tau * z_rows)  # P(bit = +1) for each channel value
    undecided = float(((p_bit > 0.05) & (p_bit < 0.95)).float().mean())
    print(f"tau = {tau:5.0f}: per-sample entropy {per.item():6.3f} nats, codebook entropy "
          f"{cb.item():5.3f} (max log 1024 = {math.log(1024):.2f}); undecided bits "
          f"(5% < P(+1) < 95%): {100 * undecided:5.1f}%")

# %% [markdown]
# ## 8. Lab: five quantizers, one tokenizer, real digits
#
# The tokenizer of chapters 5 and 6: a conv encoder maps a 28×28 MNIST digit to a 7×7 grid
# of $D$-dimensional vectors, a quantizer turns each into a token, and a conv decoder
# rebuilds the image (Bernoulli likelihood: binary cross-entropy on the logits). Same
# encoder and decoder (width 32), same data order, steps, batch and learning rate for all
# five quantizers; only the quantizer and the channel count $D$ change:
#
# | quantizer | $D$ | codes | what it adds to the loss |
# |---|---|---|---|
# | VQ, gradient codebook (chapter 5) | 16 | K = 512 | codebook + 0.25 · commitment |
# | VQ, EMA + revival (chapter 6) | 16 | K = 512 | 0.25 · commitment |
# | **FSQ** (8, 5, 5, 5) | 4 | 1000 | nothing |
# | **LFQ** | 10 | 2^10 = 1024 | 0.25 · commitment |
# | **LFQ + entropy** | 10 | 1024 | 0.25 · commitment + 0.1 · (per-sample − codebook entropy), τ = 1 |
#
# LFQ keeps MAGVIT-v2's commitment term in both runs: without anything pulling $z$ back,
# the straight-through gradient pushes the encoder's outputs away from 0 without bound and
# the signs freeze. The entropy terms use 512 random positions of each batch (their cost is
# an $N \times 2^d$ matrix).
#
# Two details of the start matter for FSQ, and we apply them to all five: the encoder's
# last layer is rescaled so that each output channel starts with unit variance on real
# digits (PyTorch's default initialisation gives about 0.01, i.e. a single FSQ code), and
# the decoder's last bias starts at the logit of the mean pixel, so that the untrained
# decoder already outputs the average brightness. Section 9 shows what happens to FSQ
# without them. Everything else is chapter 6's recipe, with fewer steps since the chapter
# trains a dozen models: 600 steps of 64 digits (60 of 32 in fast mode), Adam at 2·10⁻³.
#
# After training we measure on **all 4,000 training digits** (196,000 tokens) the code
# usage and perplexity, and on the 1,000 test digits the reconstruction PSNR.

# %%
usage_fn, perplexity_fn = codebook_usage, codebook_perplexity
lfq_fn = check_lfq_quantize.use(lfq_quantize)

x_train, _ = load_mnist("train")  # [4000, 1, 28, 28] in [0, 1]
x_test, _ = load_mnist("test")  # [1000, 1, 28, 28]
WIDTH, LR = 32, 2e-3
STEPS = pick(600, 60, fast_mode=FAST)
BATCH = pick(64, 32, fast_mode=FAST)
FSQ_LEVELS, LFQ_DIM, VQ_K, VQ_D = (8, 5, 5, 5), 10, 512, 16
mean_logit = float(torch.logit(x_train.mean()))
print(f"{STEPS} steps of {BATCH} digits, lr {LR}, width {WIDTH}; decoder bias starts at "
      f"logit(mean pixel) = {mean_logit:.2f}")


@torch.no_grad()
def start_well(model, images):
    """Unit-variance encoder outputs on real images, and a decoder that starts at the mean."""
    last = model.encoder.net[-1]  # the 1x1 conv that makes z_e
    z_e = model.encoder(images)  # [N, D, 7, 7]
    last.weight.div_(z_e.std(dim=(0, 2, 3)).view(-1, 1, 1, 1))
    last.bias.zero_()
    model.decoder.net[-1].bias.fill_(mean_logit)

QUANTIZERS = {
    "VQ gradient": lambda: (VectorQuantizer(VQ_K, VQ_D, commitment_cost=0.25), VQ_D),
    "VQ EMA + revival": lambda: (EMAVectorQuantizer(VQ_K, VQ_D, commitment_cost=0.25,
                                                    revive_threshold=1.0), VQ_D),
    "FSQ": lambda: (FSQ(FSQ_LEVELS, quantize=quantize), len(FSQ_LEVELS)),
    "LFQ": lambda: (LFQ(LFQ_DIM, entropy_weight=0.0, commitment_cost=0.25,
                        quantize=lfq_fn), LFQ_DIM),
    "LFQ + entropy": lambda: (LFQ(LFQ_DIM, entropy_weight=0.1, inv_temperature=1.0,
                                  commitment_cost=0.25, entropy_rows=512, quantize=lfq_fn,
                                  entropy_terms=entropy_terms), LFQ_DIM),
}


def train_quantizer(name, seed=0, good_start=True, normalise=False):
    """Train the tokenizer with quantizer `name`; return the model and its training history.

    normalise=True ends the encoder with a BatchNorm without learned scale or shift
    (section 9): every channel of z_e is centred with unit spread over each batch."""
    seed_everything(seed)
    quantizer, dim = QUANTIZERS[name]()
    model = QuantizedAutoencoder(quantizer, dim, WIDTH).to(DEVICE)
    if good_start:
        start_well(model, x_train[:500].to(DEVICE))
    if normalise:
        model.encoder.net.append(nn.BatchNorm2d(dim, affine=False))  # [B, D, 7, 7] -> same
    history = train_tokenizer(model, x_train, steps=STEPS, batch_size=BATCH, lr=LR, seed=seed,
                              desc=name, progress=not FAST, device=DEVICE)
    return model, history


def evaluate(model, num_codes):
    """Usage and perplexity on the training digits, PSNR on the test digits."""
    tokens = tokens_of(model, x_train)  # [4000, 7, 7]
    x_hat = reconstruct(model, x_test)  # [1000, 1, 28, 28]
    return {"tokens": tokens, "x_hat": x_hat, "usage": usage_fn(tokens, num_codes),
            "perplexity": float(perplexity_fn(tokens, num_codes)), "psnr": psnr(x_test, x_hat)}


runs = {}
for name in QUANTIZERS:
    model, history = train_quantizer(name)
    num_codes = model.quantizer.num_codes  # every lessonlib quantizer has it
    runs[name] = {"model": model, "num_codes": num_codes, "seconds": history.seconds,
                  **evaluate(model, num_codes)}
    print(f"{name:18s} trained in {history.seconds:5.1f} s")

# %% [markdown]
# **Counting the quantizer's cost.** Parameters are what the optimizer trains; the EMA
# codebook is not a parameter but is still learned state (buffers), so we count both.
# Lines of code are counted with `inspect` on lessonlib's implementations: the functions
# and classes each quantizer needs, without docstrings, comments and blank lines (the
# helpers all quantizers share, `to_rows`, `from_rows`, `perplexity_of`, are left out).

# %%
def code_lines(*objects):
    """Lines of code of functions/classes: no blank lines, comments or docstrings."""
    total = 0
    for obj in objects:
        source = textwrap.dedent(inspect.getsource(obj))
        doc_lines = set()
        for node in ast.walk(ast.parse(source)):
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                    and isinstance(getattr(body[0], "value", None), ast.Constant) \
                    and isinstance(body[0].value.value, str):
                doc_lines.update(range(body[0].lineno, body[0].end_lineno + 1))
        total += sum(1 for i, line in enumerate(source.splitlines(), 1)
                     if line.strip() and not line.strip().startswith("#") and i not in doc_lines)
    return total


QUANTIZER_CODE = {
    "VQ gradient": [vq_lib.VectorQuantizer, vq_lib.nearest_code],
    "VQ EMA + revival": [vq_ema_lib.EMAVectorQuantizer, vq_lib.nearest_code,
                         codebook_lib.ema_codebook_update, codebook_lib.revive_dead_codes],
    "FSQ": [fsq_lib.FSQ, fsq_lib.fsq_quantize, fsq_lib.fsq_codes_to_indices,
            fsq_lib.round_ste, fsq_lib._per_channel, fsq_lib._basis,
            fsq_lib.implicit_codebook_size],
    "LFQ": [lfq_lib.LFQ, lfq_lib.lfq_quantize, lfq_lib.lfq_codes_to_indices],
    "LFQ + entropy": [lfq_lib.LFQ, lfq_lib.lfq_quantize, lfq_lib.lfq_codes_to_indices,
                      lfq_lib.lfq_entropy_terms, lfq_lib.lfq_codebook],
}
print(f"{'quantizer':18s} {'codes':>6s} {'usage':>7s} {'perplexity':>11s} {'PSNR dB':>8s} "
      f"{'params':>7s} {'state':>7s} {'lines':>6s} {'train s':>8s}")
for name, r in runs.items():
    q = r["model"].quantizer
    r["params"] = sum(p.numel() for p in q.parameters())
    r["state"] = r["params"] + sum(b.numel() for b in q.buffers())
    r["lines"] = code_lines(*QUANTIZER_CODE[name])
    print(f"{name:18s} {r['num_codes']:6d} {100 * r['usage']:6.1f}% {r['perplexity']:11.1f} "
          f"{r['psnr']:8.2f} {r['params']:7d} {r['state']:7d} {r['lines']:6d} "
          f"{r['seconds']:8.1f}")
    slug = name.lower().replace(" + ", "_").replace(" ", "_")
    for key in ("usage", "perplexity", "psnr", "params", "state", "lines", "seconds"):
        record(CHAPTER, f"{slug}_{key}", r[key])

# %%
fig, axes = plt.subplots(1, len(runs), figsize=(3.2 * len(runs), 2.9))
for ax, (name, r) in zip(axes, runs.items()):
    usage_histogram(ax, r["tokens"], r["num_codes"], log=True,
                    title=f"{name}: perplexity {r['perplexity']:.0f}")
fig.suptitle("Code usage on the 4,000 training digits (sorted, log scale; dead codes in red)",
             fontsize=10)
fig.tight_layout()
plt.show()

fig, axes = plt.subplots(len(runs) + 1, 1, figsize=(9, 1.1 * (len(runs) + 1) + 0.3))
show_grid(axes[0], x_test[:12], 12, "test digits")
for ax, (name, r) in zip(axes[1:], runs.items()):
    show_grid(ax, r["x_hat"][:12], 12, f"{name}: PSNR {r['psnr']:.1f} dB")
fig.tight_layout()
plt.show()

# %% [markdown]
# **What to notice** (the full run's numbers; they vary a little with the random seed).
#
# * The **gradient codebook** collapses as in chapter 6 ({{vq_gradient_usage:.1%}} of its
#   512 codes used); **EMA + revival** uses {{vq_ema_revival_usage:.1%}} of them, at the
#   price of a codebook, two buffers, a revival schedule and the most code.
# * **FSQ**, with no parameters, no auxiliary loss and no revival, uses
#   {{fsq_usage:.1%}} of its 1000 codes (section 9 shows how much this depends on the
#   random seed, and a cure) and reconstructs at least as well as the revived VQ
#   ({{fsq_psnr:.1f}} dB against {{vq_ema_revival_psnr:.1f}} dB), with a quarter of the
#   channels. Its usage is not 100%: usage is a property
#   of the *encoder's* outputs, and a code is used only if some digit patch lands in its
#   cell. What FSQ rules out is codes that cannot be reached; there is nothing to die.
# * **LFQ** without the entropy terms uses {{lfq_usage:.1%}} of its 1024 codes: whole bits
#   are constant (each channel settles on one sign for nearly every input). With the
#   entropy terms, {{lfq_entropy_usage:.1%}} are used. That is the sense of MAGVIT-v2's penalty: a
#   one-bit-per-channel quantizer has no levels in between to spread over, so usage has
#   to be asked for.

# %%
fsq_run = runs["FSQ"]
with torch.no_grad():
    z_fsq = torch.cat([fsq_run["model"].encoder(c.to(DEVICE)).cpu()
                       for c in x_train.split(1000)])  # [N, 4, 7, 7]
    z_hat_fsq, _ = quantize(z_fsq, FSQ_LEVELS)


def level_shares(z_hat, levels):
    """Fraction of positions at each level, per channel: list of [L_i] arrays."""
    shares = []
    for c, L in enumerate(levels):
        values = z_hat[:, c].reshape(-1)
        shares.append(np.array([float((values == v).float().mean()) for v in fsq_levels(L)]))
    return shares


def plot_level_shares(axes, shares, levels, title):
    for c, (ax, share, L) in enumerate(zip(axes, shares, levels)):
        ax.bar(fsq_levels(L).numpy(), share, width=0.8, color="tab:orange")
        ax.set_ylim(0, 1)
        ax.set_title(f"{title}\nchannel {c} (L = {L})", fontsize=8)
        ax.set_xticks(fsq_levels(L).numpy())
        ax.tick_params(labelsize=7)


fig, axes = plt.subplots(1, 4, figsize=(11, 2.4), sharey=True)
plot_level_shares(axes, level_shares(z_hat_fsq, FSQ_LEVELS), FSQ_LEVELS, "FSQ")
axes[0].set_ylabel("share of positions")
fig.tight_layout()
plt.show()
lfq_bits = {name: (runs[name]["tokens"].unsqueeze(-1) >> torch.arange(LFQ_DIM)) & 1
            for name in ("LFQ", "LFQ + entropy")}  # [N, 7, 7, d]
for name, bits in lfq_bits.items():
    share = bits.float().mean(dim=(0, 1, 2))  # [d]
    print(f"{name:14s} share of +1 per bit: {np.round(share.numpy(), 2)}")
    record(CHAPTER, f"{name.lower().replace(' + ', '_')}_bit_balance", share)

# %% [markdown]
# The bars show how FSQ's channels spread over their levels: every level of every channel
# is in use, the background positions piling up at one level of each. The bit balances
# show LFQ's problem directly: without the entropy terms several bits are almost always
# the same sign; with them each bit is close to 50/50.

# %% [markdown]
# ## 9. Lab: FSQ's dead channels
#
# FSQ cannot have dead *codes* in the VQ sense, but it can have dead **channels**. Train
# FSQ again, identical except for the start: PyTorch's default initialisation (encoder
# outputs of about ±0.01, decoder bias near 0), which is what chapters 5 and 6 used.

# %%
model_cold, history_cold = train_quantizer("FSQ", good_start=False)
cold = evaluate(model_cold, 1000)
with torch.no_grad():
    z_cold = torch.cat([model_cold.encoder(c.to(DEVICE)).cpu() for c in x_train.split(1000)])
    z_hat_cold, _ = quantize(z_cold, FSQ_LEVELS)
fig, axes = plt.subplots(1, 4, figsize=(11, 2.4), sharey=True)
plot_level_shares(axes, level_shares(z_hat_cold, FSQ_LEVELS), FSQ_LEVELS,
                  "FSQ, default start")
axes[0].set_ylabel("share of positions")
fig.tight_layout()
plt.show()
for name, z_e, r in [("FSQ, good start", z_fsq, fsq_run), ("FSQ, default start", z_cold, cold)]:
    means = z_e.mean(dim=(0, 2, 3))  # [4]
    print(f"{name:20s} usage {100 * r['usage']:5.1f}%  PSNR {r['psnr']:5.2f} dB  "
          f"channel means of z before tanh: {np.round(means.numpy(), 1)}")
record(CHAPTER, "fsq_default_start_usage", cold["usage"])
record(CHAPTER, "fsq_default_start_psnr", cold["psnr"])

# %% [markdown]
# With the default start, every output pixel is grey (probability 0.5) and all the codes
# are one code (the outputs are too small to cross a rounding threshold). The first
# gradients all say the same thing: *darker, everywhere*, since most pixels are
# background, and with a binary cross-entropy a target of exactly 0 asks for ever more
# negative logits. The encoder obeys globally by pushing some channel far to one side.
# Once $|z| \gtrsim 3$ the channel sits on its edge level for nearly every input and
# $\tanh'(z) \approx 0$: the straight-through gradient $\tfrac{L-1}{2}(1 - \tanh^2 z)$ is
# too small to bring it back, so the channel is **dead** and the codebook effectively loses
# a factor $L_i$ (look for a bar near 1 in the level shares above, and a channel mean far
# from 0). Starting at unit variance puts the outputs on many codes from step 0, and
# starting the decoder at the mean brightness removes the first global push.
#
# ### Is a good start enough? Four random seeds
#
# A good start is not a guarantee: a channel can still drift to its edge later in
# training. Below, FSQ is trained with the recipe of section 8 from several random seeds
# (four in full mode, one in fast mode), once as it is and once with one more layer at the end of
# the encoder: a **BatchNorm without learned scale or shift**,
# `nn.BatchNorm2d(4, affine=False)`, which centres every channel of $z$ and gives it unit
# spread over each batch. It has no parameters (only running statistics, used in eval
# mode), and it makes a drifted channel impossible: whatever the encoder does, each
# channel's outputs stay spread around 0, in the part of $\tanh$ that still has a slope.

# %%
SEEDS = pick([0, 1, 2, 3], [0], fast_mode=FAST)
seed_runs = {}
for seed in SEEDS:
    for normalise in (False, True):
        if seed == 0 and not normalise:
            r = fsq_run  # already trained in section 8
        else:
            model_s, _ = train_quantizer("FSQ", seed=seed, normalise=normalise)
            r = evaluate(model_s, 1000)
        seed_runs[seed, normalise] = r
print(f"{'seed':>4s} {'FSQ usage':>10s} {'PSNR':>6s}   {'FSQ + BatchNorm usage':>21s} {'PSNR':>6s}")
for seed in SEEDS:
    plain, normed = seed_runs[seed, False], seed_runs[seed, True]
    print(f"{seed:4d} {100 * plain['usage']:9.1f}% {plain['psnr']:6.2f}   "
          f"{100 * normed['usage']:20.1f}% {normed['psnr']:6.2f}")
for normalise, label in ((False, "fsq_seed"), (True, "fsq_batchnorm_seed")):
    for key in ("usage", "psnr"):
        record(CHAPTER, f"{label}_{key}", {seed: seed_runs[seed, normalise][key] for seed in SEEDS})
        for name, pick_one in (("min", min), ("max", max)):
            record(CHAPTER, f"{label}_{key}_{name}",
                   pick_one(seed_runs[seed, normalise][key] for seed in SEEDS))

# %% [markdown]
# In the full run the plain recipe's usage ranged from {{fsq_seed_usage_min:.0%}} to
# {{fsq_seed_usage_max:.0%}} over the four random seeds (the low runs, again, with one
# channel drifted towards its edge), while with the BatchNorm it ranged from
# {{fsq_batchnorm_seed_usage_min:.0%}} to {{fsq_batchnorm_seed_usage_max:.0%}}, with a
# PSNR of {{fsq_batchnorm_seed_psnr_min:.1f}} to {{fsq_batchnorm_seed_psnr_max:.1f}} dB
# (against {{fsq_seed_psnr_min:.1f}} to {{fsq_seed_psnr_max:.1f}} dB without it). Section 8
# kept the plain recipe, so that all five quantizers share exactly the same encoder; its FSQ
# number comes from one random seed. Other cures in use: a small learned projection
# before the quantizer, a loss that does not push outputs to infinity (squared error).
# Whatever the cure, watch the level shares per channel: they are the FSQ counterpart of
# the usage histogram.

# %% [markdown]
# ## 10. VQ-VAE against FSQ, measured
#
# VQ-VAE and FSQ are often compared in a table of claims. Here are those claims, with the
# numbers measured above (this machine, this run) beside them.

# %%
vq, ema, fsq = runs["VQ gradient"], runs["VQ EMA + revival"], runs["FSQ"]
rows = [
    ("Codebook type", "explicit nn.Embedding(512, 16)",
     "implicit: 8 x 5 x 5 x 5 = 1000 codes from rounding"),
    ("Extra parameters", f"{vq['params']:,} (gradient); EMA: 0 params but {ema['state']:,} "
                         "numbers of learned state", f"{fsq['params']}"),
    ("Collapse", f"gradient codebook: {100 * vq['usage']:.0f}% of codes used; "
                 f"EMA + revival: {100 * ema['usage']:.0f}%",
     f"no dead codes possible; {100 * fsq['usage']:.0f}% used (dead channels possible, "
     "section 9)"),
    ("Gradient trick", "straight-through + codebook and commitment losses",
     "straight-through on round, no extra loss"),
    ("Reconstruction (PSNR)", f"gradient {vq['psnr']:.1f} dB; EMA + revival "
                              f"{ema['psnr']:.1f} dB", f"{fsq['psnr']:.1f} dB"),
    ("Lines of quantizer code", f"{vq['lines']} (gradient); {ema['lines']} (EMA + revival)",
     f"{fsq['lines']} (of which 3 are the quantization itself)"),
]
print(f"{'':24s} | {'VQ-VAE':62s} | FSQ")
for label, left, right in rows:
    print(f"{label:24s} | {left:62s} | {right}")
record(CHAPTER, "fsq_vs_vq_psnr_gap_db", fsq["psnr"] - ema["psnr"])

# %% [markdown]
# Reading the claims against the measurements:
#
# * *"Extra parameters: K × D (e.g. 8192 × 256 = 2M)" against "Zero"*: right; here
#   {{vq_gradient_params:,}} against {{fsq_params}} (the claim's example, 8192 × 256, is
#   2,097,152).
# * *"Collapse risk: High, needs EMA + revival" against "None, all codes are equally
#   accessible"*: the VQ side is confirmed above. The FSQ side needs a qualification: no
#   code can die, because none is learned, but usage still depends on the encoder's
#   outputs (a few codes stay unused), and a badly started encoder can kill whole
#   channels (section 9).
# * *"Reconstruction quality: VQ slightly better, comparable in practice"*: with the same
#   encoder, decoder and budget, FSQ reached {{fsq_psnr:.2f}} dB and EMA + revival
#   {{vq_ema_revival_psnr:.2f}} dB (FSQ minus VQ: {{fsq_vs_vq_psnr_gap_db:+.2f}} dB), so here
#   the VQ was not the better one; the gradient codebook, collapsed, is worst
#   ({{vq_gradient_psnr:.1f}} dB).
# * *"Code: ~50 lines against ~5 lines"*: only the quantization itself is that short: three
#   lines (bound, round with straight-through, shift back). Counted the same way for every
#   quantizer (the module with the functions it needs), FSQ has {{fsq_lines}} lines, fewer
#   than EMA + revival ({{vq_ema_revival_lines}}) but **more** than the gradient VQ
#   ({{vq_gradient_lines}}), whose nearest-code lookup is as short as FSQ's rounding and
#   which needs no token-index arithmetic (its index is the argmin). What FSQ saves is the
#   machinery around a learned codebook, not lines in the simplest VQ.

# %% [markdown]
# ## 11. Checkpoint
#
# In a few sentences: why does LFQ need entropy terms (or something like them) while FSQ
# trains to high usage with reconstruction alone? And what, if anything, can still go
# wrong with FSQ's usage?

# %% [markdown] nbgrader={"grade": true, "grade_id": "checkpoint_fsq_vs_lfq_usage", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Model answer.** An FSQ channel has several levels inside a bounded range, and the
# reconstruction loss rewards an encoder that uses its range to separate inputs: moving an
# output across a rounding threshold changes the code, so different inputs spread over the
# levels of each channel, and the product grid is filled with nothing but reconstruction
# loss. An LFQ channel has two values and no inside: once a channel's outputs are all on
# one side, the sign is constant, the straight-through gradient does not favour flipping
# it, and the bit is dead. The entropy terms ask for it explicitly: low per-sample entropy
# (confident signs) and high entropy of the batch-average assignment (all codes used).
# FSQ can still underuse its grid: usage is a property of the encoder's outputs (some
# cells are never visited), and a channel pushed deep into tanh's flat tail sits on its
# edge level with a vanishing gradient (a dead channel). Check the level shares per
# channel, and start the decoder sensibly (or normalise before the quantizer).

# %% [markdown]
# ## 12. Check
#
# **Q1. How does FSQ avoid codebook collapse?**
#
# a) It updates its codebook by EMA and revives dead codes automatically.
#
# b) It adds an entropy penalty that spreads the tokens over the codebook.
#
# c) Its codebook is not learned: the codes are a fixed grid of rounding levels, every one
#    reachable by the bounded encoder output, and no code can drift away from the data, so
#    there is nothing to collapse.
#
# d) Its codebook is so small that every code is used anyway.

# %% nbgrader={"grade": false, "grade_id": "answer_q1", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q1 = None
### BEGIN SOLUTION
answer_q1 = "c"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q1", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q1, question="ch07/q1", key="2fbefc43a4a1d7f8",
             hint="Reread section 1: what in FSQ is learned, and what could die?")
### BEGIN HIDDEN TESTS
assert answer_q1 == "c"
### END HIDDEN TESTS

# %% [markdown]
# **Q2. What is FSQ?** (interview question Q9)
#
# a) A VQ-VAE whose learned codebook is optimised with a trick that keeps every entry in
#    use.
#
# b) Each channel of the encoder output is bounded with tanh and rounded to $L_i$ fixed
#    levels; the codebook is the implicit product grid, $\prod_i L_i$ codes with zero
#    parameters, and the loss is the reconstruction loss alone.
#
# c) Each channel is rounded to $\{-L, \dots, L\}$, so levels $L = 8$ on $d = 6$ channels
#    give $17^6$ codes.
#
# d) Rounding is replaced by a smooth function, so FSQ needs no straight-through estimator.

# %% nbgrader={"grade": false, "grade_id": "answer_q2", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q2 = None
### BEGIN SOLUTION
answer_q2 = "b"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q2", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q2, question="ch07/q2", key="00141a1028445db0",
             hint="Reread section 1 and its corrections: how many levels does a channel have?")
### BEGIN HIDDEN TESTS
assert answer_q2 == "b"
### END HIDDEN TESTS

# %% [markdown]
# **Q3. A tokenizer uses FSQ with levels (8, 8, 8, 5, 5, 5). What is its implicit codebook
# size, and what does its training need?** (interview question Q21)
#
# a) 8 + 8 + 8 + 5 + 5 + 5 = 39 codes; it needs a commitment loss because rounding is not
#    differentiable.
#
# b) $8^3 \cdot 5^3 = 64{,}000$ codes; `round` still needs a straight-through estimator,
#    but no codebook or commitment loss: the grid is fixed, and the tanh bound keeps the
#    encoder's outputs on it.
#
# c) $8^3 \cdot 5^3 = 64{,}000$ codes; no straight-through estimator is needed, because
#    tanh is differentiable.
#
# d) $6^8 \approx 1.7$ million codes, with a codebook loss to keep the grid in place.

# %% nbgrader={"grade": false, "grade_id": "answer_q3", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q3 = None
### BEGIN SOLUTION
answer_q3 = "b"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q3", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q3, question="ch07/q3", key="32e3ef66a2d50f19",
             hint="Multiply the levels; then ask what gradient round has, and what loss a "
                  "fixed grid could possibly need.")
### BEGIN HIDDEN TESTS
assert answer_q3 == "b"
### END HIDDEN TESTS

# %% [markdown]
# ## Summary
#
# * **FSQ** bounds each channel with tanh, scales it by $(L_i - 1)/2$ and rounds it (half
#   shift for even $L_i$), with the straight-through estimator around `round`. The
#   codebook is implicit, $\prod_i L_i$ codes ((8, 5, 5, 5): 1000), with zero parameters
#   and no extra loss. Tokens are the mixed-radix number of the level digits, dim 0 least
#   significant, and `fsq_indices_to_codes` inverts it exactly.
# * The FSQ paper's grid is the same idea scaled into $[-1, 1]$ and, for even $L$, shifted
#   to include 0; the often-quoted $\operatorname{round}(L \tanh z)$ and "no STE" are wrong.
# * **LFQ** is the sign of each channel ($L = 2$, $\operatorname{sign}(0) = +1$), $2^d$
#   codes; on its own it leaves bits dead, and MAGVIT-v2's entropy terms (low per-sample,
#   high codebook entropy, $p \propto \exp(2\tau\, z \cdot c)$, natural log) bring the
#   usage back, with a temperature matched to the scale of $z$.
# * On MNIST with the same tokenizer, FSQ used {{fsq_usage:.0%}} of its 1000 codes without
#   any auxiliary loss and reconstructed at least as well as the revived VQ
#   ({{fsq_psnr:.1f}} against {{vq_ema_revival_psnr:.1f}} dB) with a fraction of the
#   machinery; but it can lose whole channels to tanh saturation, so watch the level
#   shares per channel.
#
# Next: **Chapter 8, tokenizers**: VQ-GAN's perceptual and adversarial losses, which make
# such tokens sharp enough for images bigger than digits.

# %% [markdown]
# ## References
#
# * Mentzer, F., Minnen, D., Agustsson, E. and Tschannen, M. (2024). Finite scalar
#   quantization: VQ-VAE made simple. *ICLR*. (FSQ, its grid and its code.)
# * Yu, L., Lezama, J., Gundavarapu, N. B., Versari, L., Sohn, K., Minnen, D., Cheng, Y.,
#   Gupta, A., Gu, X., Hauptmann, A. G., Gong, B., Yang, M.-H., Essa, I., Ross, D. A. and
#   Jiang, L. (2024). Language model beats diffusion: tokenizer is key to visual
#   generation. *ICLR*. (MAGVIT-v2: LFQ and its entropy terms.)
# * van den Oord, A., Vinyals, O. and Kavukcuoglu, K. (2017). Neural discrete
#   representation learning. *NeurIPS*. (VQ-VAE, the learned codebook compared here.)
# * Bengio, Y., Léonard, N. and Courville, A. (2013). Estimating or propagating gradients
#   through stochastic neurons for conditional computation. arXiv:1308.3432. (The
#   straight-through estimator.)
# * Ioffe, S. and Szegedy, C. (2015). Batch normalization: accelerating deep network
#   training by reducing internal covariate shift. *ICML*.
# * Łańcucki, A., Chorowski, J., Sanchez, G., Marxer, R., Chen, N., Dolfing, H. J. G. A.,
#   Khurana, S., Alumäe, T. and Laurent, A. (2020). Robust training of vector quantized
#   bottleneck models. *IJCNN*. (Batch normalisation before the quantizer, codebook
#   re-initialisation.)
