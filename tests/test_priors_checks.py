"""The chapter-10 public checks name slips beyond those in tests/wrong/, and accept
correct implementations written differently from the reference."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from lessonlib.checks.priors import (
    check_bits_per_token,
    check_causal_mask,
    check_confidence_mask,
    check_frechet_distance,
    check_gumbel_softmax,
    check_maskgit_num_masked,
)


def _gumbel(noise_fn, scale=lambda x, tau: x / tau):
    def fn(logits, tau=1.0, hard=False, generator=None):
        u = torch.rand(logits.shape, generator=generator, dtype=logits.dtype).clamp(1e-30, 1)
        y = F.softmax(scale(logits + noise_fn(u), tau), dim=-1)
        if not hard:
            return y
        y_hard = F.one_hot(y.argmax(-1), y.shape[-1]).to(y.dtype)
        return y_hard - y.detach() + y
    return fn


@pytest.mark.parametrize("fn,pattern", [
    (_gumbel(lambda u: -torch.log(u)), "two logs"),
    (_gumbel(lambda u: torch.log(-torch.log(u))), "wrong sign"),
    (_gumbel(lambda u: -torch.log(-torch.log(u)), scale=lambda x, tau: x * tau),
     "multiplies"),
    (_gumbel(lambda u: torch.zeros_like(u)), "any noise at all"),
])
def test_gumbel_check_names_more_slips(fn, pattern):
    result = check_gumbel_softmax.run(fn)
    assert result.status == "wrong" and pattern in result.message, result


def test_gumbel_check_accepts_a_different_but_equal_formula():
    def fn(logits, tau=1.0, hard=False, generator=None):
        u = torch.rand(logits.shape, generator=generator, dtype=logits.dtype)
        u = u.clamp(1e-12, 1 - 1e-7)
        y = torch.exp(F.log_softmax((logits - torch.log(-torch.log(u))) / tau, dim=-1))
        if hard:
            index = y.max(dim=-1, keepdim=True).indices
            y = torch.zeros_like(y).scatter(-1, index, 1.0) + (y - y.detach())
        return y

    assert check_gumbel_softmax.run(fn).passed


def test_gumbel_check_names_the_rounding_of_the_straight_through_order():
    def fn(logits, tau=1.0, hard=False, generator=None):
        u = torch.rand(logits.shape, generator=generator, dtype=logits.dtype).clamp(1e-30, 1)
        y = F.softmax((logits - torch.log(-torch.log(u))) / tau, dim=-1)
        if not hard:
            return y
        return F.one_hot(y.argmax(-1), y.shape[-1]).to(y.dtype) + y - y.detach()

    result = check_gumbel_softmax.run(fn)
    assert result.status == "wrong" and "rounding" in result.message, result


def test_causal_mask_check_accepts_a_comparison_of_aranges():
    def fn(n):
        i = torch.arange(n)
        return i.unsqueeze(1) >= i.unsqueeze(0)

    assert check_causal_mask.run(fn).passed


def test_num_masked_check_rejects_floats_and_a_linear_schedule():
    assert "int" in check_maskgit_num_masked.run(
        lambda s, t, n: n * math.cos(math.pi / 2 * (s + 1) / t)).message
    linear = check_maskgit_num_masked.run(lambda s, t, n: math.floor(n * (1 - (s + 1) / t)))
    assert linear.status == "wrong" and "linear" in linear.message


def test_confidence_mask_check_names_in_place_edits():
    def fn(confidence, mask, num_masked):
        conf = confidence.masked_fill_(~mask, float("inf"))
        idx = conf.topk(num_masked, dim=1, largest=False).indices
        return torch.zeros_like(mask).scatter_(1, idx, True)

    result = check_confidence_mask.run(fn)
    assert result.status == "wrong" and "in place" in result.message


def test_bits_check_names_log10_and_tensor_returns():
    def log10(logits, targets):
        k = logits.shape[-1]
        return float(F.cross_entropy(logits.reshape(-1, k), targets.reshape(-1))) / math.log(10)

    assert "log10" in check_bits_per_token.run(log10).message

    def tensor(logits, targets):
        k = logits.shape[-1]
        return F.cross_entropy(logits.reshape(-1, k), targets.reshape(-1)) / math.log(2)

    assert "float" in check_bits_per_token.run(tensor).message


def test_frechet_check_names_the_sqrt_of_the_trace_and_the_missing_square():
    def sqrt_trace(mu1, s1, mu2, s2):
        s1, s2 = s1.double(), s2.double()
        return float((mu1 - mu2).double().pow(2).sum() + torch.trace(s1 + s2)
                     - 2 * torch.trace(s1 @ s2).clamp_min(0).sqrt())

    def norm(mu1, s1, mu2, s2):
        s1, s2 = s1.double(), s2.double()
        root = torch.linalg.eigvals(s1 @ s2).real.clamp_min(0).sqrt().sum()
        return float((mu1 - mu2).double().norm() + torch.trace(s1 + s2) - 2 * root)

    assert "trace" in check_frechet_distance.run(sqrt_trace).message
    assert "SQUARED" in check_frechet_distance.run(norm).message
