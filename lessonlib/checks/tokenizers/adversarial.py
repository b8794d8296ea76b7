"""Public checks for VQ-GAN's adversarial pieces (lessonlib.tokenizers.adversarial).

hinge_d_loss and adaptive_weight. The probes use small fixed tensors; the slips they name
are computed here from the formula with one ingredient changed (margins, signs, the 0.5,
means over all elements, a cross-entropy instead of a hinge; for the adaptive weight the
ratio upside down, squared norms, the losses instead of their gradients, .backward()
instead of torch.autograd.grad, a missing clamp or detach, a freed graph).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lessonlib.checks.core import attempt, close, expect, fail, public_check, reject_slips
from lessonlib.tokenizers import adversarial as ref

# ----------------------------------------------------------------------------- hinge_d_loss


def _logits():
    """Real [2, 1, 3, 3] and fake [2, 1, 3, 3] logits on both sides of both margins."""
    g = torch.Generator().manual_seed(8)
    real = torch.randn(2, 1, 3, 3, generator=g) * 1.5 + 1.4
    fake = torch.randn(2, 1, 3, 3, generator=g) * 1.5 - 0.3
    return real, fake


def _hinge_slips(real, fake):
    r, f = real.double(), fake.double()
    return {
        "the 0.5 is missing: the loss is 0.5 * (mean relu(1 - real) + mean relu(1 + fake))":
            F.relu(1 - r).mean() + F.relu(1 + f).mean(),
        "real and fake are swapped: real logits should be pushed above +1, so the real term "
        "is relu(1 - logits_real) and the fake term relu(1 + logits_fake)":
            0.5 * (F.relu(1 + r).mean() + F.relu(1 - f).mean()),
        "the relu is missing: a hinge stops at the margin (relu(1 - real)), so confident "
        "patches contribute 0, not a negative loss":
            0.5 * ((1 - r).mean() + (1 + f).mean()),
        "this is the cross-entropy (non-saturating) GAN loss, softplus(-real) + softplus(fake); "
        "the hinge loss uses relu(1 - real) and relu(1 + fake)":
            0.5 * (F.softplus(-r).mean() + F.softplus(f).mean()),
        "the margin is 1: relu(1 - real) and relu(1 + fake), not relu(-real) and relu(fake)":
            0.5 * (F.relu(-r).mean() + F.relu(f).mean()),
        "apply the relu to every logit, then take the mean (the relu of the mean lets "
        "confident patches cancel unsure ones)":
            0.5 * (F.relu(1 - r.mean()) + F.relu(1 + f.mean())),
        "this is the generator's loss, -mean(logits_fake); the discriminator's hinge loss "
        "is 0.5 * (mean relu(1 - real) + mean relu(1 + fake))": -f.mean(),
        "use means over all elements, not sums":
            0.5 * (F.relu(1 - r).sum() + F.relu(1 + f).sum()),
    }


@public_check("hinge_d_loss", reference=ref.hinge_d_loss)
def check_hinge_d_loss(fn) -> None:
    """Patch logits on both sides of the margins, separate means, a scalar with gradients."""
    real, fake = _logits()
    out = attempt(fn, real.clone(), fake.clone())
    expect(isinstance(out, torch.Tensor),
           f"return a torch tensor (0-dim), got {type(out).__name__}: keep it a tensor so "
           "the discriminator can be trained with it.")
    expect(out.dim() == 0, f"return one number (a 0-dim tensor), got shape {list(out.shape)}: "
           "average over every element, batch and patches alike.")
    want = float(ref.hinge_d_loss(real, fake))
    reject_slips(float(out), {m: float(v) for m, v in _hinge_slips(real, fake).items()},
                 want=want, tol=1e-5)
    expect(close(float(out), want, 1e-5),
           f"on these logits the loss should be {want:.5f}, got {float(out):.5f}.")
    # different numbers of real and fake logits: two separate means, not one pooled mean
    real3, fake3 = real[:1], torch.cat([fake, fake[:1] - 1.0])  # [1, ...] and [3, ...]
    got = float(attempt(fn, real3.clone(), fake3.clone()))
    pooled = torch.cat([F.relu(1 - real3).flatten(), F.relu(1 + fake3).flatten()]).mean()
    want = float(ref.hinge_d_loss(real3, fake3))
    reject_slips(got, {"with 1 real and 3 fake images you pooled all the terms into one mean: "
                       "take the mean of the real terms and the mean of the fake terms "
                       "separately, then average the two": float(pooled)}, want=want)
    expect(close(got, want, 1e-5), f"with 1 real and 3 fake images the loss should be "
           f"{want:.5f}, got {got:.5f}.")
    r = real.clone().requires_grad_(True)
    f = fake.clone().requires_grad_(True)
    out = attempt(fn, r, f)
    expect(isinstance(out, torch.Tensor) and out.requires_grad,
           "the loss carries no gradient: no .item(), .detach() or numpy inside.")
    out.backward()
    r2, f2 = real.clone().requires_grad_(True), fake.clone().requires_grad_(True)
    ref.hinge_d_loss(r2, f2).backward()
    expect(r.grad is not None and f.grad is not None and close(r.grad, r2.grad)
           and close(f.grad, f2.grad),
           "the value is right but the gradient is not: is something detached or clamped?")


# ----------------------------------------------------------------------------- adaptive_weight


def _setup(scale_adv: float = 1.0, dead_adv: bool = False):
    """A tiny decoder: x_hat = h W^T, W [3, 4] the last layer: (rec_loss, g_loss, W)."""
    g = torch.Generator().manual_seed(2)
    h = torch.randn(6, 4, generator=g)  # [B, 4] features before the last layer
    x = torch.randn(6, 3, generator=g)  # [B, 3] targets
    w = (torch.randn(3, 4, generator=g) * 0.5).requires_grad_(True)  # last layer [3, 4]
    d = torch.randn(3, generator=g)  # a fixed linear "discriminator"
    x_hat = h @ w.t()  # [B, 3]
    rec = (x - x_hat).abs().mean()
    g_loss = -(x_hat @ d).mean() * scale_adv
    if dead_adv:
        g_loss = 0.0 * x_hat.sum() + 0.1
    return rec, g_loss, w


def _grads(scale_adv=1.0):
    rec, g_loss, w = _setup(scale_adv)
    g_rec = torch.autograd.grad(rec, w, retain_graph=True)[0]
    g_adv = torch.autograd.grad(g_loss, w)[0]
    return rec.detach(), g_loss.detach(), g_rec, g_adv


def _weight_slips(scale_adv=1.0, delta=1e-4):
    rec, g_loss, g_rec, g_adv = _grads(scale_adv)
    a, b = g_rec.norm(), g_adv.norm()
    return {
        "the ratio is upside down: lambda = ||grad of rec_loss|| / (||grad of g_loss|| + "
        "delta), so a strong adversarial gradient makes lambda small": b / (a + delta),
        "use the norms of the gradients, not their squares": a ** 2 / (b ** 2 + delta),
        "lambda compares the gradients of the two losses at the last layer, not the losses "
        "themselves": rec.abs() / (g_loss.abs() + delta),
        "you called .backward() and read last_layer.grad, so the two gradients added up in "
        ".grad (and the optimizer would see them too): use torch.autograd.grad(loss, "
        "last_layer, retain_graph=True), which returns the gradient without touching .grad":
            a / ((g_rec + g_adv).norm() + delta),
        "use the Frobenius (L2) norm of each gradient tensor, not the mean absolute value":
            g_rec.abs().mean() / (g_adv.abs().mean() + delta),
        "use the Frobenius (L2) norm of each gradient tensor, not the L1 norm":
            g_rec.abs().sum() / (g_adv.abs().sum() + delta),
        "lambda itself is the ratio of the gradient norms; the discriminator weight (0.8 in "
        "taming-transformers' configs) multiplies it outside this function":
            0.8 * a / (b + delta),
    }


@public_check("adaptive_weight", reference=ref.adaptive_weight)
def check_adaptive_weight(fn) -> None:
    """A tiny decoder's last layer: the value, the classic slips, delta and max_weight, a
    detached result, a graph kept for the backward pass, .grad left alone."""
    rec, g_loss, w = _setup()
    out = attempt(fn, rec, g_loss, w)
    expect(isinstance(out, torch.Tensor),
           f"return a torch tensor (0-dim), got {type(out).__name__}.")
    expect(out.numel() == 1 and out.dim() == 0,
           f"return one number (a 0-dim tensor), got shape {list(out.shape)}.")
    expect(not out.requires_grad,
           "lambda still carries a gradient: .detach() it. It is a weight, and the tokenizer "
           "must not be trained to change its own weight.")
    expect(w.grad is None, "last_layer.grad was filled: use torch.autograd.grad(loss, "
           "last_layer, retain_graph=True), which returns the gradient without accumulating "
           "it into .grad (the optimizer would see it).")
    want = float(ref.adaptive_weight(*_setup()))
    reject_slips(float(out), {m: float(v) for m, v in _weight_slips().items()}, want=want,
                 tol=1e-5)
    expect(close(float(out), want, 1e-5),
           f"lambda should be ||grad rec|| / (||grad g|| + 1e-4) = {want:.5f}, got "
           f"{float(out):.5f}.")
    # the graph must survive for the tokenizer's backward pass
    try:
        (rec + out * g_loss).backward()
    except RuntimeError as err:
        if "second time" in str(err) or "freed" in str(err):
            fail("after your function the graph was freed, so the tokenizer's loss can no "
                 "longer be backpropagated: pass retain_graph=True to both "
                 "torch.autograd.grad calls.")
        raise
    # delta and max_weight are honoured
    got = float(attempt(fn, *_setup(scale_adv=1e-3), delta=0.05))
    want = float(ref.adaptive_weight(*_setup(scale_adv=1e-3), delta=0.05))
    reject_slips(got, {"you ignored the delta argument (the default 1e-4 is only a default)":
                       float(ref.adaptive_weight(*_setup(scale_adv=1e-3)))}, want=want)
    expect(close(got, want, 1e-5), f"with a weak adversarial gradient and delta=0.05, lambda "
           f"should be {want:.4f}, got {got:.4f}: delta is added to the adversarial norm.")
    got = attempt(fn, *_setup(dead_adv=True), max_weight=50.0)
    expect(torch.isfinite(torch.as_tensor(got)).all(),
           "when the adversarial gradient is zero lambda came out infinite or nan: add "
           "delta to the denominator, then clamp to [0, max_weight].")
    reject_slips(float(got), {"the clamp to [0, max_weight] is missing (or max_weight is "
                              "ignored)": float(ref.adaptive_weight(
                                  *_setup(dead_adv=True), max_weight=1e9))},
                 want=50.0)
    expect(close(float(got), 50.0), f"when the adversarial gradient is zero, lambda = "
           f"||grad rec|| / delta is huge and must be clamped to max_weight = 50, got "
           f"{float(got):.4f}.")
