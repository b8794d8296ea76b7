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
# # Chapter 0 · Why latent spaces?
#
# **You will:** count how much a latent space compresses (your first graded function),
# squeeze real handwritten digits through a bottleneck of your chosen size and watch what
# survives, and place Stable Diffusion's VAE in that picture.

# %%
import math

import matplotlib.pyplot as plt
import torch
from IPython.display import display

from lessonlib.autoencoders import PCA
from lessonlib.checks import check_choice
from lessonlib.checks.autoencoders import check_compression_ratio
from lessonlib.core import is_fast, record, seed_everything
from lessonlib.data import load_mnist
from lessonlib.views import IntSlider, interactive
from lessonlib.views.linear_bottleneck import reconstruction_errors, render_linear_bottleneck

CHAPTER = "ch00_latent_spaces"

# %% tags=["parameters"]
FAST = False  # papermill sets True in CI; nbgrader grading forces it too

# %%
FAST = is_fast(FAST)
seed_everything(0)
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## 1. Most numbers in an image are predictable
#
# A 256×256 colour image is 256 · 256 · 3 = **196,608 numbers**. Yet neighbouring pixels
# are nearly equal, textures repeat and edges continue: knowing part of the image, you
# can guess much of the rest. What the image *is about* (its objects, layout and style)
# takes far fewer numbers to describe.
#
# An **autoencoder** makes that idea operational. An *encoder* maps the input $x$ to a short
# vector $z$, the **latent code**; a *decoder* maps $z$ back to a reconstruction $\hat x$.
# If $\hat x$ is close to $x$, then $z$ kept what mattered. The space where the codes
# live is the **latent space**.
#
# ```
#   x  (196,608 numbers) ──encoder──▶  z  (say 64 numbers) ──decoder──▶  x̂  (196,608 numbers)
# ```
#
# Why should this work? Real data does not fill its high-dimensional space: it sits near a
# low-dimensional surface (a *manifold*). Faces vary along a few dozen directions
# (pose, lighting, skin tone, hair), not along 196,608 independent ones. A good encoder
# finds coordinates on that surface.
#
# The probabilistic view, which the VAE chapters build on, writes the data distribution as
# an integral over a latent variable:
#
# $$p(x) = \int p(x \mid z)\, p(z)\, dz,$$
#
# a simple prior $p(z)$ (for example $\mathcal N(0, I)$) and an easier conditional
# $p(x \mid z)$ (the decoder). Latents come in two flavours, and this course covers both:
#
# * **continuous** $z \in \mathbb R^d$ (VAEs): the latent space of Stable Diffusion, where
#   diffusion and flow-matching models run;
# * **discrete** tokens $z \in \{1, \dots, K\}^{H \times W}$ (VQ-VAE, VQ-GAN, FSQ, LFQ): an
#   image becomes a grid of integers that a Transformer can model like words.
#
# Either way, generation usually has **two stages**: first train the autoencoder
# (the *tokenizer*), freeze it, then train a generative model in its latent space.

# %% [markdown]
# ## 2. Build it: the compression ratio
#
# The **compression ratio** of a latent is how many input numbers there are per latent
# number: the product of the input shape divided by the product of the latent shape.
#
# Write `compression_ratio(input_shape, latent_shape)`. Shapes are tuples, lists or
# `torch.Size`; return a `float`.
#
# <details><summary>Hint 1</summary>
#
# A tensor of shape `[a, b, c]` holds `a * b * c` numbers, not `a + b + c`.
# </details>
#
# <details><summary>Hint 2</summary>
#
# `math.prod((1, 3, 512, 512))` multiplies all entries. Divide with `/`: `//` would throw
# away the fractional part of ratios such as 7.5.
# </details>

# %% nbgrader={"grade": false, "grade_id": "compression_ratio", "locked": false, "schema_version": 3, "solution": true, "task": false}
def compression_ratio(input_shape, latent_shape):
    """Input numbers per latent number: prod(input_shape) / prod(latent_shape), a float."""
    ### BEGIN SOLUTION
    return math.prod(input_shape) / math.prod(latent_shape)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_compression_ratio", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_compression_ratio(compression_ratio)
### BEGIN HIDDEN TESTS
_ratio = compression_ratio([3, 256, 256], [32, 32])
assert isinstance(_ratio, float), "return a float"
assert _ratio == 192.0, "a 256x256 RGB image -> 32x32 token grid is 192x"
assert compression_ratio(torch.Size([2, 3]), torch.Size([4])) == 1.5, "torch.Size and non-integers"
assert compression_ratio((7,), (2,)) == 3.5, "use true division"
assert compression_ratio((4, 4), (4, 4)) == 1.0, "no compression is ratio 1"
assert compression_ratio((3, 5), (30,)) == 0.5, "a 'latent' larger than the input gives < 1"
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Real systems in numbers
#
# Stable Diffusion's VAE takes a 512×512 RGB image, a tensor of shape `[1, 3, 512, 512]`,
# and encodes it to a latent of shape `[1, 4, 64, 64]`: eight times smaller along each side,
# with 4 channels. The diffusion model never sees pixels; it works on the small grid.
#
# An image tokenizer such as DALL·E's or a VQ-GAN maps a 256×256 RGB image to a 32×32
# grid of integer **tokens** (one codebook index per cell). The cell below uses your
# function (or the reference, until yours passes).

# %%
ratio = check_compression_ratio.use(compression_ratio)
examples = {
    "Stable Diffusion VAE: [1,3,512,512] -> [1,4,64,64]": ((1, 3, 512, 512), (1, 4, 64, 64)),
    "token grid: [3,256,256] -> [32,32] tokens": ((3, 256, 256), (32, 32)),
    "chapter opener: [3,256,256] -> 64 numbers": ((3, 256, 256), (64,)),
    "MNIST through 32 numbers: [1,28,28] -> [32]": ((1, 28, 28), (32,)),
}
for name, (inp, lat) in examples.items():
    print(f"{name:48s} {math.prod(inp):>9,d} -> {math.prod(lat):>7,d}  = {ratio(inp, lat):7.1f}x")
record(CHAPTER, "sd_vae_ratio", ratio((1, 3, 512, 512), (1, 4, 64, 64)))
record(CHAPTER, "token_grid_ratio", ratio((3, 256, 256), (32, 32)))

# %% [markdown]
# 786,432 values become 16,384 (**{{sd_vae_ratio:.0f}}×**); 196,608 values become 1,024
# tokens (**{{token_grid_ratio:.0f}}×**). But a count of numbers treats every number alike,
# and they are not alike: a pixel value is one of 256 levels (8 bits), while a token is one
# entry of a codebook of, say, 8,192 (DALL·E's size), so it carries
# log₂ 8192 = **13 bits**. Counted in bits, the token grid compresses less than its count
# of numbers says: 196,608 × 8 bits against 1,024 × 13 bits. The same caution applies to
# the continuous latent, whose numbers are floats; stored in half precision (16 bits
# each) it keeps twice as many bits per number as a pixel has. The cell below counts both
# ways.

# %%
PIXEL_BITS, FLOAT16_BITS, TOKEN_BITS = 8, 16, math.log2(8192)
counts = {  # name: (input shape, latent shape, bits per latent number)
    "Stable Diffusion VAE, float16 latent": ((1, 3, 512, 512), (1, 4, 64, 64), FLOAT16_BITS),
    "token grid, K = 8192 (13 bits a token)": ((3, 256, 256), (32, 32), TOKEN_BITS),
}
bits_ratio = {}
print(f"{'':40s} {'numbers':>10s} {'bits':>10s}")
for name, (inp, lat, bits) in counts.items():
    bits_ratio[name] = math.prod(inp) * PIXEL_BITS / (math.prod(lat) * bits)
    print(f"{name:40s} {ratio(inp, lat):9.1f}x {bits_ratio[name]:9.1f}x")
record(CHAPTER, "sd_vae_bits_ratio", bits_ratio["Stable Diffusion VAE, float16 latent"])
record(CHAPTER, "token_grid_bits_ratio", bits_ratio["token grid, K = 8192 (13 bits a token)"])

# %% [markdown]
# So counting numbers **overstates** the token grid's compression: {{token_grid_ratio:.0f}}×
# fewer numbers, but {{token_grid_bits_ratio:.0f}}× fewer bits. For the float16 latent of
# Stable Diffusion the gap is wider still ({{sd_vae_ratio:.0f}}× fewer numbers,
# {{sd_vae_bits_ratio:.0f}}× fewer bits). Both counts are useful: the number count is what
# the next model has to process, the bit count is how much information the latent can
# hold at most.
#
# **The VAE is small but load-bearing.** Stable Diffusion's VAE encoder has about 34 M
# parameters and its decoder about 50 M (≈ 84 M together), against ≈ 860 M for the U-Net
# that does the diffusion (Rombach et al., 2022, and the published v1 model card). The VAE
# is cheap to train and to run, yet every generated image passes through its decoder: if
# the VAE blurs text or faces, no diffusion model can put the detail back.

# %%
sizes = {"VAE encoder": 34, "VAE decoder": 50, "diffusion U-Net": 860}
fig, ax = plt.subplots(figsize=(6, 1.8))
ax.barh(list(sizes), list(sizes.values()), color=["tab:blue", "tab:blue", "tab:gray"])
for i, v in enumerate(sizes.values()):
    ax.text(v + 8, i, f"{v} M", va="center", fontsize=9)
ax.set_xlabel("parameters (millions)")
ax.set_title(f"Stable Diffusion: the VAE is {100 * 84 / (84 + 860):.0f}% of the weights")
ax.set_xlim(0, 1000)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 4. Interactive: how many numbers does a digit need?
#
# Time to compress real data. The best *linear* autoencoder with a latent of $k$ numbers
# is **PCA**: the encoder projects $x$ (784 pixels) on the $k$ directions of largest variance,
# $z = W_k^\top (x - \bar x)$, and the decoder maps back, $\hat x = W_k z + \bar x$. Below, PCA
# is fitted on the 4,000 training digits shipped with the course and applied to test digits
# it has never seen.
#
# Move the slider. Watch three things: the fraction of the 784 numbers that the latent
# keeps, the reconstruction error, and the moment the digits become recognisable.

# %%
x_train, _ = load_mnist("train")  # [4000, 1, 28, 28]
x_test, y_test = load_mnist("test")  # [1000, 1, 28, 28]
pca = PCA.fit(x_train.reshape(len(x_train), -1))
ks = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 784]
errors = reconstruction_errors(pca, x_test.reshape(len(x_test), -1), ks)  # all 1,000 test digits
showcase = torch.stack([x_test[(y_test == d).nonzero()[0, 0]] for d in range(10)])  # [10,1,28,28]
for k, err in zip(ks, errors):
    print(f"k = {k:3d}: keeps {100 * k / 784:5.1f}% of the numbers, "
          f"variance kept {100 * pca.explained(k):5.1f}%, test MSE {err:.4f}")
record(CHAPTER, "pca_mse_k32", errors[ks.index(32)])
record(CHAPTER, "pca_variance_k32", pca.explained(32))

# %%
display(interactive(
    lambda k: render_linear_bottleneck(k, pca=pca, images=showcase, ks=ks, errors=errors),
    [IntSlider("k", 1, 784, 32, label="latent size")],
    name="latent_size", chapter=CHAPTER))

# %% [markdown]
# **What to notice.** With 32 numbers (4% of 784) the digits are already recognisable,
# PCA keeps {{pca_variance_k32:.0%}} of the pixel variance and the test error is
# {{pca_mse_k32:.3f}} per pixel (the printed table has every $k$); beyond about 100 numbers
# the gains are invisible.
# That is the redundancy argument made concrete. A *non-linear* encoder (a neural network,
# next chapter) can do better still at the same $k$, because the digit manifold is curved.
#
# Notice also what PCA does **not** give us: a way to *generate*. Decoding a random $z$
# gives a blurry superposition, because nothing says which codes are valid digits. The
# VAE chapters fix exactly that.

# %% [markdown]
# ### Checkpoint: before you move on
#
# In two or three sentences: why does Stable Diffusion run its diffusion model on the
# `[4, 64, 64]` VAE latent rather than on the `[3, 512, 512]` pixels, and what does it give
# up in exchange? (Graded by hand.)

# %% [markdown] nbgrader={"grade": true, "grade_id": "checkpoint_latent_diffusion", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Model answer.** The diffusion network runs tens of times per image; on the latent it
# processes 16,384 numbers instead of 786,432 ({{sd_vae_ratio:.0f}}× fewer), so every step
# is far cheaper and the network can spend its capacity on content rather than on
# predictable pixel detail.
# The VAE encoder and decoder run only once per image. The price is a ceiling on quality:
# whatever the VAE cannot reconstruct (fine text, small faces, thin lines) no diffusion
# model can generate, because the decoder is the only way back to pixels.

# %% [markdown]
# ## 5. Check
#
# **Q1. Why do we compress data into a latent space?**
#
# a) Because neural networks cannot take more than a few thousand inputs.
#
# b) To encrypt the data so that the decoder is needed to read it.
#
# c) Because most of the numbers in real data are redundant: a short code can keep its
#    content, and models that work on the short code are much cheaper and easier to train.
#
# d) Because compression always improves the quality of the reconstructed image.

# %% nbgrader={"grade": false, "grade_id": "answer_q1", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q1 = None
### BEGIN SOLUTION
answer_q1 = "c"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q1", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q1, question="ch00/q1", key="4d954609c486f144",
             hint="Reread section 1: what does redundancy let an encoder do?")
### BEGIN HIDDEN TESTS
assert answer_q1 == "c"
### END HIDDEN TESTS

# %% [markdown]
# ## Summary
#
# * A latent space holds a short code $z$ from which the input can be rebuilt; the
#   compression ratio is prod(input shape) / prod(latent shape).
# * Stable Diffusion compresses {{sd_vae_ratio:.0f}}× ([1,3,512,512] → [1,4,64,64]); a
#   32×32 token grid compresses a 256×256 image {{token_grid_ratio:.0f}}× in numbers, but
#   {{token_grid_bits_ratio:.0f}}× in bits (13-bit tokens against 8-bit pixels).
# * Real digits survive a 32-number linear bottleneck; non-linear encoders do better.
# * Compression alone does not make a generator: that is the job of the VAE (chapters 2-4).
#
# Next: **Chapter 1, autoencoders**: a convolutional encoder, its shapes, and why its
# latent space is messy.

# %% [markdown]
# ## References
#
# * Kingma, D. P. and Welling, M. (2014). Auto-encoding variational Bayes. *ICLR*.
# * Pearson, K. (1901). On lines and planes of closest fit to systems of points in space.
#   *Philosophical Magazine*, 2(11). (PCA.)
# * van den Oord, A., Vinyals, O. and Kavukcuoglu, K. (2017). Neural discrete
#   representation learning. *NeurIPS*. (VQ-VAE.)
# * Ramesh, A. et al. (2021). Zero-shot text-to-image generation. *ICML*. (DALL·E: 256×256
#   images as 32×32 grids of tokens from a codebook of 8,192.)
# * Esser, P., Rombach, R. and Ommer, B. (2021). Taming transformers for high-resolution
#   image synthesis. *CVPR*. (VQ-GAN.)
# * Rombach, R., Blattmann, A., Lorenz, D., Esser, P. and Ommer, B. (2022). High-resolution
#   image synthesis with latent diffusion models. *CVPR*. (Stable Diffusion: the
#   [4, 64, 64] latent of a 512×512 image, a U-Net of about 860 M parameters.)
