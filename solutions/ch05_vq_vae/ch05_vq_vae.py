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
# # Chapter 5 · VQ-VAE: discrete codes
#
# **You will:** snap vectors to a codebook and see the cells it carves out of space (an
# interactive), write the **straight-through estimator** that lets gradients cross a
# non-differentiable lookup, write a complete **vector quantizer** with its two extra loss
# terms, prove with autograd which parameters each term moves, and train a VQ-VAE on real
# digits that turns every image into a 7×7 grid of integers.

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from IPython.display import display
from torch import nn

from lessonlib.checks import check_choice
from lessonlib.checks.quantizers import (
    check_sends_gradient,
    check_vector_quantizer,
    check_vq_straight_through,
)
from lessonlib.core import is_fast, minibatches, pick, psnr, record, seed_everything, train
from lessonlib.data import load_mnist
from lessonlib.quantizers import from_rows, nearest_code, to_rows
from lessonlib.tokenizers import QuantizedAutoencoder, TokenDecoder, TokenEncoder
from lessonlib.views import (
    Choice,
    FloatSlider,
    IntSlider,
    Toggle,
    image_rows,
    interactive,
    loss_curves,
    show_grid,
)
from lessonlib.views.token_grid import render_token_grid
from lessonlib.views.token_plots import (
    decode_token_grids,
    draw_codebook_pca,
    draw_token_grid,
    mean_patch_per_code,
)
from lessonlib.views.voronoi import RULES, render_voronoi

CHAPTER = "ch05_vq_vae"

# %% tags=["parameters"]
FAST = False  # papermill sets True in CI; nbgrader grading forces it too

# %%
FAST = is_fast(FAST)
seed_everything(0)
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## 1. From a Gaussian to a codebook
#
# The VAEs of chapters 2-4 encode an image to a *continuous* latent: a Gaussian
# $q(z \mid x)$ in $\mathbb R^d$. **VQ-VAE** (van den Oord, Vinyals and Kavukcuoglu, 2017)
# makes the latent **discrete**. It keeps a **codebook**: a table of $K$ learned vectors
# $e_1, \dots, e_K \in \mathbb R^D$. In PyTorch the codebook is an `nn.Embedding(K, D)`,
# a plain matrix of shape `[K, D]`. The original paper used $K = 512$; modern image
# tokenizers use 1,024 to 16,384 entries ($K = 8192$ entries of $D = 256$ numbers is a
# typical large configuration).
#
# The encoder outputs a continuous feature map $z_e$ of shape `[B, D, H, W]`, say
# `[1, 256, 32, 32]`. At each of the $32 \cdot 32 = 1024$ positions, the $D$-vector there
# is replaced by its **nearest codebook entry**: 1,024 independent nearest-neighbour lookups.
#
# $$k_{hw} = \arg\min_k \lVert z_{e,hw} - e_k \rVert^2, \qquad z_{q,hw} = e_{k_{hw}}.$$
#
# ```
#   x ──encoder──▶ z_e [B, D, H, W] ──nearest code at each position──▶ z_q ──decoder──▶ x̂
#                  (continuous)              │                          (codebook rows)
#                                            ▼
#                                 indices [B, H, W]: a grid of integers, the "tokens"
# ```
#
# The decoder only ever sees codebook rows, so the whole image is described by the grid of
# integers $k_{hw}$: **tokens**, which a Transformer can later model like words
# (chapter 10). There is no sampling: read as a VAE, $q(z = k \mid x)$ puts all its mass on
# the nearest code, and with a uniform prior over the $K$ codes the KL term equals
# $\log K$, a constant. The objective therefore has no KL to balance; it has two other
# terms instead (section 4).

# %% [markdown]
# ## 2. Interactive: snap to the nearest code
#
# A codebook in two dimensions, so we can see it. The blue dots are the codes, the orange
# point is an encoder output $z_e$ (move it with the sliders), the green line is its
# assignment. Every point of the plane snaps to its nearest code, so the codebook carves
# the plane into **cells** (a Voronoi diagram): the shaded regions. The bar chart shows
# the squared distance to each code; the argmin wins.
#
# Things to try:
# * Move $z_e$ inside one cell: $z_q$ does not change at all. Cross a border: $z_q$ jumps.
#   That is why the lookup has **zero gradient almost everywhere** (section 3).
# * Lower $K$: fewer, larger cells, a coarser quantization and a larger error.
# * Switch the rule to *dot product only*. Expanding the distance,
#   $\lVert z - e_k\rVert^2 = \lVert z\rVert^2 - 2\, z\cdot e_k + \lVert e_k\rVert^2$:
#   dropping $\lVert z\rVert^2$ is harmless (it is the same for every $k$), but dropping
#   $\lVert e_k\rVert^2$ is not. The cells turn into wedges from the origin, long codes
#   win everywhere, and short codes can never be chosen.

# %%
codebook_2d = torch.tensor([[-1.6, 1.5], [0.2, 1.7], [1.5, 1.2], [-0.6, 0.5], [0.8, 0.3],
                            [-1.8, -0.2], [0.1, -0.6], [1.7, -0.6], [-1.0, -1.5], [0.6, -1.7],
                            [2.0, -1.9], [-0.2, 0.0]])  # [K=12, D=2]
display(interactive(
    lambda x, y, k, rule: render_voronoi(x, y, k, rule, codebook=codebook_2d),
    [FloatSlider("x", -2.5, 2.5, 0.5, step=0.05, label="z_e, dim 1"),
     FloatSlider("y", -2.5, 2.5, 0.5, step=0.05, label="z_e, dim 2"),
     IntSlider("k", 2, 12, 12, label="codes K"),
     Choice("rule", RULES, label="rule")],
    name="nearest_code", chapter=CHAPTER))

# %% [markdown]
# **What to notice.** The cells are convex polygons whose borders are the perpendicular
# bisectors between neighbouring codes. A code whose cell contains no encoder output is
# never used: a **dead code**, the central problem of chapter 6. With the dot-product rule
# several codes can never win at all: that slip silently wastes part of the codebook.

# %% [markdown]
# ## 3. The straight-through estimator
#
# The lookup $z_q = e_{\arg\min_k \lVert z_e - e_k\rVert^2}$ is piecewise constant in
# $z_e$: inside a cell, moving $z_e$ does not change $z_q$. Its derivative is zero almost
# everywhere (and undefined on the borders), so backpropagation would hand the encoder a
# gradient of exactly zero from the reconstruction loss. The encoder could never learn.
#
# The **straight-through estimator** (STE; Bengio, Léonard and Courville, 2013) cheats in
# a controlled way: in the forward pass use the code $z_q$; in the backward pass pretend
# the quantization was the identity, and copy the gradient arriving at $z_q$ unchanged to
# $z_e$:
#
# $$\text{forward: } z_q, \qquad \text{backward: } \frac{\partial L}{\partial z_e} :=
# \frac{\partial L}{\partial z_q}.$$
#
# In PyTorch it is one line, built from the **stop-gradient** $\mathrm{sg}[u]$
# (`u.detach()`: forward value $u$, gradient zero):
#
# ```python
# z_q_st = z_e + (z_q - z_e).detach()
# ```
#
# Forward: $z_e + (z_q - z_e) = z_q$, the code. Backward: the detached difference is a
# constant, so $\partial z_{q,\mathrm{st}} / \partial z_e = I$ and the codebook gets
# nothing through this path.

# %% [markdown]
# ### Build it: `vq_straight_through`
#
# Write `vq_straight_through(z_e, codebook)`: `z_e` is `[B, D]` (one vector per row),
# `codebook` is `[K, D]`. Return `(z_q_st, indices)`: `indices` `[B]` (integers, the
# nearest code of each row) and `z_q_st` `[B, D]` whose value is the chosen code and
# whose gradient flows straight to `z_e`.
#
# **A trap in a widely copied test.** A test often written for this function uses
# `z_e = torch.tensor([[1.0, 0.0], [0.0, 1.0]])` and expects `z_q_st.requires_grad` to
# be True. As written it is False even for a correct implementation: neither `z_e` nor the
# codebook requires grad, so nothing in the expression does. The public check creates
# `z_e` with `requires_grad=True`, and then a correct answer gives True.
#
# <details><summary>Hint 1</summary>
#
# Distances first: `torch.cdist(z_e, codebook)` is `[B, K]` (the plain distance has the
# same argmin as its square). Then `argmin` over the codes, `dim=1`.
# </details>
#
# <details><summary>Hint 2</summary>
#
# `codebook[indices]` picks one row per index: `[B, D]`. That is $z_q$; it is right in
# the forward pass but, on its own, sends the gradient to the codebook, not to `z_e`.
# </details>
#
# <details><summary>Hint 3</summary>
#
# `z_e + (z_q - z_e).detach()`. Mind the side: `z_q + (z_e - z_q).detach()` adds up to
# `z_e` in the forward pass and sends the gradient to the codebook.
# </details>

# %% nbgrader={"grade": false, "grade_id": "vq_straight_through", "locked": false, "schema_version": 3, "solution": true, "task": false}
def vq_straight_through(z_e, codebook):
    """Nearest-code quantization with a straight-through gradient.

    z_e [B, D], codebook [K, D] -> (z_q_st [B, D], indices [B] int64).
    """
    ### BEGIN SOLUTION
    dist = torch.cdist(z_e, codebook)  # [B, K]
    indices = dist.argmin(dim=1)  # [B]
    z_q = codebook[indices]  # [B, D]
    return z_e + (z_q - z_e).detach(), indices
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_vq_straight_through", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check_vq_straight_through(vq_straight_through)
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(123)
# two points next to two codes, with z_e requiring grad
_z = torch.tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)
_cb = torch.tensor([[0.9, 0.1], [0.1, 0.9], [-0.5, -0.5]])
_zq, _idx = vq_straight_through(_z, _cb)
assert _idx.tolist() == [0, 1] and torch.allclose(_zq, _cb[:2], atol=1e-6) and _zq.requires_grad
# random shapes against a brute-force oracle, codes of very different lengths
for _b, _d, _k in [(50, 8, 16), (7, 1, 5), (33, 3, 40)]:
    _cb = torch.randn(_k, _d, generator=_gen) * torch.rand(_k, 1, generator=_gen) * 3
    _z = (torch.randn(_b, _d, generator=_gen) * 1.5).requires_grad_()
    _zq, _idx = vq_straight_through(_z, _cb)
    _zd = _z.detach()
    _want = torch.tensor([min(range(_k), key=lambda j: float(((_zd[i] - _cb[j]) ** 2).sum()))
                          for i in range(_b)])
    assert _idx.shape == (_b,) and _idx.dtype == torch.long, "indices [B], torch.long"
    assert torch.equal(_idx, _want), "indices must be the nearest codes (squared distance)"
    assert torch.allclose(_zq.detach(), _cb[_want], atol=1e-6), "forward value = nearest code"
# the STE gradient is the downstream gradient evaluated AT z_q, copied to z_e
_cb = torch.randn(6, 4, generator=_gen).requires_grad_()
_z = torch.randn(9, 4, generator=_gen).requires_grad_()
_w = torch.randn(9, 4, generator=_gen)
_zq, _idx = vq_straight_through(_z, _cb)
_g_z, _g_cb = torch.autograd.grad((_w * _zq.pow(2)).sum(), [_z, _cb], allow_unused=True)
assert torch.allclose(_g_z, 2 * _w * _cb.detach()[_idx], atol=1e-6), "dL/dz_e == dL/dz_q"
assert _g_cb is None or not _g_cb.ne(0).any(), "the codebook gets no gradient through the STE"
assert _z.grad is None and _cb.grad is None, "use autograd, not .backward()"
### END HIDDEN TESTS

# %% [markdown]
# ### The gradient really goes straight through
#
# The defining test of a straight-through estimator: the gradient that arrives at $z_e$
# must be exactly the gradient at $z_q$, $\partial L/\partial z_e = \partial L/\partial z_q$.
# Below,
# a random linear "decoder" and a squared-error loss sit on top of your function; autograd
# gives the gradient at $z_q$ and at $z_e$. They must be identical. The table beside it
# shows the two classic slips on the same example.

# %%
ste = check_vq_straight_through.use(vq_straight_through)
gen = seed_everything(0)  # also seeds the Linear layer below
codebook_small = torch.randn(8, 4, generator=gen).requires_grad_()  # [K=8, D=4]
z_e_small = torch.randn(16, 4, generator=gen).requires_grad_()  # [B=16, D=4]
decoder_small = nn.Linear(4, 3)
target_small = torch.randn(16, 3, generator=gen)

z_q_st, _ = ste(z_e_small, codebook_small)
loss_small = (decoder_small(z_q_st) - target_small).pow(2).mean()
g_zq, g_ze = torch.autograd.grad(loss_small, [z_q_st, z_e_small], retain_graph=True)
ste_gap = float((g_ze - g_zq).abs().max())
print(f"straight-through: max |dL/dz_e - dL/dz_q| = {ste_gap:.1e}",
      "(identical)" if ste_gap == 0 else "")
record(CHAPTER, "ste_grad_max_difference", ste_gap)


def describe_variant(name, make_z_q):
    """Forward value, and which of z_e / codebook receives the decoder's gradient."""
    idx = nearest_code(z_e_small.detach(), codebook_small.detach())
    z_q = make_z_q(z_e_small, codebook_small[idx])
    loss = (decoder_small(z_q) - target_small).pow(2).mean()
    g_e, g_c = torch.autograd.grad(loss, [z_e_small, codebook_small], allow_unused=True)
    value = "the code" if torch.allclose(z_q, codebook_small[idx]) else "z_e (!)"
    moved = [n for n, g in [("z_e", g_e), ("codebook", g_c)] if g is not None and g.ne(0).any()]
    print(f"{name:36s} value = {value:9s} gradient reaches: {', '.join(moved) or 'nothing'}")


describe_variant("z_e + (z_q - z_e).detach()  [right]", lambda z, q: z + (q - z).detach())
describe_variant("z_q + (z_e - z_q).detach()  [wrong]", lambda z, q: q + (z - q).detach())
describe_variant("z_q  (no straight-through)  [wrong]", lambda z, q: q)

# %% [markdown]
# ### Why the STE is *biased*
#
# The STE is not the derivative of anything the network computes: the true derivative of
# the lookup is zero. It is the derivative of a **surrogate** in which quantization is the
# identity map, evaluated at the code. The picture below uses a one-dimensional codebook
# $\{-1.5, -0.5, 0.5, 1.5\}$ and a downstream loss $L(u) = (u - 0.8)^2$, with the STE
# gradient computed by autograd through the function you just wrote.

# %%
codebook_1d = torch.tensor([[-1.5], [-0.5], [0.5], [1.5]])  # [K=4, D=1]
z_line = torch.linspace(-2.2, 2.2, 441).unsqueeze(1).requires_grad_()  # [N, 1]
z_q_line, _ = ste(z_line, codebook_1d)
loss_line = (z_q_line - 0.8).pow(2)  # [N, 1]
(ste_grad,) = torch.autograd.grad(loss_line.sum(), z_line)
z_np = z_line.detach()[:, 0].numpy()

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.3))
ax1.plot(z_np, loss_line.detach()[:, 0].numpy(), label="L(quantize(z_e)): what is computed")
ax1.plot(z_np, (z_np - 0.8) ** 2, ":", color="gray", label="L(z_e): no quantization")
ax1.set_xlabel("z_e")
ax1.set_ylabel("loss")
ax1.legend(fontsize=8)
ax1.set_title("the loss through the lookup is a staircase", fontsize=10)
ax2.plot(z_np, ste_grad[:, 0].numpy(), color="tab:green", label="STE gradient = L'(z_q)")
ax2.plot(z_np, 0 * z_np, color="tab:blue", label="true derivative (0 almost everywhere)")
ax2.plot(z_np, 2 * (z_np - 0.8), ":", color="gray", label="L'(z_e)")
ax2.set_xlabel("z_e")
ax2.set_ylabel("gradient")
ax2.legend(fontsize=8)
ax2.set_title("the STE gradient: biased, but it points somewhere useful", fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown]
# The true derivative (blue) is useless: zero everywhere. The STE (green) is the slope of
# the loss *at the code*, copied to $z_e$; it points towards codes with a lower loss, which
# is why training works. But it is **biased**: it is not the gradient of the function
# computed. Inside the cell of code 0.5 (for $z_e \in [0, 1]$) it says "increase $z_e$"
# everywhere, although no small step changes the loss, and once $z_e$ crosses 1.0 the code
# becomes 1.5, which is worse. Gradient descent with the STE alone can make $z_e$ hover at
# a border with its code flickering. Two terms of the VQ-VAE loss address this: the
# codebook term moves the codes to where the encoder outputs are, and the commitment term
# pulls each $z_e$ towards its current code.

# %% [markdown]
# ## 4. The three loss terms
#
# $$\mathcal L = \underbrace{\lVert x - \hat x\rVert^2}_{\text{reconstruction}}
# + \underbrace{\lVert \mathrm{sg}[z_e] - e\rVert^2}_{\text{codebook}}
# + \beta\, \underbrace{\lVert z_e - \mathrm{sg}[e]\rVert^2}_{\text{commitment}}$$
#
# | term | what it does | what it updates |
# |---|---|---|
# | $\lVert x - \hat x\rVert^2$ (or BCE) | the decoded image matches the input | decoder, and the encoder through the STE |
# | $\lVert \mathrm{sg}[z_e] - e\rVert^2$ | moves each used code towards the encoder outputs assigned to it | codebook only ($z_e$ is frozen by sg) |
# | $\beta \lVert z_e - \mathrm{sg}[e]\rVert^2$ | keeps the encoder outputs close to their codes | encoder only ($e$ is frozen by sg) |
#
# Why a codebook term at all? Look back at the STE: $z_{q,\mathrm{st}} = z_e +
# \mathrm{sg}[z_q - z_e]$ contains the codebook only inside a stop-gradient, so the
# reconstruction loss sends the codebook **nothing**. Without its own term the codebook
# would never move. The commitment term, weighted by $\beta = 0.25$ in the paper (which
# reports results robust for $\beta$ from 0.1 to 2.0), stops the encoder outputs from
# drifting away from the codes or growing without bound. Each squared norm is computed as a
# mean over all positions and dimensions (`F.mse_loss`), as most implementations do.

# %% [markdown]
# ### Build it: `VectorQuantizer`
#
# Complete `forward` for feature maps: `z_e` is `[B, D, H, W]`. Return four things:
#
# * `z_q` `[B, D, H, W]`: the nearest code at every position, with a straight-through
#   gradient to `z_e`;
# * `indices` `[B, H, W]`: the token grid (integers);
# * `vq_loss`: codebook term + `self.commitment_cost` × commitment term (means);
# * `perplexity`: $\exp(\text{entropy})$ of the code usage over **all** positions of the
#   batch: 1 if a single code is used, $K$ if all are used equally often.
#
# `__init__` is written for you: `self.codebook` is `nn.Embedding(K, D)` with the small
# uniform initialization in $\pm 1/K$. You may call your `vq_straight_through`.
#
# <details><summary>Hint 1</summary>
#
# Quantize one row per position: move the channels last, then flatten,
# `z = z_e.permute(0, 2, 3, 1).reshape(-1, D)`, which is `[B*H*W, D]`. Beware:
# `z_e.view(-1, D)` on the channels-first tensor runs but mixes numbers from different
# positions. Going back: `.reshape(B, H, W, D).permute(0, 3, 1, 2)`.
# </details>
#
# <details><summary>Hint 2</summary>
#
# With `e = self.codebook.weight[indices]` (`[B*H*W, D]`, still attached to the codebook):
# codebook term `F.mse_loss(e, z.detach())`, commitment term `F.mse_loss(z, e.detach())`;
# `vq_loss` is the codebook term plus `self.commitment_cost` times the commitment term.
# </details>
#
# <details><summary>Hint 3</summary>
#
# Perplexity: `counts = torch.bincount(indices_flat, minlength=K)`, `p = counts / counts.sum()`,
# entropy $-\sum_{p_k > 0} p_k \log p_k$, then `exp`. Pool the whole batch; do not average
# per image.
# </details>

# %% nbgrader={"grade": false, "grade_id": "VectorQuantizer", "locked": false, "schema_version": 3, "solution": true, "task": false}
class VectorQuantizer(nn.Module):
    """Codebook nn.Embedding(K, D); forward(z_e [B, D, H, W]) ->
    (z_q [B, D, H, W], indices [B, H, W], vq_loss, perplexity)."""

    def __init__(self, num_embeddings, embedding_dim, commitment_cost=0.25):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.commitment_cost = commitment_cost
        self.codebook = nn.Embedding(num_embeddings, embedding_dim)  # weight [K, D]
        self.codebook.weight.data.uniform_(-1.0 / num_embeddings, 1.0 / num_embeddings)

    def forward(self, z_e):
        ### BEGIN SOLUTION
        b, d, h, w = z_e.shape
        z = z_e.permute(0, 2, 3, 1).reshape(-1, d)  # [B*H*W, D]
        indices = torch.cdist(z.detach(), self.codebook.weight.detach()).argmin(dim=1)  # [N]
        e = self.codebook.weight[indices]  # [N, D]
        codebook_term = F.mse_loss(e, z.detach())  # moves the codebook only
        commitment_term = F.mse_loss(z, e.detach())  # moves the encoder only
        vq_loss = codebook_term + self.commitment_cost * commitment_term
        z_q = z + (e - z).detach()  # [N, D], straight-through
        counts = torch.bincount(indices, minlength=self.num_embeddings).float()  # [K]
        p = counts[counts > 0] / counts.sum()
        perplexity = torch.exp(-(p * p.log()).sum())
        z_q = z_q.reshape(b, h, w, d).permute(0, 3, 1, 2)  # [B, D, H, W]
        return z_q, indices.reshape(b, h, w), vq_loss, perplexity
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_VectorQuantizer", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
check_vector_quantizer(VectorQuantizer)
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(7)
for (_b, _d, _h, _w, _k, _beta) in [(3, 8, 5, 6, 16, 0.25), (1, 2, 1, 1, 3, 1.5),
                                     (2, 16, 7, 7, 32, 0.1)]:
    _vq = VectorQuantizer(_k, _d, commitment_cost=_beta)
    assert isinstance(_vq.codebook, nn.Embedding) and _vq.codebook.weight.shape == (_k, _d)
    with torch.no_grad():
        _vq.codebook.weight.copy_(torch.randn(_k, _d, generator=_gen)
                                  * torch.rand(_k, 1, generator=_gen) * 2)
    _cb = _vq.codebook.weight.detach().clone()
    _ze = torch.randn(_b, _d, _h, _w, generator=_gen).requires_grad_()
    _zq, _idx, _loss, _perp = _vq(_ze)
    # brute-force oracle, position by position
    _want = torch.empty(_b, _h, _w, dtype=torch.long)
    for _i in range(_b):
        for _r in range(_h):
            for _c in range(_w):
                _v = _ze.detach()[_i, :, _r, _c]
                _want[_i, _r, _c] = min(range(_k), key=lambda j: float(((_v - _cb[j]) ** 2).sum()))
    assert _idx.shape == (_b, _h, _w) and _idx.dtype == torch.long, "indices [B, H, W] long"
    assert torch.equal(_idx, _want), "indices: nearest code at every position"
    _zq_want = _cb[_want].permute(0, 3, 1, 2)  # [B, D, H, W]
    assert _zq.shape == _ze.shape and torch.allclose(_zq.detach(), _zq_want, atol=1e-6)
    _mse = float((_zq_want - _ze.detach()).pow(2).mean())
    assert abs(float(_loss.detach()) - (1 + _beta) * _mse) < 1e-5 * (1 + _mse), "vq_loss"
    _counts = torch.bincount(_want.reshape(-1), minlength=_k).double()
    _p = _counts[_counts > 0] / _counts.sum()
    assert abs(float(_perp) - float(torch.exp(-(_p * _p.log()).sum()))) < 1e-4, "perplexity"
    # gradients: the decoder's gradient reaches z_e unchanged and never the codebook
    _up = torch.randn(_zq.shape, generator=_gen)
    _g_ze, _g_cb = torch.autograd.grad((_zq * _up).sum(), [_ze, _vq.codebook.weight],
                                       allow_unused=True, retain_graph=True)
    assert torch.allclose(_g_ze, _up, atol=1e-6), "straight-through, position by position"
    assert _g_cb is None or not _g_cb.ne(0).any(), "no decoder gradient to the codebook"
    # vq_loss: codebook term -> codebook only, commitment term (times beta) -> encoder only
    _g_ze, _g_cb = torch.autograd.grad(_loss, [_ze, _vq.codebook.weight])
    _n = _b * _h * _w * _d
    assert torch.allclose(_g_ze, _beta * 2 * (_ze.detach() - _zq_want) / _n, atol=1e-6)
    _g_cb_want = torch.zeros(_k, _d)
    _rows = _cb[_want].reshape(-1, _d) - _ze.detach().permute(0, 2, 3, 1).reshape(-1, _d)
    _g_cb_want.index_add_(0, _want.reshape(-1), 2 * _rows / _n)
    assert torch.allclose(_g_cb, _g_cb_want, atol=1e-6), "codebook term gradient"
# the default commitment cost is 0.25
_vq = VectorQuantizer(4, 2)
_ze = torch.randn(2, 2, 3, 3, generator=_gen).requires_grad_()
_zq, _idx, _loss, _ = _vq(_ze)
(_g,) = torch.autograd.grad(_loss, [_ze])
assert torch.allclose(_g, 0.25 * 2 * (_ze.detach() - _zq.detach()) / _ze.numel(), atol=1e-6)
# a single code used everywhere: perplexity 1; the forward pass leaves the codebook alone
_vq = VectorQuantizer(5, 3)
with torch.no_grad():
    _vq.codebook.weight.copy_(torch.tensor([[0.0, 0, 0], [9, 9, 9], [-9, 9, 9], [9, -9, 9],
                                            [9, 9, -9]]))
_before = _vq.codebook.weight.detach().clone()
_zq, _idx, _loss, _perp = _vq(0.1 * torch.randn(2, 3, 4, 4, generator=_gen))
assert abs(float(_perp) - 1.0) < 1e-6 and _idx.eq(0).all(), "one code used: perplexity 1"
assert torch.equal(_vq.codebook.weight.detach(), _before)
### END HIDDEN TESTS

# %% [markdown]
# ### A trap in a common snippet
#
# A sketch of the quantizer that circulates widely goes like this (channels-last rows,
# then back):
#
# ```python
# z_flat = z_e.permute(0, 2, 3, 1).reshape(-1, D)   # [B*H*W, D]  right
# ...
# z_q = codebook(indices)                           # [B*H*W, D]  channels last
# z_q_st = z_e + (z_q.reshape_as(z_e) - z_e).detach()   # wrong
# ```
#
# The last line is a bug: `reshape_as(z_e)` reads the channels-last rows as if they were
# channels-first `[B, D, H, W]`, so the numbers land at the wrong positions and in the
# wrong channels. It runs without an error, which is what makes it dangerous. The cell
# below measures how many positions end up with their own code, on a map where each
# position's nearest code is known.

# %%
gen = torch.Generator().manual_seed(1)
codebook_trap = torch.randn(6, 5, generator=gen) * 2  # [K=6, D=5]
true_tokens = torch.arange(12).reshape(1, 3, 4) % 6  # [B=1, H=3, W=4]
want_map = codebook_trap[true_tokens].permute(0, 3, 1, 2)  # [1, 5, 3, 4]
z_e_trap = want_map + 0.05  # each position sits next to its own code
z_q_rows = codebook_trap[nearest_code(to_rows(z_e_trap), codebook_trap)]  # [12, 5]
for label, z_q_map in [("from_rows (reshape, then permute back)",
                        from_rows(z_q_rows, z_e_trap.shape)),
                       ("the snippet's z_q.reshape_as(z_e)", z_q_rows.reshape_as(z_e_trap))]:
    right = (z_q_map - want_map).abs().amax(dim=1).lt(1e-6).float().mean()  # [B, H, W] -> mean
    print(f"{label:40s} positions holding their own code: {100 * float(right):5.1f}%")
scrambled = nearest_code(z_e_trap.reshape(-1, 5), codebook_trap).reshape(1, 3, 4)
print(f"{'view(-1, D) without the permute':40s} tokens right: "
      f"{100 * float((scrambled == true_tokens).float().mean()):5.1f}%")

# %% [markdown]
# ## 5. Derivation: why three terms, and what the stop-gradients do
#
# A natural question: *why not simply* $\mathcal L = \lVert x - \hat x\rVert^2 + \lVert z_e -
# e\rVert^2$? What goes wrong without the stop-gradients, and why is the commitment loss a
# separate term with its own weight?
#
# Answer in the cell below (a few sentences and one or two formulas). Use these facts:
# what the STE sends to the codebook; the gradient of $\lVert z_e - e\rVert^2$ with respect
# to $z_e$ and to $e$; and what the sum of the codebook and commitment terms becomes when
# $\beta = 1$.
#
# <details><summary>Hint 1</summary>
#
# $\mathrm{sg}[u]$ has the value $u$ and zero gradient. In $\lVert \mathrm{sg}[z_e] -
# e\rVert^2$ only $e$ can receive a gradient; in $\lVert z_e - \mathrm{sg}[e]\rVert^2$ only
# $z_e$. And in the STE, the codebook appears only inside a `detach()`.
# </details>
#
# <details><summary>Hint 2</summary>
#
# $\nabla_e \lVert z_e - e\rVert^2 = 2(e - z_e)$ and $\nabla_{z_e} \lVert z_e - e\rVert^2
# = 2(z_e - e)$: without sg one term pulls both ends together, with the same strength.
# Compare with codebook + $\beta$ · commitment: what is left to choose?
# </details>
#
# <details><summary>Hint 3</summary>
#
# The encoder also has to serve the reconstruction. How hard should it be pulled towards
# the codes, compared with how hard the codes should follow the encoder? What happens to
# the scale of $z_e$ if nothing pulls it back at all ($\beta = 0$)?
# </details>

# %% [markdown] nbgrader={"grade": true, "grade_id": "derivation_three_losses", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# **Model answer.**
#
# 1. *The codebook needs its own term.* The STE writes $z_{q,\mathrm{st}} = z_e +
#    \mathrm{sg}[e_k - z_e]$: the codebook appears only inside a stop-gradient, so the
#    reconstruction loss sends it no gradient at all. With reconstruction alone the codes
#    keep their random initial values forever. The codebook term
#    $\lVert \mathrm{sg}[z_e] - e\rVert^2$ has gradient $2(e - z_e)$ with respect to $e$
#    and none with respect to the encoder: it moves each used code towards the mean of the
#    encoder outputs assigned to it (a k-means step), and only the codebook.
# 2. *What the stop-gradients buy.* A single term $\lVert z_e - e\rVert^2$ has gradients
#    $2(e - z_e)$ for the code and $2(z_e - e)$ for the encoder: both ends pull towards
#    each other with the same strength. That is exactly codebook + $\beta$ · commitment
#    with $\beta = 1$. Splitting it with sg makes each term move one side only, so the two
#    speeds can be set separately: the codes follow the encoder at full strength, while the
#    encoder, which must also serve the reconstruction, is pulled back only gently
#    ($\beta = 0.25$). Each term has one job and one set of parameters (an alternating,
#    k-means-like optimization), and the pull on the encoder no longer competes with the
#    reconstruction gradient at full strength. (The single term is sometimes described as
#    two magnets with no equilibrium; the precise statement is that it fixes $\beta = 1$ and
#    lets the encoder be dragged towards codes as hard as the codes are dragged towards
#    the encoder.)
# 3. *Why a commitment term at all.* Nothing else in the loss constrains the scale or
#    position of $z_e$: the reconstruction only sees $z_q$, and the codebook term only
#    moves $e$. The encoder outputs can drift away from the codes faster than the codes
#    can follow, or grow without bound, and then flip between codes from step to step.
#    $\beta \lVert z_e - \mathrm{sg}[e]\rVert^2$ makes the encoder *commit* to its codes
#    without moving them.
#
# Summary of who moves: reconstruction → decoder and (through the STE) encoder; codebook
# term → codebook only; commitment term → encoder only.

# %% [markdown]
# ### Build it (numeric part): which parameters does a term move?
#
# Claims about stop-gradients are easy to make and easy to get wrong, so let autograd
# decide. Write `sends_gradient(loss, groups)`: `loss` is a scalar tensor, `groups` a dict
# `{name: list of parameters}`. Return `{name: bool}`: True when at least one parameter of
# the group receives a gradient that is not exactly zero.
#
# Requirements: do not change any parameter's `.grad` (the same parameters are asked
# about several losses in a row, and those losses share one graph), and a loss that does
# not require grad at all (everything in it was detached) moves nothing.
#
# <details><summary>Hint 1</summary>
#
# `torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)` returns one
# gradient per parameter (None for a parameter the loss does not reach) and leaves `.grad`
# alone. `retain_graph=True` keeps the graph for the next question.
# </details>
#
# <details><summary>Hint 2</summary>
#
# "Moved" means a gradient that is not None **and** not all zeros:
# `g is not None and bool(g.ne(0).any())`. A group is moved if `any` of its parameters is.
# Check `loss.requires_grad` first: autograd raises on a loss that does not require grad.
# </details>

# %% nbgrader={"grade": false, "grade_id": "sends_gradient", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sends_gradient(loss, groups):
    """{name: True if `loss` sends a non-zero gradient to any parameter of groups[name]}.

    loss: scalar tensor; groups: {name: list of parameters}. Leaves every .grad untouched.
    """
    ### BEGIN SOLUTION
    groups = {name: list(params) for name, params in groups.items()}
    moved = dict.fromkeys(groups, False)
    if not loss.requires_grad:
        return moved
    for name, params in groups.items():
        params = [p for p in params if p.requires_grad]
        if not params:
            continue
        grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        moved[name] = any(g is not None and bool(g.ne(0).any()) for g in grads)
    return moved
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_sends_gradient", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_sends_gradient(sends_gradient)
### BEGIN HIDDEN TESTS
torch.manual_seed(5)
_enc, _dec = nn.Conv2d(1, 3, 3, padding=1), nn.Conv2d(3, 1, 3, padding=1)
_cbk = nn.Embedding(4, 3)
_x = torch.rand(2, 1, 5, 5)
_z = _enc(_x).permute(0, 2, 3, 1).reshape(-1, 3)  # [50, 3]
_i = torch.cdist(_z.detach(), _cbk.weight.detach()).argmin(1)
_e = _cbk.weight[_i]
_zst = _z + (_e - _z).detach()
_xh = _dec(_zst.reshape(2, 5, 5, 3).permute(0, 3, 1, 2))
_groups = {"encoder": list(_enc.parameters()), "codebook": list(_cbk.parameters()),
           "decoder": list(_dec.parameters())}
_truth = {
    "reconstruction": ((_xh - _x).pow(2).mean(), {"encoder": True, "codebook": False,
                                                  "decoder": True}),
    "codebook": (F.mse_loss(_e, _z.detach()), {"encoder": False, "codebook": True,
                                               "decoder": False}),
    "commitment": (F.mse_loss(_z, _e.detach()), {"encoder": True, "codebook": False,
                                                 "decoder": False}),
    "no sg": (F.mse_loss(_z, _e), {"encoder": True, "codebook": True, "decoder": False}),
    "no STE": (_dec(_e.reshape(2, 5, 5, 3).permute(0, 3, 1, 2)).sum(),
               {"encoder": False, "codebook": True, "decoder": True}),
}
for _name, (_loss, _want) in _truth.items():
    _got = sends_gradient(_loss, _groups)
    assert _got == _want, f"{_name}: expected {_want}, got {_got}"
assert all(p.grad is None for g in _groups.values() for p in g), ".grad must stay untouched"
assert sends_gradient(_z.sum().detach(), _groups) == dict.fromkeys(_groups, False)
### END HIDDEN TESTS

# %% [markdown]
# Now the table the derivation is about, measured on a tiny VQ-VAE (the chapter's
# convolutional encoder and decoder, 8 channels wide, $K = 8$ codes of $D = 4$) and two
# real digits. The three terms are written out with their stop-gradients, followed by two
# broken variants.

# %%
flow = check_sends_gradient.use(sends_gradient)
x_train, y_train = load_mnist("train")  # [4000, 1, 28, 28] in [0, 1]
x_test, y_test = load_mnist("test")  # [1000, 1, 28, 28]

seed_everything(1)
tiny_encoder, tiny_decoder = TokenEncoder(4, width=8), TokenDecoder(4, width=8)
tiny_codebook = nn.Embedding(8, 4)  # [K=8, D=4]
x_two = x_train[:2]  # [2, 1, 28, 28]
z_e_map = tiny_encoder(x_two)  # [2, 4, 7, 7]
z = to_rows(z_e_map)  # [98, 4]
e = tiny_codebook.weight[nearest_code(z.detach(), tiny_codebook.weight.detach())]  # [98, 4]
z_q_st = z + (e - z).detach()  # straight-through
logits = tiny_decoder(from_rows(z_q_st, z_e_map.shape))  # [2, 1, 28, 28]
terms = {
    "reconstruction": F.binary_cross_entropy_with_logits(logits, x_two),
    "codebook  ||sg[z_e] - e||^2": F.mse_loss(e, z.detach()),
    "commitment ||z_e - sg[e]||^2": F.mse_loss(z, e.detach()),
    "no sg: ||z_e - e||^2 (broken)": F.mse_loss(z, e),
    "recon without STE (broken)": F.binary_cross_entropy_with_logits(
        tiny_decoder(from_rows(e, z_e_map.shape)), x_two),
}
groups = {"encoder": list(tiny_encoder.parameters()), "codebook": [tiny_codebook.weight],
          "decoder": list(tiny_decoder.parameters())}
expected = {"reconstruction": {"encoder": True, "codebook": False, "decoder": True},
            "codebook  ||sg[z_e] - e||^2": {"encoder": False, "codebook": True, "decoder": False},
            "commitment ||z_e - sg[e]||^2": {"encoder": True, "codebook": False, "decoder": False}}
print(f"{'term':32s} {'encoder':>8s} {'codebook':>9s} {'decoder':>8s}")
routes = {}
for name, loss in terms.items():
    routes[name] = flow(loss, groups)
    marks = "".join(f"{('yes' if routes[name][g] else '-'):>9s}" for g in groups)
    verdict = ("" if name not in expected else
               "  as the table says" if routes[name] == expected[name] else "  DIFFERENT!")
    print(f"{name:32s}{marks}{verdict}")
record(CHAPTER, "gradient_routes_match_table",
       all(routes[name] == want for name, want in expected.items()))

# %% [markdown]
# Without the stop-gradients the single term moves the encoder *and* the codebook; without
# the STE the reconstruction never reaches the encoder. One more measurement settles the
# derivation's second point: the gradients of the single term $\lVert z_e - e\rVert^2$ are
# exactly those of codebook + $\beta$ · commitment with $\beta = 1$.

# %%
params = [*groups["encoder"], tiny_codebook.weight]
merged = torch.autograd.grad(F.mse_loss(z, e), params, retain_graph=True)
split = torch.autograd.grad(F.mse_loss(e, z.detach()) + 1.0 * F.mse_loss(z, e.detach()), params,
                            retain_graph=True)
gap = max(float((a - b).abs().max()) for a, b in zip(merged, split))
print(f"max |grad(no sg) - grad(codebook + 1.0 * commitment)| = {gap:.1e}")

# %% [markdown]
# ## 6. Lab: train a VQ-VAE on real digits
#
# The chapter's tokenizer (`lessonlib.tokenizers.conv`) maps a 28×28 digit to a
# 7×7 map of $D$-dimensional vectors (two stride-2 convolutions), quantizes it with **your**
# `VectorQuantizer` (or the reference, until yours passes), and decodes the 7×7 codes back
# to 28×28 logits. The loss is the per-pixel binary cross-entropy (the reconstruction term
# for grey levels in [0, 1]) plus `vq_loss`. A codebook of $K = 64$ codes of $D = 8$
# numbers; every digit becomes 49 integers between 0 and 63.

# %%
VQ = check_vector_quantizer.use(VectorQuantizer)
K, D = 64, 8
WIDTH = 32
STEPS = pick(3000, 150, fast_mode=FAST)
BATCH = pick(128, 64, fast_mode=FAST)

seed_everything(0)
model = QuantizedAutoencoder(VQ(K, D), embedding_dim=D, width=WIDTH).to(DEVICE)
batches = minibatches(x_train.to(DEVICE), batch_size=BATCH,
                      generator=torch.Generator().manual_seed(0))  # the digits moved once


def vqvae_step(batch):
    (x,) = batch
    logits, z_e, z_q, indices, vq_loss, perplexity = model(x)
    recon = F.binary_cross_entropy_with_logits(logits, x)
    return {"loss": recon + vq_loss, "recon": recon, "vq_loss": vq_loss,
            "perplexity": perplexity}


history = train(model.parameters(), vqvae_step, batches, steps=STEPS, lr=2e-3, desc="VQ-VAE",
                device=DEVICE)
print(f"{STEPS} steps of {BATCH} digits in {history.seconds:.1f} s")
record(CHAPTER, "train_seconds", history.seconds)

fig, axes = plt.subplots(1, 3, figsize=(11, 2.8))
loss_curves(axes[0], history, ["recon"])
loss_curves(axes[1], history, ["vq_loss"])
axes[1].set_yscale("log")
loss_curves(axes[2], history, ["perplexity"])
axes[2].axhline(K, color="gray", ls=":", lw=1)
axes[2].set_title(f"perplexity (at most K = {K})", fontsize=9)
fig.tight_layout()
plt.show()

# %% [markdown]
# Now the test digits, which the model never saw: reconstruction error, PSNR, and how the
# codebook is used (**perplexity**: the effective number of codes, $\exp$ of the entropy
# of the usage; **usage**: the fraction of the $K$ codes chosen at least once).

# %%
model.eval()
with torch.no_grad():
    outputs = model(x_test.to(DEVICE))  # one pass over the 1,000 test digits
    logits, z_e, z_q, test_tokens, test_vq_loss, test_perplexity = (t.cpu() for t in outputs)
    x_hat = torch.sigmoid(logits)  # [1000, 1, 28, 28]
test_mse = float(F.mse_loss(x_hat, x_test))
test_psnr = psnr(x_test, x_hat)
counts = torch.bincount(test_tokens.reshape(-1), minlength=K)  # [K]
usage = float((counts > 0).float().mean())
print(f"test MSE {test_mse:.4f}, PSNR {test_psnr:.1f} dB, vq_loss {float(test_vq_loss):.4f}")
print(f"perplexity {float(test_perplexity):.1f} of K = {K}; {int((counts > 0).sum())} codes "
      f"used ({100 * usage:.0f}%)")
print(f"VQ-VAE (MNIST 28x28x1 -> 7x7 tokens): recon={test_mse:.4f} "
      f"vq={float(test_vq_loss):.4f} perp={float(test_perplexity):.0f}/{K}")
record(CHAPTER, "test_mse", test_mse)
record(CHAPTER, "test_psnr_db", test_psnr)
record(CHAPTER, "test_perplexity", float(test_perplexity))
record(CHAPTER, "test_vq_loss", float(test_vq_loss))
record(CHAPTER, "codebook_usage", usage)

bits_tokens = 49 * torch.log2(torch.tensor(float(K)))
print(f"one digit = 49 tokens x log2({K}) = {float(bits_tokens):.0f} bits, against "
      f"784 pixels x 8 bits = 6272 bits: {6272 / float(bits_tokens):.0f}x fewer bits")

# %% [markdown]
# In the full run: a per-pixel squared error of {{test_mse:.4f}} (PSNR
# {{test_psnr_db:.1f}} dB), a `vq_loss` of {{test_vq_loss:.4f}}, and a perplexity of
# {{test_perplexity:.0f}} of the $K = 64$ codes, {{codebook_usage:.0%}} of which are used.
# A figure often quoted for a larger VQ-VAE on 64×64 colour images reads recon = 0.012,
# vq = 0.034, perplexity 412/512: a different model and data set, so the numbers are not
# comparable one to one. What carries over: a per-pixel reconstruction error of the order
# of 0.01 or below, a `vq_loss` of the same order, and a perplexity that says how much of
# the codebook is alive.
# Ours uses the plain gradient-trained codebook; chapter 6 shows how easily such a
# codebook collapses when $K$ grows, and how to fix it.

# %%
show = torch.stack([x_test[(y_test == d).nonzero()[0, 0]] for d in range(10)])  # [10, 1, 28, 28]
with torch.no_grad():
    show_tokens = model.tokenize(show.to(DEVICE)).cpu()  # [10, 7, 7]
    show_recon = torch.sigmoid(model(show.to(DEVICE))[0]).cpu()  # [10, 1, 28, 28]
fig = image_rows({"test digits": show, f"decoded from 49 tokens (K = {K})": show_recon})
plt.show()

fig, axes = plt.subplots(1, 3, figsize=(10, 3.5))
for ax, i in zip(axes, [0, 3, 8]):
    draw_token_grid(ax, show[i], show_tokens[i], alpha=0.6, title=f"digit {i}: its 7x7 tokens")
fig.tight_layout()
plt.show()

# %% [markdown]
# Each number is the index of the code chosen for one 4×4-pixel patch. Look at the blank
# background: it does **not** get a single "blank" token. The encoder sees more than its
# own patch (its receptive field reaches into the neighbouring patches), and zero padding
# makes the cells at the border look different from the inner ones, so a blank patch's
# token also says where it is and what is next to it. Compare the corner tokens of the
# three digits. The cell below counts how much of the codebook goes to blank patches.

# %%
blank = F.max_pool2d(x_test, 4)[:, 0] < 0.05  # [1000, 7, 7]: no pixel above 0.05
blank_codes = torch.unique(test_tokens[blank])
stroke_codes = torch.unique(test_tokens[~blank])
shared = set(blank_codes.tolist()) & set(stroke_codes.tolist())
print(f"{100 * float(blank.float().mean()):.0f}% of the test patches are blank. They use "
      f"{len(blank_codes)} different codes, and {len(shared)} of these also occur on patches "
      f"with ink (which use {len(stroke_codes)} codes).")

# %% [markdown]
# ### Interactive: browse the tokens of test digits

# %%
browse_images = x_test[:40]
with torch.no_grad():
    browse_tokens = model.tokenize(browse_images.to(DEVICE)).cpu()  # [40, 7, 7]
    browse_recons = torch.sigmoid(model(browse_images.to(DEVICE))[0]).cpu()  # [40, 1, 28, 28]
display(interactive(
    lambda i, show_numbers: render_token_grid(i, show_numbers, images=browse_images,
                                              indices=browse_tokens, recons=browse_recons,
                                              num_codes=K),
    [IntSlider("i", 0, 39, 0, label="test digit"),
     Toggle("show_numbers", default=True, label="numbers")],
    name="token_browser", chapter=CHAPTER))

# %% [markdown]
# ### The learned codebook
#
# Left: the 64 code vectors projected to two dimensions (PCA), each dot's area
# proportional to how often the code is used on the test digits; red crosses are codes
# never used. Right: what each code stands for in the data: the mean of the test-image
# windows where it was chosen (its 4×4 patch in the red frame, plus 4 pixels of context on
# every side), for the 32 most used codes, most used first. Codes tend to stand for a
# stroke piece *in a context*: a bar with ink on one side, the end of a stroke, or a blank
# patch next to a stroke.

# %%
codebook_weights = model.quantizer.codebook.weight.detach()  # [K, D]
order = torch.argsort(counts, descending=True)
patch_means, _ = mean_patch_per_code(x_test, test_tokens, K, margin=4)  # [K, 1, 12, 12]
tiles = patch_means[order[:32]]  # [32, 1, 12, 12]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.4), gridspec_kw={"width_ratios": [1, 1.3]})
draw_codebook_pca(ax1, codebook_weights.cpu(), counts, label_top=6)
show_grid(ax2, tiles / tiles.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-3), nrow=8,
          title="mean test window behind each code (most used first, contrast stretched)")
for j in range(32):  # frame the code's own 4x4 patch inside each 12x12 window
    r, c = divmod(j, 8)
    ax2.add_patch(plt.Rectangle((1 + c * 13 + 3.5, 1 + r * 13 + 3.5), 4, 4, fill=False,
                                edgecolor="tab:red", lw=0.6))
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Tokens are a language: edit them
#
# Because the decoder only needs the integers and the codebook, we can edit an image by
# editing its tokens. Below, the left half of one digit's token grid is glued to the right
# half of another's, and the result decoded; then the right half is overwritten with the
# background token.

# %%
background = int(torch.mode(test_tokens[blank]).values)  # the most common blank-patch token


def decode_tokens(tokens):
    """tokens [B, 7, 7] -> images [B, 1, 28, 28]: codebook lookup, then the decoder."""
    logits = decode_token_grids(model.decoder, codebook_weights, tokens.to(DEVICE))
    return torch.sigmoid(logits).cpu()


left_right = show_tokens[[0, 1, 2]].clone()
left_right[:, :, 4:] = show_tokens[[6, 7, 3], :, 4:]
erased = show_tokens[[0, 1, 2]].clone()
erased[:, :, 4:] = background
fig = image_rows({"digit A": show[[0, 1, 2]], "digit B": show[[6, 7, 3]],
                  "A's left tokens + B's right tokens": decode_tokens(left_right),
                  f"A with its right half set to token {background}": decode_tokens(erased)},
                 width=4.2)
plt.show()

# %% [markdown]
# ### The straight-through gradient inside the trained model
#
# The gradient of the reconstruction loss at the decoder's input $z_q$ and at the
# encoder's output $z_e$, for a batch of test digits. The two tensors hold different
# values ($z_q \neq z_e$), but their gradients must be identical.

# %%
x_check = x_test[:32].to(DEVICE)
z_e_check = model.encoder(x_check)  # [32, D, 7, 7]
z_q_check, *_ = model.quantizer(z_e_check)
recon_check = F.binary_cross_entropy_with_logits(model.decoder(z_q_check), x_check)
g_q, g_e = torch.autograd.grad(recon_check, [z_q_check, z_e_check])
print(f"mean |z_q - z_e| = {float((z_q_check - z_e_check).detach().abs().mean()):.4f} "
      "(the values differ)")
print(f"straight-through in the model: max |dL/dz_e - dL/dz_q| = "
      f"{float((g_e - g_q).abs().max()):.1e}")
record(CHAPTER, "ste_grad_max_difference_model", float((g_e - g_q).abs().max()))

# %% [markdown]
# ## 7. Where this goes next: VQ-VAE-2
#
# One grid of tokens must carry both the global layout and the fine texture. **VQ-VAE-2**
# (Razavi, van den Oord and Vinyals, 2019) uses a hierarchy: for 256×256 ImageNet images a
# coarse 32×32 top-level token grid for the global structure and a 64×64 bottom-level grid,
# conditioned on it, for the details, each with its own codebook, and autoregressive
# PixelCNN priors (with self-attention) over the tokens. It was the first VQ-based model
# whose ImageNet samples approached BigGAN's quality, and the direct predecessor of VQ-GAN
# (chapter 8), which keeps the tokenizer but replaces the pixel loss by perceptual and
# adversarial terms because plain VQ-VAE reconstructions blur texture.

# %% [markdown]
# ## 8. Check
#
# **Q1. In VQ-VAE, what replaces the Gaussian latent space?**
#
# a) A Gaussian whose variance is predicted separately at every spatial position.
#
# b) A codebook of $K$ learned vectors: each position of the encoder's feature map is
#    replaced by its nearest codebook vector, so the latent is a grid of integer indices.
#
# c) A fixed grid of integers obtained by rounding each latent dimension, with no learned
#    vectors.
#
# d) A uniform distribution over $[-1, 1]^D$ from which the decoder draws its input.

# %% nbgrader={"grade": false, "grade_id": "answer_q1", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q1 = None
### BEGIN SOLUTION
answer_q1 = "b"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q1", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q1, question="ch05/q1", key="2abe985953b537a1",
             hint="Reread section 1: what does the decoder receive at each position?")
### BEGIN HIDDEN TESTS
assert answer_q1 == "b"
### END HIDDEN TESTS

# %% [markdown]
# **Q2. (interview) Is the straight-through estimator's gradient biased? What surrogate
# does it differentiate?**
#
# a) It is exact: argmin is differentiable almost everywhere, and the STE returns that
#    derivative.
#
# b) It is biased: the backward pass treats quantization as the identity map
#    ($\partial z_q / \partial z_e := I$), so the encoder receives the gradient at $z_q$,
#    which is not the true derivative of the lookup (zero almost everywhere).
#
# c) It is unbiased, because the forward pass uses the true quantized value $z_q$.
#
# d) It sends the decoder's gradient to the codebook vectors; that is how the codebook
#    learns.

# %% nbgrader={"grade": false, "grade_id": "answer_q2", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q2 = None
### BEGIN SOLUTION
answer_q2 = "b"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q2", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q2, question="ch05/q2", key="c4e2c0d01ea7a86d",
             hint="Look again at the staircase figure of section 3: which curve is the STE?")
### BEGIN HIDDEN TESTS
assert answer_q2 == "b"
### END HIDDEN TESTS

# %% [markdown]
# **Q3. (interview) In $\lVert \mathrm{sg}[z_e] - e\rVert^2 + \beta \lVert z_e -
# \mathrm{sg}[e]\rVert^2$, what do the two stop-gradients do?**
#
# a) They stop the training of the encoder and the codebook once the loss has converged.
#
# b) They keep gradients from reaching the decoder in both terms.
#
# c) The first makes the codebook term move only the codebook ($z_e$ is a constant there);
#    the second makes the commitment term move only the encoder ($e$ is a constant), so
#    the two pulls can be weighted separately with $\beta$.
#
# d) They make the nearest-neighbour lookup differentiable, which replaces the
#    straight-through estimator.

# %% nbgrader={"grade": false, "grade_id": "answer_q3", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q3 = None
### BEGIN SOLUTION
answer_q3 = "c"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q3", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q3, question="ch05/q3", key="130aee8e454f4256",
             hint="Reread the gradient-routes table of section 5.")
### BEGIN HIDDEN TESTS
assert answer_q3 == "c"
### END HIDDEN TESTS

# %% [markdown]
# ## Summary
#
# * **The codebook** (interview Q5) is an `nn.Embedding(K, D)`: $K$ learned vectors. Each
#   position of the encoder's `[B, D, H, W]` map is replaced by its nearest code; the
#   image becomes an `[H, W]` grid of integer tokens (here 7×7 integers out of 64 per
#   digit).
# * **Three loss terms** (Q6): reconstruction (decoder, and encoder through the STE),
#   codebook $\lVert\mathrm{sg}[z_e] - e\rVert^2$ (codebook only), commitment
#   $\beta\lVert z_e - \mathrm{sg}[e]\rVert^2$ (encoder only, $\beta = 0.25$). Without
#   the stop-gradients the two become one term with $\beta = 1$.
# * **The straight-through estimator** (Q7, Q15): `z_e + (z_q - z_e).detach()`; forward
#   the code, backward the identity. Biased, but it points the encoder the right way;
#   the detach goes around `(z_q - z_e)`, not around `(z_e - z_q)`.
# * Reshape with `permute(0, 2, 3, 1)` before flattening to rows, and back after; pool
#   the whole batch for the perplexity.
#
# Next: **Chapter 6, codebook learning**: dead codes, EMA updates and code revival, on a
# codebook eight times larger.

# %% [markdown]
# ## References
#
# * van den Oord, A., Vinyals, O. and Kavukcuoglu, K. (2017). Neural discrete
#   representation learning. *NeurIPS*. (VQ-VAE: the codebook, the three loss terms,
#   β = 0.25, K = 512.)
# * Bengio, Y., Léonard, N. and Courville, A. (2013). Estimating or propagating gradients
#   through stochastic neurons for conditional computation. arXiv:1308.3432. (The
#   straight-through estimator.)
# * Razavi, A., van den Oord, A. and Vinyals, O. (2019). Generating diverse high-fidelity
#   images with VQ-VAE-2. *NeurIPS*.
# * Esser, P., Rombach, R. and Ommer, B. (2021). Taming transformers for high-resolution
#   image synthesis. *CVPR*. (VQ-GAN, chapter 8.)
# * Lloyd, S. P. (1982). Least squares quantization in PCM. *IEEE Transactions on
#   Information Theory*, 28(2). (The k-means step the codebook term performs.)
