"""Pitfall clinic: Gumbel-max on the log of the logits (fix_gumbel_max).

The trick is argmax_k(log pi_k + g_k) for probabilities pi. Logits already are
log-probabilities up to a constant, so the noise goes on the logits themselves. Taking
torch.log of the logits treats them as probabilities: a negative logit gives NaN (and
argmax returns the NaN), a positive one is sampled in proportion to the logit. Clamping the
logits before the log removes the NaN (the symptom) and keeps the wrong distribution.

The probes draw with seeded generators, so the learner's noise can be reproduced here and
every classic slip computed on the same uniforms.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lessonlib.checks.core import (
    attempt,
    expect,
    expect_tensor,
    fail,
    public_check,
    reject_slips,
)
from lessonlib.priors import gumbel

_SEED = 2024
# mixed signs: a log of the logits gives NaN for the negative ones
_LOGITS = torch.tensor([[-1.0, 0.5, 2.0, -3.0], [0.3, -0.2, 1.1, 0.0], [2.5, -1.5, 0.7, 1.0]])


def _gen(seed: int = _SEED) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _draw(fn, logits: torch.Tensor, seed: int = _SEED) -> torch.Tensor:
    out = attempt(fn, logits.clone(), _gen(seed))
    shape = tuple(logits.shape[:-1])
    expect_tensor(out, shape, f"the samples for logits of shape {list(logits.shape)} (one "
                  "category index per row)", {tuple(logits.shape): "you returned a vector per "
                  "row (a one-hot or a softmax): return the index of the sampled category, "
                  "argmax over the last dimension."})
    expect(not out.is_floating_point(), "return category indices as integers (argmax gives "
           f"torch.long), got {out.dtype}.")
    return out


def _slips(logits: torch.Tensor, seed: int = _SEED) -> list[tuple[str, torch.Tensor]]:
    """(message, the samples that mistake gives with the same generator)."""
    u = torch.rand(logits.shape, generator=_gen(seed))
    g = -torch.log(-torch.log(u))
    normal = torch.randn(logits.shape, generator=_gen(seed))
    return [
        ("you still take the log of the logits: logits already are log-probabilities (up to "
         "a constant), so the noise goes on them directly, argmax(logits + g). log(logits) "
         "is NaN for a negative logit, and argmax returns the NaN",
         (torch.log(logits) + g).argmax(-1)),
        ("the NaN is gone, but clamping the logits before the log keeps the bug: the samples "
         "follow the clamped logits as if they were probabilities, not softmax(logits). Drop "
         "the log: argmax(logits + g)",
         (torch.log(logits.clamp_min(1e-12)) + g).argmax(-1)),
        ("the NaN is gone, but the noise is now added to the probabilities softmax(logits); "
         "Gumbel-max needs log-probabilities: argmax(logits + g) (or log_softmax(logits) + g)",
         (F.softmax(logits, dim=-1) + g).argmax(-1)),
        ("the noise is Gaussian: Gumbel-max needs standard Gumbel noise g = -log(-log(u)) with "
         "u uniform; normal noise samples another distribution",
         (logits + normal).argmax(-1)),
        ("the noise is -log(u), an exponential variable; Gumbel noise needs two logs: "
         "g = -log(-log(u))", (logits - torch.log(u)).argmax(-1)),
        ("the noise has the wrong sign: g = -log(-log(u))",
         (logits + torch.log(-torch.log(u))).argmax(-1)),
        ("no noise: argmax(logits) always returns the most likely category, it does not "
         "sample", logits.argmax(-1)),
        ("argmin instead of argmax", (logits + g).argmin(-1)),
    ]


def _probe_draws(fn) -> None:
    """The same uniforms as torch.rand(logits.shape, generator=...): the exact samples."""
    logits = _LOGITS.repeat(50, 1)  # [150, 4]
    got = _draw(fn, logits).long()
    want = gumbel.gumbel_max_sample(logits, _gen())
    reject_slips(got, _slips(logits), want=want, same=torch.equal)
    if not torch.equal(got, want):
        again = _draw(fn, logits).long()
        expect(torch.equal(got, again), "two calls with identically seeded generators gave "
               "different samples: draw the uniforms with torch.rand(logits.shape, "
               "generator=generator), as the original function did.")
        _probe_frequencies(fn)  # names a wrong distribution, if that is the trouble
        fail("the samples follow softmax(logits), but they are not argmax(logits + g) for the "
             "uniforms u = torch.rand(logits.shape, generator=generator) drawn once: keep the "
             "noise draw of the original function.")


def _probe_frequencies(fn) -> None:
    """Many rows of the same logits: the sampled categories follow softmax(logits)."""
    n = 20_000
    row = _LOGITS[0]  # [-1, 0.5, 2, -3]
    got = _draw(fn, row.expand(n, 4).contiguous(), seed=7).long()
    freq = torch.bincount(got.clamp(0, 3), minlength=4).double() / n
    want = F.softmax(row.double(), dim=0)
    expect(bool(((freq - want).abs() < 0.015).all()), f"over {n:,} draws for logits "
           f"{row.tolist()} the categories came out with frequencies "
           f"{[round(v, 3) for v in freq.tolist()]}, but softmax(logits) is "
           f"{[round(v, 3) for v in want.tolist()]}.")


@public_check("fix_gumbel_max", reference=gumbel.gumbel_max_sample)
def check_fix_gumbel_max(fn) -> None:
    """Shape, the exact draws for seeded noise (slips named), reproducibility, frequencies."""
    for shape in ((5,), (2, 3, 6)):  # one row, and a batch of grids
        logits = torch.linspace(-2.0, 2.0, int(torch.tensor(shape).prod())).reshape(shape)
        _draw(fn, logits)
    _probe_draws(fn)
    other = _draw(fn, _LOGITS.repeat(50, 1), seed=_SEED + 1).long()
    expect(not torch.equal(other, _draw(fn, _LOGITS.repeat(50, 1)).long()), "different "
           "generators gave the same samples: draw the noise from the generator argument.")
    _probe_frequencies(fn)
