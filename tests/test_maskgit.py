"""lessonlib.priors.maskgit: the cosine schedule, confidence masking against a brute-force
oracle, training masks and iterative decoding."""

from __future__ import annotations

import math

import pytest
import torch

from lessonlib.priors.maskgit import (
    confidence_mask,
    cosine_mask,
    maskgit_decode,
    maskgit_loss,
    maskgit_num_masked,
)
from lessonlib.priors.transformer import TokenTransformer


def test_num_masked_for_8_steps_over_49_tokens():
    # floor(49 cos(pi/2 * s/8)) for s = 1..8, computed by hand
    assert [maskgit_num_masked(s, 8, 49) for s in range(8)] == [48, 45, 40, 34, 27, 18, 9, 0]


@pytest.mark.parametrize("total,n", [(1, 49), (4, 49), (16, 49), (12, 256), (100, 7)])
def test_num_masked_is_a_nonincreasing_int_schedule_ending_at_zero(total, n):
    counts = [maskgit_num_masked(s, total, n) for s in range(total)]
    assert all(isinstance(c, int) for c in counts)
    assert counts[-1] == 0 and all(0 <= c < n for c in counts)
    assert all(a >= b for a, b in zip(counts, counts[1:]))
    assert counts == [max(0, math.floor(n * math.cos(math.pi / 2 * (s + 1) / total)))
                      for s in range(total)]


def test_float32_cosine_would_go_negative_at_the_last_step():
    last = float(torch.cos(torch.tensor(math.pi / 2)))
    assert last < 0 and math.floor(49 * last) == -1
    assert maskgit_num_masked(7, 8, 49) == 0


def oracle_confidence_mask(confidence, mask, k):
    out = torch.zeros_like(mask)
    for b in range(mask.shape[0]):
        masked = [i for i in range(mask.shape[1]) if mask[b, i]]
        for i in sorted(masked, key=lambda i: float(confidence[b, i]))[:k]:
            out[b, i] = True
    return out


@pytest.mark.parametrize("seed", range(5))
def test_confidence_mask_matches_a_sorting_oracle(seed):
    g = torch.Generator().manual_seed(seed)
    conf = torch.rand(6, 49, generator=g)
    mask = torch.rand(6, 49, generator=g) < 0.6
    mask[:, :15] = True
    k = int(torch.randint(0, 16, (1,), generator=g))
    out = confidence_mask(conf.clone(), mask.clone(), k)
    assert out.dtype == torch.bool
    assert torch.equal(out, oracle_confidence_mask(conf, mask, k))
    assert not (out & ~mask).any(), "never re-mask a decided position"
    assert (out.sum(1) == k).all()


def test_confidence_mask_leaves_its_inputs_alone():
    conf, mask = torch.rand(2, 5), torch.ones(2, 5, dtype=torch.bool)
    c0, m0 = conf.clone(), mask.clone()
    confidence_mask(conf, mask, 2)
    assert torch.equal(conf, c0) and torch.equal(mask, m0)


def test_cosine_mask_counts_follow_the_schedule():
    tokens = torch.zeros(20_000, 49, dtype=torch.long)
    mask = cosine_mask(tokens, torch.Generator().manual_seed(0))
    counts = mask.sum(1).double()
    assert counts.min() >= 1 and counts.max() <= 49
    # E[ceil(49 cos(pi r / 2))], r ~ U(0, 1): about 49 * 2/pi + 1/2
    assert float(counts.mean()) == pytest.approx(49 * 2 / math.pi + 0.5, abs=0.3)


def tiny_maskgit():
    torch.manual_seed(0)
    return TokenTransformer(num_codes=7, num_positions=9, num_classes=2, d_model=32,
                            n_layers=1, n_heads=4, dropout=0.0, causal=False)


def test_maskgit_loss_is_finite_and_differentiable():
    model = tiny_maskgit()
    tokens = torch.randint(0, 7, (8, 9), generator=torch.Generator().manual_seed(1))
    loss = maskgit_loss(model, tokens, torch.zeros(8, dtype=torch.long),
                        torch.Generator().manual_seed(2))
    loss.backward()
    assert torch.isfinite(loss) and model.head.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("steps", [1, 4, 8])
def test_decoding_reveals_tokens_on_schedule(steps):
    model = tiny_maskgit()
    labels = torch.tensor([0, 1, 2])
    tokens, history = maskgit_decode(model, labels, total_steps=steps, keep_history=True,
                                     generator=torch.Generator().manual_seed(3))
    assert tokens.shape == (3, 9) and (tokens < 7).all() and (tokens >= 0).all()
    assert len(history) == steps
    for s, grid in enumerate(history):
        assert ((grid == -1).sum(1) == maskgit_num_masked(s, steps, 9)).all()
    for before, after in zip(history, history[1:]):  # decided tokens never change
        decided = before >= 0
        assert torch.equal(after[decided], before[decided])
    assert torch.equal(history[-1], tokens)


def test_decoding_uses_the_given_schedule_functions():
    model = tiny_maskgit()
    seen = []

    def num_masked(step, total, n):
        seen.append((step, total, n))
        return maskgit_num_masked(step, total, n)

    maskgit_decode(model, torch.tensor([0]), total_steps=3, num_masked_fn=num_masked)
    assert seen == [(0, 3, 9), (1, 3, 9), (2, 3, 9)]
