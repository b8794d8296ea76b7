"""lessonlib.priors.masks.causal_mask and the transformer prior that uses it, against
F.scaled_dot_product_attention with is_causal=True and against brute-force decoding."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lessonlib.priors.autoregressive import ar_logits, sample_autoregressive
from lessonlib.priors.masks import causal_mask
from lessonlib.priors.transformer import TokenTransformer


@pytest.mark.parametrize("n", [1, 2, 7, 50])
def test_causal_mask_equals_sdpa_is_causal(n):
    g = torch.Generator().manual_seed(n)
    q, k, v = (torch.randn(2, 3, n, 8, generator=g) for _ in range(3))
    ours = F.scaled_dot_product_attention(q, k, v, attn_mask=causal_mask(n))
    theirs = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert torch.allclose(ours, theirs, atol=1e-6)


def test_causal_mask_is_the_lower_triangle_of_booleans():
    m = causal_mask(4)
    assert m.dtype == torch.bool and m.shape == (4, 4)
    for i in range(4):
        for j in range(4):
            assert bool(m[i, j]) == (j <= i)


def small_prior(causal: bool, seed: int = 0) -> TokenTransformer:
    torch.manual_seed(seed)
    model = TokenTransformer(num_codes=11, num_positions=9, num_classes=3, d_model=32,
                             n_layers=2, n_heads=4, dropout=0.0, causal=causal)
    return model.eval()


def test_causal_prior_never_looks_at_the_future():
    model = small_prior(True)
    g = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, 11, (4, 9), generator=g)
    labels = torch.tensor([0, 1, 2, 3])  # 3 = no class
    base = ar_logits(model, tokens, labels)  # [4, 9, 11]
    changed = tokens.clone()
    changed[:, 5:] = (changed[:, 5:] + 3) % 11
    after = ar_logits(model, changed, labels)
    assert torch.allclose(base[:, :6], after[:, :6], atol=1e-6)  # rows 0..5 see t_<=4 only
    assert not torch.allclose(base[:, 6:], after[:, 6:])


def test_bidirectional_prior_looks_everywhere():
    model = small_prior(False)
    tokens = torch.randint(0, 11, (2, 9), generator=torch.Generator().manual_seed(2))
    labels = torch.tensor([0, 1])
    base = model(tokens, labels)  # [2, 9, 11]
    changed = tokens.clone()
    changed[:, -1] = (changed[:, -1] + 1) % 11
    assert not torch.allclose(base[:, 0], model(changed, labels)[:, 0])


def test_key_value_cache_gives_the_teacher_forced_logits():
    model = small_prior(True, seed=3)
    tokens = torch.randint(0, 11, (3, 9), generator=torch.Generator().manual_seed(4))
    labels = torch.tensor([2, 0, 3])
    full = ar_logits(model, tokens, labels)  # [3, 9, 11]
    caches = [{} for _ in model.blocks]
    step_input = tokens[:, :0]
    for i in range(9):
        logits = model.step(step_input, labels, caches)  # [3, 11]
        assert torch.allclose(logits, full[:, i], atol=1e-5), i
        step_input = tokens[:, i:i + 1]


def test_autoregressive_sampling_follows_the_model_distribution():
    # A model whose logits ignore the input (head bias only) samples every position from
    # softmax(bias): compare the frequencies of many samples.
    model = small_prior(True, seed=5)
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.copy_(torch.linspace(-2, 2, 11))
    labels = torch.full((4000,), 3)
    tokens = sample_autoregressive(model, labels, generator=torch.Generator().manual_seed(6))
    assert tokens.shape == (4000, 9)
    freq = torch.bincount(tokens.reshape(-1), minlength=11).double() / tokens.numel()
    assert torch.allclose(freq, F.softmax(torch.linspace(-2, 2, 11).double(), 0), atol=0.01)


def test_causal_prior_accepts_a_learner_mask_function():
    calls = []

    def mask_fn(n):
        calls.append(n)
        return causal_mask(n)

    torch.manual_seed(0)
    model = TokenTransformer(11, 9, 3, 32, 1, 4, 0.0, causal=True, mask_fn=mask_fn)
    model(torch.zeros(2, 8, dtype=torch.long), torch.tensor([0, 1]))
    assert calls == [9]
