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
# # Chapter 2 · The variational trick: encode to a distribution, sample differentiably
#
# **You will:** turn an encoder that outputs one point into one that outputs a Gaussian,
# write `reparameterize`, the three lines that make a VAE trainable, prove (and check with
# autograd) why they work, watch the gradient reach the encoder of a real VAE on MNIST, and
# measure how much better this gradient is than the alternative, the score-function
# (REINFORCE) estimator.

# %%
import itertools
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from IPython.display import display
from torch.distributions import Normal

from lessonlib.autoencoders import MLPVAE
from lessonlib.autoencoders.score_function import (
    pathwise_estimates,
    quadratic_gradient,
    quadratic_variances,
    score_function_estimates,
)
from lessonlib.checks import check_choice
from lessonlib.checks.autoencoders import check_reparam_gradients, check_reparameterize
from lessonlib.core import is_fast, pick, record, seed_everything
from lessonlib.data import load_mnist
from lessonlib.views import FloatSlider, Regenerate, Toggle, interactive
from lessonlib.views.reparameterization import render_reparameterization

CHAPTER = "ch02_variational_trick"

# %% tags=["parameters"]
FAST = False  # papermill sets True in CI; nbgrader grading forces it too

# %%
FAST = is_fast(FAST)
seed_everything(0)
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## 1. Encode to a distribution, not a point
#
# The autoencoder of chapter 1 sends each image $x$ to **one point** $z$. Nothing forces
# the points of similar images to be near each other, or the space between them to decode
# to anything sensible: the latent space is full of holes, and a random $z$ decodes to
# noise.
#
# The **variational autoencoder** (VAE, Kingma & Welling 2014) changes one thing: the
# encoder outputs a *distribution* over codes, a Gaussian
# $q(z \mid x) = \mathcal N\big(\mu(x), \operatorname{diag}\sigma^2(x)\big)$, and the decoder
# receives a **sample** from it. The same image then lands on slightly different codes on
# every pass, so the decoder must make sense of a whole neighbourhood of each code, and the
# neighbourhoods of different images have to share the space. That is what makes the
# latent space smooth (chapter 3 adds the term that keeps these Gaussians near the prior).
#
# In code, the encoder gets **two heads** instead of one: a mean $\mu$ and a
# **log-variance** $\log\sigma^2$ (`logvar`), one number of each per latent dimension.
#
# Why the log-variance rather than $\sigma$ itself? A variance must be positive, and a
# linear layer outputs any real number. With `logvar` the network is free to output
# anything, and $\sigma = \exp(\tfrac12 \text{logvar})$ is automatically positive. It also
# spreads tiny and large scales evenly: $\sigma = 0.001$ and $\sigma = 1000$ are
# `logvar` $= -13.8$ and $+13.8$.
#
# The course's MLP VAE (lessonlib.autoencoders.MLPVAE) has exactly these heads. Here is one,
# untrained, applied to five real MNIST digits:

# %%
x_train, y_train = load_mnist("train")  # [4000, 1, 28, 28] in [0, 1]
vae = MLPVAE(h_dim=256, depth=1, z_dim=8)
print(vae.fc_mu, "  <- the mean head")
print(vae.fc_logvar, "  <- the log-variance head")
mu, logvar = vae.encode(x_train[:5])
print("mu:", tuple(mu.shape), " logvar:", tuple(logvar.shape), " sigma = exp(logvar / 2):",
      tuple(torch.exp(0.5 * logvar).shape))

# %% [markdown]
# **A worked number.** Follow one latent dimension whose encoder outputs
# $\mu = 2.3$ and $\log\sigma^2 = -1.39$. Then $\sigma = e^{-1.39/2} = e^{-0.695} = 0.499$,
# which we round to $0.5$ (the exact log-variance of $\sigma = 0.5$ is
# $2\log 0.5 = -1.386$). A sample is then $z = 2.3 + 0.5\,\varepsilon$ with
# $\varepsilon \sim \mathcal N(0, 1)$.

# %%
print(f"sigma for logvar = -1.39: {math.exp(-1.39 / 2):.4f};  "
      f"logvar for sigma = 0.5: {2 * math.log(0.5):.4f}")

# %% [markdown]
# ## 2. Interactive: where the samples come from, and where the gradient goes
#
# The **reparameterization trick** writes a sample of $\mathcal N(\mu, \sigma^2)$ as
#
# $$z = \mu + \sigma \cdot \varepsilon, \qquad \varepsilon \sim \mathcal N(0, 1).$$
#
# Move the sliders. On the left, over the density $\mathcal N(\mu, \sigma^2)$, each grey
# dot is one noise draw $\varepsilon$ and each teal dot the sample it becomes; the thin
# lines connect a few pairs. Every move draws fresh samples, as a training step would.
# Then switch *fresh noise* off: the noise stays fixed while you move $\mu$ and $\sigma$
# (**Regenerate** draws another fixed set), so you can watch what the two parameters do to
# every single sample: $\mu$ **shifts** them all, $\sigma$ **stretches** them about $\mu$.
# On the right, the computation graph of a VAE: switch *reparameterized* off to see where
# backpropagation stops when $z$ is drawn by a sampling operation instead.

# %%
fresh_draws = itertools.count(1_000)  # a new noise seed for every update in fresh mode
display(interactive(
    lambda mu, sigma, trick, fresh, seed: render_reparameterization(
        mu, sigma, next(fresh_draws) if fresh else seed, trick),
    [FloatSlider("mu", -3.0, 3.0, 1.0, step=0.1, label="mean mu"),
     FloatSlider("sigma", 0.1, 2.0, 0.8, step=0.05, label="std sigma"),
     Toggle("trick", True, label="reparameterized"),
     Toggle("fresh", True, label="fresh noise on every move"),
     Regenerate("seed")],
    name="reparameterization", chapter=CHAPTER))

# %% [markdown]
# **What to notice.** Each sample $z_i$ is a smooth function of $\mu$ and $\sigma$: nudge
# $\mu$ by $0.1$ and every $z_i$ moves by exactly $0.1$ ($\partial z/\partial\mu = 1$); nudge
# $\sigma$ and $z_i$ moves by $\varepsilon_i$ times the nudge
# ($\partial z/\partial\sigma = \varepsilon_i$). The randomness has not gone anywhere (the
# dots are still random) but it now enters the graph as an **input**, like $x$, instead of
# as an operation in the middle of it.
#
# Without the trick, $z$ is the output of "draw from $\mathcal N(\mu, \sigma^2)$". A random
# number generator has no derivative with respect to its parameters: the loss can still be
# differentiated with respect to $z$, but nothing carries that gradient on to $\mu$,
# $\sigma$ and the encoder.

# %% [markdown]
# ## 3. Build it: `reparameterize`
#
# Write `reparameterize(mu, logvar)`: given the encoder's two heads (tensors of the same
# shape, for example `[B, D]`), return one sample $z = \mu + \sigma \cdot \varepsilon$ of the
# same shape, with $\sigma = \exp(\tfrac12\,\text{logvar})$ and a fresh
# $\varepsilon \sim \mathcal N(0, I)$ drawn with `torch.randn_like`, so that gradients flow
# to both `mu` and `logvar`.
#
# <details><summary>Hint 1</summary>
#
# `logvar` is $\log \sigma^2$, not $\sigma$ and not $\log\sigma$. Undo the log and the
# square: $\sigma = \sqrt{e^{\text{logvar}}} = e^{\text{logvar}/2}$.
# </details>
#
# <details><summary>Hint 2</summary>
#
# `torch.randn_like(std)` draws one standard normal number per entry, with the shape, dtype
# and device of `std` (a model on the GPU gets noise on the GPU). `torch.randn(1)` would
# share one number across the whole batch.
# </details>
#
# <details><summary>Hint 3</summary>
#
# Three lines: `std = torch.exp(0.5 * logvar)`, `eps = torch.randn_like(std)`,
# `return mu + std * eps`. Do not use `torch.normal(mu, std)` or
# `Normal(mu, std).sample()`: they return the right numbers, but no gradient.
# </details>

# %% nbgrader={"grade": false, "grade_id": "reparameterize", "locked": false, "schema_version": 3, "solution": true, "task": false}
def reparameterize(mu, logvar):
    """One sample z = mu + exp(logvar / 2) * eps, eps ~ N(0, I); same shape as mu, e.g. [B, D]."""
    ### BEGIN SOLUTION
    std = torch.exp(0.5 * logvar)  # [B, D]
    eps = torch.randn_like(std)  # [B, D]
    return mu + std * eps
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_reparameterize", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check_reparameterize(reparameterize)
### BEGIN HIDDEN TESTS
_mu = torch.tensor([[0.7, -2.0], [1.0, 0.0]]).repeat(25_000, 1)  # [50000, 2]
_lv = torch.tensor([[math.log(2.25), -4.0], [0.5, math.log(0.01)]]).repeat(25_000, 1)
torch.manual_seed(123)
_z = reparameterize(_mu, _lv).detach().double()
for _row in range(2):
    _q = Normal(_mu[_row].double(), (0.5 * _lv[_row]).exp().double())  # independent oracle
    _zr = _z[_row::2]  # [25000, 2]
    assert torch.allclose(_zr.mean(0), _q.mean, atol=0.05), "sample mean differs from mu"
    assert torch.allclose(_zr.std(0), _q.stddev, rtol=0.03), "sample std is not exp(logvar/2)"
    _u = _q.cdf(_zr).sort(dim=0).values  # [25000, 2]: uniform if z ~ q
    _grid = torch.arange(1, len(_u) + 1, dtype=torch.float64).unsqueeze(1) / len(_u)
    assert float((_u - _grid).abs().max()) < 0.02, "samples are not Gaussian (KS test)"
for _shape in [(2, 3, 4), (7,), (1, 1), (5, 1)]:
    _m, _l = torch.randn(_shape), torch.randn(_shape)
    _out = reparameterize(_m, _l)
    assert tuple(_out.shape) == _shape, f"shape {_shape} not preserved"
    torch.manual_seed(7)
    _a = reparameterize(_m, _l)
    torch.manual_seed(7)
    _b = _m + torch.exp(0.5 * _l) * torch.randn_like(_l)
    assert torch.allclose(_a, _b, atol=1e-5), "eps must come from torch.randn_like"
_m = torch.randn(4, 3, requires_grad=True)
_l = torch.randn(4, 3, requires_grad=True)
_out = reparameterize(_m, _l)
assert _out.requires_grad, "output detached from mu and logvar"
_w = torch.randn(4, 3)
(_out * _w).sum().backward()
assert torch.allclose(_m.grad, _w), "dL/dmu should equal dL/dz (dz/dmu = 1)"
assert torch.allclose(_l.grad, 0.5 * _w * (_out - _m).detach(), atol=1e-5), "dz/dlogvar"
_m64 = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)
_l64 = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)


def _seeded(m, lv):
    torch.manual_seed(11)
    return reparameterize(m, lv)


assert torch.autograd.gradcheck(_seeded, (_m64, _l64)), "gradcheck failed"
assert reparameterize(_m64, _l64).dtype == torch.float64, "dtype must follow mu"
_meta = reparameterize(torch.zeros(2, 2, device="meta"), torch.zeros(2, 2, device="meta"))
assert _meta.device.type == "meta", "eps must be created on mu's device (randn_like)"
assert not torch.allclose(reparameterize(_m, _l), reparameterize(_m, _l)), "eps must be fresh"
### END HIDDEN TESTS

# %% [markdown]
# Draw many samples with your function and compare their mean and spread with $\mu$ and
# $\sigma$ (for the worked numbers of section 1, $\mu = 2.3$, $\log\sigma^2 = -1.39$):

# %%
sample = check_reparameterize.use(reparameterize)
n_draws = pick(100_000, 20_000, fast_mode=FAST)
z_draws = sample(torch.full((n_draws, 1), 2.3), torch.full((n_draws, 1), -1.39))  # [N, 1]
print(f"{n_draws:,} draws: mean {z_draws.mean():.4f} (mu = 2.3), "
      f"std {z_draws.std():.4f} (sigma = exp(-1.39 / 2) = {math.exp(-0.695):.4f})")
record(CHAPTER, "sample_mean", z_draws.mean())
record(CHAPTER, "sample_std", z_draws.std())

# %% [markdown]
# ## 4. Derivation: why $z = \mu + \sigma\varepsilon$ is differentiable and sampling is not
#
# Training the encoder needs $\partial L/\partial\mu$ and $\partial L/\partial\sigma$, where
# $L$ is a loss computed from the decoder's output on $z$. By the chain rule,
# $\partial L/\partial\mu = (\partial L/\partial z)(\partial z/\partial\mu)$, and likewise for
# $\sigma$. The decoder supplies $\partial L/\partial z$; the question is the second factor.
#
# **Your task.** Show that $\partial z/\partial\mu$ and $\partial z/\partial\sigma$ are
# well-defined under the reparameterization (give them), write $\partial L/\partial\mu$ and
# $\partial L/\partial\sigma$ and, since the encoder outputs $\log\sigma^2$, also
# $\partial z/\partial(\log\sigma^2)$. Then explain in two or three sentences why
# $z = \text{sample}(\mathcal N(\mu, \sigma^2))$ has no such derivative.
#
# <details><summary>Hint 1</summary>
#
# In one forward pass, $\varepsilon$ is drawn once and then held fixed: treat it as a
# constant. Then $z = \mu + \sigma\varepsilon$ is a straight line in $\mu$ with slope 1.
# </details>
#
# <details><summary>Hint 2</summary>
#
# Holding $\varepsilon$ fixed again, $z$ is linear in $\sigma$ with slope $\varepsilon$. For
# the log-variance, $\sigma = e^{s/2}$ with $s = \log\sigma^2$, so
# $\partial\sigma/\partial s = \sigma/2$; chain the two.
# </details>
#
# <details><summary>Hint 3</summary>
#
# A sampler is not a function of $(\mu, \sigma)$ alone: it also reads the hidden state of a
# random number generator. Ask what "$z(\mu + h) - z(\mu)$" even means when each call gives
# a new, unrelated draw, and what an expectation $\mathbb E_{z \sim \mathcal N(\mu,
# \sigma^2)}[f(z)]$ needs in order to be differentiated *inside* the expectation.
# </details>

# %% [markdown] nbgrader={"grade": true, "grade_id": "derivation_reparameterization", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# **Model answer.** Fix the noise draw $\varepsilon$ of this forward pass. Then
# $z = \mu + \sigma\varepsilon$ is an ordinary deterministic function of $\mu$ and $\sigma$:
#
# $$\frac{\partial z}{\partial \mu} = 1, \qquad \frac{\partial z}{\partial\sigma} = \varepsilon,
# \qquad\text{so}\qquad \frac{\partial L}{\partial\mu} = \frac{\partial L}{\partial z},
# \qquad \frac{\partial L}{\partial\sigma} = \varepsilon\,\frac{\partial L}{\partial z}.$$
#
# With $s = \log\sigma^2$, $\sigma = e^{s/2}$ and $\partial\sigma/\partial s = \sigma/2$, so
# $\partial z/\partial s = \varepsilon\sigma/2 = (z - \mu)/2$. Every edge of the graph
# $\varepsilon \to \times\sigma \to +\mu \to z$ is differentiable, and the gradient of
# $\mathbb E_\varepsilon[L(\mu + \sigma\varepsilon)]$ is the expectation of these
# derivatives, which one sample estimates without bias.
#
# With $z = \text{sample}(\mathcal N(\mu, \sigma^2))$ there is no function $z(\mu, \sigma)$
# to differentiate: the output also depends on the generator's internal state, and two
# calls with $\mu$ and $\mu + h$ give unrelated draws, so the difference quotient
# $(z(\mu + h) - z(\mu))/h$ is meaningless (it does not converge as $h \to 0$). The
# parameters only shape the *distribution* of the output, so the dependence on $\mu$ sits in
# the density, not in the sample; autograd treats the draw as a constant and the gradient
# stops there. The trick moves the randomness out of the graph into an input $\varepsilon$
# whose distribution does not depend on $\mu$ or $\sigma$, and then every path from $L$
# back to the encoder is differentiable.

# %% [markdown]
# ### Build it (numeric part): ask autograd
#
# Write `reparam_gradients(mu, sigma, eps)` that returns the pair
# `(dz_dmu, dz_dsigma)` as Python floats, computed **with autograd**: make `mu` and `sigma`
# leaf tensors with `requires_grad=True`, build `z = mu + sigma * eps`, call `z.backward()`
# and read `.grad`. Your derivation predicts what comes out.
#
# <details><summary>Hint</summary>
#
# `m = torch.tensor(float(mu), requires_grad=True)`; after `z.backward()`, `m.grad.item()`
# is $\partial z/\partial\mu$. Return them in the order `(dz_dmu, dz_dsigma)`.
# </details>

# %% nbgrader={"grade": false, "grade_id": "reparam_gradients", "locked": false, "schema_version": 3, "solution": true, "task": false}
def reparam_gradients(mu, sigma, eps):
    """(dz/dmu, dz/dsigma) of z = mu + sigma * eps at a fixed eps, read off autograd."""
    ### BEGIN SOLUTION
    mu_t = torch.tensor(float(mu), requires_grad=True)
    sigma_t = torch.tensor(float(sigma), requires_grad=True)
    z = mu_t + sigma_t * float(eps)
    z.backward()
    return mu_t.grad.item(), sigma_t.grad.item()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_reparam_gradients", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_reparam_gradients(reparam_gradients)
### BEGIN HIDDEN TESTS
for _mu0, _sigma0, _eps0 in [(2.3, 0.5, 0.84), (0.0, 1.0, -2.5), (-7.0, 0.01, 1.3),
                             (1.0, 3.0, 0.0)]:
    _got = reparam_gradients(_mu0, _sigma0, _eps0)
    assert len(_got) == 2, "return a pair"
    assert abs(float(_got[0]) - 1.0) < 1e-6, "dz/dmu is 1"
    assert abs(float(_got[1]) - _eps0) < 1e-6, "dz/dsigma is eps"
_first, _second = reparam_gradients(5.0, 0.2, -0.6), reparam_gradients(5.0, 0.2, -0.6)
assert _first == _second, "a second call must not accumulate gradients from the first"
### END HIDDEN TESTS

# %% [markdown]
# The worked numbers of section 1: $\mu = 2.3$, $\sigma = 0.5$ and one noise draw.
# Autograd confirms $\partial z/\partial\mu = 1$ and $\partial z/\partial\sigma =
# \varepsilon$; the cell also
# differentiates with respect to the log-variance the encoder actually outputs, and
# compares with the chain rule $\varepsilon\sigma/2$.

# %%
derivatives = check_reparam_gradients.use(reparam_gradients)
eps_draw = float(torch.randn(()))
dz_dmu, dz_dsigma = derivatives(2.3, 0.5, eps_draw)
print(f"eps = {eps_draw:.4f}:  dz/dmu = {dz_dmu:.4f},  dz/dsigma = {dz_dsigma:.4f}")
s = torch.tensor(2 * math.log(0.5), requires_grad=True)  # log sigma^2 = -1.386
z = 2.3 + torch.exp(0.5 * s) * eps_draw
z.backward()
print(f"dz/dlogvar from autograd {s.grad.item():.4f}, from the chain rule eps * sigma / 2 = "
      f"{eps_draw * 0.5 / 2:.4f}")
record(CHAPTER, "dz_dmu", dz_dmu)
record(CHAPTER, "dz_dsigma_minus_eps", dz_dsigma - eps_draw)

# %% [markdown]
# ## 5. The gradient reaches the encoder of a real VAE
#
# A check worth running on any VAE implementation: push a batch of real MNIST digits
# through the VAE encoder, sample with your `reparameterize`, decode, and backpropagate the
# **reconstruction** loss alone (binary cross-entropy; the KL term, which also touches the
# encoder, is the next chapter's). Then do the same with `Normal(mu, std).sample()`, the
# sampler a first attempt often reaches for. What reaches the two encoder heads?

# %%
def reconstruction_grads(sampler, x):
    """Gradient norms at the encoder heads after backpropagating the BCE reconstruction."""
    torch.manual_seed(1)
    model = MLPVAE(h_dim=256, depth=1, z_dim=8, reparameterize=sampler).to(DEVICE)
    logits, mu, logvar, z = model(x)
    recon = F.binary_cross_entropy_with_logits(logits, x.flatten(1), reduction="none")
    recon.sum(dim=1).mean().backward()
    return {"mu head": model.fc_mu.weight.grad, "logvar head": model.fc_logvar.weight.grad,
            "decoder": model.decoder[0].weight.grad}


def sample_without_trick(mu, logvar):
    """What a first attempt writes: draw z from N(mu, sigma^2) directly."""
    return Normal(mu, torch.exp(0.5 * logvar)).sample()


x_batch = x_train[:128].to(DEVICE)  # [128, 1, 28, 28], on the model's device
for name, sampler in [("reparameterize", sample), ("Normal(...).sample()", sample_without_trick)]:
    grads = reconstruction_grads(sampler, x_batch)
    norms = {k: (0.0 if g is None else float(g.norm())) for k, g in grads.items()}
    print(f"{name:22s}" + "".join(f"  |dL/d {k}| = {v:8.4f}" for k, v in norms.items()))
    prefix = "grad_norm" if name == "reparameterize" else "sample_grad_norm"
    record(CHAPTER, f"{prefix}_mu_head", norms["mu head"])
    record(CHAPTER, f"{prefix}_logvar_head", norms["logvar head"])
    record(CHAPTER, f"{prefix}_decoder", norms["decoder"])

# %% [markdown]
# With the trick both heads get a gradient ($dL/d\mu \ne 0$ and $dL/d\log\sigma^2 \ne 0$:
# norms of {{grad_norm_mu_head:.2f}} and {{grad_norm_logvar_head:.2f}} in the recorded run).
# With `.sample()` the decoder still learns (gradient norm {{sample_grad_norm_decoder:.2f}}),
# but the encoder heads get **nothing**: {{sample_grad_norm_mu_head:.1f}} and
# {{sample_grad_norm_logvar_head:.1f}} (the gradient is `None`, printed as 0). The
# reconstruction loss cannot teach the encoder what to encode. `torch.normal(mu, std)` is no better: it returns zeros as the
# gradient. A VAE written that way trains its decoder on noise and never its encoder.

# %% [markdown]
# ## 6. Lab: how good is the reparameterized gradient?
#
# Strip the VAE down to its core problem: estimate the gradient
# $\frac{\partial}{\partial\mu}\,\mathbb E_{z \sim \mathcal N(\mu, \sigma^2)}[f(z)]$ from $N$
# samples. There are two classic estimators.
#
# * **Pathwise** (reparameterization): $z_i = \mu + \sigma\varepsilon_i$, and the estimate
#   is $\frac1N\sum_i f'(z_i)$: autograd through your `reparameterize`.
# * **Score function** (REINFORCE, likelihood ratio): move the derivative onto the density.
#   Since $\partial_\mu q(z) = q(z)\,\partial_\mu \log q(z)$,
#   $$\frac{\partial}{\partial\mu}\int f(z)\,q(z)\,dz = \mathbb E_q\big[f(z)\,\partial_\mu
#   \log q(z)\big], \qquad \partial_\mu \log q(z) = \frac{z - \mu}{\sigma^2},$$
#   estimated by $\frac1N\sum_i f(z_i)(z_i - \mu)/\sigma^2$ with plain samples. It never
#   differentiates $f$, so it also works for discrete $z$ or a black-box $f$ (reinforcement
#   learning uses it for exactly that reason).
#
# Both are unbiased. The question is their **variance**: a noisy gradient needs many more
# samples (or smaller learning-rate steps) for the same progress. Take
# $f(z) = (z - 3)^2$ at $\mu = 0$, $\sigma = 1$. Then $\mathbb E[f] = (\mu - 3)^2 + \sigma^2$
# and the true gradient is $2(\mu - 3) = -6$. We also try REINFORCE with a **baseline**
# (subtract from $f(z_i)$ the mean of the other samples' $f$; this keeps it unbiased and is
# how REINFORCE is used in practice).

# %%
def f_quadratic(z):
    return (z - 3.0) ** 2


MU0, SIGMA0, C0 = 0.0, 1.0, 3.0
sample_sizes = pick([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], [1, 4, 16, 64, 256],
                    fast_mode=FAST)
repeats = pick(4000, 400, fast_mode=FAST)
true_grad = quadratic_gradient(MU0, C0)
estimators = {
    "pathwise": lambda n: pathwise_estimates(f_quadratic, MU0, SIGMA0, n, repeats, sample),
    "score function": lambda n: score_function_estimates(f_quadratic, MU0, SIGMA0, n, repeats),
    "score fn + baseline": lambda n: score_function_estimates(f_quadratic, MU0, SIGMA0, n,
                                                               repeats, baseline=True),
}
table = {name: {"mean": [], "var": []} for name in estimators}
for n in sample_sizes:
    for name, estimate in estimators.items():
        if name == "score fn + baseline" and n == 1:  # leave-one-out needs two samples
            table[name]["mean"].append(float("nan"))
            table[name]["var"].append(float("nan"))
            continue
        g = estimate(n)  # [repeats] independent estimates
        table[name]["mean"].append(float(g.mean()))
        table[name]["var"].append(float(g.var()))

print(f"true gradient d/dmu E[(z-3)^2] = {true_grad:.1f};  {repeats} repeats per cell\n")
print(f"{'N':>5s} | " + " | ".join(f"{name:>24s}" for name in estimators))
print(f"{'':>5s} | " + " | ".join(f"{'mean':>10s} {'variance':>13s}" for _ in estimators))
for i, n in enumerate(sample_sizes):
    cells = [f"{table[k]['mean'][i]:10.3f} {table[k]['var'][i]:13.4f}" for k in estimators]
    print(f"{n:5d} | " + " | ".join(cells))
closed = quadratic_variances(MU0, SIGMA0, C0)
print(f"\nclosed-form variance of one sample: pathwise {closed['pathwise']:.0f}, "
      f"score function {closed['score function']:.0f} "
      f"(ratio {closed['score function'] / closed['pathwise']:.1f})")
ratio_measured = table["score function"]["var"][0] / table["pathwise"]["var"][0]
record(CHAPTER, "variance_ratio_score_over_pathwise_n1", ratio_measured)
record(CHAPTER, "variance_n1_pathwise", table["pathwise"]["var"][0])
record(CHAPTER, "variance_n1_score_function", table["score function"]["var"][0])
record(CHAPTER, "variance_closed_form_pathwise", closed["pathwise"])
record(CHAPTER, "variance_closed_form_score_function", closed["score function"])
record(CHAPTER, "variance_table", {  # None where a cell was not computed (JSON has no NaN)
    name: {"n": sample_sizes, **{k: [None if math.isnan(v) else v for v in vals]
                                 for k, vals in table[name].items()}} for name in table})

# %%
fig, (ax_var, ax_mean) = plt.subplots(1, 2, figsize=(11, 3.8))
colors = {"pathwise": "teal", "score function": "tab:red", "score fn + baseline": "tab:orange"}
for name in estimators:
    ax_var.loglog(sample_sizes, table[name]["var"], "o-", color=colors[name], label=name)
    two_se = 2 * np.sqrt(np.array(table[name]["var"]) / repeats)  # 2 standard errors
    ax_mean.errorbar(sample_sizes, table[name]["mean"], yerr=two_se, fmt="o-", capsize=3,
                     color=colors[name], label=name)
ns = np.array(sample_sizes, dtype=float)
for name in ("pathwise", "score function"):
    ax_var.loglog(ns, closed[name] / ns, ":", color=colors[name], lw=1)
ax_var.set_xlabel("samples N per estimate")
ax_var.set_ylabel("variance of the gradient estimate")
ax_var.set_title("variance falls as 1/N (dotted: closed form);\n"
                 "the gap between the lines is the price of REINFORCE", fontsize=9)
ax_var.legend(fontsize=8)
ax_mean.axhline(true_grad, color="0.3", ls="--", lw=1, label="true gradient -6")
ax_mean.set_xlabel("samples N per estimate")
ax_mean.set_ylabel(f"mean of {repeats} estimates")
ax_mean.set_xscale("log")
ax_mean.set_title("all three are unbiased: the means scatter around the true value\n"
                  "(bars: two standard errors of each mean)", fontsize=9)
ax_mean.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# **Reading the plot.** Every line falls with slope $-1$: averaging $N$ independent samples
# divides the variance by $N$. The lines are parallel, so the ratio between them is the same
# at every $N$, and it is large: with one sample the score-function estimate has a variance
# of {{variance_n1_score_function:.0f}} against {{variance_n1_pathwise:.2f}} for the pathwise
# one in the recorded run (closed forms: $4\sigma^2 = {{variance_closed_form_pathwise:.0f}}$ and
# $(a^4 + 18a^2\sigma^2 + 15\sigma^4)/\sigma^2 - 4a^2 = {{variance_closed_form_score_function:.0f}}$
# with $a = \mu - 3$). REINFORCE needs roughly
# **{{variance_ratio_score_over_pathwise_n1:.0f}} times as many samples** for the same
# accuracy here; the baseline narrows the
# gap but does not close it. A VAE has millions of parameters and a many-dimensional $z$,
# where the gap only widens, which is why VAEs are trained with the reparameterization
# trick, using a single sample of $z$ per image.
#
# **The other side of the trade.** The pathwise estimator differentiates $f$. When $f$ has
# no useful derivative, it fails without warning: for a step $f(z) = \mathbb 1[z > 0]$,
# $f'(z) = 0$ almost everywhere, so the pathwise estimate is exactly 0, while the true
# gradient $\partial_\mu \Phi(\mu/\sigma) = \varphi(\mu/\sigma)/\sigma$ is $0.399$ at
# $\mu = 0$, $\sigma = 1$. The score function does not care:

# %%
def f_step(z):
    return 0.5 * (torch.sign(z) + 1)  # 1 for z > 0, 0 for z < 0; autograd: derivative 0


n_step = pick(10_000, 2_000, fast_mode=FAST)
step_path = float(pathwise_estimates(f_step, 0.0, 1.0, n_step, 1, sample)[0])
step_score = float(score_function_estimates(f_step, 0.0, 1.0, n_step, 1, baseline=True)[0])
step_true = math.exp(-0.5 * 0.0**2) / math.sqrt(2 * math.pi)
print(f"f(z) = 1[z > 0], N = {n_step:,}:  pathwise {step_path:.4f},  "
      f"score function {step_score:.4f},  true {step_true:.4f}")
record(CHAPTER, "step_pathwise", step_path)
record(CHAPTER, "step_score_function", step_score)

# %% [markdown]
# So the two estimators are complements: the reparameterization trick for continuous latents
# and differentiable decoders (VAEs), the score function (or relaxations such as
# Gumbel-softmax, chapter 10) for discrete choices. The vector-quantized models of
# chapters 5-7 meet the same wall with discrete codes and get around it a third way, with a
# straight-through estimator.

# %% [markdown]
# ## 7. Check
#
# **Q1. What does the reparameterization trick achieve?**
#
# a) It makes training faster because sampling $\varepsilon$ from $\mathcal N(0, 1)$ is
#    cheaper than sampling from $\mathcal N(\mu, \sigma^2)$.
#
# b) It writes the sample as a deterministic, differentiable function
#    $z = \mu + \sigma\varepsilon$ of the encoder's outputs and an independent noise input,
#    so the loss can be backpropagated to $\mu$, $\sigma$ and the encoder.
#
# c) It removes the randomness from the VAE, so that every forward pass gives the same $z$.
#
# d) It forces $q(z \mid x)$ to equal the prior $\mathcal N(0, I)$.

# %% nbgrader={"grade": false, "grade_id": "answer_q1", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q1 = None
### BEGIN SOLUTION
answer_q1 = "b"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q1", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q1, question="ch02/q1", key="44914df82fc712cf",
             hint="Reread sections 2 and 4: what does the trick do to the computation graph?")
### BEGIN HIDDEN TESTS
assert answer_q1 == "b"
### END HIDDEN TESTS

# %% [markdown]
# **Q2. Which statement about the two gradient estimators of section 6 is right?**
#
# a) The score-function estimator is biased; that is why its estimates scatter more.
#
# b) Both are unbiased for $f(z) = (z - 3)^2$; the pathwise one has a far smaller variance,
#    but it needs $f$ to be differentiable in $z$.
#
# c) The variance of the pathwise estimator does not shrink when $N$ grows.
#
# d) The score-function estimator cannot be used when $f$ is a black box.

# %% nbgrader={"grade": false, "grade_id": "answer_q2", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q2 = None
### BEGIN SOLUTION
answer_q2 = "b"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q2", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q2, question="ch02/q2", key="92c906d7509cedbe",
             hint="Look at both panels of the plot in section 6, and at the step function.")
### BEGIN HIDDEN TESTS
assert answer_q2 == "b"
### END HIDDEN TESTS

# %% [markdown]
# ## Summary
#
# * A VAE encoder outputs a Gaussian per input: two heads, $\mu$ and $\log\sigma^2$
#   (unconstrained; $\sigma = e^{\text{logvar}/2}$).
# * The reparameterization trick $z = \mu + \sigma\varepsilon$, $\varepsilon \sim
#   \mathcal N(0, I)$ makes the sample a differentiable function of $\mu$ and $\sigma$:
#   $\partial z/\partial\mu = 1$, $\partial z/\partial\sigma = \varepsilon$,
#   $\partial z/\partial\log\sigma^2 = \varepsilon\sigma/2$.
# * `Normal(mu, std).sample()` and `torch.normal` give the right numbers but no gradient to
#   the encoder.
# * Against the score-function estimator, the pathwise gradient had
#   {{variance_ratio_score_over_pathwise_n1:.0f}}× less variance on a simple quadratic; the score function remains the tool when $f$ is not
#   differentiable.
#
# Next: **Chapter 3, the ELBO**: what the VAE maximizes, the closed-form KL, and how tight
# the bound is on a model whose likelihood we can compute exactly.

# %% [markdown]
# ## References
#
# * Kingma, D. P. and Welling, M. (2014). Auto-encoding variational Bayes. *ICLR*. (The VAE
#   and the reparameterization trick.)
# * Rezende, D. J., Mohamed, S. and Wierstra, D. (2014). Stochastic backpropagation and
#   approximate inference in deep generative models. *ICML*. (The same trick, found
#   independently.)
# * Williams, R. J. (1992). Simple statistical gradient-following algorithms for
#   connectionist reinforcement learning. *Machine Learning*, 8. (REINFORCE, the
#   score-function estimator, with baselines.)
# * Mohamed, S., Rosca, M., Figurnov, M. and Mnih, A. (2020). Monte Carlo gradient
#   estimation in machine learning. *JMLR*, 21. (Pathwise against score-function
#   estimators, and their variances.)
# * Jang, E., Gu, S. and Poole, B. (2017). Categorical reparameterization with
#   Gumbel-softmax. *ICLR*. (A relaxation for discrete latents, chapter 10.)
# * Bengio, Y., Léonard, N. and Courville, A. (2013). Estimating or propagating gradients
#   through stochastic neurons for conditional computation. arXiv:1308.3432. (The
#   straight-through estimator of chapters 5-7.)
