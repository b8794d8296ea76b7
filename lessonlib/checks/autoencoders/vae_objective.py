"""Public checks for the VAE objective: vae_loss, kl_anneal_beta, active_units.

Each check compares the learner's output with lessonlib's reference on small fixed tensors
and, when they differ, with the formulas that the classic slips produce, so that the
message names the slip (log sigma for log sigma^2, mixed reductions, sigmoid then BCE,
free bits per example, beta on the wrong term, an anneal that divides by zero, ...).
"""

from __future__ import annotations

import math
import numbers
import operator

import torch
import torch.nn.functional as F

from lessonlib.autoencoders import vae_objective as ref
from lessonlib.checks.autoencoders.gaussian import KL_TERM_SLIPS, kl_oracle_per_dim
from lessonlib.checks.core import (
    NotAttempted,
    attempt,
    close,
    expect,
    fail,
    public_check,
    reject_slips,
)

# ----------------------------------------------------------------------------- vae_loss


def _probe_tensors():
    """x [4, 6] binary, logits [4, 6], mu / logvar [4, 3], all fixed."""
    g = torch.Generator().manual_seed(4)
    x = (torch.rand(4, 6, generator=g) > 0.5).float()  # [4, 6]
    logits = 3 * torch.rand(4, 6, generator=g) - 1.5  # [4, 6]
    mu = 2.5 * torch.rand(4, 3, generator=g) - 1.25  # [4, 3]
    logvar = 3 * torch.rand(4, 3, generator=g) - 2.0  # [4, 3], in [-2, 1]
    return x, logits, mu, logvar


def _kl(terms: torch.Tensor) -> torch.Tensor:
    """Per-dim terms [B, D] -> sum over dims, mean over the batch."""
    return terms.sum(dim=1).mean()


def _kl_slips(mu, logvar):
    """(message, kl) of the slips in one dim's KL term and in the reductions."""
    terms = kl_oracle_per_dim(mu, logvar)  # [B, D]
    m, lv = mu.double(), logvar.double()
    return [(message, _kl(term(m, lv))) for message, term in KL_TERM_SLIPS] + [
        ("mixed reductions: your KL is averaged over the latent dims (or over everything) "
         "instead of summed over dims per example; next to a reconstruction summed over "
         "pixels this silently rescales beta by 1/D.", terms.mean()),
        ("mixed reductions: your KL is summed over the batch as well; take the mean over the "
         "batch (like the reconstruction term), or beta is rescaled by the batch size.",
         terms.sum()),
        ("mixed reductions: your KL is a mean over dims and a sum over the batch; sum over "
         "dims and average over the batch.", terms.mean(dim=1).sum()),
    ]


def _recon_slips(x, lo):
    """(message, recon) of the classic slips in the Bernoulli reconstruction term."""
    b = x.shape[0]
    return [
        ("mixed reductions: the reconstruction term is a per-pixel mean (reduction='mean' "
         "is the default of the F.*_loss functions); sum over pixels, then average over the "
         "batch, or the KL weight is effectively multiplied by the number of pixels.",
         F.binary_cross_entropy_with_logits(lo, x)),
        ("mixed reductions: the reconstruction term is summed over the batch too; divide by "
         "the batch size (per-example sum, batch mean), or beta changes with the batch size.",
         F.binary_cross_entropy_with_logits(lo, x, reduction="sum")),
        ("you applied a sigmoid before binary_cross_entropy_with_logits, which applies its "
         "own sigmoid: pass the raw logits.",
         F.binary_cross_entropy_with_logits(torch.sigmoid(lo), x, reduction="sum") / b),
        ("the Bernoulli likelihood needs binary cross-entropy, not a squared error.",
         0.5 * (torch.sigmoid(lo) - x).pow(2).sum() / b),
        ("the Bernoulli likelihood needs binary cross-entropy, not a squared error.",
         (torch.sigmoid(lo) - x).pow(2).sum() / b),
        ("the arguments of binary_cross_entropy_with_logits are (logits, target): "
         "you swapped them.",
         F.binary_cross_entropy_with_logits(x, torch.sigmoid(lo), reduction="sum") / b),
    ]


def _gauss_slips(x, m):
    """(message, recon) of the classic slips in the gaussian reconstruction term."""
    b = x.shape[0]
    return [
        ("gaussian likelihood: -log N(x; mean, I) = 0.5 * ||x - mean||^2 + const; "
         "you dropped the 0.5.", (m - x).pow(2).sum() / b),
        ("mixed reductions: the gaussian reconstruction is a per-pixel mean (F.mse_loss "
         "averages by default); use 0.5 * squared error summed over pixels, averaged over "
         "the batch.", 0.5 * F.mse_loss(m, x)),
        ("mixed reductions: the gaussian reconstruction is a per-pixel mean (F.mse_loss "
         "averages by default) and misses the 0.5.", F.mse_loss(m, x)),
        ("mixed reductions: the gaussian reconstruction is summed over the batch; divide by "
         "the batch size.", 0.5 * (m - x).pow(2).sum()),
        ("for likelihood='gaussian' the decoder output is the mean itself: do not apply a "
         "sigmoid.", 0.5 * (torch.sigmoid(m) - x).pow(2).sum() / b),
        ("likelihood='gaussian' should use 0.5 * squared error, but you computed the "
         "Bernoulli BCE (the likelihood argument is ignored).",
         F.binary_cross_entropy_with_logits(m, x, reduction="sum") / b),
    ]


def _call_loss(fn, *args, **kwargs):
    """Call vae_loss and insist on a (loss, recon, kl) tuple of scalar tensors."""
    try:
        out = attempt(fn, *args, **kwargs)
    except RuntimeError as err:
        expect("784" not in str(err), "your code assumes 784 pixels (it raised: "
               f"{err}); use x.reshape(x.shape[0], -1) so that any image size works.")
        raise
    expect(isinstance(out, (tuple, list)) and len(out) == 3,
           f"return a tuple (loss, recon, kl) of three scalars, got {type(out).__name__}"
           + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "") + ".")
    for name, value in zip(("loss", "recon", "kl"), out):
        expect(isinstance(value, torch.Tensor),
               f"{name} should be a torch tensor (a scalar), got {type(value).__name__}: "
               "keep tensors so that the loss can be backpropagated.")
        expect(value.dim() == 0,
               f"{name} should be a scalar, got shape {list(value.shape)}: sum over "
               "pixels / latent dims per example, then take the mean over the batch.")
    return out


def _expect_term(got, want, slips, what: str, how: str) -> None:
    """One scalar term of the loss against its oracle, naming the slip that reproduces it."""
    finite = [(f"{what}: {message}", float(value)) for message, value in slips
              if math.isfinite(float(value))]
    reject_slips(float(got), finite, want=float(want), tol=1e-4)
    expect(close(float(got), float(want), 1e-4),
           f"{what} should be {float(want):.4f} ({how}), got {float(got):.4f}.")


_KL_HOW = "sum over dims of 0.5 * (mu^2 + exp(logvar) - logvar - 1), mean over the batch"
_RECON_HOW = "per-example sum over pixels, mean over the batch"


def _probe_bernoulli(fn) -> None:
    """Bernoulli likelihood, beta = 1: the KL, the reconstruction and their sum."""
    x, logits, mu, logvar = _probe_tensors()
    loss, recon, kl = _call_loss(fn, x, logits, mu, logvar)
    _expect_term(kl, _kl(kl_oracle_per_dim(mu, logvar)), _kl_slips(mu, logvar),
                 "kl (bernoulli, beta=1)", _KL_HOW)
    _expect_term(recon, ref.reconstruction_nll(x, logits).mean(), _recon_slips(x, logits),
                 "recon (bernoulli)", _RECON_HOW)
    expect(close(float(loss), float(recon) + float(kl), 1e-4),
           f"with beta=1 and no free bits the loss should be recon + kl = "
           f"{float(recon) + float(kl):.4f}, got {float(loss):.4f}.")


def _probe_beta(fn) -> None:
    """beta = 4 weights the KL inside the loss only; recon and kl are returned unweighted."""
    x, logits, mu, logvar = _probe_tensors()
    want_loss, r, k = (float(t) for t in ref.vae_loss(x, logits, mu, logvar, beta=4.0))
    loss, recon, kl = (float(t) for t in _call_loss(fn, x, logits, mu, logvar, beta=4.0))
    expect(not close(kl, 4.0 * k, 1e-4),
           "with beta=4 the returned kl is 4x too large: return the plain KL and put beta "
           "only in the loss.")
    expect(close(recon, r, 1e-4) and close(kl, k, 1e-4),
           "recon and kl should not depend on beta (beta only weights the KL in the loss).")
    reject_slips(loss, [
        ("beta=4: beta multiplies the reconstruction term; it weights the KL: "
         "loss = recon + beta * kl.", 4.0 * r + k),
        ("beta=4: beta has no effect on your loss: loss = recon + beta * kl.", r + k),
        ("beta=4: beta multiplies both terms; it weights only the KL.", 4.0 * (r + k)),
        ("beta=4: you divided the KL by beta; multiply: loss = recon + beta * kl.", r + k / 4),
        ("beta=4: you divided the reconstruction by beta: loss = recon + beta * kl.",
         r / 4.0 + k),
    ], want=want_loss, tol=1e-4)
    expect(close(loss, want_loss, 1e-4),
           f"beta=4: the loss should be recon + 4 * kl = {want_loss:.4f}, got {loss:.4f}.")


def _probe_extreme_logits(fn) -> None:
    """Confident logits (+-200): the reconstruction stays finite and exact."""
    x = torch.tensor([[1.0, 0.0, 1.0, 0.0, 1.0, 0.0],
                      [0.0, 1.0, 0.0, 1.0, 1.0, 1.0]])  # [2, 6]
    logits = torch.tensor([[200.0, -200.0, -200.0, 200.0, 100.0, 30.0],
                           [200.0, -200.0, 200.0, -200.0, -100.0, 0.5]])  # [2, 6]
    mu, logvar = torch.zeros(2, 2), torch.zeros(2, 2)  # [2, 2]
    _, recon, _ = _call_loss(fn, x, logits, mu, logvar)
    want = float(ref.reconstruction_nll(x, logits).mean())
    got = float(recon)
    expect(math.isfinite(got),
           f"unstable BCE on probabilities: with confident logits (+-200) your "
           f"reconstruction is {got}: sigmoid followed "
           "by log / binary_cross_entropy is numerically unstable (sigmoid(200) is exactly "
           "1.0 in float32, log(1 - 1) = -inf). Use F.binary_cross_entropy_with_logits on "
           "the raw logits.")
    expect(close(got, want, 1e-3),
           f"unstable BCE on probabilities: with confident logits (+-200) the reconstruction "
           f"should be {want:.2f} nats, got {got:.2f}: computing BCE on probabilities "
           "(sigmoid, then binary_cross_entropy, which clamps log at -100, or "
           "log(p + eps)) caps the loss of confident mistakes "
           "and kills their gradient. Use F.binary_cross_entropy_with_logits on the logits.")


def _probe_gaussian(fn) -> None:
    """likelihood='gaussian': 0.5 * squared error per example, the same KL, their sum."""
    g = torch.Generator().manual_seed(7)
    x = torch.rand(3, 5, generator=g)  # [3, 5] real-valued data
    mean = x + 0.8 * torch.randn(3, 5, generator=g)  # [3, 5] decoder means
    mu = torch.randn(3, 2, generator=g)  # [3, 2]
    logvar = 0.5 * torch.randn(3, 2, generator=g)  # [3, 2]
    loss, recon, kl = _call_loss(fn, x, mean, mu, logvar, likelihood="gaussian")
    _expect_term(recon, ref.reconstruction_nll(x, mean, "gaussian").mean(),
                 _gauss_slips(x, mean), "recon (gaussian)", _RECON_HOW)
    _expect_term(kl, _kl(kl_oracle_per_dim(mu, logvar)), _kl_slips(mu, logvar),
                 "kl (gaussian)", _KL_HOW)
    expect(close(float(loss), float(recon) + float(kl), 1e-4),
           "gaussian, beta=1: the loss should be recon + kl.")


def _free_bits_tensors():
    """Per-dim KLs chosen so that per-example and batch-mean clamping differ."""
    mu = torch.tensor([[2.0, 0.0, 1.5, 2.0],
                       [2.0, 0.0, 0.0, 0.0],
                       [-2.0, 0.0, 0.0, 1.0],
                       [2.0, 0.0, 0.0, 0.4]])  # [4, 4]
    logvar = torch.tensor([[0.3, 0.0, 0.0, 0.0],
                           [-0.2, 0.0, 0.0, 0.0],
                           [0.1, 0.0, 0.0, 0.0],
                           [0.0, 0.0, 0.0, 0.0]])  # [4, 4]
    x = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0],
                      [1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])  # [4, 3]
    logits = torch.tensor([[1.0, -2.0, 0.5], [0.3, -0.1, 2.0],
                           [-1.0, 1.5, 0.2], [0.0, 0.7, -0.4]])  # [4, 3]
    return x, logits, mu, logvar


def _probe_free_bits(fn) -> None:
    """free_bits = 0.5, beta = 2: each dim's batch-mean KL clamped inside the loss only."""
    x, logits, mu, logvar = _free_bits_tensors()
    lam, beta = 0.5, 2.0
    want_loss, r, k = (float(t) for t in ref.vae_loss(x, logits, mu, logvar, beta=beta,
                                                      free_bits=lam))
    loss, recon, kl = (float(t) for t in _call_loss(fn, x, logits, mu, logvar, beta=beta,
                                                    free_bits=lam))
    kl_dims = kl_oracle_per_dim(mu, logvar)  # [4, 4]
    per_example = float(torch.clamp(kl_dims, min=lam).sum(dim=1).mean())
    clamped_total = float(torch.clamp(kl_dims.sum(dim=1), min=lam).mean())
    expect(close(recon, r, 1e-4), "free bits must not change recon.")
    expect(not (close(kl, float(torch.clamp(kl_dims.mean(0), min=lam).sum()), 1e-4)
                or close(kl, per_example, 1e-4)),
           "free bits clamps the KL inside the loss only: the returned kl must be the true, "
           "unclamped KL (it is what you report and what the ELBO contains).")
    expect(close(kl, k, 1e-4), f"with free bits the returned kl should still be the "
           f"unclamped KL {k:.4f}, got {kl:.4f}.")
    reject_slips(loss, [
        ("free_bits has no effect on your loss: clamp each latent dim's batch-mean KL from "
         "below at free_bits, then sum over dims.", r + beta * k),
        ("free bits applied per example: you clamped each example's KL per dim; free bits "
         "(Kingma et al. 2016) clamps each dim's KL averaged over the batch, max(free_bits, "
         "mean_b KL_bj), so that one example with a large KL can pay for a dim.",
         r + beta * per_example),
        ("you clamped the total KL; free bits clamps each latent dim separately (per-dim "
         "batch-mean KL).", r + beta * clamped_total),
        ("you clamped the total KL at free_bits * D; free bits clamps each latent dim "
         "separately.", r + beta * max(k, lam * mu.shape[1])),
        ("free bits is a lower bound on each dim's KL: clamp(min=free_bits), not max.",
         r + beta * float(torch.clamp(kl_dims.mean(0), max=lam).sum())),
        ("with free bits, beta still multiplies the (clamped) KL term.",
         r + float(torch.clamp(kl_dims.mean(0), min=lam).sum())),
    ], want=want_loss, tol=1e-4)
    expect(close(loss, want_loss, 1e-4),
           f"free_bits=0.5, beta=2: the loss should be recon + beta * sum_j max(0.5, "
           f"batch-mean KL_j) = {want_loss:.4f}, got {loss:.4f}.")


def _loss_and_leaves(fn, x, logits, mu, logvar, **kwargs):
    """fn's loss on fresh leaves (logits, mu, logvar) that require grad."""
    leaves = [t.clone().requires_grad_(True) for t in (logits, mu, logvar)]
    return attempt(fn, x, *leaves, **kwargs)[0], leaves


def _probe_gradients(fn) -> None:
    """The loss's gradients with respect to logits, mu and logvar, with and without free bits."""
    for args, kwargs in ((_probe_tensors(), {"beta": 2.0}),
                         (_free_bits_tensors(), {"beta": 2.0, "free_bits": 0.5})):
        loss, leaves = _loss_and_leaves(fn, *args, **kwargs)
        expect(isinstance(loss, torch.Tensor) and loss.requires_grad,
               "your loss does not require grad: keep it a tensor built from logits, mu "
               "and logvar (no .item(), .detach(), float() or numpy inside).")
        loss.backward()
        ref_loss, ref_leaves = _loss_and_leaves(ref.vae_loss, *args, **kwargs)
        ref_loss.backward()
        for name, got, want in zip(("logits", "mu", "logvar"), leaves, ref_leaves):
            expect(got.grad is not None and close(got.grad, want.grad, 1e-4),
                   f"the loss has the right value but the wrong gradient with respect to "
                   f"{name}" + (" with free bits (a dim whose batch-mean KL is under "
                                "free_bits gets no KL gradient)" if "free_bits" in kwargs
                                else "") + ": is something detached?")


def _probe_image_shaped(fn) -> None:
    """x as images [B, 1, H, W] next to flat logits [B, H*W]: x is flattened, not broadcast."""
    x, logits, mu, logvar = _probe_tensors()
    images = x.reshape(4, 1, 2, 3)  # [4, 1, 2, 3], logits stay flat [4, 6]
    try:
        out = attempt(fn, images, logits, mu, logvar)
    except NotAttempted:
        raise
    except Exception as err:  # noqa: BLE001 - turned into the learner's message
        fail(f"with x as images [B, 1, H, W] and flat logits [B, H*W] your code raised "
             f"{type(err).__name__}: flatten x (x.reshape(B, -1)) before comparing it with "
             "the logits.")
    expect(close(float(out[1]), float(ref.reconstruction_nll(x, logits).mean()), 1e-4),
           "with x as images [B, 1, H, W] and flat logits [B, H*W] recon changed: flatten x "
           "to [B, H*W] (do not rely on broadcasting).")


@public_check("vae_loss", reference=ref.vae_loss)
def check_vae_loss(fn) -> None:
    """Bernoulli and gaussian terms, reductions, beta, confident logits, free bits, gradients."""
    _probe_bernoulli(fn)
    _probe_beta(fn)
    _probe_extreme_logits(fn)
    _probe_gaussian(fn)
    _probe_free_bits(fn)
    _probe_gradients(fn)
    _probe_image_shaped(fn)


# ----------------------------------------------------------------------------- kl_anneal_beta

_ANNEAL_CASES = [  # (step, anneal_steps, beta_max)
    (0, 100, 1.0), (1, 100, 1.0), (25, 100, 1.0), (50, 100, 1.0), (99, 100, 1.0),
    (100, 100, 1.0), (150, 100, 1.0), (10_000, 100, 1.0), (50, 100, 4.0), (100, 100, 4.0),
    (250, 100, 4.0), (3, 8, 2.0), (0, 0, 1.0), (0, 0, 4.0), (7, 0, 0.5),
]


def _anneal_table(fn) -> dict:
    """The learner's beta at every case, each a Python float."""
    got = {}
    for step, steps, beta_max in _ANNEAL_CASES:
        try:
            value = attempt(fn, step, steps, beta_max)
        except ZeroDivisionError:
            expect(steps != 0, "anneal_steps = 0 divides by zero: anneal_steps = 0 means no "
                   "warm-up, so return beta_max.")
            raise
        expect(not isinstance(value, torch.Tensor),
               f"return a Python float, got a tensor ({value!r}): use float(...).")
        expect(isinstance(value, numbers.Real) and not isinstance(value, bool),
               f"return a Python float, got {type(value).__name__} {value!r}.")
        got[(step, steps, beta_max)] = float(value)
    return got


def _anneal_without_warmup(got: dict) -> None:
    """anneal_steps = 0 means no warm-up: beta_max from step 0 on."""
    expect(math.isfinite(got[(0, 0, 1.0)]), "anneal_steps = 0 gave a non-finite beta: it "
           "means no warm-up, so return beta_max.")
    expect(got[(0, 0, 4.0)] != 0.0,
           "anneal_steps = 0 means no warm-up: return beta_max from step 0 on (got 0 for "
           "step 0, beta_max 4). Guarding with max(anneal_steps, 1) still gives 0 at step 0.")
    expect(got[(0, 0, 1.0)] == 1.0 and got[(0, 0, 4.0)] == 4.0 and got[(7, 0, 0.5)] == 0.5,
           "anneal_steps = 0 means no warm-up: return beta_max from step 0 on "
           f"(got {got[(0, 0, 4.0)]} for step 0, beta_max 4).")


def _anneal_warmup(got: dict) -> None:
    """A linear ramp from 0 at step 0 to beta_max at step anneal_steps, then flat."""
    expect(got[(50, 100, 1.0)] != 0.0 or got[(99, 100, 1.0)] != 0.0,
           "integer division: step // anneal_steps is 0 until the end of the warm-up; use "
           "true division /.")
    expect(not close(got[(0, 100, 1.0)], 0.01) and not close(got[(50, 100, 1.0)], 0.51),
           "off by one: the warm-up starts at beta = 0 at step 0 (beta_max * step / "
           "anneal_steps), not at (step + 1) / anneal_steps.")
    expect(not close(got[(50, 100, 1.0)], 50 / 99) and not close(got[(99, 100, 1.0)], 1.0),
           "off by one: beta reaches beta_max at step == anneal_steps (divide by "
           "anneal_steps, not anneal_steps - 1).")
    expect(close(got[(0, 100, 1.0)], 0.0), f"step 0 should give beta = 0 (the warm-up starts "
           f"from a plain autoencoder), got {got[(0, 100, 1.0)]}.")
    expect(not close(got[(150, 100, 1.0)], 1.5) and not close(got[(10_000, 100, 1.0)], 100.0),
           "beta keeps growing after the warm-up: cap it with min(beta_max, ...).")
    expect(not close(got[(50, 100, 4.0)], 0.5),
           "beta_max is ignored during the warm-up: beta = beta_max * step / anneal_steps.")
    reject_slips(got[(250, 100, 4.0)], {
        "you capped beta at 1 instead of beta_max.": 1.0,
        "beta keeps growing after the warm-up: cap it at beta_max.": 10.0})


@public_check("kl_anneal_beta", reference=ref.kl_anneal_beta)
def check_kl_anneal_beta(fn) -> None:
    """Linear warm-up from 0, capped at beta_max, anneal_steps = 0 meaning no warm-up."""
    got = _anneal_table(fn)
    _anneal_without_warmup(got)
    _anneal_warmup(got)
    for (step, steps, beta_max), value in got.items():
        want = beta_max if steps == 0 else beta_max * min(1.0, step / steps)
        expect(close(value, want), f"step {step}, anneal_steps {steps}, beta_max {beta_max}: "
               f"expected {want}, got {value}.")


# ----------------------------------------------------------------------------- active_units


def _units_probe():
    """mu [64, 6]: dims with known variance; see the comments."""
    g = torch.Generator().manual_seed(11)
    n = 64
    noise = torch.randn(n, 6, generator=g)  # [64, 6]
    noise = (noise - noise.mean(0)) / noise.std(0)  # unit variance per column
    mu = torch.stack([
        2.0 * noise[:, 0],           # variance 4: active
        0.3 * noise[:, 1],           # variance 0.09: active
        0.05 * noise[:, 2],          # variance 0.0025 (std 0.05): inactive
        torch.full((n,), 5.0),       # constant 5: mean large, variance 0: inactive
        0.5 * noise[:, 4] + 3.0,     # variance 0.25 around 3: active
        0.001 * noise[:, 5],         # variance 1e-6: inactive
    ], dim=1)  # [64, 6]
    return mu


def _count(fn, mu, **kwargs) -> int:
    """The learner's count, which must be a Python int."""
    got = attempt(fn, mu, **kwargs)
    expect(not isinstance(got, torch.Tensor),
           f"return a Python int, got a tensor ({got!r}): use int(...) or .item().")
    expect(isinstance(got, numbers.Integral) and not isinstance(got, bool),
           f"return a Python int (a count of dims), got {type(got).__name__} {got!r}.")
    return int(got)


@public_check("active_units", reference=ref.active_units)
def check_active_units(fn) -> None:
    """Variance over the data, a strict threshold, and a Python int."""
    mu = _units_probe()
    got = _count(fn, mu)
    mean_slip = ("you thresholded the mean of mu; a dim is active when mu VARIES across the "
                 "data (variance over the N examples).")
    reject_slips(got, [
        (mean_slip, int((mu.mean(dim=0).abs() > 0.01).sum())),
        (mean_slip, int((mu.mean(dim=0) > 0.01).sum())),
        ("you took the variance over the latent dims (dim=1); take it over the data (dim=0), "
         "one variance per latent dim.", int((mu.var(dim=1) > 0.01).sum())),
        ("you thresholded the standard deviation; the threshold is on the variance of mu "
         "over the data.", int((mu.std(dim=0) > 0.01).sum())),
    ], same=operator.eq)
    expect(got == 3, f"3 of these 6 dims have a variance over the data above 0.01; you "
           f"counted {got}.")
    wide = torch.zeros(5, 40)  # [5, 40]: N < D, one dim varies
    wide[:, 7] = torch.tensor([-1.0, 0.0, 1.0, 2.0, -2.0])
    n_wide = _count(fn, wide)
    expect(n_wide == 1, f"mu [5, 40] with one varying dim should give 1, got {n_wide}: "
           "mu is [N, D] (examples, latent dims); the variance is over dim 0.")
    flat = torch.zeros(8, 3)  # [8, 3]
    flat[:, 1] = 1.5  # constant: variance exactly 0
    flat[::2, 2] = 1.0  # varies
    at_zero = _count(fn, flat, threshold=0.0)
    expect(at_zero != 3, "a dim counts when its variance EXCEEDS the threshold (>), not "
           ">=: with threshold 0 a constant dim must not count.")
    expect(at_zero == 1, f"with threshold=0 only the varying dim counts, got {at_zero}.")
    expect(_count(fn, mu, threshold=1.0) == 1,
           "the threshold argument is ignored: with threshold=1.0 only 1 dim is active here.")
