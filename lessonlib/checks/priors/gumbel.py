"""Public check for the Gumbel-softmax (lessonlib.priors.gumbel.gumbel_softmax).

The probes call the learner's function with a seeded generator, so the noise it draws can
be reproduced here exactly: the same uniforms u give the reference sample, and the classic
slips computed on the same u name the mistake (log of the logits, one log missing,
temperature in the wrong place, the wrong axis, a second noise draw for the hard sample,
the straight-through with the detach on the wrong side). A statistical probe then checks
that the argmax of the samples follows softmax(logits).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lessonlib.checks.core import (
    attempt,
    close,
    expect,
    expect_tensor,
    fail,
    public_check,
    reject_slips,
)
from lessonlib.priors import gumbel as ref

_SEED = 1234


def _gen(seed: int = _SEED) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _uniforms(shape, seed: int = _SEED) -> torch.Tensor:
    """The uniforms the learner's torch.rand(shape, generator=...) draws (float32)."""
    info = torch.finfo(torch.float32)
    return torch.rand(shape, generator=_gen(seed)).clamp(info.tiny, 1 - info.eps)


def _probe_logits() -> torch.Tensor:
    """[3, 4, 5] positive logits (so that a log of the logits is finite and nameable)."""
    g = torch.Generator().manual_seed(5)
    return 0.5 + 3 * torch.rand(3, 4, 5, generator=g)


def _soft_slips(logits: torch.Tensor, tau: float, u: torch.Tensor) -> list:
    """(message, sample that mistake gives on the same uniforms u)."""
    g = -torch.log(-torch.log(u))
    return [
        ("you took the log of the logits: logits are already log-probabilities (up to a "
         "constant), so add the noise to them directly, softmax((logits + g) / tau). "
         "log(logits) + g samples something else (for logits 1, 2, 3: 1/6, 1/3, 1/2 instead "
         "of softmax's 0.09, 0.24, 0.67)",
         F.softmax((torch.log(logits) + g) / tau, dim=-1)),
        ("the noise is -log(u), an exponential variable; Gumbel noise needs two logs: "
         "g = -log(-log(u))", F.softmax((logits - torch.log(u)) / tau, dim=-1)),
        ("the noise has the wrong sign: g = -log(-log(u)), with a minus in front of the "
         "outer log", F.softmax((logits + torch.log(-torch.log(u))) / tau, dim=-1)),
        ("you added the uniform u itself; the noise is g = -log(-log(u))",
         F.softmax((logits + u) / tau, dim=-1)),
        ("no noise: softmax(logits / tau) is a deterministic relaxation, not a sample; add "
         "g = -log(-log(u)) to the logits first", F.softmax(logits / tau, dim=-1)),
        ("the temperature multiplies; it divides: softmax((logits + g) / tau)",
         F.softmax((logits + g) * tau, dim=-1)),
        ("the temperature divides only the noise; it divides logits + g together",
         F.softmax(logits + g / tau, dim=-1)),
        ("the temperature divides only the logits; it divides logits + g together",
         F.softmax(logits / tau + g, dim=-1)),
        ("the softmax runs over the wrong dimension: use dim=-1 (the K categories)",
         F.softmax((logits + g) / tau, dim=0)),
        ("the softmax runs over the wrong dimension: use dim=-1 (the K categories)",
         F.softmax((logits + g) / tau, dim=1)),
        ("one noise value per category shared by every row: draw noise of the full shape "
         "of the logits",
         F.softmax((logits + g.reshape(-1)[:logits.shape[-1]]) / tau, dim=-1)),
    ]


def _call(fn, logits, tau, hard, seed=_SEED):
    out = attempt(fn, logits, tau, hard, _gen(seed))
    expect_tensor(out, tuple(logits.shape), f"gumbel_softmax(logits of shape "
                  f"{list(logits.shape)}, hard={hard})")
    return out


def _probe_reproducible(fn) -> None:
    """Two calls with identically seeded generators must draw the same noise."""
    logits = _probe_logits()
    a = _call(fn, logits.clone(), 0.7, False)
    b = _call(fn, logits.clone(), 0.7, False)
    expect(torch.equal(a.detach(), b.detach()),
           "two calls with identically seeded generators gave different samples: draw the "
           "uniforms with torch.rand(logits.shape, generator=generator) (torch.rand_like and "
           "F.gumbel_softmax ignore the generator).")
    c = _call(fn, logits.clone(), 0.7, False, seed=_SEED + 1)
    expect(not torch.equal(a.detach(), c.detach()),
           "different generators gave the same sample: is there any noise at all? Draw u "
           "with torch.rand(logits.shape, generator=generator) inside the function and add "
           "g = -log(-log(u)) to the logits.")


def _probe_soft_values(fn) -> None:
    """hard=False at two temperatures, against the same noise draw."""
    logits = _probe_logits()
    u = _uniforms(logits.shape)
    for tau in (0.7, 2.0):
        got = _call(fn, logits.clone(), tau, False).detach().float()
        want = F.softmax((logits + -torch.log(-torch.log(u))) / tau, dim=-1)
        expect(bool(torch.isfinite(got).all()), "the sample holds NaN or inf: keep u inside "
               "(0, 1) before the logs (torch.rand can return exactly 0).")
        reject_slips(got, _soft_slips(logits, tau, u), want=want, tol=1e-5)
        expect(close(got.sum(-1), torch.ones(got.shape[:-1]), 1e-5),
               "each sample should sum to 1 over the last dimension (a softmax over the K "
               "categories).")
        expect(close(got, want, 1e-5),
               f"tau={tau}: the sample differs from softmax((logits + g) / tau) with "
               "g = -log(-log(u)), u = torch.rand(logits.shape, generator=generator).")


def _probe_hard(fn) -> None:
    """hard=True: exact one-hot of argmax of the same soft sample; straight-through grad."""
    logits = _probe_logits()
    tau = 0.8
    soft = ref.gumbel_softmax(logits, tau, False, _gen())
    leaf = logits.clone().requires_grad_(True)
    got = _call(fn, leaf, tau, True)
    values = got.detach()
    one_hot = F.one_hot(values.argmax(-1), values.shape[-1]).to(values.dtype)
    expect(bool(((values == 0) | (values == 1)).all())
           or not bool(((values - one_hot).abs() < 1e-5).all()),
           "the hard sample is one-hot only up to rounding (values like 0.99999994): "
           "y_hard + y - y.detach() computes (1 + y) - y, which float32 does not always round "
           "back to 1. Subtract first: y_hard - y.detach() + y, whose forward value is "
           "exactly one-hot.")
    expect(bool(((values == 0) | (values == 1)).all()),
           "hard=True should return exact one-hot vectors (0s and one 1 per row): "
           "y_hard - y.detach() + y is exactly one-hot in the forward pass; a softmax at a "
           "tiny temperature is not.")
    expect(bool((values.sum(-1) == 1).all()), "each hard sample needs exactly one 1.")
    want_index = soft.argmax(-1)
    if not torch.equal(values.argmax(-1), want_index):
        expect(not torch.equal(values.argmax(-1), logits.argmax(-1)),
               "the hard sample is the argmax of the logits, without noise: take the argmax "
               "of the noisy soft sample y.")
        fail("the hard sample is not the one-hot of argmax y for the same noise draw: draw "
             "the noise once, compute y = softmax((logits + g) / tau), and take its argmax "
             "(a second call to torch.rand gives a different sample).")
    expect(got.requires_grad, "the hard sample carries no gradient: return the straight-"
           "through y_hard - y.detach() + y, not the one-hot alone.")
    w = torch.linspace(-1.0, 2.0, logits.numel()).reshape(logits.shape)
    (got * w).sum().backward()
    leaf_soft = logits.clone().requires_grad_(True)
    (ref.gumbel_softmax(leaf_soft, tau, False, _gen()) * w).sum().backward()
    grad, want_grad = leaf.grad, leaf_soft.grad
    expect(grad is not None, "no gradient reached the logits.")
    reject_slips(grad, {
        "the gradient has the wrong sign: the detach is on the wrong side; write "
        "y_hard - y.detach() + y": -want_grad,
        "the gradient is zero: the one-hot (argmax) has no gradient; add the straight-"
        "through y_hard - y.detach() + y": torch.zeros_like(want_grad),
    }, want=want_grad, tol=1e-5)
    expect(close(grad, want_grad, 1e-5),
           "the gradient of the hard sample should be the gradient of the soft sample y "
           "(straight-through: y_hard - y.detach() + y).")


def _probe_frequencies(fn) -> None:
    """Gumbel-max: the argmax of many samples follows softmax(logits), not the logits."""
    n = 20_000
    logits = torch.tensor([1.0, 2.0, 3.0]).expand(n, 3).clone()  # [N, 3]
    hard = _call(fn, logits, 1.0, True, seed=7).detach()
    freq = hard.double().mean(0)  # [3]
    want = F.softmax(torch.tensor([1.0, 2.0, 3.0]), dim=0).double()
    reject_slips(freq, {
        "the argmax frequencies follow logits / sum(logits) (1/6, 1/3, 1/2): you took the "
        "log of the logits as if they were probabilities; add the noise to the logits "
        "directly": torch.tensor([1 / 6, 2 / 6, 3 / 6], dtype=torch.float64),
    }, want=want, tol=0.02, same=lambda a, b: bool(((a - b).abs() < 0.02).all()))
    expect(bool(((freq - want).abs() < 0.02).all()),
           f"over {n:,} samples for logits (1, 2, 3) the one-hot lands on each category with "
           f"frequencies {[round(v, 3) for v in freq.tolist()]}, but softmax(logits) is "
           f"{[round(v, 3) for v in want.tolist()]}: the noise must be standard Gumbel, "
           "-log(-log(u)) with u uniform.")


@public_check("gumbel_softmax", reference=ref.gumbel_softmax)
def check_gumbel_softmax(fn) -> None:
    """Reproducible noise, the soft sample at two temperatures, the hard straight-through
    sample and its gradient, and Gumbel-max frequencies."""
    _probe_reproducible(fn)
    _probe_soft_values(fn)
    _probe_hard(fn)
    _probe_frequencies(fn)
