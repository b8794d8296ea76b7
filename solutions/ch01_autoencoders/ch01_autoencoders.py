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
# # Chapter 1 · Autoencoders: the bottleneck
#
# **You will:** compute how a convolution changes the size of an image (graded), use that to
# predict every shape inside a real encoder before running it, train a convolutional
# autoencoder on real handwritten digits, look at its latent space beside a VAE's, decode
# random points and midpoints, and write the interpolation that walks between two codes
# (graded).

# %%

import matplotlib.pyplot as plt
import torch
from IPython.display import display
from torch import nn

from lessonlib.autoencoders import (
    PCA,
    ConvAutoencoder,
    ConvDecoder,
    ConvEncoder,
    kl_standard_normal,
    nearest_distance,
    reconstruction_errors,
    reconstruction_nll,
    reparameterize,
    trace_shapes,
)
from lessonlib.checks import check_choice
from lessonlib.checks.autoencoders import check_conv_out_size, check_interpolate
from lessonlib.core import is_fast, minibatches, model_device, pick, record, seed_everything, train
from lessonlib.data import load_mnist
from lessonlib.views import (
    Choice,
    IntSlider,
    Regenerate,
    image_rows,
    interactive,
    loss_curves,
    show_grid,
)
from lessonlib.views.latent_space import LatentMap, render_latent_path, render_latent_space

CHAPTER = "ch01_autoencoders"

# %% tags=["parameters"]
FAST = False  # papermill sets True in CI; nbgrader grading forces it too

# %%
FAST = is_fast(FAST)
generator = seed_everything(0)
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## 1. Two networks with a narrow waist
#
# An autoencoder is two neural networks trained together. The **encoder** $f$ turns an
# input $x$ into a short code $z = f(x)$; the **decoder** $g$ turns the code back into a
# reconstruction $\hat x = g(z)$. Nothing else is given to them: no labels, only the
# demand that the output match the input,
#
# $$\mathcal L(x) = \lVert x - g(f(x)) \rVert^2 .$$
#
# Why would that teach anything? Because of the **bottleneck**. If $z$ had as many numbers
# as $x$, copying the input would be a perfect and useless solution. A 28×28 digit has 784
# pixels; squeezed through, say, 16 numbers, the pair must find what those 784 pixels have
# in common (stroke positions, thickness, slant, which digit it is) and spend its 16
# numbers on that.
#
# One practical note. The squared error above is the textbook loss. Our pixels lie in
# $[0, 1]$, and for such data the decoder usually outputs *logits* and the loss is the
# **binary cross-entropy** between $x$ and $\text{sigmoid}(\text{logits})$, summed over
# pixels. Both compare the output with the input pixel by pixel and are smallest when the
# two agree; cross-entropy trains faster on digits and is the loss the VAE chapters
# derive. We train with it and report the squared error as well.

# %% [markdown]
# ## 2. Build it: the size after a convolution
#
# Our encoder is a stack of convolutions. A convolution with a `kernel`×`kernel` window
# slides over the image in jumps of `stride` pixels, after `padding` rows of zeros were
# added **on each side**. Along one axis the padded image has `size + 2 * padding` pixels;
# the window fits in `size + 2 * padding - kernel + 1` positions when it moves one pixel at a
# time; with a stride it keeps one position in `stride`, starting with the first:
#
# $$\text{out} = \left\lfloor \frac{\text{size} + 2\,\text{padding} - \text{kernel}}{\text{stride}} \right\rfloor + 1 .$$
#
# Write `conv_out_size(size, kernel, stride, padding)`; return an `int`.
#
# <details><summary>Hint 1</summary>
#
# Check the formula on a case you can count: size 5, kernel 3, stride 1, padding 0. The
# window fits at positions 0, 1, 2, so the output has 3 pixels: (5 - 3) / 1 + 1 = 3.
# </details>
#
# <details><summary>Hint 2</summary>
#
# Python's `//` rounds down (floor) for positive numbers and returns an `int` when both
# sides are `int`; `/` returns a float such as 7.5, which is not a number of pixels.
# </details>
#
# <details><summary>Hint 3</summary>
#
# Size 28, kernel 4, stride 2, padding 1: (28 + 2 - 4) // 2 + 1 = 14. The padding counts
# twice, and the + 1 comes after the division.
# </details>

# %% nbgrader={"grade": false, "grade_id": "conv_out_size", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_out_size(size, kernel, stride, padding):
    """Output size of a convolution along one axis: floor((size + 2p - kernel) / stride) + 1."""
    ### BEGIN SOLUTION
    return (size + 2 * padding - kernel) // stride + 1
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv_out_size", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_conv_out_size(conv_out_size)
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(11)
for _ in range(60):  # oracle: what torch's own Conv1d produces
    _k, _s, _p = (int(v) for v in torch.randint(1, 6, (3,), generator=_gen))
    _p = min(_p - 1, _k - 1)
    _n = int(torch.randint(_k, 40, (1,), generator=_gen))
    _want = nn.Conv1d(1, 1, _k, _s, _p)(torch.zeros(1, 1, _n)).shape[-1]
    _got = conv_out_size(_n, _k, _s, _p)
    assert type(_got) is int, f"return an int, got {type(_got).__name__}"
    assert _got == _want, f"size {_n}, kernel {_k}, stride {_s}, padding {_p}: {_want}, got {_got}"
assert conv_out_size(256, 4, 2, 1) == 128, "the 256x256 encoder's first layer halves the size"
assert conv_out_size(32, 4, 2, 1) == 16
assert conv_out_size(7, 7, 1, 0) == 1, "a kernel as large as the input leaves one pixel"
assert conv_out_size(9, 3, 4, 0) == 2, "floor, not round: (9 - 3) / 4 = 1.5 -> 1, plus 1"
assert conv_out_size(10, 3, 3, 0) == 3, "floor, not ceil: (10 - 3) / 3 = 2.33 -> 2, plus 1"
assert conv_out_size(6, 1, 1, 2) == 10, "padding adds to both sides"
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Predict the encoder's shapes, then check them
#
# The course's convolutional autoencoder (`lessonlib.autoencoders.ConvAutoencoder`) downsamples
# twice and then flattens:
#
# ```
# x [B, 1, 28, 28] ─conv 4×4, stride 2, pad 1─▶ [B, 32, ?, ?] ─conv 4×4, stride 2, pad 1─▶ [B, 64, ?, ?]
#                  ─flatten─▶ [B, 64·?·?] ─linear─▶ z [B, latent_dim]
# ```
#
# The cell below reads each convolution's kernel, stride and padding from the model, uses
# **your** `conv_out_size` to fill in the question marks, then runs the encoder on a
# batch of 8 real digits with `trace_shapes` (forward hooks that record each layer's
# output shape) and compares.

# %%
conv = check_conv_out_size.use(conv_out_size)
x_train, y_train = load_mnist("train")  # [4000, 1, 28, 28], [4000]
x_test, y_test = load_mnist("test")  # [1000, 1, 28, 28], [1000]
LATENT = 16
autoencoder = ConvAutoencoder(latent_dim=LATENT)


def predict_encoder_shapes(encoder, batch, channels, size):
    """Shapes after each layer of a conv-conv-linear encoder, from conv_out_size alone."""
    shapes = [("input", (batch, channels, size, size))]
    for name in ("conv1", "conv2"):
        layer = getattr(encoder, name)
        size = conv(size, layer.kernel_size[0], layer.stride[0], layer.padding[0])
        shapes.append((name, (batch, layer.out_channels, size, size)))
    shapes.append(("fc", (batch, encoder.fc.out_features)))
    return shapes


predicted = predict_encoder_shapes(autoencoder.encoder, 8, 1, 28)
traced = trace_shapes(autoencoder.encoder, x_train[:8])
print(f"{'layer':8s} {'predicted':>18s} {'traced':>18s}")
for (name, want), (_, got) in zip(predicted, traced):
    print(f"{name:8s} {str(list(want)):>18s} {str(list(got)):>18s}  "
          f"{'ok' if tuple(want) == tuple(got) else 'MISMATCH'}")
print(f"flatten: 64 * 7 * 7 = {64 * 7 * 7} features -> linear -> {LATENT} numbers "
      f"({784 / LATENT:.0f}x fewer than the 784 pixels)")

# %% [markdown]
# The decoder mirrors the encoder with **transposed convolutions**, which run the size
# arithmetic backwards: out = (size - 1) · stride - 2 · padding + kernel, so
# (7 - 1) · 2 - 2 + 4 = 14 and (14 - 1) · 2 - 2 + 4 = 28. Its last layer outputs one logit
# per pixel:

# %%
for name, shape in trace_shapes(autoencoder.decoder, torch.zeros(8, LATENT)):
    print(f"decoder {name:8s} -> {list(shape)}")

# %% [markdown]
# ### The same arithmetic at image-generator scale
#
# A typical encoder for 256×256 colour images stacks three of these halving convolutions,
# growing the channels as the image shrinks: `[B, 3, 256, 256]` → `[B, 64, 128, 128]` →
# `[B, 128, 64, 64]` → `[B, 256, 32, 32]`, then flattens and maps to the latent vector with
# one linear layer. Predict, then trace (batch of 1, random pixels: only shapes matter):

# %%
big_encoder = nn.Sequential(
    nn.Conv2d(3, 64, kernel_size=4, stride=2, padding=1), nn.ReLU(),
    nn.Conv2d(64, 128, kernel_size=4, stride=2, padding=1), nn.ReLU(),
    nn.Conv2d(128, 256, kernel_size=4, stride=2, padding=1),
)
size, sizes = 256, [256]
for layer in big_encoder:
    if isinstance(layer, nn.Conv2d):
        size = conv(size, layer.kernel_size[0], layer.stride[0], layer.padding[0])
        sizes.append(size)
print("predicted sizes:", " -> ".join(map(str, sizes)))
for name, shape in trace_shapes(big_encoder, torch.rand(1, 3, 256, 256)):
    if name == "input" or isinstance(big_encoder[int(name)], nn.Conv2d):
        print(f"  layer {name:5s} -> {list(shape)}")
flat = 256 * 32 * 32
conv_params = sum(p.numel() for p in big_encoder.parameters())
print(f"flatten: 256 * 32 * 32 = {flat:,} features; a linear layer to a 64-number latent "
      f"has {flat * 64 + 64:,} weights, against {conv_params:,} in all three convolutions")
record(CHAPTER, "big_encoder_flat_features", flat)
record(CHAPTER, "big_encoder_linear_weights_millions", (flat * 64 + 64) / 1e6)
record(CHAPTER, "big_encoder_linear_over_convs", (flat * 64 + 64) / conv_params)

# %% [markdown]
# The shapes check out: 256 → 128 → 64 → 32. The parameter count is the lesson hiding in
# this design: the single linear layer that flattens `[256, 32, 32]` into 64 numbers holds
# about **{{big_encoder_linear_weights_millions:.1f}} million** weights, some
# {{big_encoder_linear_over_convs:.0f}} times more than the three convolutions together.
# That is one reason the autoencoders inside real image generators do not flatten at all:
# Stable Diffusion's VAE stops at a *spatial* latent of shape `[4, 64, 64]` and never
# squeezes it into one vector (chapter 0, and chapter 9). On 28×28 digits the flatten is
# cheap (3,136 features) and gives us a vector latent we can plot.

# %% [markdown]
# ## 4. Lab: train it live
#
# 4,000 training digits, a 16-number bottleneck, Adam, mini-batches of 64. Each step
# encodes a batch, decodes it, and lowers the reconstruction loss (binary cross-entropy,
# summed over the 784 pixels, averaged over the batch). The 1,000 test digits are never
# trained on.

# %%
BATCH = 64


def autoencoder_step(model):
    """One training step's loss for a plain autoencoder: reconstruction only."""
    def step(batch):
        (x,) = batch  # [B, 1, 28, 28]
        logits = model.decode(model.encode(x))  # [B, 1, 28, 28]
        return {"loss": reconstruction_nll(x, logits).mean()}
    return step


steps_16 = pick(2000, 60, fast_mode=FAST)
x_train_on, x_test_on = x_train.to(DEVICE), x_test.to(DEVICE)  # evaluation data, moved once
seed_everything(1)
autoencoder.to(DEVICE)  # before train() builds the optimizer
history_ae = train(autoencoder.parameters(), autoencoder_step(autoencoder),
                   minibatches(x_train, batch_size=BATCH, generator=generator),
                   steps=steps_16, lr=2e-3, desc="autoencoder, z in R^16", device=DEVICE)
autoencoder.eval()
errors_ae = reconstruction_errors(autoencoder.encode, autoencoder.decode, x_test_on)
print(f"trained {len(history_ae['loss'])} steps in {history_ae.seconds:.1f} s; test digits: "
      f"BCE {errors_ae['bce']:.1f} nats per image, squared error {errors_ae['mse']:.4f} per pixel")
record(CHAPTER, "ae16_train_seconds", history_ae.seconds)
pca = PCA.fit(x_train.reshape(len(x_train), -1))
flat_test = x_test.reshape(len(x_test), -1)  # [1000, 784]
pca_mse = float((pca.decode(pca.encode(flat_test, LATENT)).clamp(0, 1) - flat_test).pow(2).mean())
print(f"for comparison, the best linear code of {LATENT} numbers (PCA, chapter 0): "
      f"squared error {pca_mse:.4f} per pixel")
record(CHAPTER, "pca16_test_mse", pca_mse)

# %%
showcase = torch.stack([x_test[(y_test == d).nonzero()[i, 0]] for i in range(2)
                        for d in range(10)])  # [20, 1, 28, 28]: two of each digit
with torch.no_grad():
    showcase_hat = torch.sigmoid(autoencoder(showcase.to(DEVICE))).cpu()  # [20, 1, 28, 28]
fig = plt.figure(figsize=(11, 3.2))
grid = fig.add_gridspec(2, 2, width_ratios=[1, 2.2])
ax = loss_curves(fig.add_subplot(grid[:, 0]), history_ae, ["loss"])
ax.set_ylabel("BCE per training image (nats)")
ax.set_title("training loss (moving average)", fontsize=10)
show_grid(fig.add_subplot(grid[0, 1]), showcase, 10, "test digits (784 numbers each)")
show_grid(fig.add_subplot(grid[1, 1]), showcase_hat, 10, f"decoded from {LATENT} numbers")
fig.tight_layout()
plt.show()

# %% [markdown]
# It works: 16 numbers are enough to redraw digits the network has never seen, strokes
# and slant included, slightly blurred. After the full run the autoencoder's squared error
# on the test digits is {{ae16_test_mse:.4f}} per pixel, less than half the
# {{pca16_test_mse:.4f}} of the best *linear* code of the same size (PCA, the linear
# autoencoder of chapter 0): a non-linear encoder can bend its coordinates along the curved
# surface the digits live on. (The fast mode used by the graders trains for a few seconds
# only and does not get there.)
#
# So the code is efficient. Is it *organized*? Sixteen dimensions cannot be drawn, so we
# train the same architecture with a **2-number** latent and look.

# %% [markdown]
# ## 5. A 2-D latent space, and a preview of the VAE
#
# Beside the 2-D autoencoder we train a **variational autoencoder** (VAE), which chapters
# 2-4 build piece by piece. Here it is a preview, with the same convolutional encoder and
# decoder and two changes:
#
# * the encoder outputs two numbers per latent dimension, a mean $\mu$ and a log-variance
#   $\log\sigma^2$, and the decoder sees a *noisy* code $z = \mu + \sigma\,\varepsilon$ with
#   $\varepsilon \sim \mathcal N(0, I)$;
# * the loss adds a term, $\mathrm{KL}\big(\mathcal N(\mu, \sigma^2)\,\|\,\mathcal N(0, I)\big)$,
#   that charges every code for straying from a standard normal cloud.
#
# Both models get the same data, steps and optimizer. We also train a 16-D VAE, the
# counterpart of the autoencoder of section 4, for the comparisons of sections 7 and 10.

# %%
class ConvVAE(nn.Module):
    """A VAE with the autoencoder's encoder and decoder (chapters 2-4 explain every line)."""

    def __init__(self, latent_dim, width=32):
        super().__init__()
        self.encoder = ConvEncoder(2 * latent_dim, width)  # mu and logvar for each dim
        self.decoder = ConvDecoder(latent_dim, width)

    def encode(self, x):
        mu, logvar = self.encoder(x).chunk(2, dim=1)  # [B, d] each
        return mu, logvar

    def decode(self, z):
        return self.decoder(z)  # [B, 1, 28, 28] logits


def vae_step(model):
    """One training step's loss for the VAE: reconstruction of a noisy code + KL."""
    def step(batch):
        (x,) = batch  # [B, 1, 28, 28]
        mu, logvar = model.encode(x)  # [B, d], [B, d]
        logits = model.decode(reparameterize(mu, logvar))  # [B, 1, 28, 28]
        recon = reconstruction_nll(x, logits).mean()
        kl = kl_standard_normal(mu, logvar).mean()
        return {"loss": recon + kl, "recon": recon, "kl": kl}
    return step


steps_2d = pick(2000, 100, fast_mode=FAST)
seed_everything(2)
ae2 = ConvAutoencoder(latent_dim=2).to(DEVICE)
history_ae2 = train(ae2.parameters(), autoencoder_step(ae2),
                    minibatches(x_train, batch_size=BATCH, generator=generator),
                    steps=steps_2d, lr=2e-3, desc="autoencoder, z in R^2", device=DEVICE)
seed_everything(2)
vae2 = ConvVAE(latent_dim=2).to(DEVICE)
history_vae2 = train(vae2.parameters(), vae_step(vae2),
                     minibatches(x_train, batch_size=BATCH, generator=generator),
                     steps=steps_2d, lr=2e-3, desc="VAE, z in R^2", device=DEVICE)
ae2.eval()
vae2.eval()
print(f"2-D autoencoder: {history_ae2.seconds:.1f} s; 2-D VAE: {history_vae2.seconds:.1f} s "
      f"({steps_2d} steps each)")
record(CHAPTER, "ae2_train_seconds", history_ae2.seconds)
record(CHAPTER, "vae2_train_seconds", history_vae2.seconds)

# %%
seed_everything(1)
vae16 = ConvVAE(latent_dim=LATENT).to(DEVICE)
history_vae16 = train(vae16.parameters(), vae_step(vae16),
                      minibatches(x_train, batch_size=BATCH, generator=generator),
                      steps=steps_16, lr=2e-3, desc="VAE, z in R^16", device=DEVICE)
vae16.eval()
print(f"16-D VAE: {history_vae16.seconds:.1f} s ({steps_16} steps)")
record(CHAPTER, "vae16_train_seconds", history_vae16.seconds)

# %% [markdown]
# ## 6. Interactive: where do the codes go?
#
# Each dot is a test digit placed at its code (for the VAE, at its mean $\mu$), coloured by
# the digit it shows; the labels were never used in training. The black crosses are random
# latent points, decoded below each plot. Choose how they are drawn: from
# $\mathcal N(0, I)$, the distribution the VAE's loss aims for (the dashed circle holds 86%
# of it), or uniformly from the rectangle that the model's test codes span, a guess that
# needs the codes in hand. **Regenerate** draws a new subset of digits and new points.

# %%
with torch.no_grad():  # codes back on the CPU, for plots and samplers
    z_ae2 = ae2.encode(x_test_on).cpu()  # [1000, 2]
    mu_vae2 = vae2.encode(x_test_on)[0].cpu()  # [1000, 2]
box_low, box_high = z_ae2.min(0).values, z_ae2.max(0).values  # [2], [2]


def decoder_images(model):
    """z [M, d] -> images [M, 1, 28, 28] in [0, 1] on the CPU, without gradients."""
    def decode(z):
        with torch.no_grad():
            return torch.sigmoid(model.decode(z.to(model_device(model)))).cpu()
    return decode


def uniform_in_box(low, high):
    """Sampler: M points uniform in the box [low, high] (per dimension)."""
    return lambda m, gen: low + (high - low) * torch.rand(m, low.shape[0], generator=gen)


def standard_normal(dim):
    """Sampler: M points from N(0, I)."""
    return lambda m, gen: torch.randn(m, dim, generator=gen)


def fitted_gaussian(z):
    """Sampler: M points from N(mean, diag(var)) fitted to the codes z [N, d]."""
    mean, std = z.mean(0), z.std(0)  # [d], [d]
    return lambda m, gen: mean + std * torch.randn(m, z.shape[1], generator=gen)


def samplers_for(z):
    """The two ways of drawing random codes compared here, for codes z [N, d]."""
    return {"N(0, I)": standard_normal(z.shape[1]),
            "uniform in the code box": uniform_in_box(z.min(0).values, z.max(0).values)}


maps = [LatentMap("autoencoder", z_ae2, decoder_images(ae2), samplers_for(z_ae2)),
        LatentMap("VAE", mu_vae2, decoder_images(vae2), samplers_for(mu_vae2))]
display(interactive(
    lambda seed, sampler: render_latent_space(seed, sampler, maps=maps, labels=y_test,
                                              n_points=600, n_samples=8),
    [Regenerate("seed", 0), Choice("sampler", ("N(0, I)", "uniform in the code box"),
                                   label="random points")],
    name="latent_space", chapter=CHAPTER))
radius95 = float(mu_vae2.norm(dim=1).quantile(0.95))
print(f"autoencoder codes span z1 in [{box_low[0]:.1f}, {box_high[0]:.1f}], "
      f"z2 in [{box_low[1]:.1f}, {box_high[1]:.1f}]; VAE means: mean "
      f"{mu_vae2.mean(0).numpy().round(2)}, std {mu_vae2.std(0).numpy().round(2)}, "
      f"95% within radius {radius95:.1f}")
record(CHAPTER, "ae2_code_span", float((box_high - box_low).max()))
record(CHAPTER, "vae2_mu_radius95", radius95)

# %% [markdown]
# **What to notice.**
#
# * **Where and how big.** The autoencoder put its codes wherever training happened to
#   push them: off centre, spread over {{ae2_code_span:.0f}} units along its wider axis in
#   the full run, with some digits (often the 1s) flung out along long arms. Nothing in
#   its loss mentions location or scale, so another random seed puts them somewhere else.
#   Its N(0, I) crosses huddle in one small part of the map. In the full run 95% of the
#   VAE's means sit within a radius of {{vae2_mu_radius95:.1f}} of the origin, and its
#   N(0, I) crosses spread over the whole cloud: the KL term charges every code for
#   leaving the standard normal.
# * **Gaps.** The autoencoder leaves wide empty regions between and around its clusters:
#   the decoder was never asked to produce anything there. These are the **dead zones**.
#   The VAE packs its classes edge to edge with no big holes, because each code is a
#   noisy cloud: a region the noise keeps visiting must decode to something plausible.
# * **Neither is a clean class map.** With only two numbers, similar digits (4, 9, 7;
#   3, 5, 8) overlap in both models. Organized does not mean separated; it means the space
#   is filled and its density is known.

# %% [markdown]
# ## 7. Decoding random points
#
# If a latent space is to *generate*, we must be able to pick a code without an input
# image and decode it. For the VAE the recipe is in its loss: draw $z \sim \mathcal N(0, I)$.
# The autoencoder has no recipe, so we try the obvious guesses, in 2 and in 16 dimensions:
# $\mathcal N(0, I)$; uniform over the box its test codes span; and, most generous, a
# Gaussian with the mean and spread of its codes, dimension by dimension.

# %%
with torch.no_grad():  # codes back on the CPU, for the samplers below
    z_ae16 = autoencoder.encode(x_test_on).cpu()  # [1000, 16]
    mu_vae16 = vae16.encode(x_test_on)[0].cpu()  # [1000, 16]
samplers = {
    "2-D autoencoder, z ~ N(0, I)": (ae2, standard_normal(2)),
    "2-D autoencoder, z uniform in its code box": (ae2, uniform_in_box(box_low, box_high)),
    "2-D VAE, z ~ N(0, I)": (vae2, standard_normal(2)),
    "16-D autoencoder, z ~ N(0, I)": (autoencoder, standard_normal(LATENT)),
    "16-D autoencoder, z uniform in its code box": (
        autoencoder, uniform_in_box(z_ae16.min(0).values, z_ae16.max(0).values)),
    "16-D autoencoder, z from a Gaussian fitted to its codes": (
        autoencoder, fitted_gaussian(z_ae16)),
    "16-D VAE, z ~ N(0, I)": (vae16, standard_normal(LATENT)),
}
sample_gen = torch.Generator().manual_seed(3)
decoded = {name: decoder_images(model)(draw(12, sample_gen))
           for name, (model, draw) in samplers.items()}
fig = image_rows(decoded, width=9)
plt.show()

# %% [markdown]
# Look row by row. $\mathcal N(0, I)$ is a poor guess for an autoencoder in any dimension:
# its codes do not live there (they sit several units away, at a scale of their own), and
# the decoder answers with smudges. In 2-D the box is a fair guess, because two dimensions
# leave little room: most of the box lies near some cluster, and the decoder's smooth
# extrapolation gives digit-like shapes, though in the wrong proportions (the far-flung
# arms take a large share of the box). In 16 dimensions the box is hopeless: the codes
# fill a thin, curved sliver of it, and a random point of the box lands in a dead zone.
# Even the fitted Gaussian breaks many digits apart, because the codes' cloud is not an
# axis-aligned Gaussian. The 16-D VAE's prior samples are blurry but mostly digit-shaped.
#
# ### Measuring "garbage"
#
# "Looks like a digit" needs a number. For each decoded image we compute the
# root-mean-square pixel distance to its **nearest training digit**. Decoders blur, so the
# yardstick is each decoder itself: a sample is flagged as garbage when it is farther from
# every training digit than 95% of that model's *reconstructions* of test digits are (so
# reconstructions are flagged 5% of the time by construction). We also decode the
# midpoints $(z_1 + z_2)/2$ between the codes of two random test digits of different classes.

# %%
n_eval = pick(1000, 300, fast_mode=FAST)
eval_gen = torch.Generator().manual_seed(4)
pair_a = torch.randint(0, len(x_test), (4 * n_eval,), generator=eval_gen)
pair_b = torch.randint(0, len(x_test), (4 * n_eval,), generator=eval_gen)
keep = (y_test[pair_a] != y_test[pair_b]).nonzero()[:n_eval, 0]
pair_a, pair_b = pair_a[keep], pair_b[keep]  # [n_eval] pairs of different digits

SHORT = {"2-D autoencoder": "ae2", "2-D VAE": "vae2", "16-D autoencoder": "ae16",
         "16-D VAE": "vae16"}  # names of the recorded figures
codes = {"2-D autoencoder": (ae2, z_ae2), "2-D VAE": (vae2, mu_vae2),
         "16-D autoencoder": (autoencoder, z_ae16), "16-D VAE": (vae16, mu_vae16)}
kinds = ["reconstructions", "N(0, I)", "code box", "fitted Gaussian", "midpoints"]
flagged, distance = {}, {}
for name, (model, z) in codes.items():
    decode = decoder_images(model)
    points = {
        "reconstructions": z[:n_eval],
        "N(0, I)": standard_normal(z.shape[1])(n_eval, eval_gen),
        "code box": uniform_in_box(z.min(0).values, z.max(0).values)(n_eval, eval_gen),
        "fitted Gaussian": fitted_gaussian(z)(n_eval, eval_gen),
        "midpoints": (z[pair_a] + z[pair_b]) / 2,
    }
    dist = {kind: nearest_distance(decode(p), x_train) for kind, p in points.items()}  # [n_eval]
    threshold = dist["reconstructions"].quantile(0.95)
    for kind in kinds:
        flagged[name, kind] = float((dist[kind] > threshold).float().mean())
        distance[name, kind] = float(dist[kind].mean())
print("share of decoded images flagged as garbage (farther from every training digit than "
      "95% of reconstructions)")
print(f"{'':18s}" + "".join(f"{kind:>17s}" for kind in kinds))
for name in codes:
    print(f"{name:18s}" + "".join(f"{100 * flagged[name, kind]:16.0f}%" for kind in kinds))
print("\nmean RMS pixel distance to the nearest training digit")
for name in codes:
    print(f"{name:18s}" + "".join(f"{distance[name, kind]:17.3f}" for kind in kinds))
KIND_KEYS = {"reconstructions": "reconstructions", "N(0, I)": "prior", "code box": "box",
             "fitted Gaussian": "fitted", "midpoints": "midpoints"}  # names of the figures
for name in codes:
    record(CHAPTER, f"garbage_{SHORT[name]}", {KIND_KEYS[k]: flagged[name, k] for k in kinds})
midpoint_shares = [flagged[name, "midpoints"] for name in codes]
record(CHAPTER, "garbage_midpoints_min", min(midpoint_shares))
record(CHAPTER, "garbage_midpoints_max", max(midpoint_shares))

# %% [markdown]
# **Reading the table.** The figures quoted here are from the course's full run; yours,
# and the fast mode's, move by several points, but the pattern holds.
#
# * **N(0, I)**, the only recipe that needs no codes in hand, is where the two models part:
#   {{garbage_ae16/prior:.0%}} of the 16-D autoencoder's samples are flagged against
#   {{garbage_vae16/prior:.0%}} of the 16-D VAE's, and in 2-D more than twice as many for the
#   autoencoder ({{garbage_ae2/prior:.0%}} against {{garbage_vae2/prior:.0%}}).
# * **The code box** is about as good as a reconstruction in 2-D, for both models
#   ({{garbage_ae2/box:.0%}} and {{garbage_vae2/box:.0%}} flagged). In 16-D more than half
#   of its samples are garbage, for *both* models ({{garbage_ae16/box:.0%}} and
#   {{garbage_vae16/box:.0%}}): a box is the wrong shape for a cloud of codes, even a VAE's.
# * **A Gaussian fitted to the codes** is the simplest repair after the fact, and it still
#   breaks {{garbage_ae16/fitted:.0%}} of the 16-D autoencoder's samples. (Fitting a much
#   better density to the codes is a real option: it is what the two-stage generators of
#   chapter 10 do.)
# * **Midpoints** between two real codes are seldom flagged
#   ({{garbage_midpoints_min:.1%}} to {{garbage_midpoints_max:.1%}} over the four models,
#   a few points above the 5% baseline and far below the autoencoders' N(0, I) samples).
#   On these digits the dead zones are not so much *between* codes as *around* them, off
#   the thin region the codes occupy.
#
# The VAE is not perfect either: a fair share of its prior samples are flagged too, partly
# because its codes do not fill N(0, I) evenly (look at the 1s, outside the circle).
# Chapters 3 and 4 return to this. And a nearest-neighbour distance is a crude judge (a
# plausible digit unlike any of the 4,000 training images would be flagged; a blur that
# happens to sit close to one would not), but it agrees with the rows of pictures above,
# and it says exactly what it measures.

# %% [markdown]
# ## 8. Build it: walking between two codes
#
# To see what lies *between* two digits, decode the points on the straight segment that
# joins their codes $z_1$ and $z_2$:
#
# $$z(t) = (1 - t)\, z_1 + t\, z_2, \qquad t = 0, \tfrac{1}{S-1}, \tfrac{2}{S-1}, \dots, 1 .$$
#
# Write `interpolate(z1, z2, steps)`: `z1` and `z2` are tensors of shape `[D]`; return a
# tensor of shape `[steps, D]` whose first row is `z1`, last row is `z2`, and whose rows are
# evenly spaced on the line between them. Use tensor arithmetic only (no `.item()`, no
# Python lists of numbers), so that the path keeps the inputs' dtype and gradients can
# flow through it like through any other layer.
#
# <details><summary>Hint 1</summary>
#
# `steps` counts every point, both ends included: with `steps = 5`, t takes the values
# 0, 0.25, 0.5, 0.75, 1. Dividing by `steps` instead of `steps - 1` never reaches 1.
# </details>
#
# <details><summary>Hint 2</summary>
#
# `torch.linspace(0, 1, steps)` gives exactly those values of t, shape `[steps]`. Give it
# a trailing axis, `t[:, None]` of shape `[steps, 1]`, so that it broadcasts against
# `z1` of shape `[D]` and each row gets its own t.
# </details>
#
# <details><summary>Hint 3</summary>
#
# With `t` of shape `[steps, 1]`: `(1 - t) * z1 + t * z2` has shape `[steps, D]`. Keep the
# inputs' dtype: `torch.linspace(0, 1, steps, dtype=z1.dtype)`.
# </details>

# %% nbgrader={"grade": false, "grade_id": "interpolate", "locked": false, "schema_version": 3, "solution": true, "task": false}
def interpolate(z1, z2, steps):
    """`steps` evenly spaced points from z1 to z2, endpoints included: [D], [D] -> [steps, D]."""
    ### BEGIN SOLUTION
    t = torch.linspace(0.0, 1.0, steps, dtype=z1.dtype, device=z1.device)[:, None]  # [S, 1]
    return (1 - t) * z1 + t * z2  # [S, D]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_interpolate", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check_interpolate(interpolate)
### BEGIN HIDDEN TESTS
_gen = torch.Generator().manual_seed(5)
for _steps, _d in [(2, 1), (3, 7), (10, 16), (17, 2), (64, 3)]:
    _z1, _z2 = torch.randn(2, _d, generator=_gen, dtype=torch.float64)
    _path = interpolate(_z1, _z2, _steps)
    assert isinstance(_path, torch.Tensor) and tuple(_path.shape) == (_steps, _d), (
        f"steps={_steps}, D={_d}: expected shape [{_steps}, {_d}]")
    assert _path.dtype == torch.float64, "keep the inputs' dtype"
    _oracle = torch.stack([_z1 + (i / (_steps - 1)) * (_z2 - _z1) for i in range(_steps)])
    assert torch.allclose(_path, _oracle, atol=1e-10), "rows are (1 - t) z1 + t z2, t = i/(S-1)"
    assert torch.allclose(_path[0], _z1) and torch.allclose(_path[-1], _z2), "both endpoints"
    if _steps > 2:
        _gaps = (_path[1:] - _path[:-1]).norm(dim=1)
        assert torch.allclose(_gaps, _gaps[0].expand_as(_gaps)), "evenly spaced"
_z1 = torch.tensor([1.0, 2.0, 3.0])
_z2 = torch.tensor([-1.0, 0.0, 5.0])
_path = interpolate(_z1, _z2, 3)
assert _path.dtype == torch.float32, "float32 codes give a float32 path (decoders need it)"
assert torch.allclose(_path[1], (_z1 + _z2) / 2), "the middle of 3 steps is the midpoint"
assert torch.equal(_z1, torch.tensor([1.0, 2.0, 3.0])), "do not modify z1 in place"
# gradients: autograd against the analytic d/dz1 = sum (1 - t), d/dz2 = sum t
_a = torch.randn(4, dtype=torch.float64, generator=_gen, requires_grad=True)
_b = torch.randn(4, dtype=torch.float64, generator=_gen, requires_grad=True)
_w = torch.randn(6, 4, dtype=torch.float64, generator=_gen)
(interpolate(_a, _b, 6) * _w).sum().backward()
_t = torch.linspace(0, 1, 6, dtype=torch.float64)[:, None]
assert _a.grad is not None and torch.allclose(_a.grad, ((1 - _t) * _w).sum(0)), "grad wrt z1"
assert _b.grad is not None and torch.allclose(_b.grad, (_t * _w).sum(0)), "grad wrt z2"
assert torch.autograd.gradcheck(lambda a, b: interpolate(a, b, 5),
                                (_a.detach().requires_grad_(), _b.detach().requires_grad_()))
### END HIDDEN TESTS

# %% [markdown]
# ## 9. Interactive: midpoints between two digits
#
# Pick two digits. The first test example of each is encoded; the straight path between
# the two codes is drawn on both latent maps (with **your** `interpolate`) and decoded
# below. Watch what the path crosses on the way.

# %%
lerp = check_interpolate.use(interpolate)
display(interactive(
    lambda start_digit, end_digit: render_latent_path(
        start_digit, end_digit, maps=maps, labels=y_test, interpolate=lerp, steps=9),
    [IntSlider("start_digit", 0, 9, 0, label="from digit"),
     IntSlider("end_digit", 0, 9, 1, label="to digit")],
    name="latent_path", chapter=CHAPTER))

# %% [markdown]
# In 16 dimensions we cannot draw the path, but we can decode it. Each pair of rows walks
# from one test digit to another, through the 16-D autoencoder's latent space and through
# the 16-D VAE's:

# %%
pairs = [(0, 1), (4, 9), (3, 8), (2, 7)]
rows = {}
for start, end in pairs:
    i = int((y_test == start).nonzero()[0, 0])  # the first test example of each digit,
    j = int((y_test == end).nonzero()[0, 0])  # as in the interactive above
    for name, model, z in [("autoencoder", autoencoder, z_ae16), ("VAE", vae16, mu_vae16)]:
        path = lerp(z[i], z[j], 10)  # [10, 16]
        rows[f"16-D {name}: {start} -> {end}"] = decoder_images(model)(path)
fig = image_rows(rows, width=8)
plt.show()

# %% [markdown]
# **What the paths show.** Both models cross-fade: the 0 narrows into a 1, the 3 closes
# into an 8, and the images in between still look like pen strokes. The 2-D maps show why
# the middle images may change class on the way: a straight line from one cluster to
# another crosses the clusters that lie between them.
#
# A warning often repeated about autoencoders says that the midpoint of two codes *might*
# decode to noise. On these digits it does not: the table of section 7 flags
# {{garbage_midpoints_min:.1%}} to {{garbage_midpoints_max:.1%}} of the midpoints, a few
# points above the 5% baseline, for either model. The decoder is smooth near the data, and a
# segment between two codes stays near it. What the plain autoencoder lacks is not smooth
# paths between inputs you already have, but a known region to **sample** new codes from,
# and any guarantee about the rest of the space.

# %% [markdown]
# ## 10. The price of the VAE's order
#
# The VAE's regularity is not free. Its encoder may not place codes wherever reconstruction
# would like: every code is pulled toward the origin and blurred by noise, so fine
# distinctions between similar inputs are harder to keep. The KL term is, roughly, how many
# nats of information a code carries about its input, and the loss charges for every nat.
# Reconstruction errors of the four models, on 1,000 of the digits they trained on and on
# the 1,000 held-out test digits (VAEs decode their mean code $\mu$):

# %%
models = {"2-D autoencoder": ae2, "2-D VAE": vae2, "16-D autoencoder": autoencoder,
          "16-D VAE": vae16}
table = {}
print(f"{'model':17s} {'split':6s} {'BCE (nats/image)':>17s} {'squared error/pixel':>20s} "
      f"{'KL (nats)':>10s}")
for name, model in models.items():
    is_vae = isinstance(model, ConvVAE)
    encode = (lambda x, m=model: m.encode(x)[0]) if is_vae else model.encode
    for split, x in {"train": x_train_on[:len(x_test)], "test": x_test_on}.items():
        err = reconstruction_errors(encode, model.decode, x)
        if is_vae:
            with torch.no_grad():
                err["kl"] = float(kl_standard_normal(*model.encode(x)).mean())
        table[name, split] = err
        kl = f"{err['kl']:10.2f}" if is_vae else f"{'-':>10s}"
        print(f"{name:17s} {split:6s} {err['bce']:17.1f} {err['mse']:20.4f} {kl}")
for name in models:
    record(CHAPTER, f"{SHORT[name]}_test_bce", table[name, "test"]["bce"])
    record(CHAPTER, f"{SHORT[name]}_test_mse", table[name, "test"]["mse"])
    record(CHAPTER, f"{SHORT[name]}_train_bce", table[name, "train"]["bce"])
record(CHAPTER, "vae16_test_kl", table["16-D VAE", "test"]["kl"])
record(CHAPTER, "vae16_test_nelbo", table["16-D VAE", "test"]["bce"]
       + table["16-D VAE", "test"]["kl"])
record(CHAPTER, "vae2_test_kl", table["2-D VAE", "test"]["kl"])

# %% [markdown]
# **Reading the table.** In the full run the VAE paid a little reconstruction on the
# test digits ({{vae2_test_bce:.1f}} against {{ae2_test_bce:.1f}} in 2-D,
# {{vae16_test_bce:.1f}} against {{ae16_test_bce:.1f}} in 16-D) and more on the training
# digits in 16-D ({{vae16_train_bce:.1f}} against {{ae16_train_bce:.1f}}). Its total loss,
# reconstruction plus KL (the negative ELBO of chapter 3), is {{vae16_test_nelbo:.1f}} nats
# per 16-D test digit against the autoencoder's {{ae16_test_bce:.1f}}: the
# {{vae16_test_kl:.1f}} nats of KL are what an organized latent space costs here. The
# price is modest on 28×28 digits; on large images, where the fine detail is what users
# notice, it is the central trade-off. (In the fast mode the short training can even
# reverse the 2-D ordering: the price shows once both models are trained.)
#
# Both models also fit their training digits far better than the test digits: 4,000
# digits are few, and neither loss prevents memorizing them.
#
# This tension, a latent space tidy enough to sample from yet informative enough to
# reconstruct well, runs through the rest of the course: chapter 4 turns the KL weight into
# a dial (β), and chapter 5 replaces the Gaussian by a finite codebook.

# %% [markdown]
# ## 11. Checkpoint: dead zones
#
# In two or three sentences: why does nothing in the autoencoder's training stop it from
# leaving dead zones in its latent space, and what does the VAE's loss add that fills
# them? Refer to something you saw in this notebook.

# %% [markdown] nbgrader={"grade": true, "grade_id": "checkpoint_dead_zones", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# The autoencoder's loss only looks at codes of training images: it asks the decoder to
# redraw each input from that input's code and says nothing about any other point. The
# decoder's output between or far from the clusters is never checked, so nothing makes it
# a digit; in 16 dimensions {{garbage_ae16/box:.0%}} of the random points of the code box,
# and {{garbage_ae16/prior:.0%}} of the N(0, I) points, decoded to garbage. The VAE's loss adds noise to each code, so the
# decoder must redraw the digit from a whole neighbourhood around its mean, and the KL
# term pulls all those neighbourhoods into one N(0, I) cloud: the clouds overlap and fill
# the region the prior samples from, which is why most N(0, I) samples of the VAE decode
# to digit-like images.

# %% [markdown]
# ## 12. Check
#
# **Q1. What is the main limitation of a plain autoencoder?**
#
# a) It cannot compress: its latent code must be as large as its input to reconstruct well.
#
# b) Its latent space is not organized: training says nothing about codes that no input
#    produced, so random points and midpoints can decode to garbage, and there is no
#    known distribution to sample new codes from.
#
# c) It needs labelled data: the encoder must be told which digit each image shows.
#
# d) Its reconstructions are always worse than a VAE's with the same latent size.

# %% nbgrader={"grade": false, "grade_id": "answer_q1", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q1 = None
### BEGIN SOLUTION
answer_q1 = "b"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q1", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q1, question="ch01/q1", key="e6e8c8b1a28d7e4a",
             hint="Reread sections 6 and 7: what happened when you decoded points no digit "
                  "was encoded to?")
### BEGIN HIDDEN TESTS
assert answer_q1 == "b"
### END HIDDEN TESTS

# %% [markdown]
# ## Summary
#
# * An autoencoder trains an encoder and a decoder to reproduce their input through a
#   bottleneck, $\mathcal L = \lVert x - g(f(x)) \rVert^2$ (or cross-entropy for pixels in
#   $[0, 1]$); no labels are needed.
# * Convolutions shrink an image to $\lfloor (n + 2p - k)/s \rfloor + 1$ pixels per side:
#   28 → 14 → 7 here, 256 → 128 → 64 → 32 in a typical image encoder, whose flattening
#   linear layer alone would hold {{big_encoder_linear_weights_millions:.1f}} M weights.
# * A 16-number code redraws unseen digits well: the autoencoder is a good compressor.
# * Its latent space is not organized: codes sit at an arbitrary place and scale, with dead
#   zones between them; decoded random points are garbage, the more so in more dimensions.
# * A VAE charges codes for leaving $\mathcal N(0, I)$ and trains on noisy codes, so its
#   prior samples decode to digits. The price is a constraint on where codes may go.
#
# Next: **Chapter 2, the variational trick**: encoding to a distribution, and the
# reparameterization that lets gradients through the sampling.

# %% [markdown]
# ## References
#
# * Rumelhart, D. E., Hinton, G. E. and Williams, R. J. (1986). Learning internal
#   representations by error propagation. In *Parallel Distributed Processing*, vol. 1,
#   MIT Press. (Networks trained to reproduce their input through a narrow hidden layer.)
# * Hinton, G. E. and Salakhutdinov, R. R. (2006). Reducing the dimensionality of data with
#   neural networks. *Science*, 313(5786). (Deep autoencoders beat PCA on digits and faces.)
# * Dumoulin, V. and Visin, F. (2016). A guide to convolution arithmetic for deep learning.
#   arXiv:1603.07285. (The output-size formulas of convolutions and transposed ones.)
# * Kingma, D. P. and Welling, M. (2014). Auto-encoding variational Bayes. *ICLR*. (The VAE
#   previewed in sections 5-10.)
# * Rombach, R. et al. (2022). High-resolution image synthesis with latent diffusion
#   models. *CVPR*. (A spatial latent instead of a flattened vector.)
