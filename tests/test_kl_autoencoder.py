"""lessonlib.autoencoders.kl_autoencoder: shapes (48x), the KL against torch.distributions,
the weighting convention of aux_loss, sampling, and training with chapter 8's loop."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from lessonlib.autoencoders.kl_autoencoder import KLAutoencoder, gaussian_kl
from lessonlib.tokenizers.vqgan import last_decoder_weight, train_vqgan


def test_shapes_and_compression():
    torch.manual_seed(0)
    model = KLAutoencoder(in_channels=3, latent_channels=4)
    x = torch.rand(2, 3, 64, 64)
    x_hat, mu, logvar, z, aux_loss, kl = model(x)
    assert x_hat.shape == x.shape
    assert mu.shape == logvar.shape == z.shape == (2, 4, 8, 8)
    assert x[0].numel() / mu[0].numel() == 48
    assert aux_loss.dim() == 0 and kl.dim() == 0 and not kl.requires_grad
    assert model(torch.rand(1, 3, 32, 96))[1].shape == (1, 4, 4, 12)  # any multiple of 8


def test_gaussian_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(1)
    mu, logvar = torch.randn(3, 4, 2, 2, generator=g), torch.randn(3, 4, 2, 2, generator=g)
    q = Normal(mu.double(), (0.5 * logvar.double()).exp())
    p = Normal(torch.zeros_like(mu.double()), torch.ones_like(mu.double()))
    want = kl_divergence(q, p).flatten(1).sum(1)
    assert torch.allclose(gaussian_kl(mu.double(), logvar.double()), want)


def test_aux_loss_is_the_weighted_kl_per_pixel_value():
    torch.manual_seed(2)
    model = KLAutoencoder(kl_weight=0.5)
    x = torch.rand(4, 3, 16, 16)
    _, mu, logvar, _, aux_loss, kl = model(x)
    kl_value, want = float(kl.detach()), float(gaussian_kl(mu, logvar).detach().mean())
    assert kl_value == pytest.approx(want, rel=1e-6)
    assert float(aux_loss.detach()) == pytest.approx(0.5 * kl_value / (3 * 16 * 16), rel=1e-6)
    aux_loss.backward()  # the KL term reaches the encoder
    assert model.encoder.net[0].weight.grad.abs().sum() > 0


def test_eval_uses_the_mean_and_sample_latents_spreads_by_sigma():
    torch.manual_seed(3)
    model = KLAutoencoder().eval()
    x = torch.rand(2, 3, 16, 16)
    out1, out2 = model(x), model(x)
    assert torch.equal(out1[0], out2[0]) and torch.equal(out1[3], out1[1])
    mu, logvar = model.encode(x)
    x_many = x.repeat(400, 1, 1, 1)
    z = model.sample_latents(x_many, generator=torch.Generator().manual_seed(0))
    z = z.view(400, 2, 4, 2, 2)
    assert torch.allclose(z.mean(0), mu, atol=0.2 * float((0.5 * logvar).detach().exp().max()))
    assert torch.allclose(z.std(0), (0.5 * logvar).exp(), rtol=0.15)
    model.train()
    model.sample_latents(x)
    assert model.training, "sample_latents restores the training mode"


def test_logvar_is_clamped():
    torch.manual_seed(4)
    model = KLAutoencoder()
    with torch.no_grad():
        model.encoder.net[-1].bias[4:].fill_(1e4)
    assert float(model.encode(torch.rand(1, 3, 8, 8))[1].detach().max()) == 20.0


def test_trains_with_the_vqgan_loop():
    torch.manual_seed(5)
    model = KLAutoencoder(kl_weight=1e-6)
    images = torch.rand(32, 3, 16, 16) * 0.2 + 0.4
    assert last_decoder_weight(model) is model.decoder.net[-1].weight
    history = train_vqgan(model, images, steps=60, batch_size=8, lr=2e-3, progress=False)
    assert sum(history["l1"][-10:]) < sum(history["l1"][:10])
