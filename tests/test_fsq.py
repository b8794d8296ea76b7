"""lessonlib.quantizers.fsq and lessonlib.checks.quantizers.fsq.

Oracles: itertools.product enumeration of the grid (index order by explicit mixed-radix
arithmetic), brute-force nearest grid point for the rounding, autograd of (L-1)/2 tanh(z)
for the straight-through gradient.
"""

from __future__ import annotations

import itertools
import math
import random

import pytest
import torch

from lessonlib.checks.quantizers.fsq import check_fsq_indices_to_codes, check_fsq_quantize
from lessonlib.quantizers.fsq import (
    FSQ,
    fsq_codebook,
    fsq_codes_to_indices,
    fsq_indices_to_codes,
    fsq_levels,
    fsq_quantize,
    implicit_codebook_size,
    paper_fsq_levels,
    round_ste,
)
from lessonlib.tokenizers.conv import QuantizedAutoencoder


def _random_levels(rng: random.Random) -> tuple[int, ...]:
    return tuple(rng.randint(2, 9) for _ in range(rng.randint(1, 5)))


def _oracle_codebook(levels) -> torch.Tensor:
    """All codes in index order: dim 0 varies fastest (least significant)."""
    grids = [[j - (L - 1) / 2 for j in range(L)] for L in levels]
    rows = [tuple(reversed(c)) for c in itertools.product(*reversed(grids))]
    return torch.tensor(rows, dtype=torch.float32)


@pytest.mark.parametrize("levels, size", [((8, 5, 5, 5), 1000), ((5,) * 6, 15_625),
                                          ((8,) * 6, 262_144), ((2,) * 18, 262_144)])
def test_implicit_codebook_sizes_of_the_chapter(levels, size):
    assert implicit_codebook_size(levels) == size


def test_levels_are_symmetric_integers_or_half_integers():
    assert fsq_levels(5).tolist() == [-2, -1, 0, 1, 2]
    assert fsq_levels(4).tolist() == [-1.5, -0.5, 0.5, 1.5]
    assert fsq_levels(2).tolist() == [-0.5, 0.5]
    assert paper_fsq_levels(4).tolist() == [-1, -0.5, 0, 0.5]
    assert paper_fsq_levels(5).tolist() == [-1, -0.5, 0, 0.5, 1]


def test_codebook_is_in_mixed_radix_order():
    for levels in [(8, 5, 5, 5), (2, 3, 4), (7,), (3, 2, 2, 3)]:
        assert torch.equal(fsq_codebook(levels), _oracle_codebook(levels))
    assert fsq_codebook((3, 2))[:4].tolist() == [[-1, -0.5], [0, -0.5], [1, -0.5], [-1, 0.5]]


def test_round_trip_codes_indices_codes_is_exact_for_random_levels():
    rng = random.Random(0)
    for _ in range(25):
        levels = _random_levels(rng)
        k = implicit_codebook_size(levels)
        gen = torch.Generator().manual_seed(rng.randint(0, 99))
        idx = torch.randint(0, k, (3, 4, 5), generator=gen)
        codes = fsq_indices_to_codes(idx, levels)  # [3, d, 4, 5]
        assert codes.shape == (3, len(levels), 4, 5) and codes.dtype == torch.float32
        assert torch.equal(fsq_codes_to_indices(codes, levels), idx)
        every = fsq_codebook(levels)  # [K, d]
        assert torch.equal(fsq_codes_to_indices(every, levels), torch.arange(k))
        assert len({tuple(r) for r in every.tolist()}) == k, "codes are distinct"


def test_quantize_picks_the_nearest_grid_value_of_the_bounded_input():
    gen = torch.Generator().manual_seed(1)
    for levels in [(8, 5, 5, 5), (4, 3, 2, 7)]:
        z = torch.randn(16, len(levels), 3, generator=gen) * 2  # [B, d, T]
        z_hat, idx = fsq_quantize(z, levels)
        for c, L in enumerate(levels):
            grid = fsq_levels(L)  # [L]
            bounded = (L - 1) / 2 * torch.tanh(z[:, c])  # [B, T]
            nearest = grid[(bounded.unsqueeze(-1) - grid).abs().argmin(-1)]
            assert torch.equal(z_hat[:, c], nearest)
        oracle = _oracle_codebook(levels)
        rows = z_hat.permute(0, 2, 1).reshape(-1, len(levels))  # [B*T, d]
        assert torch.equal(oracle[idx.reshape(-1)], rows), "index points at its own code"


def test_quantize_never_leaves_the_grid_even_when_saturated():
    for levels in [(8, 5), (2, 16), (3, 4)]:
        z = torch.tensor([[-1e4, 1e4], [50.0, -50.0], [0.0, 0.0]]).t().reshape(1, 2, 3)
        z = z.expand(1, len(levels), 3) if len(levels) == 2 else z
        z_hat, idx = fsq_quantize(z, levels)
        for c, L in enumerate(levels):
            assert z_hat[:, c].abs().max() <= (L - 1) / 2
        assert int(idx.max()) < implicit_codebook_size(levels) and int(idx.min()) >= 0


def test_gradient_is_that_of_the_scaled_tanh():
    z = torch.linspace(-3, 3, 40).reshape(2, 4, 5).requires_grad_(True)
    levels = (8, 5, 4, 3)
    w = torch.randn(2, 4, 5, generator=torch.Generator().manual_seed(2))
    (fsq_quantize(z, levels)[0] * w).sum().backward()
    z2 = z.detach().clone().requires_grad_(True)
    half = torch.tensor([(L - 1) / 2 for L in levels]).view(1, -1, 1)
    ((half * torch.tanh(z2)) * w).sum().backward()
    assert torch.allclose(z.grad, z2.grad, atol=1e-6)
    x = torch.tensor([0.4, 1.6], requires_grad=True)
    round_ste(x).sum().backward()
    assert round_ste(x.detach()).tolist() == [0.0, 2.0] and x.grad.tolist() == [1.0, 1.0]


def test_shapes_two_to_five_dims():
    for shape in [(7, 4), (2, 4, 6), (2, 4, 3, 5), (1, 4, 2, 2, 2)]:
        z_hat, idx = fsq_quantize(torch.randn(shape), (8, 5, 5, 5))
        assert z_hat.shape == shape and idx.shape == (shape[0],) + shape[2:]
        assert idx.dtype == torch.int64


def test_fsq_module_follows_the_quantizer_convention():
    fsq = FSQ((8, 5, 5, 5))
    assert fsq.num_codes == 1000 and sum(p.numel() for p in fsq.parameters()) == 0
    z_e = torch.randn(3, 4, 7, 7, requires_grad=True)
    z_q, idx, aux, perplexity = fsq(z_e)
    assert z_q.shape == z_e.shape and idx.shape == (3, 7, 7)
    assert float(aux) == 0.0 and 1.0 <= float(perplexity) <= 147
    z_q.sum().backward()
    assert z_e.grad is not None and z_e.grad.abs().sum() > 0
    model = QuantizedAutoencoder(FSQ((8, 5, 5, 5)), 4, width=8)
    logits, *_ = model(torch.rand(2, 1, 28, 28))
    assert logits.shape == (2, 1, 28, 28)
    assert model.tokenize(torch.rand(2, 1, 28, 28)).shape == (2, 7, 7)


def test_public_checks_pass_the_reference():
    for check, fn in [(check_fsq_quantize, fsq_quantize),
                      (check_fsq_indices_to_codes, fsq_indices_to_codes)]:
        assert check.run(fn).passed, check.run(fn)


def test_public_checks_say_not_attempted_for_a_stub():
    assert check_fsq_quantize.run(lambda z, levels: None).status == "not attempted"
    assert check_fsq_indices_to_codes.run(lambda i, levels: None).status == "not attempted"


def _quantize_with(value_fn=None, index_fn=None):
    """An fsq_quantize built from the reference with one part replaced."""
    def fn(z, levels):
        z_hat, idx = fsq_quantize(z, levels)
        if value_fn is not None:
            z_hat = value_fn(z, levels)
            idx = fsq_codes_to_indices(z_hat.detach(), levels)
        if index_fn is not None:
            idx = index_fn(z_hat.detach(), levels)
        return z_hat, idx
    return fn


def _half(levels, ndim):
    return torch.tensor([(L - 1) / 2 for L in levels]).view((1, -1) + (1,) * (ndim - 2))


@pytest.mark.parametrize("value_fn, pattern", [
    (lambda z, lv: (_half(lv, z.dim()) * torch.tanh(z)).round(), "no half shift"),
    (lambda z, lv: z.round(), "tanh bound is missing|off the grid"),
    (lambda z, lv: torch.tanh(z).round(), "wrong level|off the grid"),
])
def test_fsq_check_names_value_mistakes(value_fn, pattern):
    import re

    result = check_fsq_quantize.run(_quantize_with(value_fn=value_fn))
    assert result.status == "wrong" and re.search(pattern, result.message), result.message


def test_fsq_check_rejects_float_indices_and_missing_gradient():
    def float_idx(z, levels):
        z_hat, idx = fsq_quantize(z, levels)
        return z_hat, idx.float()

    assert "integers" in check_fsq_quantize.run(float_idx).message

    def detached(z, levels):
        z_hat, idx = fsq_quantize(z, levels)
        return z_hat.detach(), idx

    assert "no gradient" in check_fsq_quantize.run(detached).message


def _digits_not_shifted(z, levels):
    """Combines the centred values instead of the digits 0..L-1."""
    z_hat, _ = fsq_quantize(z, levels)
    place = torch.tensor([math.prod(levels[:i]) for i in range(len(levels))])
    place = place.view((1, -1) + (1,) * (z.dim() - 2))
    return z_hat, (z_hat.detach() * place).sum(1).long()


def _no_tanh(z, levels):
    """Forgets the tanh bound."""
    half = _half(levels, z.dim())
    shift = torch.tensor([0.5 * (L % 2 == 0) for L in levels]).view(half.shape)
    bounded = half * z - shift
    z_hat = round_ste(bounded) + shift
    return z_hat, fsq_codes_to_indices(z_hat.detach().clamp(-half, half), levels)


def _floor(z, levels):
    """floor instead of round."""
    half = _half(levels, z.dim())
    shift = torch.tensor([0.5 * (L % 2 == 0) for L in levels]).view(half.shape)
    bounded = half * torch.tanh(z) - shift
    z_hat = bounded + (bounded.floor() - bounded).detach() + shift
    return z_hat, fsq_codes_to_indices(z_hat.detach(), levels)


def _msb_codes(indices, levels):
    codes = [(indices // math.prod(levels[i + 1:])) % L - (L - 1) / 2
             for i, L in enumerate(levels)]
    return torch.stack(codes, dim=1).float()


@pytest.mark.parametrize("fn, pattern", [
    (_digits_not_shifted, "shift each value"),
    (_no_tanh, "tanh bound is missing"),
    (_floor, "not floor"),
])
def test_fsq_check_names_more_mistakes(fn, pattern):
    import re

    result = check_fsq_quantize.run(fn)
    assert result.status == "wrong" and re.search(pattern, result.message), result.message


def test_indices_to_codes_check_names_the_bit_order():
    result = check_fsq_indices_to_codes.run(_msb_codes)
    assert result.status == "wrong" and "least significant" in result.message
