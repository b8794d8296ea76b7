"""lessonlib.tokenizers.adversarial: hinge losses against element-wise loops, the
adaptive weight against gradients computed by separate backward passes."""

from __future__ import annotations

import math

import pytest
import torch

from lessonlib.tokenizers.adversarial import (
    adaptive_weight,
    hinge_d_loss,
    hinge_g_loss,
    warmup_factor,
)


def loop_hinge(real, fake):
    r = [max(0.0, 1.0 - v) for v in real.flatten().tolist()]
    f = [max(0.0, 1.0 + v) for v in fake.flatten().tolist()]
    return 0.5 * (sum(r) / len(r) + sum(f) / len(f))


@pytest.mark.parametrize("shape_real, shape_fake", [((4, 1, 3, 3), (4, 1, 3, 3)),
                                                    ((2, 1, 5, 5), (6, 1, 5, 5)), ((7,), (3,))])
def test_hinge_d_loss_against_a_loop(shape_real, shape_fake):
    g = torch.Generator().manual_seed(1)
    real = torch.randn(shape_real, generator=g) * 2
    fake = torch.randn(shape_fake, generator=g) * 2
    got = hinge_d_loss(real, fake)
    assert got.dim() == 0
    assert math.isclose(float(got), loop_hinge(real, fake), rel_tol=1e-6)


def test_hinge_d_loss_is_zero_beyond_the_margins_and_its_gradient():
    assert float(hinge_d_loss(torch.full((3,), 1.5), torch.full((3,), -2.0))) == 0.0
    assert float(hinge_d_loss(torch.zeros(3), torch.zeros(3))) == 1.0
    real = torch.tensor([0.5, 2.0], requires_grad=True)
    fake = torch.tensor([-0.5, -3.0], requires_grad=True)
    hinge_d_loss(real, fake).backward()
    assert real.grad.tolist() == [-0.25, 0.0]  # 0.5 * (-1) / 2 inside the margin, 0 beyond
    assert fake.grad.tolist() == [0.25, 0.0]


def test_hinge_g_loss():
    fake = torch.tensor([[1.0, -3.0], [0.5, 0.5]])
    assert float(hinge_g_loss(fake)) == pytest.approx(0.25)


def tiny_graph(seed=0, adv_scale=1.0):
    """h -> W (the last layer) -> x_hat; returns W and a builder of (rec, g_loss)."""
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(8, 5, generator=g)
    x = torch.randn(8, 3, generator=g)
    d = torch.randn(3, generator=g)
    w = torch.randn(3, 5, generator=g).requires_grad_(True)

    def losses():
        x_hat = torch.tanh(h) @ w.t()  # [8, 3]
        return (x - x_hat).abs().mean(), -(torch.sin(x_hat) @ d).mean() * adv_scale

    return w, losses


def separate_backward_lambda(w, losses, delta=1e-4, max_weight=1e4):
    """The oracle: each gradient from its own graph and its own .backward()."""
    rec, _ = losses()
    rec.backward()
    g_rec = w.grad.clone()
    w.grad = None
    _, g_loss = losses()
    g_loss.backward()
    g_adv = w.grad.clone()
    w.grad = None
    return min(max(float(g_rec.norm()) / (float(g_adv.norm()) + delta), 0.0), max_weight)


@pytest.mark.parametrize("seed, adv_scale", [(0, 1.0), (1, 0.01), (2, 30.0)])
def test_adaptive_weight_against_separate_backward_passes(seed, adv_scale):
    w, losses = tiny_graph(seed, adv_scale)
    want = separate_backward_lambda(w, losses)
    rec, g_loss = losses()
    lam = adaptive_weight(rec, g_loss, w)
    assert lam.dim() == 0 and not lam.requires_grad
    assert float(lam) == pytest.approx(want, rel=1e-5)
    assert w.grad is None, "autograd.grad leaves .grad alone"
    (rec + lam * g_loss).backward()  # the graph is still there
    w_grad = w.grad.clone()
    w.grad = None
    rec2, g2 = losses()
    (rec2 + float(lam) * g2).backward()
    assert torch.allclose(w_grad, w.grad), "lambda acts as a constant weight"


def test_adaptive_weight_delta_and_clamp():
    w, losses = tiny_graph(3, 1e-3)
    want = separate_backward_lambda(w, losses, delta=0.1)
    assert float(adaptive_weight(*losses(), w, delta=0.1)) == pytest.approx(want, rel=1e-5)
    rec, _ = losses()
    flat = 0.0 * rec + 2.0  # connected to W, zero gradient
    assert float(adaptive_weight(rec, flat, w, max_weight=7.0)) == 7.0
    assert float(adaptive_weight(rec, flat, w)) <= 1e4


def test_warmup_factor():
    assert [warmup_factor(s, 3) for s in range(5)] == [0.0, 0.0, 0.0, 1.0, 1.0]
    assert warmup_factor(0, 0) == 1.0
