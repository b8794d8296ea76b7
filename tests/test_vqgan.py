"""lessonlib.tokenizers.vqgan: the three recipes' losses, the warm-up, lambda, reproducibility."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from lessonlib.quantizers.fsq import FSQ
from lessonlib.tokenizers.adversarial import adaptive_weight
from lessonlib.tokenizers.conv import QuantizedAutoencoder
from lessonlib.tokenizers.feature_net import FeatureNet
from lessonlib.tokenizers.patchgan import PatchDiscriminator
from lessonlib.tokenizers.perceptual import FeatureDistance
from lessonlib.tokenizers.vqgan import last_decoder_weight, reconstruct_pixels, train_vqgan


def images(n=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    coarse = (torch.rand(n, 1, 7, 7, generator=g) > 0.6).float()
    return coarse.repeat_interleave(4, dim=2).repeat_interleave(4, dim=3)  # [n, 1, 28, 28]


def model(seed=0):
    torch.manual_seed(seed)
    return QuantizedAutoencoder(FSQ((5, 5, 5)), 3, width=8)


def test_last_decoder_weight_is_the_final_transposed_conv():
    m = model()
    assert last_decoder_weight(m) is m.decoder.net[-1].weight


def test_l1_recipe_logs_and_learns_reproducibly():
    x = images()
    runs = [train_vqgan(model(), x, steps=40, batch_size=16, lr=5e-3, seed=1, progress=False)
            for _ in range(2)]
    history = runs[0]
    assert history["l1"] == runs[1]["l1"], "same seed, same batches, same run"
    assert sum(history["l1"][-5:]) < sum(history["l1"][:5])
    assert all(math.isnan(v) for v in history["perceptual"] + history["lambda"]
               + history["d_loss"])
    assert history["loss"] == history["l1"], "FSQ adds no loss: the loss is the L1"


def test_first_step_of_each_recipe_matches_its_formula():
    x = images(16)
    torch.manual_seed(5)
    net = FeatureNet(widths=(4, 6, 8))
    perceptual = FeatureDistance(net)
    disc = PatchDiscriminator(1, 4, 1, norm="none")
    m = model(3)
    with torch.no_grad():  # the first batch of seed 0 with batch_size 16 is all of x, permuted
        order = torch.randperm(16, generator=torch.Generator().manual_seed(0))
    xb = x[order]
    x_hat = m(xb)[0]
    l1 = (xb - x_hat).abs().mean()
    p = perceptual(xb, x_hat).mean()
    g_loss = -disc(x_hat).mean()
    lam = adaptive_weight(l1 + 0.5 * p, g_loss, last_decoder_weight(m))
    history = train_vqgan(m, x, steps=1, batch_size=16, seed=0, perceptual=perceptual,
                          perceptual_weight=0.5, discriminator=disc, disc_start=0,
                          disc_weight=0.3, progress=False)
    assert history["l1"][0] == float(l1.detach())
    assert history["perceptual"][0] == float(p.detach())
    assert abs(history["lambda"][0] - float(lam)) < 1e-6
    want = float((l1 + 0.5 * p + 0.3 * lam * g_loss).detach())
    assert abs(history["loss"][0] - want) < 1e-5
    assert not math.isnan(history["d_loss"][0])


def test_discriminator_waits_for_the_warm_up_and_a_fixed_lambda_is_used():
    x = images()
    disc = PatchDiscriminator(1, 4, 1)
    before = [p.detach().clone() for p in disc.parameters()]
    seen = []
    history = train_vqgan(model(), x, steps=6, batch_size=16, discriminator=disc,
                          disc_start=4, fixed_lambda=0.25, progress=False,
                          callback=lambda step, logs: seen.append(step))
    assert seen == list(range(6))
    assert all(math.isnan(v) for v in history["lambda"][:4] + history["d_loss"][:4])
    assert history["lambda"][4:] == [0.25, 0.25]
    assert not any(math.isnan(v) for v in history["d_loss"][4:])
    after = list(disc.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, before)), "D trained after warm-up"
    frozen = PatchDiscriminator(1, 4, 1)
    start = [p.detach().clone() for p in frozen.parameters()]
    train_vqgan(model(), x, steps=3, batch_size=16, discriminator=frozen, disc_start=10,
                progress=False)
    assert all(torch.equal(a, b) for a, b in zip(frozen.parameters(), start))


def test_reconstruct_pixels_clips_and_uses_eval_mode():
    m = model()
    m.encoder.net.append(nn.BatchNorm2d(3))
    x = images(10)
    m.train()
    out = reconstruct_pixels(m, x, chunk=3)
    assert out.shape == x.shape and float(out.min()) >= 0 and float(out.max()) <= 1
    assert m.training
    m.eval()
    assert torch.allclose(out, m(x)[0].clamp(0, 1))


def test_adversarial_backward_gives_the_gradients_of_the_plain_sum():
    """Against the oracle: lambda from adaptive_weight on the real losses, then one
    .backward() of rec + aux + w * lambda * g on the whole graph."""
    from lessonlib.quantizers.vq import VectorQuantizer
    from lessonlib.tokenizers.vqgan import adversarial_backward

    torch.manual_seed(0)
    m = QuantizedAutoencoder(VectorQuantizer(16, 3), 3, width=8)  # aux loss with gradients
    disc = PatchDiscriminator(1, 4, 1, norm="none")
    disc.requires_grad_(False)
    perceptual = FeatureDistance(FeatureNet(widths=(4, 6, 8)))
    x = images(6)

    def losses():
        x_hat, _, _, _, aux, _ = m(x)
        rec = (x - x_hat).abs().mean() + 0.7 * perceptual(x, x_hat).mean()
        return x_hat, rec, -disc(x_hat).mean(), aux

    last = last_decoder_weight(m)
    _, rec, g_loss, aux = losses()
    want_lam = adaptive_weight(rec, g_loss, last)
    m.zero_grad(set_to_none=True)
    (rec + aux + 0.5 * want_lam * g_loss).backward()
    want = {n: p.grad.clone() for n, p in m.named_parameters() if p.grad is not None}
    m.zero_grad(set_to_none=True)
    x_hat, rec, g_loss, aux = losses()
    lam = adversarial_backward(x_hat, rec, g_loss, aux, last, disc_weight=0.5)
    assert abs(float(lam) - float(want_lam)) < 1e-5 * max(1.0, float(want_lam))
    got = {n: p.grad for n, p in m.named_parameters() if p.grad is not None}
    assert set(got) == set(want)
    for name in want:
        assert torch.allclose(got[name], want[name], atol=1e-6, rtol=1e-4), name
    m.zero_grad(set_to_none=True)
    x_hat, rec, g_loss, aux = losses()
    assert float(adversarial_backward(x_hat, rec, g_loss, aux, last, fixed_lambda=0.3)) == \
        pytest.approx(0.3)
