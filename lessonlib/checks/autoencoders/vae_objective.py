"""Public checks for the VAE objective: vae_loss, kl_anneal_beta, active_units."""

from __future__ import annotations

import math
import operator

import torch
import torch.nn.functional as F

from lessonlib.autoencoders import vae_objective as ref
from lessonlib.checks.autoencoders.gaussian import KL_TERM_SLIPS, kl_oracle_per_dim
from lessonlib.checks.core import (
    attempt,
    close,
    expect,
    expect_close,
    expect_number,
    expect_tuple,
    fail,
    public_check,
    reject_slips,
)


def _probe_tensors(likelihood: str = "bernoulli"):
    """Fixed (x, decoder output, mu, logvar): binary x [4, 6], real-valued x [3, 5]."""
    g = torch.Generator().manual_seed(4 if likelihood == "bernoulli" else 7)
    if likelihood == "bernoulli":
        x = (torch.rand(4, 6, generator=g) > 0.5).float()  # [4, 6]
        logits = 3 * torch.rand(4, 6, generator=g) - 1.5  # [4, 6]
        mu = 2.5 * torch.rand(4, 3, generator=g) - 1.25  # [4, 3]
        return x, logits, mu, 3 * torch.rand(4, 3, generator=g) - 2.0  # logvar in [-2, 1]
    x = torch.rand(3, 5, generator=g)  # [3, 5] real-valued data
    mean = x + 0.8 * torch.randn(3, 5, generator=g)  # [3, 5] decoder means
    return x, mean, torch.randn(3, 2, generator=g), 0.5 * torch.randn(3, 2, generator=g)


def _recon_slips(x, out, likelihood: str):
    """(message, recon) of the classic slips in the reconstruction term."""
    b, bce, sq = x.shape[0], F.binary_cross_entropy_with_logits, (out - x).pow(2)
    if likelihood == "bernoulli":
        return [
            ("mixed reductions: the reconstruction term is a per-pixel mean (reduction='mean' "
             "is the default of F.*_loss): sum over pixels, then average over the batch.",
             bce(out, x)),
            ("mixed reductions: the reconstruction term is summed over the batch too: divide "
             "by the batch size.", bce(out, x, reduction="sum")),
            ("you applied a sigmoid before binary_cross_entropy_with_logits, which applies its "
             "own: pass the raw logits.", bce(torch.sigmoid(out), x, reduction="sum") / b),
            *[("the Bernoulli likelihood needs binary cross-entropy, not a squared error.",
               c * (torch.sigmoid(out) - x).pow(2).sum() / b) for c in (0.5, 1.0)],
            ("the arguments of binary_cross_entropy_with_logits are (logits, target): you "
             "swapped them.", bce(x, torch.sigmoid(out), reduction="sum") / b),
        ]
    return [
        ("gaussian likelihood: -log N(x; mean, I) = 0.5 * ||x - mean||^2 + const; you dropped "
         "the 0.5.", sq.sum() / b),
        ("mixed reductions: the gaussian reconstruction is a per-pixel mean (F.mse_loss "
         "averages): sum 0.5 * squared error over pixels, average over the batch.",
         0.5 * sq.mean()),
        ("mixed reductions: the gaussian reconstruction is a per-pixel mean (F.mse_loss "
         "averages) and misses the 0.5.", sq.mean()),
        ("mixed reductions: the gaussian reconstruction is summed over the batch: divide by "
         "the batch size.", 0.5 * sq.sum()),
        ("for likelihood='gaussian' the decoder output is the mean itself: do not apply a "
         "sigmoid.", 0.5 * (torch.sigmoid(out) - x).pow(2).sum() / b),
        ("likelihood='gaussian' should use 0.5 * squared error, not the Bernoulli BCE (the "
         "likelihood argument is ignored).", bce(out, x, reduction="sum") / b),
    ]


def _call_loss(fn, *args, **kwargs):
    """Call vae_loss and insist on a (loss, recon, kl) tuple of scalar tensors."""
    try:
        out = attempt(fn, *args, **kwargs)
    except RuntimeError as err:
        expect("784" not in str(err), f"your code assumes 784 pixels (it raised: {err}); use "
               "x.reshape(x.shape[0], -1) so that any image size works.")
        raise
    for name, value in zip(("loss", "recon", "kl"), expect_tuple(out, "loss, recon, kl")):
        expect(isinstance(value, torch.Tensor), f"{name} should be a torch tensor (a scalar), "
               f"got {type(value).__name__}: keep tensors so that the loss can backpropagate.")
        expect(value.dim() == 0, f"{name} should be a scalar, got shape {list(value.shape)}: "
               "sum over pixels / latent dims per example, then average over the batch.")
    return out


def _expect_term(got, want, slips, what: str, how: str) -> None:
    """One scalar term of the loss against its oracle, naming the slip that reproduces it."""
    expect_close(float(got), float(want), f"{what} should be {float(want):.4f} ({how}), got "
                 f"{float(got):.4f}.", [(f"{what}: {message}", float(value)) for message, value
                                        in slips if math.isfinite(float(value))], tol=1e-4)


def _probe_terms(fn, likelihood: str) -> None:
    """beta = 1: the KL, the reconstruction (Bernoulli or gaussian) and their sum."""
    x, out, mu, logvar = _probe_tensors(likelihood)
    kwargs = {} if likelihood == "bernoulli" else {"likelihood": likelihood}
    loss, recon, kl = (float(t) for t in _call_loss(fn, x, out, mu, logvar, **kwargs))
    terms, m, lv = kl_oracle_per_dim(mu, logvar), mu.double(), logvar.double()  # [B, D]
    _expect_term(kl, terms.sum(dim=1).mean(), [
        (message, term(m, lv).sum(dim=1).mean()) for message, term in KL_TERM_SLIPS] + [
        ("mixed reductions: your KL is averaged over the latent dims (or everything), not "
         "summed over dims per example: that rescales beta by 1/D.", terms.mean()),
        ("mixed reductions: your KL is summed over the batch as well: take the batch mean, or "
         "beta scales with the batch size.", terms.sum()),
        ("mixed reductions: your KL is a mean over dims and a sum over the batch; sum over "
         "dims, average over the batch.", terms.mean(dim=1).sum())],
        f"kl ({likelihood}, beta=1)", "sum over dims of 0.5 * (mu^2 + exp(logvar) - logvar - "
        "1), mean over the batch")
    _expect_term(recon, ref.reconstruction_nll(x, out, likelihood).mean(),
                 _recon_slips(x, out, likelihood), f"recon ({likelihood})",
                 "per-example sum over pixels, mean over the batch")
    expect(close(loss, recon + kl, 1e-4), f"{likelihood}, beta=1, no free bits: the loss "
           f"should be recon + kl = {recon + kl:.4f}, got {loss:.4f}.")


def _probe_beta(fn) -> None:
    """beta = 4 weights the KL inside the loss only; recon and kl are returned unweighted."""
    x, logits, mu, logvar = _probe_tensors()
    want_loss, r, k = (float(t) for t in ref.vae_loss(x, logits, mu, logvar, beta=4.0))
    loss, recon, kl = (float(t) for t in _call_loss(fn, x, logits, mu, logvar, beta=4.0))
    expect(not close(kl, 4.0 * k, 1e-4), "with beta=4 the returned kl is 4x too large: return "
           "the plain KL and put beta only in the loss.")
    expect(close(recon, r, 1e-4) and close(kl, k, 1e-4),
           "recon and kl should not depend on beta (beta only weights the KL in the loss).")
    expect_close(loss, want_loss, f"beta=4: the loss should be recon + 4 * kl = "
                 f"{want_loss:.4f}, got {loss:.4f}.", [
        ("beta=4: beta multiplies the reconstruction term; it weights the KL.", 4.0 * r + k),
        ("beta=4: beta has no effect on your loss: loss = recon + beta * kl.", r + k),
        ("beta=4: beta multiplies both terms; it weights only the KL.", 4.0 * (r + k)),
        ("beta=4: you divided the KL by beta; multiply: loss = recon + beta * kl.", r + k / 4),
        ("beta=4: you divided the reconstruction by beta.", r / 4.0 + k),
    ], tol=1e-4)


def _probe_extreme_logits(fn) -> None:
    """Confident logits (+-200): the reconstruction stays finite and exact."""
    x = torch.tensor([[1.0, 0.0, 1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0, 1.0, 1.0]])  # [2, 6]
    logits = torch.tensor([[200.0, -200.0, -200.0, 200.0, 100.0, 30.0],
                           [200.0, -200.0, 200.0, -200.0, -100.0, 0.5]])  # [2, 6]
    got = float(_call_loss(fn, x, logits, torch.zeros(2, 2), torch.zeros(2, 2))[1])
    want = float(ref.reconstruction_nll(x, logits).mean())
    expect(math.isfinite(got), "unstable BCE on probabilities: with confident logits (+-200) "
           f"your reconstruction is {got} (sigmoid(200) = 1.0 in float32, log(1 - 1) = -inf). "
           "Use F.binary_cross_entropy_with_logits on the raw logits.")
    expect(close(got, want, 1e-3), "unstable BCE on probabilities: with logits +-200 the "
           f"reconstruction should be {want:.2f} nats, got {got:.2f} (it caps confident "
           "mistakes). Use F.binary_cross_entropy_with_logits on the logits.")


def _free_bits_tensors():
    """Per-dim KLs chosen so that per-example and batch-mean clamping differ."""
    mu = torch.tensor([[2.0, 0.0, 1.5, 2.0], [2.0, 0.0, 0.0, 0.0],
                       [-2.0, 0.0, 0.0, 1.0], [2.0, 0.0, 0.0, 0.4]])  # [4, 4]
    logvar = torch.zeros(4, 4)  # [4, 4]
    logvar[:, 0] = torch.tensor([0.3, -0.2, 0.1, 0.0])
    g = torch.Generator().manual_seed(5)
    x = (torch.rand(4, 3, generator=g) > 0.5).float()  # [4, 3]
    return x, 2 * torch.randn(4, 3, generator=g), mu, logvar  # logits [4, 3]


def _probe_free_bits(fn) -> None:
    """free_bits = 0.5, beta = 2: each dim's batch-mean KL clamped inside the loss only."""
    inputs, lam, beta = _free_bits_tensors(), 0.5, 2.0
    want_loss, r, k = (float(t) for t in ref.vae_loss(*inputs, beta=beta, free_bits=lam))
    loss, recon, kl = (float(t) for t in _call_loss(fn, *inputs, beta=beta, free_bits=lam))
    kl_dims = kl_oracle_per_dim(*inputs[2:])  # [4, 4]
    per_example = float(torch.clamp(kl_dims, min=lam).sum(dim=1).mean())
    clamped = float(torch.clamp(kl_dims.mean(0), min=lam).sum())
    expect(close(recon, r, 1e-4), "free bits must not change recon.")
    expect(not (close(kl, clamped, 1e-4) or close(kl, per_example, 1e-4)), "free bits clamps "
           "the KL inside the loss only: the returned kl must be the true, unclamped KL.")
    expect(close(kl, k, 1e-4), f"with free bits the returned kl should still be the unclamped "
           f"KL {k:.4f}, got {kl:.4f}.")
    expect_close(loss, want_loss, f"free_bits=0.5, beta=2: the loss should be recon + beta * "
                 f"sum_j max(0.5, batch-mean KL_j) = {want_loss:.4f}, got {loss:.4f}.", [
        ("free_bits has no effect on your loss: clamp each latent dim's batch-mean KL from "
         "below at free_bits, then sum over dims.", r + beta * k),
        ("free bits applied per example: free bits (Kingma et al. 2016) clamps each dim's KL "
         "averaged over the batch, max(free_bits, mean_b KL_bj), not each example's.",
         r + beta * per_example),
        ("you clamped the total KL; free bits clamps each latent dim's batch-mean KL.",
         r + beta * float(torch.clamp(kl_dims.sum(dim=1), min=lam).mean())),
        ("you clamped the total KL at free_bits * D; free bits clamps each latent dim.",
         r + beta * max(k, lam * kl_dims.shape[1])),
        ("free bits is a lower bound on each dim's KL: clamp(min=free_bits), not max.",
         r + beta * float(torch.clamp(kl_dims.mean(0), max=lam).sum())),
        ("with free bits, beta still multiplies the (clamped) KL term.", r + clamped),
    ], tol=1e-4)


def _probe_gradients(fn) -> None:
    """The loss's gradients with respect to logits, mu and logvar, with and without free bits."""
    for (x, *inputs), kwargs in ((_probe_tensors(), {"beta": 2.0}),
                                 (_free_bits_tensors(), {"beta": 2.0, "free_bits": 0.5})):
        grads = []
        for loss_fn in (fn, ref.vae_loss):
            leaves = [t.clone().requires_grad_(True) for t in inputs]  # logits, mu, logvar
            loss = attempt(loss_fn, x, *leaves, **kwargs)[0]
            expect(isinstance(loss, torch.Tensor) and loss.requires_grad, "your loss does not "
                   "require grad: no .item(), .detach(), float() or numpy inside.")
            loss.backward()
            grads.append([leaf.grad for leaf in leaves])
        note = (" with free bits (a dim whose batch-mean KL is under free_bits gets no KL "
                "gradient)" if "free_bits" in kwargs else "")
        for name, got, want in zip(("logits", "mu", "logvar"), *grads):
            expect(got is not None and close(got, want, 1e-4), "the loss has the right value "
                   f"but the wrong gradient with respect to {name}{note}: is something detached?")


def _probe_image_shaped(fn) -> None:
    """x as images [B, 1, H, W] next to flat logits [B, H*W]: x is flattened, not broadcast."""
    x, logits, mu, logvar = _probe_tensors()
    try:
        out = attempt(fn, x.reshape(4, 1, 2, 3), logits, mu, logvar)  # logits stay [4, 6]
    except (RuntimeError, ValueError) as err:  # what broadcasting mismatched shapes raises
        fail(f"with x as images [B, 1, H, W] and flat logits [B, H*W] your code raised "
             f"{type(err).__name__}: flatten x (x.reshape(B, -1)) first.")
    expect(close(float(out[1]), float(ref.reconstruction_nll(x, logits).mean()), 1e-4),
           "with x as images [B, 1, H, W] and flat logits [B, H*W] recon changed: flatten x.")


@public_check("vae_loss", reference=ref.vae_loss)
def check_vae_loss(fn) -> None:
    """Bernoulli and gaussian terms, reductions, beta, confident logits, free bits, gradients."""
    _probe_terms(fn, "bernoulli")
    _probe_beta(fn)
    _probe_extreme_logits(fn)
    _probe_terms(fn, "gaussian")
    _probe_free_bits(fn)
    _probe_gradients(fn)
    _probe_image_shaped(fn)


_ANNEAL_CASES = [  # (step, anneal_steps, beta_max)
    (0, 100, 1.0), (1, 100, 1.0), (25, 100, 1.0), (50, 100, 1.0), (99, 100, 1.0),
    (100, 100, 1.0), (150, 100, 1.0), (10_000, 100, 1.0), (50, 100, 4.0), (100, 100, 4.0),
    (250, 100, 4.0), (3, 8, 2.0), (0, 0, 1.0), (0, 0, 4.0), (7, 0, 0.5),
]


@public_check("kl_anneal_beta", reference=ref.kl_anneal_beta)
def check_kl_anneal_beta(fn) -> None:
    """Linear warm-up from 0, capped at beta_max, anneal_steps = 0 meaning no warm-up."""
    got, no_warmup = {}, "anneal_steps = 0 means no warm-up: return beta_max from step 0 on"
    for case in _ANNEAL_CASES:  # the learner's beta at every case, each a Python float
        try:
            got[case] = expect_number(attempt(fn, *case), float)
        except ZeroDivisionError:
            expect(case[1] != 0, f"anneal_steps = 0 divides by zero: {no_warmup}.")
            raise
    expect(math.isfinite(got[(0, 0, 1.0)]), f"anneal_steps = 0 gave a non-finite beta: "
           f"{no_warmup}.")
    expect(got[(0, 0, 4.0)] != 0.0, f"{no_warmup} (got 0 for step 0, beta_max 4). Guarding "
           "with max(anneal_steps, 1) still gives 0 at step 0.")
    expect(got[(0, 0, 1.0)] == 1.0 and got[(0, 0, 4.0)] == 4.0 and got[(7, 0, 0.5)] == 0.5,
           f"{no_warmup} (got {got[(0, 0, 4.0)]} for step 0, beta_max 4).")
    # a linear ramp from 0 at step 0 to beta_max at step anneal_steps, then flat
    expect(got[(50, 100, 1.0)] != 0.0 or got[(99, 100, 1.0)] != 0.0, "integer division: "
           "step // anneal_steps is 0 until the end of the warm-up; use true division /.")
    expect(not close(got[(0, 100, 1.0)], 0.01) and not close(got[(50, 100, 1.0)], 0.51),
           "off by one: beta = beta_max * step / anneal_steps is 0 at step 0.")
    expect(not close(got[(50, 100, 1.0)], 50 / 99) and not close(got[(99, 100, 1.0)], 1.0),
           "off by one: beta reaches beta_max at step == anneal_steps, not one step later.")
    expect(not close(got[(150, 100, 1.0)], 1.5) and not close(got[(10_000, 100, 1.0)], 100.0),
           "beta keeps growing after the warm-up: cap it with min(beta_max, ...).")
    expect(not close(got[(50, 100, 4.0)], 0.5),
           "beta_max is ignored during the warm-up: beta = beta_max * step / anneal_steps.")
    reject_slips(got[(250, 100, 4.0)], {
        "you capped beta at 1 instead of beta_max.": 1.0,
        "beta keeps growing after the warm-up: cap it at beta_max.": 10.0})
    for (step, steps, beta_max), value in got.items():
        want = beta_max if steps == 0 else beta_max * min(1.0, step / steps)
        expect(close(value, want), f"step {step}, anneal_steps {steps}, beta_max {beta_max}: "
               f"expected {want}, got {value}.")


@public_check("active_units", reference=ref.active_units)
def check_active_units(fn) -> None:
    """Variance over the data, a strict threshold, and a Python int."""
    noise = torch.randn(64, 6, generator=torch.Generator().manual_seed(11))  # [64, 6]
    noise = (noise - noise.mean(0)) / noise.std(0)  # unit variance per column
    mu = torch.stack([  # [64, 6]: variances 4, 0.09, 0.0025, 0 (constant 5), 0.25 (around 3),
        2.0 * noise[:, 0], 0.3 * noise[:, 1], 0.05 * noise[:, 2],  # and 1e-6: three active
        torch.full((64,), 5.0), 0.5 * noise[:, 4] + 3.0, 0.001 * noise[:, 5]], dim=1)
    got = expect_number(attempt(fn, mu), int)
    mean_slip = ("you thresholded the mean of mu; a dim is active when mu VARIES across the "
                 "data (variance over the N examples).")
    expect_close(got, 3, f"3 of these 6 dims have a variance over the data above 0.01; you "
                 f"counted {got}.", [
        (mean_slip, int((mu.mean(dim=0).abs() > 0.01).sum())),
        (mean_slip, int((mu.mean(dim=0) > 0.01).sum())),
        ("you took the variance over the latent dims (dim=1); take it over the data (dim=0).",
         int((mu.var(dim=1) > 0.01).sum())),
        ("you thresholded the standard deviation; the threshold is on the variance.",
         int((mu.std(dim=0) > 0.01).sum())),
    ], same=operator.eq)
    wide = torch.zeros(5, 40)  # [5, 40]: N < D, one dim varies
    wide[:, 7] = torch.tensor([-1.0, 0.0, 1.0, 2.0, -2.0])
    n_wide = expect_number(attempt(fn, wide), int)
    expect(n_wide == 1, f"mu [5, 40] with one varying dim should give 1, got {n_wide}: mu is "
           "[N, D] (examples, latent dims); the variance is over dim 0.")
    flat = torch.zeros(8, 3)  # [8, 3]
    flat[:, 1] = 1.5  # constant: variance exactly 0
    flat[::2, 2] = 1.0  # varies
    at_zero = expect_number(attempt(fn, flat, threshold=0.0), int)
    expect(at_zero != 3, "a dim counts when its variance EXCEEDS the threshold (>), not >=: "
           "with threshold 0 a constant dim must not count.")
    expect(at_zero == 1, f"with threshold=0 only the varying dim counts, got {at_zero}.")
    expect(expect_number(attempt(fn, mu, threshold=1.0), int) == 1,
           "the threshold argument is ignored: with threshold=1.0 only 1 dim is active here.")
