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
# # Chapter 3 · The ELBO: the objective a VAE maximizes
#
# **You will:** derive the evidence lower bound (ELBO) from $\log p(x)$ and the closed-form
# KL divergence between Gaussians; write `kl_standard_normal` and check a widely repeated
# worked table with it (two of its numbers are wrong); see, on a model of real digits
# whose likelihood is exact, that the ELBO's gap is precisely the KL to the true posterior;
# write the IWAE bound and watch it climb to $\log p(x)$; and train VAEs on MNIST at seven
# settings of the reconstruction/KL balance to see the tug-of-war for yourself.

# %%
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from IPython.display import display
from matplotlib.patches import Ellipse
from torch.distributions import MultivariateNormal, Normal, kl_divergence

from lessonlib.autoencoders import MLPVAE, log_normal_diag, snapshot
from lessonlib.autoencoders.linear_gaussian import LinearGaussian, interpolate_q
from lessonlib.checks import check_choice
from lessonlib.checks.autoencoders import check_iwae_bound, check_jensen, check_kl_standard_normal
from lessonlib.checks.autoencoders.gaussian import JENSEN_WEIGHTS
from lessonlib.core import is_fast, minibatches, pick, record, seed_everything, train
from lessonlib.data import load_digits, load_mnist
from lessonlib.views import IntSlider, interactive
from lessonlib.views.elbo_tradeoff import render_elbo_tradeoff

CHAPTER = "ch03_elbo"

# %% tags=["parameters"]
FAST = False  # papermill sets True in CI; nbgrader grading forces it too

# %%
FAST = is_fast(FAST)
seed_everything(0)
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## 1. The number we want and cannot compute
#
# A VAE is a generative model: a prior $p(z) = \mathcal N(0, I)$ and a decoder
# $p_\theta(x \mid z)$. Training it by maximum likelihood means maximizing, over the
# training images,
#
# $$\log p_\theta(x) = \log \int p_\theta(x \mid z)\, p(z)\, dz .$$
#
# The integral runs over every possible code. With a neural decoder it has no closed form,
# and numerical integration is hopeless: a grid of only 100 points per axis of an
# 8-dimensional $z$ is $10^{16}$ decoder calls for **one** image. Sampling $z$ from the
# prior and averaging $p(x \mid z)$ is unbiased but useless in practice: almost every
# prior sample decodes to some *other* digit, so the average is dominated by rare lucky
# draws (section 6 measures what an encoder that ignores $x$ costs).
#
# The fix is to ask an encoder where to look. For each $x$ it proposes a distribution
# $q_\phi(z \mid x)$ (chapter 2's Gaussian with mean $\mu(x)$ and variance $\sigma^2(x)$)
# concentrated on the codes that could have produced $x$. That turns the intractable
# integral into a tractable **lower bound**.

# %% [markdown]
# ## 2. Derivation: the ELBO from $\log p(x)$
#
# **Your task.** Starting from $\log p(x) = \log \int p(x, z)\, dz$, introduce any density
# $q(z \mid x)$ and derive
#
# $$\log p(x) \;\ge\; \mathbb E_{q(z \mid x)}[\log p(x \mid z)] - \mathrm{KL}\big(q(z \mid x)
# \,\|\, p(z)\big) \;=:\; \text{ELBO}(q).$$
#
# Say which step is the inequality and why it holds. Then show that the gap is exactly
# $\log p(x) - \text{ELBO}(q) = \mathrm{KL}\big(q(z \mid x) \,\|\, p(z \mid x)\big)$, and say
# when the bound is tight.
#
# <details><summary>Hint 1</summary>
#
# Multiply and divide by $q$ inside the integral:
# $\log \int p(x, z)\, \frac{q(z \mid x)}{q(z \mid x)}\, dz
# = \log \mathbb E_{q}\!\left[\frac{p(x, z)}{q(z \mid x)}\right]$. Now it is the log of an
# expectation under $q$.
# </details>
#
# <details><summary>Hint 2</summary>
#
# $\log$ is concave, so Jensen's inequality gives $\log \mathbb E[w] \ge \mathbb E[\log w]$.
# Apply it to $w = p(x, z)/q(z \mid x)$, then split $\log p(x, z) = \log p(x \mid z) +
# \log p(z)$ and recognize $\mathbb E_q[\log q(z \mid x) - \log p(z)]$ as a KL divergence.
# </details>
#
# <details><summary>Hint 3</summary>
#
# For the gap, use Bayes' rule the other way round: $p(x, z) = p(z \mid x)\, p(x)$. Then
# $\mathbb E_q[\log p(x, z) - \log q(z \mid x)] = \log p(x) - \mathbb E_q[\log q(z \mid x) -
# \log p(z \mid x)]$: no inequality needed.
# </details>

# %% [markdown] nbgrader={"grade": true, "grade_id": "derivation_elbo", "locked": false, "points": 4, "schema_version": 3, "solution": true, "task": false}
# **Model answer.**
#
# 1. $\log p(x) = \log \int p(x, z)\, dz = \log \int q(z \mid x)\,
#    \frac{p(x, z)}{q(z \mid x)}\, dz = \log \mathbb E_{q}\!\left[\frac{p(x, z)}{q(z \mid x)}
#    \right]$ (for any $q$ that is positive wherever $p(x, z)$ is).
# 2. **Jensen:** $\log$ is concave, so $\log \mathbb E[w] \ge \mathbb E[\log w]$, hence
#    $\log p(x) \ge \mathbb E_q[\log p(x, z) - \log q(z \mid x)]$.
# 3. $= \mathbb E_q[\log p(x \mid z) + \log p(z) - \log q(z \mid x)]
#    = \mathbb E_q[\log p(x \mid z)] - \mathbb E_q\!\left[\log \frac{q(z \mid x)}{p(z)}\right]
#    = \mathbb E_q[\log p(x \mid z)] - \mathrm{KL}(q(z \mid x) \,\|\, p(z))$.
#
# **The gap.** Write $p(x, z) = p(z \mid x)\, p(x)$ in the middle expression of step 2:
# $\text{ELBO}(q) = \mathbb E_q[\log p(x) + \log p(z \mid x) - \log q(z \mid x)]
# = \log p(x) - \mathrm{KL}(q(z \mid x) \,\|\, p(z \mid x))$. So
# $\log p(x) - \text{ELBO}(q) = \mathrm{KL}(q \,\|\, p(z \mid x)) \ge 0$, with equality if and
# only if $q(z \mid x) = p(z \mid x)$ (Jensen is tight exactly when $w$ is constant in $z$,
# which is the same condition). Maximizing the ELBO over $q$ therefore pulls $q$ towards the
# true posterior, and maximizing it over $\theta$ raises a lower bound on the likelihood:
# one objective trains both.

# %% [markdown]
# ### Build it (numeric part): Jensen's inequality with three weights
#
# Step 2 says that the log of an average is at least the average of the logs. Take three
# importance weights $w = p(x, z_k)/q(z_k \mid x)$ for three samples $z_k$:
# $w = (0.5, 2, 8)$. Set `jensen` to the pair `(log_of_mean, mean_of_log)`: the log of the
# mean of $w$ (what $\log p(x)$ is estimated by) and the mean of $\log w$ (what the ELBO
# is estimated by). Compute them with torch, natural logarithms.

# %% nbgrader={"grade": false, "grade_id": "jensen", "locked": false, "schema_version": 3, "solution": true, "task": false}
w = torch.tensor(JENSEN_WEIGHTS)  # (0.5, 2.0, 8.0)
# set jensen = (log_of_mean, mean_of_log), two floats
jensen = None
### BEGIN SOLUTION
jensen = (float(torch.log(w.mean())), float(torch.log(w).mean()))
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_jensen", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_jensen(jensen)
### BEGIN HIDDEN TESTS
assert abs(jensen[0] - math.log(3.5)) < 1e-4, "log of the mean of (0.5, 2, 8) is log 3.5"
assert abs(jensen[1] - math.log(8.0) / 3) < 1e-4, "mean of the logs is log(0.5 * 2 * 8) / 3"
assert jensen[0] >= jensen[1], "Jensen: log of the mean >= mean of the logs"
### END HIDDEN TESTS

# %% [markdown]
# The gap $\log 3.5 - \tfrac13\log 8 = 1.253 - 0.693 = 0.56$ exists because the weights
# differ; if $q$ were the true posterior, every $w$ would equal $p(x)$ and the two numbers
# would coincide. Section 7 turns the left-hand side into a whole family of bounds.
#
# **One objective, two jobs.** The gap identity of the derivation reads, with the decoder's
# parameters $\theta$ written out,
#
# $$\text{ELBO}(\theta, q) = \log p_\theta(x) - \mathrm{KL}\big(q(z \mid x) \,\|\,
# p_\theta(z \mid x)\big).$$
#
# Read it from the right when training moves each part:
#
# * **the encoder** $q$ does not appear in $\log p_\theta(x)$ at all, so every nat the ELBO
#   gains through $q$ is a nat less of gap: a better encoder *tightens the bound* (its $q$
#   moves towards the true posterior);
# * **the decoder** $\theta$ appears in both terms, so a gain through $\theta$ either
#   *improves the model* (a higher $\log p_\theta(x)$) or makes the posterior easier for
#   $q$ to match (a smaller gap).
#
# Maximizing one number therefore fits the model and fits the approximate posterior at the
# same time. The ELBO alone cannot tell how a gain splits between the two; section 6 can,
# on a model whose $\log p(x)$ is exact: there $\log p(x)$ stays put while $q$ moves
# towards the posterior, and the ELBO rises by exactly as much as the gap shrinks.
#
# ## 3. The two terms, and what each one wants
#
# $$\text{ELBO} = \underbrace{\mathbb E_{q(z \mid x)}[\log p(x \mid z)]}_{\text{reconstruction}}
# \;-\; \underbrace{\mathrm{KL}\big(q(z \mid x) \,\|\, p(z)\big)}_{\text{regularization}}$$
#
# * **Reconstruction**: sample a code from the encoder, decode it, and score how likely the
#   original $x$ is under the decoder. For binary pixels $\log p(x \mid z)$ is minus the
#   binary cross-entropy; for a Gaussian decoder it is minus a scaled squared error. This
#   term wants the codes to carry every detail of $x$.
# * **KL**: how far each image's code distribution is from the prior. It wants every
#   $q(z \mid x)$ to look like $\mathcal N(0, I)$: wide and centred, which keeps the latent
#   space filled without holes, so that prior samples decode to real-looking images.
#
# They pull in opposite directions, and the VAE is their balance. The KL term for Gaussians
# has a closed form, which is next.

# %% [markdown]
# ## 4. Derivation: the KL between a Gaussian and the standard normal
#
# **Your task.** For one dimension, show that
#
# $$\mathrm{KL}\big(\mathcal N(\mu, \sigma^2) \,\|\, \mathcal N(0, 1)\big)
# = \tfrac12\big(\mu^2 + \sigma^2 - \log\sigma^2 - 1\big),$$
#
# then explain why a diagonal Gaussian in $d$ dimensions gives the **sum** of the $d$
# one-dimensional terms, and write the formula in terms of the encoder's outputs
# $\mu$ and $\text{logvar} = \log\sigma^2$.
#
# <details><summary>Hint 1</summary>
#
# By definition $\mathrm{KL}(q \,\|\, p) = \mathbb E_q[\log q(z) - \log p(z)]$. Write both log
# densities out: $\log \mathcal N(z; \mu, \sigma^2) = -\tfrac12\log(2\pi\sigma^2) -
# \frac{(z - \mu)^2}{2\sigma^2}$; the $\log 2\pi$ terms cancel.
# </details>
#
# <details><summary>Hint 2</summary>
#
# You need two expectations under $q$: $\mathbb E_q[(z - \mu)^2] = \sigma^2$ and
# $\mathbb E_q[z^2] = \mu^2 + \sigma^2$ (variance plus squared mean).
# </details>
#
# <details><summary>Hint 3</summary>
#
# $\mathbb E_q\big[-\tfrac12\log\sigma^2 - \tfrac{(z - \mu)^2}{2\sigma^2} + \tfrac{z^2}{2}\big]
# = -\tfrac12\log\sigma^2 - \tfrac12 + \tfrac12(\mu^2 + \sigma^2)$. For $d$ dimensions, the log
# density of a diagonal Gaussian is a sum over dimensions, and so is the expectation.
# </details>

# %% [markdown] nbgrader={"grade": true, "grade_id": "derivation_kl", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# **Model answer.** With $q = \mathcal N(\mu, \sigma^2)$ and $p = \mathcal N(0, 1)$,
#
# $$\log\frac{q(z)}{p(z)} = -\tfrac12\log\sigma^2 - \frac{(z - \mu)^2}{2\sigma^2} + \frac{z^2}{2}$$
#
# (the $-\tfrac12\log 2\pi$ of both densities cancel). Take the expectation under $q$, using
# $\mathbb E_q[(z - \mu)^2] = \sigma^2$ and $\mathbb E_q[z^2] = \mu^2 + \sigma^2$:
#
# $$\mathrm{KL} = -\tfrac12\log\sigma^2 - \tfrac12 + \tfrac12(\mu^2 + \sigma^2)
# = \tfrac12\big(\mu^2 + \sigma^2 - \log\sigma^2 - 1\big).$$
#
# It is 0 exactly at $\mu = 0, \sigma = 1$ and positive otherwise ($\sigma^2 - \log\sigma^2
# - 1 \ge 0$ with equality at $\sigma^2 = 1$). For a diagonal Gaussian both $q$ and $p$
# factorize over dimensions, so $\log q/p$ is a sum of per-dimension terms and its
# expectation is the sum of the per-dimension KLs:
# $\mathrm{KL} = \tfrac12\sum_{j=1}^d\big(\mu_j^2 + e^{\text{logvar}_j} - \text{logvar}_j -
# 1\big)$. Note that $-\log\sigma^2 = -\text{logvar}$, not $-2\,\text{logvar}$: the $-2\log\sigma$
# form is for an encoder that outputs $\log\sigma$.

# %% [markdown]
# ## 5. Build it: `kl_standard_normal`
#
# Write `kl_standard_normal(mu, logvar)`: for `mu` and `logvar` of shape `[B, D]`, return
# the KL of each example's $\mathcal N(\mu, \operatorname{diag} e^{\text{logvar}})$ from
# $\mathcal N(0, I)$, **summed over the D latent dimensions**: a tensor of shape `[B]`. The
# public check compares it with `torch.distributions`.
#
# <details><summary>Hint 1</summary>
#
# $\sigma^2$ is `logvar.exp()` and $\log\sigma^2$ is `logvar` itself. No square roots, no
# factor 2 on the log.
# </details>
#
# <details><summary>Hint 2</summary>
#
# Reduce with `.sum(dim=-1)`: the KL of independent dimensions adds up. `.sum()` without a
# dim would add up the batch as well, and `.mean(dim=-1)` would divide by D.
# </details>
#
# <details><summary>Hint 3</summary>
#
# `0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(dim=-1)`; you will also meet it
# written as `-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=-1)`, the same thing.
# </details>

# %% nbgrader={"grade": false, "grade_id": "kl_standard_normal", "locked": false, "schema_version": 3, "solution": true, "task": false}
def kl_standard_normal(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, I)) of each example, summed over dims: [B, D] -> [B]."""
    ### BEGIN SOLUTION
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(dim=-1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_kl_standard_normal", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check_kl_standard_normal(kl_standard_normal)
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(3)
for _shape in [(1, 1), (6, 1), (2, 20), (1, 7), (16, 8)]:
    _mu = 3 * torch.randn(_shape, generator=_gen, dtype=torch.float64)
    _lv = 2 * torch.randn(_shape, generator=_gen, dtype=torch.float64)
    _want = kl_divergence(Normal(_mu, (0.5 * _lv).exp()), Normal(0.0, 1.0)).sum(-1)  # oracle
    _got = kl_standard_normal(_mu, _lv)
    assert tuple(_got.shape) == (_shape[0],), f"shape {_shape} -> [{_shape[0]}]"
    assert torch.allclose(_got, _want, atol=1e-8, rtol=1e-8), "differs from torch.distributions"
_mu = torch.tensor([[3.0], [0.1]])
_lv = torch.log(torch.tensor([[0.04], [0.81]]))
assert torch.allclose(kl_standard_normal(_mu, _lv), torch.tensor([5.6294, 0.01536]), atol=1e-3)
_mu = torch.randn(5, 4, generator=_gen, requires_grad=True)
_lv = torch.randn(5, 4, generator=_gen, requires_grad=True)
kl_standard_normal(_mu, _lv).sum().backward()
assert torch.allclose(_mu.grad, _mu.detach()), "dKL/dmu = mu"
assert torch.allclose(_lv.grad, 0.5 * (_lv.detach().exp() - 1)), "dKL/dlogvar"
assert torch.allclose(kl_standard_normal(torch.zeros(3, 5), torch.zeros(3, 5)), torch.zeros(3))
assert bool((kl_standard_normal(torch.randn(50, 3), torch.randn(50, 3)) >= 0).all()), "KL >= 0"
### END HIDDEN TESTS

# %% [markdown]
# ### Worked numbers, recomputed with your function
#
# Two single-dimension examples are often worked by hand: an encoder output of
# $\mu = 3.0, \sigma = 0.2$ ("KL = 5.63, a big penalty") and $\mu = 0.1, \sigma = 0.9$
# ("KL = 0.015, almost free"). A widely repeated worked example then tabulates a
# 4-dimensional latent. Recompute all of them.

# %%
kl = check_kl_standard_normal.use(kl_standard_normal)
examples = torch.tensor([[3.0, 0.2], [0.1, 0.9]])  # rows: (mu, sigma)
kl_examples = kl(examples[:, :1], torch.log(examples[:, 1:] ** 2))  # [2] one dim each
for (m, s), value in zip(examples.tolist(), kl_examples.tolist()):
    print(f"mu = {m:.1f}, sigma = {s:.1f} (sigma^2 = {s * s:.2f}):  KL = {value:.5f}")
record(CHAPTER, "kl_mu3_sigma0.2", kl_examples[0])
record(CHAPTER, "kl_mu0.1_sigma0.9", kl_examples[1])

# %% [markdown]
# Both quoted values hold up: $\tfrac12(9 + 0.04 + 3.219 - 1) = 5.629 \approx 5.63$, and
# $\tfrac12(0.01 + 0.81 + 0.2107 - 1) = 0.01536$, usually printed as $0.015$ after rounding
# $-\log 0.81 = 0.2107$ to $0.21$ (exactly it rounds to $0.0154$). Now the
# 4-dimensional table, each row through your function as a one-dimensional latent, and the
# total through the function as one 4-dimensional latent:

# %%
table_mu = torch.tensor([0.1, 2.5, 0.0, 0.3])
table_var = torch.tensor([0.9, 0.1, 0.01, 1.2])  # sigma^2
quoted_kl = ["0.008", "4.0", "1.8", "0.06"]  # the widely repeated column, as printed
quoted_total = 5.87
per_dim = kl(table_mu[:, None], torch.log(table_var[:, None]))  # [4]: four 1-D latents
total = float(kl(table_mu[None, :], torch.log(table_var[None, :]))[0])  # one 4-D latent
print(f"{'dim':>3s} {'mu':>5s} {'sigma^2':>8s} {'KL (quoted)':>12s} {'KL (exact)':>11s}")
for j in range(4):
    decimals = len(quoted_kl[j].split(".")[1])  # compare at the precision it was printed
    exact_rounded = round(float(per_dim[j]), decimals)
    flag = "" if exact_rounded == float(quoted_kl[j]) else f"  <- quoted value wrong: " \
        f"{exact_rounded:.{decimals}f} at its own precision"
    print(f"{j:3d} {table_mu[j]:5.1f} {table_var[j]:8.2f} {quoted_kl[j]:>12s} "
          f"{per_dim[j]:11.4f}{flag}")
print(f"total: quoted {quoted_total}, the exact sum is {total:.4f}")
print(f"with beta = 10 the KL term is {10 * total:.1f} (quoted: {10 * quoted_total:.1f})")
record(CHAPTER, "kl_table_per_dim", {f"dim{j}": float(v) for j, v in enumerate(per_dim)})
record(CHAPTER, "kl_table_total", total)

# %% [markdown]
# **Where the quoted table is wrong.** A widely repeated worked example gives 4.0 for
# dimension 1 ($\mu = 2.5$, $\sigma^2 = 0.1$); it is
# $\tfrac12(6.25 + 0.1 + 2.303 - 1) = $ **{{kl_table_per_dim/dim1:.2f}}**, because
# $-\log 0.1$ is 2.303 (the 4.0 would need 2.65). So the total is
# **{{kl_table_total:.2f}}**, not 5.87 (and with $\beta = 10$ the KL term is 57.0, not
# 58.7). Dimension 3 is {{kl_table_per_dim/dim3:.3f}}, printed as 0.06 (it rounds to 0.05).
# Dimensions 0 and 2 are right up to rounding ({{kl_table_per_dim/dim0:.4f}} and
# {{kl_table_per_dim/dim2:.2f}}). The table's conclusions survive: dimension 1 pays for a
# mean far from zero, dimension 2 pays {{kl_table_per_dim/dim2:.1f}} nats for being too
# certain (its $-\log\sigma^2 = 4.6$ dominates), and with a reconstruction loss of about
# 150 nats the KL is under 4% of the total at $\beta = 1$.

# %% [markdown]
# ## 6. The gap is the KL to the true posterior: a model whose $\log p(x)$ is exact
#
# For a VAE neither $\log p(x)$ nor the posterior $p(z \mid x)$ can be computed, so the
# identity $\log p(x) - \text{ELBO}(q) = \mathrm{KL}(q \,\|\, p(z \mid x))$ cannot be checked
# directly. A **linear** decoder can: the linear Gaussian model (probabilistic PCA)
#
# $$z \sim \mathcal N(0, I_d), \qquad x \mid z \sim \mathcal N(Wz + b,\; s^2 I)$$
#
# has everything in closed form: $p(x) = \mathcal N(b,\, WW^\top + s^2 I)$, and the
# posterior is the Gaussian $\mathcal N\big(M^{-1}W^\top(x - b),\; s^2 M^{-1}\big)$ with
# $M = W^\top W + s^2 I$. It is a VAE with a linear decoder. We fit it by maximum likelihood
# (an eigen-decomposition of the covariance) to the 8×8 digits of scikit-learn, 1,438
# training images of 64 pixels, with an 8-dimensional latent, and evaluate on the 359
# test digits.
#
# (The pixel values are continuous, so $p(x)$ is a *density*, and a log-density can be
# positive; what matters below are differences.)

# %%
x_digits_train, _ = load_digits("train")  # [1438, 1, 8, 8]
x_digits, y_digits = load_digits("test")  # [359, 1, 8, 8]
x_digits_train = x_digits_train.flatten(1).double()  # [1438, 64]
x_digits = x_digits.flatten(1).double()  # [359, 64]
ppca = LinearGaussian.fit(x_digits_train, z_dim=8)
log_px = ppca.log_marginal(x_digits)  # [359] exact
post_mu, post_cov = ppca.posterior(x_digits)  # [359, 8], [8, 8]
print(f"noise variance s^2 = {ppca.s2:.4f};  mean log p(x) on test digits = "
      f"{log_px.mean():.3f} nats")
print("posterior covariance is diagonal:",
      bool(torch.allclose(post_cov, torch.diag(torch.diag(post_cov)), atol=1e-12)),
      "; posterior std per latent dim:", [round(v, 3) for v in post_cov.diag().sqrt().tolist()])
record(CHAPTER, "ppca_log_px", log_px.mean())

# %% [markdown]
# Maximum-likelihood $W$ has orthogonal columns, so this posterior is a **diagonal**
# Gaussian: the same family a VAE encoder outputs. Now take a family of $q$'s that moves in
# a straight line (in $\mu$ and $\log\sigma^2$) from a bad $q$ to the true posterior:
#
# * $t = 0$: $q = \mathcal N(0, I)$, the prior, an encoder that **ignores $x$** (what a
#   collapsed VAE encoder outputs; chapter 4);
# * $t = 1$: $q = p(z \mid x)$, the best possible encoder.
#
# For each $q_t$ the ELBO is computed in closed form, with **your** `kl_standard_normal` for
# the KL term, and compared with $\log p(x)$. Independently, `torch.distributions` computes
# $\mathrm{KL}(q_t \,\|\, p(z \mid x))$ between the two Gaussians.

# %%
prior_q = (torch.zeros_like(post_mu), torch.zeros_like(post_mu))  # N(0, I): ignores x
true_q = (post_mu, torch.log(post_cov.diag()).expand_as(post_mu))  # the exact posterior
posterior = MultivariateNormal(post_mu, covariance_matrix=post_cov)  # batch of 359
ts = torch.linspace(0, 1, 21).tolist()
elbo_t, gap_t, kl_post_t = [], [], []
for t in ts:
    q_mu, q_logvar = interpolate_q(prior_q, true_q, t)  # [359, 8] each
    elbo = ppca.elbo(x_digits, q_mu, q_logvar, kl=kl)  # [359]
    q = MultivariateNormal(q_mu, covariance_matrix=torch.diag_embed(q_logvar.exp()))
    elbo_t.append(float(elbo.mean()))
    gap_t.append(float((log_px - elbo).mean()))
    kl_post_t.append(float(kl_divergence(q, posterior).mean()))
    assert bool((elbo <= log_px + 1e-9).all()), "ELBO above log p(x)?"
mismatch = max(abs(g - k) for g, k in zip(gap_t, kl_post_t))
print(f"{'t':>5s} {'ELBO':>10s} {'log p(x)':>10s} {'gap':>10s} {'KL(q||post)':>12s}")
for i in range(0, len(ts), 4):
    print(f"{ts[i]:5.2f} {elbo_t[i]:10.3f} {log_px.mean():10.3f} {gap_t[i]:10.4f} "
          f"{kl_post_t[i]:12.4f}")
print(f"largest |gap - KL(q || posterior)| over all {len(ts)} q's: {mismatch:.2e} nats")
record(CHAPTER, "elbo_prior_q", elbo_t[0])
record(CHAPTER, "gap_prior_q", gap_t[0])
record(CHAPTER, "elbo_true_posterior", elbo_t[-1])
record(CHAPTER, "gap_identity_max_error", mismatch)

# %% [markdown]
# The bound holds for every $q$ and every digit, and the gap matches the KL to the true
# posterior to round-off. One more test, with $q$'s that lie on no particular path: 300
# random diagonal Gaussians for one test digit. If the identity holds, every point
# $(\mathrm{KL}(q \,\|\, p(z \mid x)),\ \text{ELBO}(q))$ lies on the line
# $\text{ELBO} = \log p(x) - \mathrm{KL}$.

# %%
digit = 0
gen = torch.Generator().manual_seed(1)
n_random = 300
rand_mu = post_mu[digit] + 0.6 * torch.randn(n_random, 8, generator=gen, dtype=torch.float64)
rand_logvar = (torch.log(post_cov.diag()) + 1.5 * torch.randn(n_random, 8, generator=gen,
                                                                 dtype=torch.float64))
x_one = x_digits[digit].expand(n_random, -1)  # [300, 64]
elbo_random = ppca.elbo(x_one, rand_mu, rand_logvar, kl=kl)  # [300]
q_random = MultivariateNormal(rand_mu, covariance_matrix=torch.diag_embed(rand_logvar.exp()))
post_one = MultivariateNormal(post_mu[digit], covariance_matrix=post_cov)
kl_random = kl_divergence(q_random, post_one)  # [300]
print(f"digit {digit}: log p(x) = {log_px[digit]:.3f}; highest ELBO of 300 random q's = "
      f"{elbo_random.max():.3f}; largest |log p(x) - ELBO - KL| = "
      f"{(log_px[digit] - elbo_random - kl_random).abs().max():.1e}")


# %%
def ellipse(ax, mu, var, **style):
    """The 2-standard-deviation ellipse of a diagonal Gaussian in dims (z1, z2)."""
    ax.add_patch(Ellipse((float(mu[0]), float(mu[1])), 4 * math.sqrt(var[0]),
                         4 * math.sqrt(var[1]), fill=False, **style))


fig, axes = plt.subplots(1, 3, figsize=(13, 4))
ax = axes[0]
for t, color in [(0.0, "0.6"), (0.25, "tab:purple"), (0.5, "tab:blue"), (0.75, "tab:cyan")]:
    q_mu, q_logvar = interpolate_q(prior_q, true_q, t)
    ellipse(ax, q_mu[digit], q_logvar[digit].exp(), color=color, lw=1.5, label=f"q, t = {t}")
ellipse(ax, post_mu[digit], post_cov.diag(), color="tab:red", lw=2.5, label="p(z|x), t = 1")
ax.set_xlim(-2.5, 2.5)
ax.set_ylim(-2.5, 2.5)
ax.set_aspect("equal")
ax.set_xlabel("$z_1$")
ax.set_ylabel("$z_2$")
ax.set_title(f"q moving to the true posterior (test digit {digit}),\n"
             "2-std ellipses in the first two latent dims", fontsize=9)
ax.legend(fontsize=7, loc="lower left")
ax = axes[1]
ax.axhline(float(log_px.mean()), color="tab:red", lw=2, label="log p(x), exact")
ax.plot(ts, elbo_t, color="tab:blue", lw=2, label="ELBO(q_t)")
ax.fill_between(ts, elbo_t, float(log_px.mean()), color="tab:blue", alpha=0.12)
ax.plot(ts, [float(log_px.mean()) - k for k in kl_post_t], "o", ms=4, color="k",
        label="log p(x) - KL(q_t || p(z|x))")
ax.set_xlabel("t (0: q = prior,  1: q = true posterior)")
ax.set_ylabel("nats per digit (mean over 359 test digits)")
ax.set_title("the gap (shaded) is KL(q || posterior)\nand closes at the true posterior",
             fontsize=9)
ax.legend(fontsize=7, loc="lower right")
ax = axes[2]
ax.scatter(kl_random, elbo_random, s=8, color="tab:blue", alpha=0.6, label="300 random q's")
line = torch.linspace(0, float(kl_random.max()), 2)
ax.plot(line, float(log_px[digit]) - line, color="tab:red", lw=1,
        label="ELBO = log p(x) - KL(q || p(z|x))")
ax.set_xlabel("KL(q || p(z|x))")
ax.set_ylabel("ELBO(q)")
ax.set_title(f"digit {digit}: every q sits on the line", fontsize=9)
ax.legend(fontsize=7)
fig.tight_layout()
plt.show()

# %% [markdown]
# **What to notice.** The encoder that ignores $x$ ($t = 0$) pays a gap of
# {{gap_prior_q:.1f}} nats per digit: that is $\mathrm{KL}(p(z) \,\|\, p(z \mid x))$, the price of not
# looking at the image. As $q$ approaches the posterior the gap shrinks to exactly 0. A VAE
# never reaches $t = 1$: its Gaussian family may not contain the true posterior, and one
# encoder network must serve every image (the *amortization* gap; Cremer, Li and Duvenaud,
# ICML 2018), so its ELBO sits below
# $\log p(x)$ by an unknown amount. The next bound narrows that gap without a better
# encoder.

# %% [markdown]
# ## 7. Build it: the IWAE bound
#
# Jensen's inequality lost the gap when it moved the log inside the average of **one**
# weight. Average $K$ weights before taking the log (Burda, Grosse & Salakhutdinov, 2016):
#
# $$\mathcal L_K = \mathbb E_{z_1, \dots, z_K \sim q}\left[\log \frac1K \sum_{k=1}^K w_k\right],
# \qquad w_k = \frac{p(x, z_k)}{q(z_k \mid x)}.$$
#
# $\mathcal L_1$ is the ELBO, $\mathcal L_K$ never decreases with $K$, and
# $\mathcal L_K \to \log p(x)$ as $K \to \infty$: the average of $K$ weights concentrates on
# its mean $p(x)$, and Jensen's gap vanishes.
#
# Write `iwae_bound(log_w)`: `log_w` holds the **log** weights
# $\log w_k = \log p(x, z_k) - \log q(z_k \mid x)$ with shape `[K, B]` (K samples for each of
# B images); return $\log \frac1K \sum_k w_k$ for each image, shape `[B]`.
#
# <details><summary>Hint 1</summary>
#
# Log weights of real models are large negative numbers (about $-100$ for an MNIST digit,
# and much lower early in training). `torch.exp(-1000.0)` is exactly 0 in floating point, so
# exponentiating first and taking the log later gives $-\infty$.
# </details>
#
# <details><summary>Hint 2</summary>
#
# `torch.logsumexp(log_w, dim=0)` computes $\log\sum_k e^{\log w_k}$ stably (it factors out
# the largest term). Reduce over dim 0, the K samples, not over the batch.
# </details>
#
# <details><summary>Hint 3</summary>
#
# $\log\frac1K\sum_k w_k = \operatorname{logsumexp}_k(\log w_k) - \log K$. The mean of the
# log weights, `log_w.mean(0)`, is the ELBO, not this.
# </details>

# %% nbgrader={"grade": false, "grade_id": "iwae_bound", "locked": false, "schema_version": 3, "solution": true, "task": false}
def iwae_bound(log_w):
    """log((1/K) * sum_k exp(log_w[k])) for each example: [K, B] -> [B]."""
    ### BEGIN SOLUTION
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_iwae_bound", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check_iwae_bound(iwae_bound)
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(5)
for _k, _b in [(1, 4), (7, 3), (50, 2), (4, 9), (2, 1)]:
    _lw = 3 * torch.randn(_k, _b, generator=_gen, dtype=torch.float64)
    _want = torch.log(torch.exp(_lw).mean(dim=0))  # direct oracle (safe at this scale)
    _got = iwae_bound(_lw)
    assert tuple(_got.shape) == (_b,), f"[K={_k}, B={_b}] -> [{_b}]"
    assert torch.allclose(_got, _want, atol=1e-8), f"wrong value for K={_k}, B={_b}"
    assert bool((_got >= _lw.mean(0) - 1e-9).all()), "must be at least the ELBO (Jensen)"
    assert bool((_got <= _lw.max(0).values + 1e-9).all()), "cannot exceed the largest weight"
_lw = torch.tensor([[-1000.0, -5000.0, -1.0], [-1002.0, -5001.0, -3.0], [-1001.0, -4999.0, 0.0]])
_got = iwae_bound(_lw)
assert bool(torch.isfinite(_got).all()), "must not underflow (use logsumexp)"
_shift = torch.tensor([-1000.0, -5000.0, -1.0])
assert torch.allclose(_got - _shift, iwae_bound(_lw - _shift), atol=1e-4), "shift invariance"
assert torch.allclose(iwae_bound(torch.full((6, 2), -3.0)), torch.tensor([-3.0, -3.0])), \
    "equal weights: the bound equals each log weight (the - log K must be there)"
### END HIDDEN TESTS

# %% [markdown]
# ### IWAE on the exact model: $K = 1, 5, 50$ climbing to $\log p(x)$
#
# Take a mediocre encoder, $q_{0.5}$ from the path above (halfway between the prior and
# the posterior), draw $K$ samples per test digit, compute the log weights exactly, and
# average your bound over many repetitions.

# %%
iwae = check_iwae_bound.use(iwae_bound)
q_half = interpolate_q(prior_q, true_q, 0.5)  # (mu, logvar), [359, 8] each


def iwae_estimate(k, draws, generator):
    """Mean over test digits and `draws` repetitions of the K-sample bound."""
    q_mu, q_logvar = q_half
    values = []
    per_batch = max(1, 2000 // k)  # repetitions per chunk (memory ~ per_batch * k * 359 * 8)
    for start in range(0, draws, per_batch):
        r = min(per_batch, draws - start)
        eps = torch.randn(r, k, *q_mu.shape, generator=generator, dtype=torch.float64)
        z = q_mu + torch.exp(0.5 * q_logvar) * eps  # [r, K, 359, 8]
        log_w = ppca.log_joint(x_digits, z) - log_normal_diag(z, q_mu, q_logvar)  # [r, K, 359]
        bound = iwae(log_w.transpose(0, 1).reshape(k, -1))  # [r * 359]
        values.append(bound)
    return float(torch.cat(values).mean())


ks = pick([1, 2, 5, 10, 20, 50, 100, 200, 500], [1, 5, 50], fast_mode=FAST)
draws_per_k = {k: pick(max(10, 2000 // k), max(4, 400 // k), fast_mode=FAST) for k in ks}
gen = torch.Generator().manual_seed(2)
iwae_curve = [iwae_estimate(k, draws_per_k[k], gen) for k in ks]
elbo_half = float(ppca.elbo(x_digits, *q_half, kl=kl).mean())
print(f"closed-form ELBO of q_0.5: {elbo_half:.3f};   exact log p(x): {log_px.mean():.3f}")
print(f"{'K':>5s} {'IWAE bound':>11s} {'gap to log p(x)':>16s}")
for k, value in zip(ks, iwae_curve):
    print(f"{k:5d} {value:11.3f} {float(log_px.mean()) - value:16.3f}")
record(CHAPTER, "iwae_ppca", {str(k): v for k, v in zip(ks, iwae_curve)})
record(CHAPTER, "iwae_ppca_log_px", log_px.mean())

# %%
fig, ax = plt.subplots(figsize=(6, 3.6))
ax.semilogx(ks, iwae_curve, "o-", color="tab:blue", label="IWAE bound L_K (your iwae_bound)")
ax.axhline(float(log_px.mean()), color="tab:red", lw=2, label="log p(x), exact")
ax.axhline(elbo_half, color="0.5", ls="--", lw=1, label="ELBO of q_0.5 (closed form)")
ax.set_xlabel("K importance samples")
ax.set_ylabel("nats per test digit")
ax.set_title("more samples, tighter bound: L_1 = ELBO, L_K -> log p(x)", fontsize=9)
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# The $K = 1$ estimate agrees with the closed-form ELBO of $q_{0.5}$, and the bound climbs
# towards the exact $\log p(x)$, fast at first and then slowly: each tenfold increase of
# $K$ buys less. IWAE is the standard way to *report* a VAE's log-likelihood (with $K$ in the
# thousands); training on $\mathcal L_K$ costs $K$ decoder passes per image and optimizes
# the encoder for importance sampling rather than for matching the posterior. Rainforth et
# al. (ICML 2018) showed that as $K$ grows the encoder's gradient estimate gets noisier
# relative to its size, so a tighter bound is not always a better-trained encoder.
#
# ## 8. Interactive: the tug-of-war on real VAEs
#
# Now a real VAE: the MLP encoder/decoder of chapter 2 (784-256-8, a Bernoulli decoder),
# on dynamically binarized MNIST (each pixel is redrawn as 0 or 1 with its grey level as
# probability, every time a digit is used). This trade-off is often shown with two
# sliders, a reconstruction weight and a KL weight, say both at 5.0. Only their **ratio**
# matters for the optimum: $a \cdot \text{recon} + b \cdot \text{KL}$ has the same minimizer as
# $\text{recon} + \beta\,\text{KL}$ with $\beta = b/a$ (the overall scale only rescales the
# gradient, which Adam largely normalizes away). So weights (5, 5) are $\beta = 1$, and
# one slider over $\beta$ covers both. The cell below trains one VAE per $\beta$ (the
# slow cell of the chapter; it prints each model's training time), with your
# `kl_standard_normal` as the KL term.

# %%
x_mnist, _ = load_mnist("train")  # [4000, 1, 28, 28]
x_mnist_test, y_mnist_test = load_mnist("test")  # [1000, 1, 28, 28]
x_flat = x_mnist.flatten(1)  # [4000, 784]
x_test_flat = x_mnist_test.flatten(1)  # [1000, 784]
x_test_bin = torch.bernoulli(x_test_flat, generator=torch.Generator().manual_seed(3))
showcase = torch.stack([x_mnist_test[(y_mnist_test == d).nonzero()[0, 0]] for d in range(8)])
z_prior = torch.randn(8, 8, generator=torch.Generator().manual_seed(4))  # [8, z_dim]
log2_betas = pick([-3, -2, -1, 0, 1, 2, 3], [-2, 0, 2], fast_mode=FAST)
steps = pick(2000, 80, fast_mode=FAST)


def vae_step(model, beta):
    """One mini-batch of the beta-weighted negative ELBO (BCE with logits + beta * KL)."""

    def step(batch):
        (x,) = batch
        x = torch.bernoulli(x)  # [B, 784] a fresh binarization
        logits, mu, logvar, _ = model(x)
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1).mean()
        kl_term = kl(mu, logvar).mean()
        return {"loss": recon + beta * kl_term, "recon": recon, "kl": kl_term}

    return step


def evaluate(model, beta):
    """Test reconstruction and KL (nats per digit), reconstructions and prior samples."""
    return snapshot(model, x_test_bin, y_mnist_test, showcase, beta=beta, z_prior=z_prior)


runs, models = [], {}
for log2_beta in log2_betas:
    beta = 2.0**log2_beta
    torch.manual_seed(0)
    model = MLPVAE(h_dim=256, depth=1, z_dim=8).to(DEVICE)  # before the optimizer is built
    batches = minibatches(x_flat, batch_size=128, generator=torch.Generator().manual_seed(0))
    history = train(model.parameters(), vae_step(model, beta), batches, steps=steps, lr=1e-3,
                    desc=f"beta = {beta:g}", device=DEVICE)
    run = evaluate(model, beta)
    runs.append(run)
    models[beta] = model
    print(f"beta = {beta:6.3f}: test recon {run.recon:6.1f}  KL {run.kl:5.1f}  "
          f"-ELBO {run.negative_elbo:6.1f} nats   ({history.seconds:.1f} s)")
record(CHAPTER, "beta_sweep", {f"{r.beta:g}": {"recon": r.recon, "kl": r.kl,
                                               "neg_elbo": r.negative_elbo} for r in runs})

# %%
display(interactive(
    lambda log2_beta: render_elbo_tradeoff(log2_beta, runs=runs, originals=showcase),
    [IntSlider("log2_beta", min(log2_betas), max(log2_betas), 0,
               step=log2_betas[1] - log2_betas[0], label="log2 beta")],
    name="elbo_tradeoff", chapter=CHAPTER))

# %% [markdown]
# **What to notice.** Slide to small $\beta$: the KL (the red curve) is high, the
# reconstructions are crisp, but the prior samples are poor, because the codes the encoder
# uses no longer fill $\mathcal N(0, I)$, and many decode to broken strokes. Slide to large
# $\beta$: the KL is squeezed towards zero, the reconstructions lose detail and the harder
# digits turn into a more typical one (in the full-mode run, the 4 and the 5): the code
# carries too little about the input. The prior samples are smooth, digit-like, but vague. Every model was trained on a
# different objective, but the dashed curve is the same yardstick for all of them, the
# negative ELBO at $\beta = 1$ (a bound on $-\log p(x)$): it is lowest at or near
# $\beta = 1$, the only setting that actually maximizes the ELBO (in the full run
# {{beta_sweep/1/neg_elbo:.1f}} nats at $\beta = 1$, against
# {{beta_sweep/0.125/neg_elbo:.1f}} at $\beta = 1/8$ and {{beta_sweep/8/neg_elbo:.1f}} at
# $\beta = 8$).
#
# The same VAE gives a last IWAE number: its log-likelihood is unknown, but the bound still
# climbs with $K$.

# %%
@torch.no_grad()
def vae_iwae(model, x, k, generator):
    """K-sample IWAE bound of a Bernoulli-decoder VAE for binary x [B, 784] -> [B]."""
    mu, logvar = model.encode(x)  # [B, z] each
    eps = torch.randn(k, *mu.shape, generator=generator).to(mu.device)  # [K, B, z], CPU draw
    z = mu + torch.exp(0.5 * logvar) * eps  # [K, B, z]
    logits = model.decode(z.reshape(-1, mu.shape[1])).view(k, *x.shape)  # [K, B, 784]
    log_px_z = -F.binary_cross_entropy_with_logits(logits, x.expand(k, -1, -1),
                                                   reduction="none").sum(-1)  # [K, B]
    log_pz = log_normal_diag(z, torch.zeros_like(z), torch.zeros_like(z))  # [K, B]
    log_q = log_normal_diag(z, mu, logvar)  # [K, B]
    return iwae(log_px_z + log_pz - log_q)


vae_beta1 = models[1.0]
n_iwae = pick(1000, 200, fast_mode=FAST)
gen = torch.Generator().manual_seed(5)
subset = torch.randperm(len(x_test_bin), generator=gen)[:n_iwae]  # all classes (data is sorted)
x_iwae = x_test_bin[subset].to(DEVICE)  # [n_iwae, 784], on the model's device
vae_bounds = {k: float(vae_iwae(vae_beta1, x_iwae, k, gen).mean()) for k in [1, 5, 50]}
for k, value in vae_bounds.items():
    print(f"beta = 1 VAE, {n_iwae} test digits: L_{k:<2d} = {value:8.2f} nats")
record(CHAPTER, "iwae_vae_beta1", {str(k): v for k, v in vae_bounds.items()})

# %% [markdown]
# $\mathcal L_1$ is this VAE's ELBO (compare its $-$ELBO in the sweep), and 50 importance
# samples raise the bound by a few nats (from {{iwae_vae_beta1/1:.1f}} to
# {{iwae_vae_beta1/50:.1f}} in the full run): the true $\log p(x)$ lies above all of these
# numbers, by an amount we cannot know for a neural decoder.

# %% [markdown]
# ## 9. Checkpoint: the ELBO as a rate-distortion trade-off
#
# The right-hand panel of the interactive plots the same seven models in another plane:
# the KL on the horizontal axis, the reconstruction loss on the vertical one. Information
# theory has a name for each axis. The KL term, averaged over the data, bounds how many
# nats the encoder transmits about $x$ through $z$ (the **rate**); the reconstruction loss
# measures what is lost (the **distortion**). $\beta$ picks a point on the curve, just as a
# JPEG quality setting or an MP3 bit rate picks a point on theirs.
#
# **Your task (graded by hand).** In four to six sentences: (1) explain why raising
# $\beta$ moves a model to the left in the right-hand panel (less rate) and up (more
# distortion), using your own numbers from the sweep; (2) say why neither extreme is a good generative
# model; (3) name one other place in machine learning where information is squeezed through
# a bottleneck and then used to reconstruct or predict, and say what plays the role of the
# rate there.

# %% [markdown] nbgrader={"grade": true, "grade_id": "pattern_rate_distortion", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# **Model answer.** The loss is distortion + $\beta$ × rate, so $\beta$ is the price of one
# nat of rate: as it grows, the optimizer buys less rate and accepts more distortion, so
# the model moves left and up in the plane. In the full-mode sweep, going from
# $\beta = 1/8$ to $\beta = 8$ cut the KL from {{beta_sweep/0.125/kl:.0f}} to
# {{beta_sweep/8/kl:.0f}} nats per digit while the reconstruction loss rose from
# {{beta_sweep/0.125/recon:.0f}} to {{beta_sweep/8/recon:.0f}} nats; the points trace a
# convex, decreasing curve, and a nat of rate costs more distortion the further left the
# model sits: doubling $\beta$ from 1/8 to 1/4 gave up KL from {{beta_sweep/0.125/kl:.1f}}
# to {{beta_sweep/0.25/kl:.1f}} for reconstruction from {{beta_sweep/0.125/recon:.1f}} to
# {{beta_sweep/0.25/recon:.1f}}, doubling it from 4 to 8 gave up KL from
# {{beta_sweep/4/kl:.1f}} to {{beta_sweep/8/kl:.1f}} for reconstruction from
# {{beta_sweep/4/recon:.1f}} to {{beta_sweep/8/recon:.1f}}. At the low-$\beta$ end the
# model is close to a plain autoencoder: sharp reconstructions, but codes that do not fill
# the prior, so decoding $z \sim \mathcal N(0, I)$ lands in holes and gives poor samples.
# At the high-$\beta$ end the codes carry almost nothing about $x$ (rate near 0, the
# posterior-collapse regime of chapter 4), so reconstructions and samples collapse to
# vague average digits. Other bottlenecks: lossy codecs (JPEG, MP3: bit rate vs artefacts);
# the information bottleneck view of a classifier's hidden layer (how much the
# representation keeps about the input vs what it predicts); attention, which routes each
# token through a softmax over T positions and so chooses which information survives;
# and the discrete tokenizers of chapters 5-8, whose rate is fixed at $\log_2 K$ bits per
# token.

# %% [markdown]
# ### Checkpoint: before you move on
#
# In your own words (three to five sentences): why can't we just maximize $\log p(x)$
# directly, how does the ELBO let us train anyway, and what role does $q(z \mid x)$ play?
# Use something you measured in this notebook. (Graded by hand.)

# %% [markdown] nbgrader={"grade": true, "grade_id": "checkpoint_elbo", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Model answer.** $\log p(x)$ needs the integral of $p(x \mid z)\,p(z)$ over every code $z$;
# with a neural decoder it has no closed form, and sampling $z$ from the prior to estimate it
# is hopelessly noisy because almost no prior sample explains a given image. The ELBO
# replaces the integral by an expectation under $q(z \mid x)$, which we can estimate with
# one reparameterized sample and differentiate (chapter 2): decode a sampled code, score
# the reconstruction, and subtract a closed-form KL. Because the ELBO is a lower bound,
# raising it raises a floor under $\log p(x)$; because the gap is exactly
# $\mathrm{KL}(q \,\|\, p(z \mid x))$, raising it also pulls $q$ towards the true posterior.
# So $q$ is a learned, amortized guess of which codes produced $x$: it makes the bound
# computable and, the better it is, the tighter. On the linear Gaussian model an encoder
# that ignores $x$ lost {{gap_prior_q:.0f}} nats per digit, and the exact posterior lost
# none.

# %% [markdown]
# ## 10. Check
#
# **Q1. What are the two components of the ELBO?**
#
# a) The expected reconstruction log-likelihood $\mathbb E_{q(z \mid x)}[\log p(x \mid z)]$,
#    minus the KL divergence from the encoder's $q(z \mid x)$ to the prior $p(z)$.
#
# b) The reconstruction log-likelihood, minus the KL divergence from $q(z \mid x)$ to the
#    true posterior $p(z \mid x)$.
#
# c) The encoder's loss and the decoder's loss, trained in alternation.
#
# d) A pixel-wise MSE and a perceptual loss.

# %% nbgrader={"grade": false, "grade_id": "answer_q1", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q1 = None
### BEGIN SOLUTION
answer_q1 = "a"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q1", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q1, question="ch03/q1", key="a21e7e58c6c0b6bf",
             hint="Reread section 3, and section 6 for the role of KL(q || p(z|x)).")
### BEGIN HIDDEN TESTS
assert answer_q1 == "a"
### END HIDDEN TESTS

# %% [markdown]
# **Q2. (Interview question.) Is the IWAE bound tighter than the ELBO?**
#
# a) Yes for every $K$: even with $K = 1$ it is tighter than the ELBO.
#
# b) $\mathcal L_1$ equals the ELBO; $\mathcal L_K$ does not decrease as $K$ grows and tends
#    to $\log p(x)$; the price is $K$ decoder passes per image.
#
# c) No: averaging more samples makes the bound looser, because the variance grows.
#
# d) Only when $q(z \mid x)$ is exactly the true posterior.

# %% nbgrader={"grade": false, "grade_id": "answer_q2", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q2 = None
### BEGIN SOLUTION
answer_q2 = "b"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q2", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q2, question="ch03/q2", key="a651c316b4f828c7",
             hint="Look at the K = 1 row of the IWAE table in section 7.")
### BEGIN HIDDEN TESTS
assert answer_q2 == "b"
### END HIDDEN TESTS

# %% [markdown]
# **Q3. (Interview question.) Which is
# $\mathrm{KL}\big(\mathcal N(\mu, \operatorname{diag}\sigma^2) \,\|\, \mathcal N(0, I)\big)$?**
#
# a) $\tfrac12\sum_j\big(\mu_j^2 + \sigma_j^2 - 2\log\sigma_j^2 - 1\big)$
#
# b) $\tfrac12\sum_j\big(\mu_j^2 + \sigma_j^2 - \log\sigma_j^2\big)$
#
# c) $\tfrac12\sum_j\big(\mu_j^2 + \sigma_j^2 - \log\sigma_j^2 - 1\big)$
#
# d) $-\tfrac12\sum_j\big(\mu_j^2 + \sigma_j^2 - \log\sigma_j^2 - 1\big)$

# %% nbgrader={"grade": false, "grade_id": "answer_q3", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q3 = None
### BEGIN SOLUTION
answer_q3 = "c"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q3", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q3, question="ch03/q3", key="28a97ebb0483c420",
             hint="Check each option at mu = 0, sigma = 1, where q is the prior.")
### BEGIN HIDDEN TESTS
assert answer_q3 == "c"
### END HIDDEN TESTS

# %% [markdown]
# ## Summary
#
# * $\log p(x) \ge \text{ELBO} = \mathbb E_q[\log p(x \mid z)] - \mathrm{KL}(q(z \mid x)
#   \,\|\, p(z))$ by Jensen; the gap is exactly $\mathrm{KL}(q(z \mid x) \,\|\, p(z \mid x))$,
#   verified to round-off on a linear Gaussian model of real digits.
# * $\mathrm{KL}(\mathcal N(\mu, \sigma^2) \,\|\, \mathcal N(0, 1)) = \tfrac12(\mu^2 + \sigma^2
#   - \log\sigma^2 - 1)$ per dimension, summed over dimensions; in code
#   `0.5 * (mu**2 + logvar.exp() - logvar - 1).sum(-1)`. A widely quoted worked table gives
#   4.0 for one dimension and 5.87 in total; the exact values are
#   {{kl_table_per_dim/dim1:.2f}} and {{kl_table_total:.2f}}.
# * Raising the ELBO does two things at once: it raises a floor under $\log p(x)$ and
#   shrinks the gap $\mathrm{KL}(q \,\|\, p(z \mid x))$ between the floor and $\log p(x)$.
# * The IWAE bound $\operatorname{logsumexp}_k \log w_k - \log K$ starts at the ELBO for
#   $K = 1$ and climbs to $\log p(x)$.
# * $\beta$ trades rate (KL) for distortion (reconstruction); $\beta = 1$ is the ELBO.
#
# Next: **Chapter 4, training a VAE**: the full loss, KL annealing, free bits, posterior
# collapse and $\beta$-VAE.

# %% [markdown]
# ## References
#
# * Jordan, M. I., Ghahramani, Z., Jaakkola, T. S. and Saul, L. K. (1999). An introduction
#   to variational methods for graphical models. *Machine Learning*, 37. (The evidence
#   lower bound.)
# * Kingma, D. P. and Welling, M. (2014). Auto-encoding variational Bayes. *ICLR*. (The
#   ELBO of a VAE and its closed-form Gaussian KL, appendix B.)
# * Rezende, D. J., Mohamed, S. and Wierstra, D. (2014). Stochastic backpropagation and
#   approximate inference in deep generative models. *ICML*.
# * Tipping, M. E. and Bishop, C. M. (1999). Probabilistic principal component analysis.
#   *Journal of the Royal Statistical Society B*, 61(3). (The linear Gaussian model of
#   section 6, its exact likelihood and posterior.)
# * Burda, Y., Grosse, R. and Salakhutdinov, R. (2016). Importance weighted autoencoders.
#   *ICLR*. (The IWAE bound.)
# * Cremer, C., Li, X. and Duvenaud, D. (2018). Inference suboptimality in variational
#   autoencoders. *ICML*. (The amortization gap.)
# * Rainforth, T., Kosiorek, A. R., Le, T. A., Maddison, C. J., Igl, M., Wood, F. and Teh,
#   Y. W. (2018). Tighter variational bounds are not necessarily better. *ICML*.
# * Alemi, A. A., Poole, B., Fischer, I., Dillon, J. V., Saurous, R. A. and Murphy, K.
#   (2018). Fixing a broken ELBO. *ICML*. (The ELBO as rate and distortion.)
# * Higgins, I. et al. (2017). β-VAE: learning basic visual concepts with a constrained
#   variational framework. *ICLR*. (A KL weight β ≠ 1.)
