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
# # Chapter 4 · Training a VAE: beta, annealing, free bits, posterior collapse
#
# **You will:** write the loss that every VAE in this course trains with (Bernoulli and
# Gaussian likelihoods, a KL weight $\beta$, free bits), a KL warm-up schedule and the
# *active units* diagnostic; train the classic 784-400-400-20 VAE on real MNIST digits with
# **your** loss; move a $\beta$ slider over models trained here; break a VAE three ways;
# cause posterior collapse on purpose and cure it twice; and measure disentanglement on
# sprites whose true factors are known.
#
# **Time.** The recorded full run took {{execution_seconds:.0f}} s on a shared 2-core CPU
# (yours will differ); the fast mode (`FAST = True`) trains for a small fraction of that.

# %%
import math
import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from IPython.display import display
from torch import nn

from lessonlib.autoencoders import (
    MLPVAE,
    evaluate_vae,
    iwae_bound,
    iwae_log_weights,
    reconstruction_nll,
    snapshot,
)
from lessonlib.autoencoders.disentanglement import (
    latent_traversal,
    mutual_info_gap,
    mutual_info_matrix,
)
from lessonlib.checks import check_choice
from lessonlib.checks.autoencoders import check_active_units, check_kl_anneal_beta, check_vae_loss
from lessonlib.core import (
    discrete_entropy,
    eval_mode,
    is_fast,
    minibatches,
    pick,
    record,
    seed_everything,
    train,
)
from lessonlib.data import SPRITE_FACTORS, load_mnist, make_sprites
from lessonlib.views import Choice, IntSlider, Toggle, interactive, loss_curves, show_grid
from lessonlib.views.beta_tradeoff import render_beta_tradeoff
from lessonlib.views.loss_ablation import KL_SETTINGS, ablation_loss, render_loss_ablation

CHAPTER = "ch04_training_vae"

# %% tags=["parameters"]
FAST = False  # papermill sets True in CI; nbgrader grading forces it too

# %%
FAST = is_fast(FAST)
seed_everything(0)
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## 1. The loss, term by term
#
# Chapter 3 derived the objective. For one input $x$ the VAE minimises the **negative
# ELBO**
#
# $$\mathcal L(x) = \underbrace{-\,\mathbb E_{q(z\mid x)}\big[\log p(x\mid z)\big]}_{\text{reconstruction}}
# \;+\; \beta\,\underbrace{D_{\mathrm{KL}}\big(q(z\mid x)\,\|\,\mathcal N(0, I)\big)}_{\text{KL}},$$
#
# with $\beta = 1$ for the true ELBO. For a diagonal Gaussian encoder the KL is a sum of one
# term per latent dimension $j$,
#
# $$D_{\mathrm{KL}} = \sum_j \tfrac12\big(\mu_j^2 + \sigma_j^2 - \log\sigma_j^2 - 1\big),$$
#
# and the encoder outputs $\log\sigma^2$ (`logvar`), never $\sigma$ itself: any real number
# is a valid log-variance, and $\sigma^2 = e^{\texttt{logvar}}$ is always positive.
# Chapter 3's four-dimension table worked this formula by hand (and corrected a widely
# repeated value: dimension 1 is {{ch03_elbo@kl_table_per_dim/dim1:.2f}}, not 4.0, for a
# total of {{ch03_elbo@kl_table_total:.2f}}).
#
# **How big is each term?** Put that KL of 5.70 next to a reconstruction loss of 150 nats, a
# typical figure for a small model: with $\beta = 1$ the KL is 5.70 / 155.70 = 3.7% of the
# loss. With $\beta = 10$ the KL term becomes 57.0. A commonly repeated version of this
# example calls that "nearly half the loss"; it is 57.0 / 207.0 = **27.5%** of it (28% even
# with the miscomputed total 5.87), not half. The point stands: $\beta$ changes the balance
# a lot.
#
# **The reconstruction term depends on the likelihood** $p(x\mid z)$:
#
# * **Bernoulli** (binary pixels, our MNIST): the decoder outputs one *logit* $\ell_i$ per
#   pixel, $p(x_i = 1 \mid z) = \mathrm{sigmoid}(\ell_i)$, and
#   $-\log p(x\mid z) = \sum_i \mathrm{BCE}(\ell_i, x_i)$, the binary cross-entropy computed
#   *from the logits*.
# * **Gaussian** with unit variance (real-valued pixels): the decoder outputs the mean
#   $\hat x$ and $-\log \mathcal N(x; \hat x, I) = \tfrac12\lVert x - \hat x\rVert^2 +
#   \text{const}$. The $\tfrac12$ matters: the loss as it is often written,
#   $\lVert x-\hat x\rVert^2 + \beta\,\mathrm{KL}$, drops it, and that is twice the
#   $\tfrac12$ version with $\beta/2$: the same minimiser, so its β = 1 is really β = 0.5.
#   The common remark that MSE makes VAEs blurry is about this Gaussian case: under
#   uncertainty, the squared-error-optimal output is the *average* of the plausible images.
#
# **Reductions.** Sum over pixels and over latent dims *per example*, then average over the
# batch. Then `recon + kl` is the negative ELBO in nats per example, independent of the
# batch size, and $\beta$ means what it says. Mixing reductions silently rescales $\beta$:
# a per-pixel *mean* reconstruction (the default `reduction="mean"` of PyTorch's losses) is
# 784 times smaller on MNIST, so next to a summed KL it acts like $\beta \times 784$.

# %% [markdown]
# ### Why the logits, not the probabilities
#
# `F.binary_cross_entropy(torch.sigmoid(logits), x)` looks equivalent to
# `F.binary_cross_entropy_with_logits(logits, x)`, and is for moderate logits. A confident
# decoder breaks it: in float32, `sigmoid(40.0)` is exactly `1.0`, so a pixel that is
# really 0 costs $-\log(1 - 1) = \infty$. PyTorch hides the infinity by clamping the log at
# $-100$, which caps the loss and zeroes the gradient of exactly the mistakes that most need
# fixing. Written from the logits, $\mathrm{BCE}(\ell, x) = \max(\ell, 0) - \ell x +
# \log(1 + e^{-|\ell|})$ is exact for any $\ell$:

# %%
logit = torch.tensor([3.0, 40.0, 200.0])
target = torch.zeros(3)  # every pixel is really 0: each logit is a confident mistake
print("sigmoid(logit)                 :", torch.sigmoid(logit).tolist())
print("BCE on probabilities (clamped) :",
      F.binary_cross_entropy(torch.sigmoid(logit), target, reduction="none").tolist())
print("BCE from the logits (exact)    :",
      F.binary_cross_entropy_with_logits(logit, target, reduction="none").tolist())

# %% [markdown]
# ### Free bits
#
# Some latent dimensions are pushed to $q(z_j\mid x) = \mathcal N(0,1)$ for every $x$: they
# carry no information. **Free bits** (Kingma et al., 2016) give every dimension a budget of
# $\lambda$ nats that the KL term does not charge for:
#
# $$\text{KL term} = \sum_j \max\Big(\lambda,\; \tfrac1B\textstyle\sum_{b=1}^{B}
# D_{\mathrm{KL}}^{(b, j)}\Big),$$
#
# the **batch-mean** KL of each dim $j$, clamped from below (the paper clamps groups of
# dims; here every dim is its own group). Below $\lambda$ the term is
# flat, so the optimizer has no reason to push that dimension further towards the prior,
# and using it up to $\lambda$ nats is free. The clamp changes the *loss* only: the KL you
# report (the returned `kl`) is still the true KL, because that is what the ELBO contains.
#
# *A variant you will meet in code.* Some implementations clamp **each example's** KL per
# dim, `clamp(kl_per_dim, min=free_bits)` on the `[B, D]` tensor, and then average. That is
# a different objective. Averaging after the clamp is always at least as large as clamping
# after the average ($\operatorname{mean}_b \max(\lambda, a_b) \ge \max(\lambda,
# \operatorname{mean}_b a_b)$), and it switches off the KL gradient of every example whose
# own KL is under $\lambda$, even in a dimension that other examples use heavily. With the
# batch mean, as in the paper, a few examples with a large KL can "pay" for a dim. In this
# course `vae_loss` follows the paper. One dim and a batch of four digits, only one of
# which uses the dim:

# %%
kl_bd = torch.tensor([[3.0], [0.0], [0.0], [0.0]])  # [B, D]: KL of each example in each dim
free = 0.5
print("batch mean, then clamp (the paper) :", torch.clamp(kl_bd.mean(0), min=free).sum().item())
print("clamp each example, then average   :", torch.clamp(kl_bd, min=free).mean(0).sum().item())

# %% [markdown]
# The paper's version charges the true 0.75 nats (the dim is above its budget on average,
# so its KL keeps its gradient); the per-example version charges 1.125, half a nat for each
# of the three digits that do not use the dim at all.

# %% [markdown]
# ## 2. Build it: `vae_loss`
#
# Write `vae_loss(x, logits, mu, logvar, likelihood="bernoulli", beta=1.0, free_bits=0.0)`
# returning `(loss, recon, kl)`, three scalar tensors:
#
# * `x`: the data, `[B, 1, 28, 28]` here (any `[B, ...]`); `logits`: the decoder output,
#   flat `[B, P]` (logits for `"bernoulli"`, the mean for `"gaussian"`); `mu`, `logvar`:
#   `[B, D]`.
# * `recon`: per-example sum over pixels of the negative log-likelihood, averaged over the
#   batch (BCE from the logits, or $\tfrac12$ squared error);
# * `kl`: per-example sum over latent dims of the closed-form KL, averaged over the batch
#   (the true KL, never clamped);
# * `loss = recon + beta * KL term`, where the KL term is `kl` when `free_bits == 0`, and
#   the sum over dims of `max(free_bits, batch-mean KL of the dim)` otherwise.
#
# <details><summary>Hint 1</summary>
#
# Flatten the data first: `x.reshape(x.shape[0], -1)` has shape `[B, P]` like the logits.
# Then build `kl_per_dim = 0.5 * (mu**2 + logvar.exp() - logvar - 1)`, shape `[B, D]`:
# everything else is a reduction of these two `[B, ·]` tensors.
# </details>
#
# <details><summary>Hint 2</summary>
#
# `F.binary_cross_entropy_with_logits(logits, x_flat, reduction="sum") / B` is the
# Bernoulli term; `0.5 * (logits - x_flat).pow(2).sum() / B` the Gaussian one. The KL is
# `kl_per_dim.sum(dim=1).mean()`.
# </details>
#
# <details><summary>Hint 3</summary>
#
# Free bits: `kl_per_dim.mean(dim=0)` has shape `[D]` (one batch-mean KL per dim);
# `torch.clamp(that, min=free_bits).sum()` is the KL term of the loss. Multiply it, not the
# reconstruction, by `beta`, and return the unclamped `kl`.
# </details>

# %% nbgrader={"grade": false, "grade_id": "vae_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
def vae_loss(x, logits, mu, logvar, likelihood="bernoulli", beta=1.0, free_bits=0.0):
    """Negative beta-ELBO of a batch: (loss, recon, kl), scalars in nats per example.

    x [B, ...]; logits [B, P]; mu, logvar [B, D] with logvar = log sigma^2.
    """
    ### BEGIN SOLUTION
    batch = x.shape[0]
    x_flat = x.reshape(batch, -1)  # [B, P]
    if likelihood == "bernoulli":
        recon = F.binary_cross_entropy_with_logits(logits, x_flat, reduction="sum") / batch
    elif likelihood == "gaussian":
        recon = 0.5 * (logits - x_flat).pow(2).sum() / batch
    else:
        raise ValueError(f"unknown likelihood {likelihood!r}")
    kl_per_dim = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1)  # [B, D]
    kl = kl_per_dim.sum(dim=1).mean()
    if free_bits > 0:
        kl_term = torch.clamp(kl_per_dim.mean(dim=0), min=free_bits).sum()  # [D] -> scalar
    else:
        kl_term = kl
    return recon + beta * kl_term, recon, kl
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_vae_loss", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
check_vae_loss(vae_loss)
### BEGIN HIDDEN TESTS
from torch.distributions import Bernoulli as _Bernoulli  # noqa: E402
from torch.distributions import Normal as _Normal  # noqa: E402
from torch.distributions import kl_divergence as _kl_divergence  # noqa: E402


def _oracle_loss(x, logits, mu, logvar, likelihood="bernoulli", beta=1.0, free_bits=0.0):
    xf = x.reshape(x.shape[0], -1).double()
    logits, mu, logvar = logits.double(), mu.double(), logvar.double()
    if likelihood == "bernoulli":
        nll = -_Bernoulli(logits=logits).log_prob(xf).sum(1)
    else:
        nll = -(_Normal(logits, 1.0).log_prob(xf) + 0.5 * math.log(2 * math.pi)).sum(1)
    kl_bd = _kl_divergence(_Normal(mu, (0.5 * logvar).exp()),
                           _Normal(torch.zeros_like(mu), torch.ones_like(mu)))  # [B, D]
    kl_true = float(kl_bd.sum(1).mean())
    if free_bits > 0:
        term = sum(max(free_bits, float(kl_bd[:, j].mean())) for j in range(mu.shape[1]))
    else:
        term = kl_true
    return float(nll.mean()) + beta * term, float(nll.mean()), kl_true


_cases = [(3, 10, 2), (16, 784, 20), (1, 5, 7), (8, 64, 32), (5, 12, 1)]
for _seed, (_b, _p, _d) in enumerate(_cases):
    _g = torch.Generator().manual_seed(100 + _seed)
    _x = (torch.rand(_b, _p, generator=_g) > 0.4).float()
    _xg = torch.rand(_b, _p, generator=_g)
    _lo = 5 * torch.randn(_b, _p, generator=_g)
    _mu = 2 * torch.randn(_b, _d, generator=_g)
    _lv = 1.5 * torch.randn(_b, _d, generator=_g)
    for _kw in ({}, {"beta": 0.3}, {"beta": 7.0, "free_bits": 0.4}, {"free_bits": 1.5},
                {"likelihood": "gaussian", "beta": 2.0},
                {"likelihood": "gaussian", "free_bits": 0.8}):
        _xx = _xg if _kw.get("likelihood") == "gaussian" else _x
        _got = [float(t) for t in vae_loss(_xx, _lo, _mu, _lv, **_kw)]
        _want = _oracle_loss(_xx, _lo, _mu, _lv, **_kw)
        assert all(math.isclose(a, w, rel_tol=1e-4, abs_tol=1e-3)
                   for a, w in zip(_got, _want)), (_cases[_seed], _kw, _got, _want)
# images [B, 1, 28, 28] with flat logits, and float64 inputs
_g = torch.Generator().manual_seed(7)
_img = (torch.rand(4, 1, 28, 28, generator=_g) > 0.5).double()
_lo = torch.randn(4, 784, generator=_g, dtype=torch.float64)
_mu, _lv = torch.randn(4, 6, dtype=torch.float64), torch.randn(4, 6, dtype=torch.float64)
_got = [float(t) for t in vae_loss(_img, _lo, _mu, _lv, beta=3.0)]
assert all(math.isclose(a, w, rel_tol=1e-9) for a, w in
           zip(_got, _oracle_loss(_img, _lo, _mu, _lv, beta=3.0))), "images / float64"
# confident logits: exact BCE, no clamping at 100 nats, no inf
_x = torch.tensor([[0.0, 1.0, 0.0, 1.0]])
_lo = torch.tensor([[500.0, -500.0, 80.0, -80.0]])
_r = float(vae_loss(_x, _lo, torch.zeros(1, 3), torch.zeros(1, 3))[1])
assert math.isclose(_r, 1160.0, rel_tol=1e-5), f"BCE must be computed from the logits, got {_r}"
# free bits: the KL gradient vanishes for dims whose batch-mean KL is under the budget
_mu = torch.tensor([[3.0, 0.1], [-3.0, -0.1]], requires_grad=True)
_lv = torch.zeros(2, 2, requires_grad=True)
_loss, _, _kl = vae_loss(torch.zeros(2, 3), torch.zeros(2, 3), _mu, _lv, free_bits=1.0)
_loss.backward()
assert _mu.grad[:, 1].abs().max() == 0 and _mu.grad[:, 0].abs().min() > 0, "free-bits gradient"
assert math.isclose(float(_kl), 0.5 * (9 + 0.01), rel_tol=1e-5), "returned kl is the true KL"
# gradients against the oracle (autograd)
_g = torch.Generator().manual_seed(9)
_x = (torch.rand(6, 20, generator=_g) > 0.5).double()
_leaves = [torch.randn(6, 20, dtype=torch.float64, generator=_g).requires_grad_(True),
           torch.randn(6, 4, dtype=torch.float64, generator=_g).requires_grad_(True),
           torch.randn(6, 4, dtype=torch.float64, generator=_g).requires_grad_(True)]
vae_loss(_x, *_leaves, beta=2.5)[0].backward()
_ref = [t.detach().clone().requires_grad_(True) for t in _leaves]
(-_Bernoulli(logits=_ref[0]).log_prob(_x).sum(1).mean()
 + 2.5 * _kl_divergence(_Normal(_ref[1], (0.5 * _ref[2]).exp()),
                        _Normal(0.0, 1.0)).sum(1).mean()).backward()
assert all(torch.allclose(a.grad, b.grad) for a, b in zip(_leaves, _ref)), "gradients"
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Build it: KL annealing
#
# Early in training the decoder is useless, so the reconstruction term cannot yet reward
# the encoder for putting information into $z$, while the KL term immediately rewards it for
# matching the prior. Many models settle there for good (section 10). **KL annealing**
# (Bowman et al., 2016) starts with $\beta = 0$, a plain autoencoder, and raises $\beta$
# linearly to its final value over the first `anneal_steps` steps:
#
# $$\beta(t) = \min\Big(\beta_{\max},\; \beta_{\max}\,\frac{t}{T}\Big),\qquad
# t = 0, 1, 2, \dots$$
#
# Write `kl_anneal_beta(step, anneal_steps, beta_max=1.0) -> float`. `anneal_steps = 0`
# means no warm-up: $\beta_{\max}$ from the first step.
#
# <details><summary>Hint 1</summary>
#
# Step 0 gives exactly 0, step `anneal_steps` gives exactly `beta_max`, and later steps stay
# at `beta_max`. Handle `anneal_steps == 0` before dividing.
# </details>
#
# <details><summary>Hint 2</summary>
#
# Use true division `/` (not `//`), and `min(beta_max, ...)`, not `min(1.0, ...)`. A common
# guard, `max(anneal_steps, 1)`, avoids the division by zero but still returns 0 at step 0
# when there should be no warm-up at all.
# </details>

# %% nbgrader={"grade": false, "grade_id": "kl_anneal_beta", "locked": false, "schema_version": 3, "solution": true, "task": false}
def kl_anneal_beta(step, anneal_steps, beta_max=1.0):
    """Linear KL warm-up: 0 at step 0, beta_max from step anneal_steps on (a float)."""
    ### BEGIN SOLUTION
    if anneal_steps <= 0:
        return float(beta_max)
    return float(min(beta_max, beta_max * step / anneal_steps))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_kl_anneal_beta", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_kl_anneal_beta(kl_anneal_beta)
### BEGIN HIDDEN TESTS
for _t, _n, _bm, _want in [(0, 10, 1.0, 0.0), (1, 10, 1.0, 0.1), (5, 10, 2.0, 1.0),
                           (10, 10, 2.0, 2.0), (11, 10, 2.0, 2.0), (10**6, 10, 0.5, 0.5),
                           (3, 1, 1.0, 1.0), (0, 1, 3.0, 0.0), (0, 0, 2.5, 2.5),
                           (12345, 0, 1.0, 1.0), (7, 20000, 1.0, 7 / 20000)]:
    _v = kl_anneal_beta(_t, _n, _bm)
    assert isinstance(_v, float) and not isinstance(_v, bool), f"return a float, got {_v!r}"
    assert math.isclose(_v, _want, rel_tol=1e-12, abs_tol=1e-15), (_t, _n, _bm, _v, _want)
assert kl_anneal_beta(4, 8) == 0.5, "beta_max defaults to 1.0"
_curve = [kl_anneal_beta(t, 50, 4.0) for t in range(120)]
assert all(a <= b for a, b in zip(_curve, _curve[1:])), "the warm-up never decreases"
assert _curve[50] == 4.0 and _curve[49] < 4.0 and _curve[0] == 0.0
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Build it: active units
#
# How many latent dimensions does the encoder actually use? Burda et al. (2016) call a dim
# **active** when its posterior mean moves with the input: the variance over the data of
# $\mu_j(x) = \mathbb E_{q(z\mid x)}[z_j]$ exceeds a threshold (they use 0.01):
#
# $$A_j = \operatorname{Var}_x\big(\mu_j(x)\big) > 0.01 .$$
#
# A dim whose $\mu_j$ is the same for every input tells the decoder nothing, whatever its
# value. Write `active_units(mu, threshold=0.01) -> int` for posterior means `mu` of shape
# `[N, D]` (N examples, D latent dims).
#
# <details><summary>Hint 1</summary>
#
# One variance per latent dim, computed across the N examples: `mu.var(dim=0)` has shape
# `[D]`. The *mean* of $\mu_j$ says nothing about use: a dim stuck at 5.0 for every input
# is as dead as one stuck at 0.
# </details>
#
# <details><summary>Hint 2</summary>
#
# Count with a strict `>`, and return a Python `int` (`int(...)`), not a 0-dim tensor.
# </details>

# %% nbgrader={"grade": false, "grade_id": "active_units", "locked": false, "schema_version": 3, "solution": true, "task": false}
def active_units(mu, threshold=0.01):
    """Number of latent dims whose posterior mean varies over the data: mu [N, D] -> int."""
    ### BEGIN SOLUTION
    return int((mu.detach().var(dim=0) > threshold).sum())
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_active_units", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_active_units(active_units)
### BEGIN HIDDEN TESTS
for _seed in range(3):
    _g = torch.Generator().manual_seed(200 + _seed)
    _n, _d = 50 + 37 * _seed, 7 + 5 * _seed
    _scales = torch.rand(_d, generator=_g) * 0.3  # std in [0, 0.3): variances on both sides
    _m = torch.randn(_n, _d, generator=_g, dtype=torch.float64) * _scales.double()
    _m += 10 * torch.randn(_d, generator=_g, dtype=torch.float64)  # large offsets
    _var = _m.numpy().var(axis=0, ddof=1)
    _keep = [all(abs(v - t) > 0.2 * t for t in (0.01, 0.002, 0.05)) for v in _var]  # no ties
    _m, _var = _m[:, torch.tensor(_keep)], _var[_keep]
    for _thr in (0.01, 0.002, 0.05):
        _want = int(sum(v > _thr for v in _var))
        _got = active_units(_m, threshold=_thr) if _thr != 0.01 else active_units(_m)
        assert type(_got) is int and _got == _want, (_seed, _thr, _got, _want)
assert active_units(torch.zeros(3, 4), threshold=0.0) == 0, "strict >"
assert active_units(torch.tensor([[0.0, 0.0], [1.0, 0.0]]), threshold=0.49) == 1, "over dim 0"
assert active_units(torch.randn(100, 3) * 5 + 100, threshold=1.0) == 3
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Lab: train a VAE on real digits, with your loss
#
# The model is the MLP VAE of Kingma & Welling's MNIST experiments (ICLR 2014): an encoder
# 784 → 400 → 400 with two heads (μ and log σ², 20 dims each), and a decoder 20 → 400 → 400
# → 784 that outputs Bernoulli logits.
#
# **Dynamic binarization.** MNIST pixels are grey levels in [0, 1], but a Bernoulli
# likelihood wants 0/1 pixels. Each time a batch is drawn we sample fresh binary pixels,
# $x_i \sim \mathrm{Bernoulli}(\text{intensity}_i)$ with `torch.bernoulli(x)`: a digit
# never looks exactly the same twice, which is a cheap and honest form of data
# augmentation. The test digits are binarized **once**, with a fixed random seed, so that every
# model in this notebook is scored on the same binary images.
#
# **The data is small**: 4,000 training digits (the course ships 5,000 real MNIST digits
# so that everything runs offline). A VAE with a million parameters overfits that, so we
# report test figures, decay the learning rate (cosine) and stop after 4,000 steps
# (128 digits each, about 128 passes over the data).
#
# The training loop below is short enough to read: the `step` function is the whole
# algorithm. It calls **your** `vae_loss` and `kl_anneal_beta` once they pass their checks.

# %%
loss_fn = check_vae_loss.use(vae_loss)
anneal = check_kl_anneal_beta.use(kl_anneal_beta)
count_active = check_active_units.use(active_units)

x_train, y_train = load_mnist("train")  # [4000, 1, 28, 28] grey levels in [0, 1]
x_test, y_test = load_mnist("test")  # [1000, 1, 28, 28]
g_eval = torch.Generator().manual_seed(1)
x_test_bin = torch.bernoulli(x_test, generator=g_eval)  # binarized once, for every model
n_eval = pick(1000, 200, fast_mode=FAST)
order = torch.randperm(len(x_test), generator=g_eval)[:n_eval]  # the files are sorted by digit
x_eval, y_eval = x_test_bin[order], y_test[order]  # [n_eval, 1, 28, 28], [n_eval]
train_idx = torch.randperm(len(x_train), generator=g_eval)[:n_eval]
x_train_eval = torch.bernoulli(x_train[train_idx], generator=g_eval)  # to measure the gap
showcase = torch.stack([x_test[(y_test == d).nonzero()[0, 0]] for d in range(10)])  # [10,1,28,28]


def new_vae(seed=0, **sizes):
    """A freshly initialised MLP VAE (784-400-400-20 unless sizes say otherwise)."""
    torch.manual_seed(seed)
    return MLPVAE(**sizes).to(DEVICE)


def fit_vae(model, *, steps, data=x_train, beta=1.0, anneal_steps=0, free_bits=0.0,
            use_recon=True, lr=1e-3, cosine=False, batch_size=128, seed=0, desc="VAE"):
    """Adam on dynamically binarized `data` with your loss; returns the training History.
    The pixels are drawn on the CPU (the same digits on any device), then moved to DEVICE."""
    model.to(DEVICE)  # before the optimizer is built
    gen = torch.Generator().manual_seed(seed)
    batches = minibatches(data, batch_size=batch_size, generator=gen)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps) if cosine else None
    t = {"step": 0}

    def step(batch):
        (x,) = batch  # [B, 1, H, W] intensities in [0, 1]
        x = torch.bernoulli(x, generator=gen).to(DEVICE)  # a fresh binary sample of each pixel
        logits, mu, logvar, _ = model(x)  # [B, P], [B, D], [B, D]
        beta_t = anneal(t["step"], anneal_steps, beta)
        loss, recon, kl = loss_fn(x, logits, mu, logvar, beta=beta_t, free_bits=free_bits)
        if not use_recon:
            loss = loss - recon  # break-it lab: train on the KL term alone
        t["step"] += 1
        # this batch's active units, counted as active_units counts them but left a tensor
        # on the device (an int every step would be one host read per step on a GPU)
        active = (mu.detach().var(dim=0) > 0.01).sum()
        return {"loss": loss, "recon": recon, "kl": kl, "beta": beta_t, "active": active}

    # no device= here: the batches stay on the CPU, where the seeded generator binarizes
    # them, and `step` moves each one to DEVICE (so every device sees the same digits)
    return train(model.parameters(), step, batches, steps=steps, optimizer=opt, desc=desc,
                 progress=not FAST, callback=(lambda i, logs: sched.step()) if sched else None)


def report(name, ev):
    """One line of test figures (nats per digit)."""
    print(f"{name:34s} recon {ev['recon']:6.1f}  KL {ev['kl']:5.1f}  "
          f"-ELBO {ev['nelbo']:6.1f}  active units {count_active(ev['mu']):2d}")


# %%
N_MAIN = pick(4000, 120, fast_mode=FAST)
vae = new_vae(seed=0)
history = fit_vae(vae, steps=N_MAIN, cosine=True, desc="MLP VAE")
ev_main = evaluate_vae(vae, x_eval)
ev_train = evaluate_vae(vae, x_train_eval)
print(f"{N_MAIN} steps in {history.seconds:.0f} s")
report("test digits (fixed binarization)", ev_main)
report("training digits (for the gap)", ev_train)
record(CHAPTER, "main_test_recon", ev_main["recon"])
record(CHAPTER, "main_test_kl", ev_main["kl"])
record(CHAPTER, "main_test_nelbo", ev_main["nelbo"])
record(CHAPTER, "main_train_nelbo", ev_train["nelbo"])
record(CHAPTER, "main_generalization_gap", ev_main["nelbo"] - ev_train["nelbo"])
record(CHAPTER, "main_active_units", ev_main["active"])
record(CHAPTER, "main_train_seconds", history.seconds)

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.4), gridspec_kw={"width_ratios": [1, 1, 1.5]})
loss_curves(axes[0], {"recon": history["recon"]}, ["recon"], smooth=50)
axes[0].set_ylim(ev_main["recon"] - 20, ev_main["recon"] + 80)
axes[0].set_title("reconstruction (nats / digit)", fontsize=10)
loss_curves(axes[1], {"KL": history["kl"]}, ["KL"], smooth=50)
axes[1].set_title("KL (nats / digit)", fontsize=10)
with torch.no_grad():
    vae.eval()
    recons = torch.sigmoid(vae.decode(vae.encode(showcase.to(DEVICE))[0])).cpu()
    recons = recons.reshape(-1, 1, 28, 28)
    z_prior = torch.randn(10, 20).to(DEVICE)  # drawn on the CPU: the same samples on any device
    samples = torch.sigmoid(vae.decode(z_prior)).cpu().reshape(-1, 1, 28, 28)
show_grid(axes[2], torch.cat([showcase, recons, samples]), nrow=10,
          title="test digits / reconstructions / prior samples")
fig.tight_layout()
plt.show()

# %% [markdown]
# **Reading the numbers.** The first line is the test negative ELBO split into its two
# terms, in nats per digit. In the full run the model reaches **{{main_test_nelbo:.1f}}
# nats** on the test digits, {{main_test_recon:.1f}} of reconstruction and
# {{main_test_kl:.1f}} of KL, with {{main_active_units}} of its 20 dims active. You may meet
# a quoted figure for this architecture of about recon 78, KL 19, loss 97: that is a
# *training* loss on the full 60,000-digit training set, not a test figure. Our own
# training digits score {{main_generalization_gap:.1f}} nats better than the test digits:
# with only 4,000 digits the model starts to overfit, which is why the test figure is the
# one to report (and why training stops at 4,000 steps).
#
# The prior samples (bottom row) are digit-like but blurry and sometimes ambiguous: they are
# pixel-wise *probabilities*, the decoder's mean, not a binary sample.

# %% [markdown]
# ## 6. IWAE: a tighter bound from the same model
#
# The ELBO uses one sample of $q(z\mid x)$. The **importance-weighted bound** (Burda et al.,
# 2016) averages $K$ importance weights $w_k = p(x, z_k)/q(z_k\mid x)$ *inside* the log:
#
# $$\mathcal L_K(x) = \mathbb E\Big[\log \tfrac1K \textstyle\sum_{k=1}^K w_k\Big],\qquad
# \mathcal L_1 = \text{ELBO} \le \mathcal L_5 \le \mathcal L_{50} \le \dots \to \log p(x).$$
#
# It needs no new model: below, the VAE you just trained is scored with $K$ = 1, 5 and 50
# (`iwae_bound` is chapter 3's function). Training *with* $\mathcal L_K$ is the IWAE; it
# costs $K$ decoder passes per example and tends to use more active units, but its
# encoder no longer simply approximates the posterior, so it is not automatically the better
# representation learner.

# %%
n_iwae = min(n_eval, pick(1000, 200, fast_mode=FAST))
iwae = {}
with torch.no_grad():
    for k in (1, 5, 50):
        bounds = [iwae_bound(iwae_log_weights(vae, x_eval[i:i + 200], k, seed=3))
                  for i in range(0, n_iwae, 200)]
        iwae[k] = float(torch.cat(bounds).mean())
        print(f"K = {k:2d}: bound on log p(x) = {iwae[k]:8.2f} nats   (-bound {-iwae[k]:.2f})")
record(CHAPTER, "iwae_nll_bounds", {str(k): -v for k, v in iwae.items()})
record(CHAPTER, "iwae_gain_k50", iwae[50] - iwae[1])

# %% [markdown]
# The bound climbs with $K$: in the full run the negative log-likelihood bound falls from
# {{iwae_nll_bounds/1:.1f}} nats (K = 1, the ELBO) to {{iwae_nll_bounds/50:.1f}} (K = 50).
# So the single-sample ELBO *understates* how good the model is: at least
# {{iwae_gain_k50:.1f}} of its {{iwae_nll_bounds/1:.0f}} nats are the gap
# $D_{\mathrm{KL}}(q(z\mid x)\,\|\,p(z\mid x))$ of an imperfect encoder, not a failing
# of the decoder.

# %% [markdown]
# ## 7. Interactive: the β slider, sharpness against structure
#
# $\beta$ trades the two terms. Six VAEs are trained below, identical except for $\beta$
# (0, 0.25, 1, 4, 16, 100), each for a shorter run than the model above. The slider shows,
# for each:
#
# * **reconstructions** of ten test digits (sharpness);
# * **prior samples**: decode $z \sim \mathcal N(0, I)$; they look like digits only if the
#   codes of real digits fill the prior;
# * **the latent space**: the posterior means μ of test digits in the two busiest dims,
#   coloured by digit, against the prior's 2σ circle, and the *q(z) vs prior mismatch*: the
#   KL from a Gaussian fitted to all codes ("aggregate posterior") to $\mathcal N(0, I)$;
# * the reconstruction and KL terms across the sweep.
#
# | β | reconstruction | latent structure | use |
# |---|---|---|---|
# | < 1 | sharp | messy, holes between codes | when reconstruction quality matters most |
# | = 1 | balanced | good | the standard VAE (the true ELBO) |
# | > 1 | blurry | smooth, close to the prior; dims switch off | β-VAE, interpretable factors |

# %%
BETAS = [0.0, 0.25, 1.0, 4.0, 16.0, 100.0]
N_SWEEP = pick(800, 30, fast_mode=FAST)
sweep, sweep_models = [], {}
start = time.perf_counter()
for beta in BETAS:
    model = new_vae(seed=1)
    fit_vae(model, steps=N_SWEEP, beta=beta, seed=1, desc=f"beta={beta:g}")
    sweep_models[beta] = model
    sweep.append(snapshot(model, x_eval, y_eval, showcase, label=f"beta = {beta:g}", beta=beta,
                          n_samples=24, seed=4))
print(f"{len(BETAS)} VAEs x {N_SWEEP} steps in {time.perf_counter() - start:.0f} s")
for s in sweep:
    print(f"beta = {s.beta:6g}: recon {s.recon:6.1f}  KL {s.kl:6.1f}  "
          f"active units {s.active:2d}  q(z) vs prior mismatch {s.mismatch:7.1f} nats")
record(CHAPTER, "beta_sweep", {f"{s.beta:g}": {"recon": s.recon, "kl": s.kl, "active": s.active,
                                               "mismatch": s.mismatch} for s in sweep})

# %%
display(interactive(
    lambda i: render_beta_tradeoff(i, snapshots=sweep, originals=showcase),
    [IntSlider("i", 0, len(BETAS) - 1, 2, label="beta index")],
    name="beta_tradeoff", chapter=CHAPTER))

# %% [markdown]
# **What to notice.** Going right, the reconstruction term rises and the KL falls; the
# digits blur; fewer dims stay active; the cloud of codes shrinks into the prior's circle
# and the mismatch goes to zero, so prior samples stop landing in "holes". At β = 0 the
# reconstructions are the sharpest of all and the prior samples the worst (in the full run
# the mismatch is {{beta_sweep/0/mismatch:.0f}} nats); at β = 100 every input gets the same
# blurry average.
#
# Three warnings that the slider makes visible: the "best" β depends on what you want
# (reconstructions, samples, or a tidy latent space); only β = 1 optimises a bound on
# $\log p(x)$, so the −ELBO of the other models is not comparable as a likelihood; and a
# large β does not *create* structure, it removes information (sections 10 and 12 come
# back to this).

# %% [markdown]
# ## 8. Check
#
# **Q1. What does increasing β do?**
#
# a) It sharpens reconstructions, because the decoder gets a larger weight in the loss.
#
# b) It pushes each $q(z\mid x)$ harder towards the prior $\mathcal N(0, I)$:
#    reconstructions get blurrier, prior samples land on plausible images more often, and
#    dims that are not worth their KL switch off.
#
# c) It increases the number of latent dimensions the model uses.
#
# d) It makes the ELBO a tighter bound on $\log p(x)$.

# %% nbgrader={"grade": false, "grade_id": "answer_q1", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q1 = None
### BEGIN SOLUTION
answer_q1 = "b"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q1", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q1, question="ch04/q1", key="5045265684d09806",
             hint="Move the slider to the right and watch the active units and the blur.")
### BEGIN HIDDEN TESTS
assert answer_q1 == "b"
### END HIDDEN TESTS

# %% [markdown]
# ## 9. Lab: switch off a loss component
#
# A working VAE balances its two terms. What does each one do? Switch it off (or turn the
# KL weight up to 100) and look at what the model trained with that loss became. Every
# setting has been trained: the healthy β = 1 model, β = 0 and β = 100 are the sweep models
# of section 7, and the cell below trains the settings without a reconstruction term (the
# KL term alone, at weight 1 and at weight 100; with both terms off there is nothing to
# train, so that setting shows the untrained model). For each: test digits and their
# reconstructions, prior samples, and the KL of each latent dim (sorted, log scale; the
# dotted line is 0.01 nats) with the number of active units.

# %%
LAB_STEPS = pick(300, 20, fast_mode=FAST)
kl_only = {}
for kl_setting in ("on", "heavy"):
    kl_only[kl_setting] = new_vae(seed=1)
    fit_vae(kl_only[kl_setting], steps=LAB_STEPS, beta=KL_SETTINGS[kl_setting],
            use_recon=False, seed=1, desc=f"loss = {ablation_loss(False, kl_setting)}")


def lab_snapshot(model, beta):
    """The lab's view of one trained model (same digits and prior samples as the sweep)."""
    return snapshot(model, x_eval, y_eval, showcase, beta=beta, n_samples=24, seed=4)


lab = {(True, "on"): sweep[BETAS.index(1.0)],
       (True, "off"): sweep[BETAS.index(0.0)],
       (True, "heavy"): sweep[BETAS.index(100.0)],
       (False, "on"): lab_snapshot(kl_only["on"], 1.0),
       (False, "heavy"): lab_snapshot(kl_only["heavy"], 100.0),
       (False, "off"): lab_snapshot(new_vae(seed=1), 0.0)}  # no loss: never trained
LAB_NOTES = {
    (True, "on"): "healthy: recognisable reconstructions and digit-like prior samples",
    (True, "off"): "an autoencoder: sharp reconstructions, but prior samples land off the codes",
    (True, "heavy"): "over-regularised: every input and every sample is one blurry average",
    (False, "on"): "codes ignore x, and the decoder, which gets no gradient, stays untrained",
    (False, "heavy"): "the same minimum as the KL alone: a weight cannot move it",
    (False, "off"): "nothing to minimise: the model as initialised",
}
display(interactive(
    lambda reconstruction, kl: render_loss_ablation(reconstruction, kl, runs=lab,
                                                    originals=showcase, notes=LAB_NOTES),
    [Toggle("reconstruction", default=True, label="reconstruction term"),
     Choice("kl", tuple(KL_SETTINGS), default="on", label="KL term")],
    name="loss_ablation", chapter=CHAPTER))
for (with_recon, kl_setting), s in lab.items():
    print(f"loss = {ablation_loss(with_recon, kl_setting)[:22]:22s} recon {s.recon:6.1f}  "
          f"KL {s.kl:8.3f}  active units {s.active:2d}  "
          f"q(z) vs prior mismatch {s.mismatch:7.1f} nats")
record(CHAPTER, "break_it", {
    f"recon_{'on' if with_recon else 'off'}_kl_{kl_setting}": {
        "recon": s.recon, "kl": s.kl, "active": s.active, "mismatch": s.mismatch}
    for (with_recon, kl_setting), s in lab.items()})

# %% [markdown]
# **What failed, and why** (figures from the full run).
#
# * **KL off (β = 0): an autoencoder, not a generator.** Reconstructions are the sharpest
#   here ({{break_it/recon_on_kl_off/recon:.1f}} nats, against
#   {{break_it/recon_on_kl_on/recon:.1f}} for the healthy model), and every dim is active,
#   but the KL is huge ({{break_it/recon_on_kl_off/kl:.0f}} nats): the encoder is free to
#   shrink σ and to place codes wherever suits the decoder. The mismatch between the codes
#   and the prior is the largest of all ({{break_it/recon_on_kl_off/mismatch:.0f}} nats).
#   Decoding $z \sim \mathcal N(0, I)$ therefore lands mostly in regions no digit maps to,
#   and the prior samples are smudges: a "Swiss cheese" of valid codes with dead zones in
#   between.
# * **Reconstruction off: the KL alone.** Its minimum is $q(z\mid x) = \mathcal N(0, I)$
#   for every input, reached quickly: a KL of {{break_it/recon_off_kl_on/kl:.1g}} nats,
#   {{break_it/recon_off_kl_on/active}} active units; the code ignores $x$. Notice what the
#   decoder does: *nothing*. The KL term does not involve the decoder, so it gets no
#   gradient at all and stays at its random initialisation: every output is the same grey
#   fog, a probability near 1/2 for every pixel, and the reconstruction term is
#   {{break_it/recon_off_kl_on/recon:.1f}} nats, close to 784 · ln 2 = 543.4, the cost of
#   p = 1/2 for every pixel. (It is often said
#   that the decoder "outputs the dataset mean" here; it cannot learn anything without a
#   reconstruction term. The blurry average digit is what you get with the KL turned up,
#   where the decoder *is* trained but $z$ carries nothing.) With the KL weight at 100 and no
#   reconstruction the picture is the same: a weight on the only term left does not move
#   its minimum.
# * **KL heavy (β = 100): over-regularised.** Every nat of information now costs 100 nats of
#   loss, so the encoder gives up almost everything: nearly all dims are at the prior, the
#   KL is {{break_it/recon_on_kl_heavy/kl:.4f}} nats, and the decoder, which can still
#   learn, outputs the best guess without information: a blurry average digit, the same for
#   every input and for every prior sample. This is *posterior collapse* caused by the KL
#   weight (section 10).
# * **Both off.** With no term left there is no gradient at all: the model stays as it was
#   initialised, and looks just like the KL-only model, whose decoder was never trained
#   either.

# %% [markdown]
# ## 10. Posterior collapse
#
# **What it is.** During training $D_{\mathrm{KL}}(q(z\mid x)\,\|\,p(z)) \to 0$ (in all
# dims, or in most of them): $q(z\mid x) \approx p(z)$ whatever $x$ is, so $z$ carries no
# information about $x$ and the decoder learns to ignore it. The quantitative signature is a
# KL near zero per dim and few active units, not just "bad samples".
#
# **Why it happens.** Two forces meet early in training. The KL term rewards the encoder at
# once for matching the prior, while the reconstruction term can reward information in $z$
# only after the decoder has learned to use it. And if the **decoder is strong** enough to
# model $x$ on its own (an autoregressive decoder such as a PixelCNN or an LSTM), using $z$
# saves fewer nats of reconstruction than it costs in KL: ignoring $z$ is then a genuine
# optimum of the ELBO, not just a bad start. A large β makes both effects stronger.
#
# **Make it happen.** Give the VAE a strong decoder: besides $z$, let the logit of each pixel
# see all the pixels *before* it (raster order) through a masked linear map,
# $\ell_i = f(z)_i + \sum_{k<i} W_{ik} x_k$. That is still an exact likelihood
# ($p(x\mid z) = \prod_i p(x_i \mid x_{<i}, z)$, an autoregressive decoder), and it can
# predict much of a digit without $z$. Then try the two classic cures on the same model:
# **KL annealing** (your `kl_anneal_beta`, β rising from 0 to 1 over the first half of
# training) and **free bits** (your `vae_loss` with `free_bits=0.5` nats per dim).

# %%
class AutoregressiveVAE(MLPVAE):
    """The MLP VAE whose decoder also sees the previous pixels: a strong decoder."""

    def __init__(self, **sizes):
        super().__init__(**sizes)
        self.context = nn.Linear(self.x_dim, self.x_dim, bias=False)  # W, masked below
        nn.init.zeros_(self.context.weight)
        past = torch.tril(torch.ones(self.x_dim, self.x_dim), diagonal=-1)  # [P, P], k < i
        self.register_buffer("past", past)

    def forward(self, x, sample=True):
        x_flat = x.reshape(x.shape[0], -1)  # [B, P]
        mu, logvar = self.encode(x_flat)  # [B, D] each
        z = self.reparameterize(mu, logvar) if sample else mu
        context = F.linear(x_flat, self.context.weight * self.past)  # [B, P], only x_{<i}
        return self.decode(z) + context, mu, logvar, z


@torch.no_grad()
def evaluate_strong_decoder(model, x):
    """evaluate_vae's figures, with the reconstruction term taken through forward(x): the
    strong decoder's p(x | z) also reads the previous pixels of x, which decode(z) cannot."""
    ev = evaluate_vae(model, x)  # KL per dim, active units, mu: the encoder's side
    with eval_mode(model), torch.random.fork_rng():
        torch.manual_seed(0)
        logits = model(x.to(DEVICE))[0].cpu()  # [N, P]: z sampled, plus the context of x
    recon = float(reconstruction_nll(x, logits).mean())
    return {**ev, "recon": recon, "nelbo": recon + ev["kl"]}


N_COLLAPSE = pick(1500, 50, fast_mode=FAST)
collapse_settings = {
    "strong decoder": {},
    "strong decoder + KL annealing": {"anneal_steps": N_COLLAPSE // 2},
    "strong decoder + free bits 0.5": {"free_bits": 0.5},
}
collapse = {}
for name, options in collapse_settings.items():
    torch.manual_seed(2)
    model = AutoregressiveVAE().to(DEVICE)
    hist = fit_vae(model, steps=N_COLLAPSE, seed=2, desc=name, **options)
    collapse[name] = (evaluate_strong_decoder(model, x_eval), hist)

# %%
reference_ev = evaluate_vae(sweep_models[1.0], x_eval)
rows = {"MLP decoder, beta = 1 (sweep)": reference_ev,
        "MLP decoder, beta = 4 (sweep)": evaluate_vae(sweep_models[4.0], x_eval),
        **{name: ev for name, (ev, _) in collapse.items()}}
ROW_KEYS = dict(zip(rows, ["mlp_beta1", "mlp_beta4", "strong", "strong_anneal",
                           "strong_free_bits"]))  # names of the recorded figures
print(f"{'setting':34s} {'-ELBO':>7s} {'KL':>6s} {'dims > 0.1 nats':>16s} "
      f"{'active units':>13s}")
table = {}
for name, ev in rows.items():
    informative = int((ev["kl_dims"] > 0.1).sum())
    table[ROW_KEYS[name]] = {"nelbo": ev["nelbo"], "kl": ev["kl"],
                             "informative_dims": informative,
                             "active_units": count_active(ev["mu"])}
    print(f"{name:34s} {ev['nelbo']:7.1f} {ev['kl']:6.1f} {informative:16d} "
          f"{count_active(ev['mu']):13d}")
record(CHAPTER, "collapse_table", table)

# %%
fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
for name, (ev, hist) in collapse.items():
    loss_curves(axes[0], {name: hist["kl"]}, [name], smooth=50)
    loss_curves(axes[1], {name: hist["active"]}, [name], smooth=50)
    axes[2].plot(torch.sort(ev["kl_dims"], descending=True).values.numpy(), "o-", ms=3,
                 label=name)
axes[0].set_title("KL during training (nats)", fontsize=10)
axes[1].set_title("active units in each batch", fontsize=10)
axes[2].set_yscale("symlog", linthresh=0.01)
axes[2].axhline(0.01, color="k", lw=0.6, ls=":")
axes[2].set_title("test KL per dim, sorted", fontsize=10)
axes[2].set_xlabel("latent dim (sorted)")
for ax in axes:
    ax.legend(fontsize=7)
fig.tight_layout()
plt.show()

# %% [markdown]
# **Reading the table** (the full run; fast mode trains too briefly for the effect). The
# plain VAE of the sweep keeps {{collapse_table/mlp_beta1/active_units}} of its 20 dims
# active. With the strong decoder and no help, {{collapse_table/strong/informative_dims}}
# dims carry more than 0.1 nats and the total KL is {{collapse_table/strong/kl:.1f}} nats,
# against {{collapse_table/mlp_beta1/kl:.1f}} for the plain VAE; the idle dims sit at 0.01
# nats or less, the "KL of about 0.01 per dimension" of the diagnosis exercise in
# section 11. Now look at the −ELBO: the collapsed model is *better* than the plain VAEs by
# that measure: {{collapse_table/strong/nelbo:.1f}} nats, against {{main_test_nelbo:.1f}}
# for the VAE of section 5, which trained more than twice as long. Its decoder models the
# digits well without $z$. Posterior collapse does not show in the loss; you have to look
# at the KL per dim and the active units.
#
# *KL annealing* lets the model learn to use $z$ while β is still small; more dims survive
# once β reaches 1 ({{collapse_table/strong_anneal/informative_dims}} above 0.1 nats), and
# the −ELBO is the best of the three ({{collapse_table/strong_anneal/nelbo:.1f}} nats).
# *Free bits* give each dim 0.5 nats for free: the encoder then uses
# {{collapse_table/strong_free_bits/informative_dims}} of the 20 (each carries at least
# about half a nat), at a small cost in −ELBO ({{collapse_table/strong_free_bits/nelbo:.1f}}
# nats), because the free nats are not free in the true ELBO.
#
# Why show two counts? Active units are a yes/no threshold on the variance of μ (0.01, the
# convention of Burda et al., who trained for thousands of epochs). After short runs a
# half-dead dim can sit near that threshold (variance around 0.01, KL around 0.01 nats), so
# the count can move by a few from one run or machine to the next. The KL per dim (the
# "dims > 0.1 nats" column and the sorted curves on the right) is the steadier view.
#
# And β > 1 is **not** a cure: the β = 4 row uses {{collapse_table/mlp_beta4/informative_dims}}
# dims above 0.1 nats, against {{collapse_table/mlp_beta1/informative_dims}} for β = 1. A
# larger KL weight makes collapse easier.
#
# **Mitigations** (the interview answer lists at least four):
#
# | method | how | source |
# |---|---|---|
# | KL annealing | β(t) = min(1, t / T), warm-up from 0 | Bowman et al. 2016 |
# | free bits | per-dim KL floor λ nats: max(λ, batch-mean KL_j) | Kingma et al. 2016 |
# | β < 1 | a smaller KL weight (the reverse of β-VAE) | |
# | a weaker decoder | restrict an autoregressive decoder's context, dropout on its inputs | Chen et al. 2017 |
# | auxiliary tasks | word dropout, bag-of-words loss (text VAEs) | Bowman et al. 2016 |
# | richer posterior / prior | IAF / normalizing flows | Kingma et al. 2016 |
# | skip connections | force z into every decoder layer | Dieng et al. 2019 |
# | discrete latents | VQ-VAE: no KL to push to the prior | van den Oord et al. 2017 |

# %% [markdown]
# ## 11. Checkpoint: diagnose blurry samples and a KL near zero
#
# *You've trained a VAE for 100 epochs. The reconstruction loss plateaued at a high value.
# The KL divergence collapsed to about 0.01 nats per dimension early in training and stayed
# there. Samples (decode $z \sim \mathcal N(0, I)$) are blurry and look like averaged
# versions of training images.*
#
# **Q2. What is the most likely diagnosis?**
#
# a) The learning rate is too high: training diverged, which is why the reconstruction
#    loss plateaued.
#
# b) Posterior collapse: $q(z\mid x) \approx p(z)$ in every dim, so $z$ carries (almost) no
#    information about $x$ and the decoder outputs its best guess without it, an average.
#
# c) Overfitting: the encoder memorised the training set, so the KL became small.
#
# d) The prior is too wide: with $\mathcal N(0, 0.1 I)$ as the prior the samples would be
#    sharp.

# %% nbgrader={"grade": false, "grade_id": "answer_q2", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q2 = None
### BEGIN SOLUTION
answer_q2 = "b"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q2", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q2, question="ch04/q2", key="871241ebfac055c5",
             hint="What does a KL of 0.01 nats per dim say about how much q(z|x) depends on x?")
### BEGIN HIDDEN TESTS
assert answer_q2 == "b"
### END HIDDEN TESTS

# %% [markdown]
# **Explain your diagnosis** (manually graded): what the two symptoms (KL ≈ 0.01 per dim
# from early on; blurry, averaged samples and a high reconstruction loss) tell you, why it
# happened early in training, how you would confirm it with a measurement, and two fixes
# you would try first, with what each changes.

# %% [markdown] nbgrader={"grade": true, "grade_id": "adversarial_posterior_collapse", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# **Model answer.** This is posterior collapse. A KL of about 0.01 nats per dim means
# $q(z\mid x)$ is almost exactly $\mathcal N(0, I)$ for every input: the code carries next
# to no information about $x$. The decoder therefore learned to model the data without $z$,
# and the best it can do without information is the average of the plausible images,
# hence blurry, averaged samples and a reconstruction loss stuck high (the decoder is not
# told which digit to draw).
#
# Why early: at the start the decoder cannot use $z$ yet, so the reconstruction term gives
# the encoder no reason to put information into it, while the KL term rewards matching the
# prior immediately. The encoder collapses to the prior within the first steps; once the
# decoder has learned to ignore $z$, there is no gradient signal to leave that state (a
# local optimum, or even the global one if the decoder is strong, e.g. autoregressive).
#
# Confirm: log the KL per latent dimension and count active units
# ($\operatorname{Var}_x \mu_j(x) > 0.01$) on held-out data; check that reconstructions of
# different inputs are nearly identical (or that decoding with a shuffled $z$ changes
# nothing).
#
# Fixes: (1) **KL annealing**: start with β = 0 and raise it linearly to 1 over the first
# thousands of steps, so the decoder learns to use $z$ before the KL pressure arrives;
# (2) **free bits**: clamp each dim's batch-mean KL from below at λ ≈ 0.5-2 nats, so that
# using a dim up to λ nats costs nothing and the gradient stops pushing it to the prior.
# Others: a weaker decoder (less autoregressive context, dropout on its inputs), β < 1,
# skip connections that feed $z$ to every decoder layer, a richer posterior, or discrete
# latents (VQ-VAE). Raising β would make it worse.

# %% [markdown]
# ## 12. β-VAE on sprites: disentanglement against known factors
#
# **β-VAE** (Higgins et al., 2017) trains with β > 1 on purpose. The hope: with a strong
# pressure towards the factorised prior $\mathcal N(0, I)$, the model spends its few nats on
# independent directions, and each latent dim ends up controlling one factor of variation
# (shape, size, position, ...). That is **disentanglement**.
#
# To measure it we need data whose true factors are known: dSprites-style **sprites**
# (32×32 binary images of a square, an ellipse or a heart), generated in code with five
# factors: shape (3 values), scale (6), rotation (10), x (16) and y (16). Four MLP VAEs
# (1024-256-256-8) are trained below: β = 1 and β = 4, each from two random seeds, because
# the random seed turns out to matter (see the caveat at the end of the section).
#
# **Latent traversals**: encode one sprite, then sweep one latent dim from −2.5 to 2.5
# while keeping the others fixed, and decode. In a disentangled model each row changes one
# factor only.
#
# **A simple score: the mutual information gap (MIG, Chen et al. 2018).** Bin each latent
# dim (20 equal-width bins over its range), compute the mutual information
# $I(z_j; v_k)$ between each dim $j$ and each factor $k$, and for each factor take the gap
# between the most informative dim and the runner-up, divided by the factor's entropy:
#
# $$\mathrm{MIG} = \frac1K \sum_k \frac{I(z_{(1)}; v_k) - I(z_{(2)}; v_k)}{H(v_k)} \in [0, 1].$$
#
# 1 means every factor lives in exactly one dim; 0 means each factor is spread over several
# dims (or captured by none). The heat maps show the normalised $I(z_j; v_k) / H(v_k)$.

# %%
n_sprites = pick(6000, 1000, fast_mode=FAST)
sprites_train, _ = make_sprites(n_sprites, seed=0)  # [N, 1, 32, 32] in {0, 1}
sprites_test, factors_test = make_sprites(pick(2000, 500, fast_mode=FAST), seed=1)
N_SPRITES = pick(1000, 40, fast_mode=FAST)
SPRITE_SEEDS = (0, 1)
sprite_models, sprite_mu, mig, sprite_kl = {}, {}, {}, {}
for beta in (1.0, 4.0):
    for seed in SPRITE_SEEDS:
        model = new_vae(seed=10 + seed, x_dim=1024, h_dim=256, z_dim=8)
        fit_vae(model, steps=N_SPRITES, data=sprites_train, beta=beta, seed=10 + seed,
                desc=f"sprites beta={beta:g} seed {seed}")
        model.eval()
        with torch.no_grad():
            sprite_mu[beta, seed] = model.encode(sprites_test.to(DEVICE))[0].cpu()  # [N, 8]
        sprite_models[beta, seed] = model
        mig[beta, seed], gaps = mutual_info_gap(sprite_mu[beta, seed], factors_test)
        kl = sprite_kl[beta, seed] = evaluate_vae(model, sprites_test)["kl"]
        print(f"beta = {beta:g}, seed {seed}: KL {kl:4.1f} nats, MIG = {mig[beta, seed]:.3f}; "
              "gap per factor: "
              + ", ".join(f"{f} {g:.2f}" for f, g in zip(SPRITE_FACTORS, gaps.tolist())))
mig_mean = {b: sum(mig[b, s] for s in SPRITE_SEEDS) / len(SPRITE_SEEDS) for b in (1.0, 4.0)}
print("mean MIG: " + ", ".join(f"beta = {b:g}: {v:.3f}" for b, v in mig_mean.items()))
record(CHAPTER, "sprites_mig", {f"beta{b:g}_seed{s}": v for (b, s), v in mig.items()})
record(CHAPTER, "sprites_mig_mean", {f"beta{b:g}": v for b, v in mig_mean.items()})
record(CHAPTER, "sprites_kl_mean", {f"beta{b:g}": sum(sprite_kl[b, s] for s in SPRITE_SEEDS)
                                    / len(SPRITE_SEEDS) for b in (1.0, 4.0)})

# %%
values = torch.linspace(-2.5, 2.5, 9)
big = (factors_test[:, 1] == 5) & (factors_test[:, 0] == 2)  # the largest scale, a heart
example = sprites_test[big.nonzero()[0]]  # [1, 1, 32, 32]
entropies = torch.tensor([discrete_entropy(factors_test[:, k]) for k in range(len(SPRITE_FACTORS))])
fig, axes = plt.subplots(2, 2, figsize=(12, 6.5), gridspec_kw={"width_ratios": [1.5, 1]})
for row, beta in zip(axes, (1.0, 4.0)):
    key = (beta, SPRITE_SEEDS[0])
    spread = sprite_mu[key].var(dim=0)  # [8]
    dims = spread.argsort(descending=True)[:5].tolist()  # the five busiest dims
    with torch.no_grad():
        frames = latent_traversal(sprite_models[key], example.to(DEVICE), dims,
                                  values.to(DEVICE)).cpu()  # [5*9, 1, 32, 32]
    show_grid(row[0], frames, nrow=len(values),
              title=f"beta = {beta:g} (seed {key[1]}): traversals of dims {dims} (rows), "
                    "-2.5 .. 2.5")
    mi = mutual_info_matrix(sprite_mu[key], factors_test) / entropies  # [8, 5]
    im = row[1].imshow(mi.numpy(), vmin=0, vmax=0.6, cmap="viridis", aspect="auto")
    row[1].set_xticks(range(len(SPRITE_FACTORS)), SPRITE_FACTORS, fontsize=8)
    row[1].set_ylabel("latent dim", fontsize=8)
    row[1].set_title(f"I(z_j; factor) / H(factor); MIG = {mig[key]:.3f}", fontsize=9)
    fig.colorbar(im, ax=row[1])
fig.tight_layout()
plt.show()

# %% [markdown]
# **What to notice** (the full run). With β = 4 the model affords fewer nats (a KL of
# {{sprites_kl_mean/beta4:.1f}} nats on average over the two random seeds, against
# {{sprites_kl_mean/beta1:.1f}} for β = 1), so it uses fewer dims, and the busiest ones tend to line up with single
# factors: one dim for x, one for y, one for scale, each a bright cell alone in its column
# of the heat map, and a traversal row that moves or grows the sprite without changing
# anything else. With β = 1 position and size are more often spread over two or three
# dims. Shape and rotation stay entangled in every model: rotation is invisible for
# symmetric shapes, and 1,000 steps are far from the long trainings of the papers, so all
# the scores are low in absolute terms.
#
# Now compare the four MIGs printed above. In the full run the β = 4 models score higher
# *on average* ({{sprites_mig_mean/beta4:.3f}} against {{sprites_mig_mean/beta1:.3f}}), but
# two random seeds of the same β differ a lot ({{sprites_mig/beta4_seed0:.3f}} and
# {{sprites_mig/beta4_seed1:.3f}} at β = 4, {{sprites_mig/beta1_seed0:.3f}} and
# {{sprites_mig/beta1_seed1:.3f}} at β = 1). Which brings us to the caveat.
#
# **The caveat (Locatello et al., ICML 2019, best paper).** Without inductive biases in the
# model or the data, or some supervision, unsupervised disentanglement is impossible in
# principle: for any disentangled model there is an entangled one with exactly the same
# marginal likelihood, so the ELBO cannot prefer it. Their large study found that which
# model scores well depends more on the random seed and hyperparameters than on β or the
# method, and that disentanglement scores cannot be tuned without the ground-truth factors.
# So "β > 1 gives disentanglement" is not a law: here, the axis-aligned factorised prior and
# a data set whose factors are independent and geometric make it likely; change the
# random seed, and the numbers above move.

# %% [markdown]
# ## 13. Beyond the plain VAE: NVAE and VAE-GAN
#
# **NVAE** (Vahdat & Kautz, NeurIPS 2020) makes the latent **hierarchical**: groups
# $z = (z_1, \dots, z_L)$ with $p(z) = p(z_1)\prod_l p(z_l \mid z_{<l})$, and
# $q(z\mid x)$ built top-down the same way, with tens of groups at several resolutions.
# Making that train stably took engineering: residual cells with depthwise-separable
# convolutions and batch normalisation, the posterior parameterised *relative* to the prior
# ("residual normal": $q$ predicts shifts $\Delta\mu, \Delta\log\sigma$ of each group's
# prior), and spectral regularisation (a penalty on the largest singular value of each
# layer) to keep the KL terms from exploding. It reached 2.91 bits per dimension on
# CIFAR-10 (from 2.98 before it), the best non-autoregressive likelihood at the time, and
# it was the first successful VAE on natural images as large as 256×256 pixels (faces);
# its samples were then overtaken by diffusion models. Hierarchies help
# because one Gaussian of 20 dims (this chapter) must encode everything at once, while a
# hierarchy lets coarse latents decide "which digit" and finer ones the strokes.
#
# **VAE-GAN** (Larsen et al., ICML 2016) attacks the blur. A pixel-wise likelihood (squared
# error, or BCE) rewards the *average* of the plausible images when the decoder is unsure,
# and an average of sharp images is a blurry image. VAE-GAN adds a discriminator $D$ and
# measures reconstruction in its feature space,
# $\lVert D_l(x) - D_l(\hat x)\rVert^2$, plus an adversarial loss that penalises images a
# discriminator can tell from real ones. The line of ideas leads to VQ-GAN and the Stable
# Diffusion VAE (chapter 8). The figure below shows the problem it solves on a test digit:
# if the decoder cannot know whether the digit is shifted two pixels left or right, the
# squared-error-optimal output is the blend.

# %%
digit = x_test[y_test == 7][0]  # [1, 28, 28]


def shift(image, dx):
    """Move an image dx pixels to the right (left if negative), filling with black."""
    out = torch.zeros_like(image)
    if dx > 0:
        out[..., dx:] = image[..., :-dx]
    else:
        out[..., :dx] = image[..., -dx:]
    return out


left, right = shift(digit, -2), shift(digit, 2)
blend = 0.5 * (left + right)


def expected_mse(guess):
    """Expected squared error when the truth is left or right with probability 1/2."""
    return 0.5 * float((guess - left).pow(2).sum() + (guess - right).pow(2).sum())


fig, axes = plt.subplots(1, 3, figsize=(6.5, 2.4))
for ax, img, name in zip(axes, (left, right, blend), ("sharp guess: left", "sharp guess: right",
                                                      "the blend (MSE-optimal)")):
    show_grid(ax, img[None], nrow=1, title=f"{name}\nexpected SE {expected_mse(img):.1f}")
fig.tight_layout()
plt.show()
record(CHAPTER, "blur_expected_se", {"sharp": expected_mse(left), "blend": expected_mse(blend)})

# %% [markdown]
# The blend halves the expected squared error of committing to either sharp digit
# ({{blur_expected_se/blend:.1f}} against {{blur_expected_se/sharp:.1f}}), and it is exactly
# what a real digit never looks like. A discriminator sees that at once; a pixel
# loss never will.

# %% [markdown]
# ## 14. Check: two interview questions
#
# **Q3. (Interview Q4) What is posterior collapse?**
#
# a) The encoder's variance shrinks to zero, so that $q(z\mid x)$ becomes a point mass and
#    the VAE becomes a plain autoencoder.
#
# b) The decoder's weights collapse to zero during training, so every output is the same.
#
# c) The KL term goes to zero because $q(z\mid x) \approx p(z)$ whatever $x$ is: the code
#    carries no information, the decoder ignores it, and the VAE becomes an unconditional
#    generator.
#
# d) The reconstruction loss collapses to zero because the model memorises the training
#    set.

# %% nbgrader={"grade": false, "grade_id": "answer_q3", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q3 = None
### BEGIN SOLUTION
answer_q3 = "c"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q3", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q3, question="ch04/q3", key="0324194a469eae66",
             hint="Which quantity goes to zero, and what does that say about z?")
### BEGIN HIDDEN TESTS
assert answer_q3 == "c"
### END HIDDEN TESTS

# %% [markdown]
# **Q4. (Interview Q12) Which of these does *not* mitigate posterior collapse?**
#
# a) KL annealing: warm β up from 0 to 1 over the first part of training.
#
# b) Free bits: a per-dim floor of λ nats on the batch-mean KL.
#
# c) Raising β above 1, as in β-VAE.
#
# d) A weaker decoder, for example an autoregressive decoder with a restricted context.

# %% nbgrader={"grade": false, "grade_id": "answer_q4", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q4 = None
### BEGIN SOLUTION
answer_q4 = "c"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q4", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q4, question="ch04/q4", key="005d484908704238",
             hint="Look at the beta = 4 row of the collapse table.")
### BEGIN HIDDEN TESTS
assert answer_q4 == "c"
### END HIDDEN TESTS

# %% [markdown]
# ## Summary
#
# * The VAE loss is reconstruction + β·KL, each summed per example and averaged over the
#   batch; BCE from the logits for binary data, ½ squared error for the unit Gaussian; the
#   encoder outputs log σ². Mixed reductions silently rescale β.
# * Free bits clamp each dim's *batch-mean* KL from below in the loss; the reported KL stays
#   the true one. KL annealing warms β up linearly from 0.
# * The 784-400-400-20 MLP VAE reaches {{main_test_nelbo:.0f}} nats (test −ELBO) on 4,000
#   MNIST digits after 4,000 steps on a CPU; IWAE with K = 50 tightens the bound on the
#   same model by {{iwae_gain_k50:.1f}} nats.
# * β trades sharp reconstructions against a latent space that matches the prior; β = 0 is
#   an autoencoder with useless prior samples, β = 100 an average digit, and the KL term
#   alone trains no decoder at all.
# * Posterior collapse (KL → 0 per dim, few active units) comes from early KL pressure and
#   strong decoders; the −ELBO does not reveal it. KL annealing and free bits bring the dims
#   back; β > 1 makes it worse.
# * β-VAE can align dims with factors on simple data (MIG), but unsupervised
#   disentanglement is not guaranteed (Locatello et al., 2019).
#
# Next: **Chapter 5, VQ-VAE**: discrete codes, a codebook and the straight-through
# estimator.

# %% [markdown]
# ## References
#
# * Kingma, D. P. and Welling, M. (2014). Auto-encoding variational Bayes. *ICLR*. (The
#   loss, and the 784-400-400-20 MNIST model of section 5.)
# * Bowman, S. R., Vilnis, L., Vinyals, O., Dai, A. M., Jozefowicz, R. and Bengio, S.
#   (2016). Generating sentences from a continuous space. *CoNLL*. (KL annealing, word
#   dropout, posterior collapse.)
# * Kingma, D. P., Salimans, T., Jozefowicz, R., Chen, X., Sutskever, I. and Welling, M.
#   (2016). Improved variational inference with inverse autoregressive flow. *NeurIPS*.
#   (Free bits; IAF.)
# * Burda, Y., Grosse, R. and Salakhutdinov, R. (2016). Importance weighted autoencoders.
#   *ICLR*. (The IWAE bound; active units.)
# * Chen, X., Kingma, D. P., Salimans, T., Duan, Y., Dhariwal, P., Schulman, J.,
#   Sutskever, I. and Abbeel, P. (2017). Variational lossy autoencoder. *ICLR*. (Strong
#   autoregressive decoders and posterior collapse.)
# * Dieng, A. B., Kim, Y., Rush, A. M. and Blei, D. M. (2019). Avoiding latent variable
#   collapse with generative skip models. *AISTATS*.
# * van den Oord, A., Vinyals, O. and Kavukcuoglu, K. (2017). Neural discrete
#   representation learning. *NeurIPS*.
# * Higgins, I., Matthey, L., Pal, A., Burgess, C., Glorot, X., Botvinick, M., Mohamed, S.
#   and Lerchner, A. (2017). β-VAE: learning basic visual concepts with a constrained
#   variational framework. *ICLR*.
# * Matthey, L., Higgins, I., Hassabis, D. and Lerchner, A. (2017). dSprites:
#   disentanglement testing sprites dataset. github.com/deepmind/dsprites-dataset. (The
#   model of our sprites.)
# * Chen, R. T. Q., Li, X., Grosse, R. and Duvenaud, D. (2018). Isolating sources of
#   disentanglement in variational autoencoders. *NeurIPS*. (The MIG score.)
# * Locatello, F., Bauer, S., Lucic, M., Rätsch, G., Gelly, S., Schölkopf, B. and Bachem,
#   O. (2019). Challenging common assumptions in the unsupervised learning of disentangled
#   representations. *ICML*.
# * Vahdat, A. and Kautz, J. (2020). NVAE: a deep hierarchical variational autoencoder.
#   *NeurIPS*.
# * Larsen, A. B. L., Sønderby, S. K., Larochelle, H. and Winther, O. (2016). Autoencoding
#   beyond pixels using a learned similarity metric. *ICML*. (VAE-GAN.)
