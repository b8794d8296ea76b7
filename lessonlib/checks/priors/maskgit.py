"""Public checks for MaskGIT decoding (lessonlib.priors.maskgit): maskgit_num_masked and
confidence_mask.

maskgit_num_masked is compared over whole schedules with the classic slips (the step not
shifted by one, ceil or round for floor, a linear schedule, the count of revealed tokens,
float32 cosine without the clamp at 0). confidence_mask is probed on small hand-made
batches where each slip (keeping the most confident, re-masking decided positions,
returning the kept positions, counting the revealed ones, one threshold for the whole
batch, editing the input in place) gives a different mask.
"""

from __future__ import annotations

import math

import torch

from lessonlib.checks.core import attempt, expect, expect_tensor, fail, public_check
from lessonlib.priors import maskgit as ref

_SCHEDULES = [(8, 49), (4, 49), (16, 49), (12, 256), (1, 10), (3, 7)]


def _schedule(fn, total, n) -> list:
    return [attempt(fn, step, total, n) for step in range(total)]


def _slip_schedules(total, n) -> list[tuple[str, list]]:
    half_pi = math.pi / 2
    f32 = [math.floor(n * float(torch.cos(torch.tensor(half_pi * (s + 1) / total))))
           for s in range(total)]
    return [
        ("off by one: after 0-based step `step`, step + 1 rounds are done; use "
         "cos(pi/2 * (step + 1) / total_steps) (with `step` alone the first step masks all "
         "tokens again and the last leaves some masked)",
         [math.floor(n * math.cos(half_pi * s / total)) for s in range(total)]),
        ("you rounded up (ceil); the count is floor(num_tokens * cos(...))",
         [math.ceil(n * math.cos(half_pi * (s + 1) / total)) for s in range(total)]),
        ("you rounded to the nearest integer; the count is floor(num_tokens * cos(...))",
         [round(n * math.cos(half_pi * (s + 1) / total)) for s in range(total)]),
        ("that is a linear schedule, num_tokens * (1 - (step + 1) / total_steps); MaskGIT "
         "uses the cosine schedule num_tokens * cos(pi/2 * (step + 1) / total_steps)",
         [math.floor(n * (1 - (s + 1) / total) + 1e-9) for s in range(total)]),
        ("you returned the number of tokens already revealed; return how many are STILL "
         "masked: floor(num_tokens * cos(pi/2 * (step + 1) / total_steps))",
         [n - math.floor(n * math.cos(half_pi * (s + 1) / total)) for s in range(total)]),
        ("the angle is pi/2 * (step + 1) / total_steps, not pi * (step + 1) / total_steps",
         [max(0, math.floor(n * math.cos(math.pi * (s + 1) / total))) for s in range(total)]),
        ("the last step gives -1: float32 cos(pi/2) is slightly negative (about -4e-8). "
         "Compute in Python floats (math.cos) and clamp with max(0, ...)", f32),
        ("that is a sine schedule; MaskGIT masks floor(num_tokens * cos(pi/2 * (step + 1) / "
         "total_steps)) tokens",
         [math.floor(n * math.sin(half_pi * (s + 1) / total)) for s in range(total)]),
    ]


@public_check("maskgit_num_masked", reference=ref.maskgit_num_masked)
def check_maskgit_num_masked(fn) -> None:
    """Whole cosine schedules (8, 4, 16 steps over 49 tokens, and more): ints, 0 at the end."""
    first = attempt(fn, 0, 8, 49)
    expect(isinstance(first, int) and not isinstance(first, bool),
           f"return a Python int (a count of tokens), got {type(first).__name__}: use "
           "math.floor (or int() of a non-negative float).")
    for total, n in _SCHEDULES:
        got = _schedule(fn, total, n)
        want = [ref.maskgit_num_masked(s, total, n) for s in range(total)]
        if got == want:
            continue
        for message, wrong in _slip_schedules(total, n):
            if wrong != want:
                expect(got != wrong, message + ".")
        expect(got[-1] == 0, f"after the last step ({total} steps, {n} tokens) nothing may "
               f"stay masked, got {got[-1]}.")
        fail(f"{total} steps over {n} tokens: still masked after each step should be {want}, "
             f"got {got}.")


def _batch():
    """confidence [3, 8] (distinct values), mask [3, 8] with 5, 6 and 5 masked positions."""
    confidence = torch.tensor([
        [0.9, 0.1, 0.5, 0.3, 0.8, 0.05, 0.7, 0.2],
        [0.4, 0.6, 0.15, 0.95, 0.25, 0.35, 0.85, 0.45],
        [0.3, 0.01, 0.02, 0.6, 0.7, 0.8, 0.9, 0.5],
    ])
    mask = torch.tensor([
        [True, False, True, True, True, False, True, False],
        [True, True, True, True, True, True, False, False],
        [True, False, False, True, True, True, True, False],
    ])
    return confidence, mask


def _lowest_among(conf, mask, k, largest=False) -> torch.Tensor:
    fill = float("-inf") if largest else float("inf")
    idx = conf.masked_fill(~mask, fill).topk(k, dim=1, largest=largest).indices
    return torch.zeros_like(mask).scatter_(1, idx, True)


def _mask_slips(conf, mask, k) -> list[tuple[str, torch.Tensor]]:
    n_now = int(mask.sum(1).min())
    slips = [
        ("you kept the MOST confident positions masked: re-mask the lowest-confidence ones "
         "(the model is least sure of them), and reveal the most confident",
         _lowest_among(conf, mask, k, largest=True)),
        ("a position that is already unmasked was masked again: only the positions masked "
         "now can stay masked (give the others +inf confidence, or select among "
         "mask == True only)",
         torch.zeros_like(mask).scatter_(1, conf.topk(k, dim=1, largest=False).indices,
                                         True)),
        ("you returned the positions to reveal (True = unmasked now); the new mask is True "
         "where a position stays MASKED", mask & ~_lowest_among(conf, mask, k)),
        ("the mask came out inverted: True means still masked",
         ~_lowest_among(conf, mask, k)),
    ]
    if n_now - k >= 0:
        slips.append(("num_masked is how many stay masked after this step, not how many to "
                      "reveal", _lowest_among(conf, mask, max(0, n_now - k))))
    flat = conf.masked_fill(~mask, float("inf")).reshape(-1)
    threshold = flat.sort().values[k * conf.shape[0] - 1]
    slips.append(("you chose the positions with one threshold for the whole batch; each row "
                  "keeps exactly num_masked positions masked (select per row, dim=1)",
                  mask & (conf <= threshold)))
    return slips


def _probe_case(fn, conf, mask, k, label) -> None:
    conf_in, mask_in = conf.clone(), mask.clone()
    out = attempt(fn, conf_in, mask_in, k)
    expect(torch.equal(mask_in, mask) and torch.equal(conf_in, conf),
           "your function changed its inputs in place: build a new mask (torch.zeros_like "
           "+ scatter, or clone first).")
    expect_tensor(out, tuple(mask.shape), f"the new mask ({label})")
    expect(out.dtype == torch.bool, f"the new mask should be a BoolTensor, got {out.dtype}.")
    want = ref.confidence_mask(conf, mask, k)
    if torch.equal(out, want):
        return
    for message, wrong in _mask_slips(conf, mask, k):
        if not torch.equal(wrong, want):
            expect(not torch.equal(out, wrong), message + ".")
    expect(bool((out & ~mask).sum() == 0), "a position that is already unmasked was masked "
           "again: only positions masked now may stay masked.")
    expect(bool((out.sum(1) == k).all()), f"each row should keep exactly num_masked = {k} "
           f"positions masked, got {out.sum(1).tolist()} ({label}).")
    fail(f"{label}: the positions kept masked should be the {k} lowest-confidence ones among "
         "those masked now.")


@public_check("confidence_mask", reference=ref.confidence_mask)
def check_confidence_mask(fn) -> None:
    """A batch of 3 rows at num_masked 3, 1 and 0; a fully masked first step; a 49-token row."""
    conf, mask = _batch()
    for k in (3, 1, 0):
        _probe_case(fn, conf, mask, k, f"num_masked={k}")
    g = torch.Generator().manual_seed(9)
    full_conf = torch.rand(4, 49, generator=g)
    _probe_case(fn, full_conf, torch.ones(4, 49, dtype=torch.bool), 42,
                "first step, everything masked, num_masked=42")
    later = torch.rand(4, 49, generator=g) < 0.5
    later[:, :20] = True  # at least 20 masked in every row
    _probe_case(fn, full_conf, later, 12, "49 tokens, num_masked=12")
