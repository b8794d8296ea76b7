"""Training a tokenizer the VQ-GAN way: pixel L1, a perceptual term, a PatchGAN.

The decoder's output is read directly as pixel values (no sigmoid: an L1 loss through a
sigmoid saturates towards blank images). For a mini-batch x [B, C, H, W]:

    x_hat, ... , aux_loss = model(x)              QuantizedAutoencoder's output convention
    rec    = mean |x - x_hat| + perceptual_weight * mean_b perceptual(x, x_hat)
    g_loss = -mean D(x_hat)                       (hinge generator loss)
    lambda = adaptive_weight(rec, g_loss, last_layer)   or a fixed number
    loss   = rec + aux_loss + disc_weight * warmup * lambda * g_loss
    d_loss = hinge_d_loss(D(x), D(x_hat.detach()))       (only after the warm-up)

Both the generator (tokenizer) and the discriminator take one Adam step per batch. The
recipe without `perceptual` and `discriminator` is plain L1 training.

    history = train_vqgan(model, x_train, steps=1500, batch_size=64,
                          perceptual=FeatureDistance(net), discriminator=D, disc_start=500)
    history["lambda"]  # the adaptive weight per step (nan before the warm-up ends)

On a GPU pass `device=`: the tokenizer, the discriminator, the perceptual network and the
images move there once; the logged values stay on the device and become floats once, at
the end (no step waits for the device).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch
from torch import nn
from tqdm.auto import tqdm

from lessonlib.core.batching import minibatches
from lessonlib.core.device import model_device
from lessonlib.core.training import History, _as_floats, eval_mode
from lessonlib.tokenizers.adversarial import adaptive_weight, hinge_d_loss, warmup_factor

LOGS = ("loss", "l1", "perceptual", "aux_loss", "g_loss", "lambda", "d_loss",
        "logits_real", "logits_fake")


def last_decoder_weight(model: nn.Module) -> torch.Tensor:
    """The weight of the decoder's last layer with parameters (VQ-GAN's G_L)."""
    layers = [m for m in model.decoder.modules() if getattr(m, "weight", None) is not None]
    return layers[-1].weight


def adversarial_backward(x_hat: torch.Tensor, rec: torch.Tensor, g_loss: torch.Tensor,
                         aux_loss, last_layer: torch.Tensor, *, adaptive=adaptive_weight,
                         fixed_lambda: float | None = None,
                         disc_weight: float = 1.0) -> torch.Tensor:
    """Backpropagate rec + aux_loss + disc_weight * lambda * g_loss; return lambda.

    Same gradients as `loss.backward()` on that sum, with fewer passes: the gradients of
    rec and g_loss with respect to x_hat are taken once (one pass through the perceptual
    network and the discriminator each), and the surrogates <x_hat, g>, whose gradient
    for every parameter before x_hat (the last layer included) equals the loss's, give
    lambda at the cost of the last layer only. The backward pass then starts at x_hat.
    """
    g_rec_x, = torch.autograd.grad(rec, x_hat, retain_graph=True)  # [B, C, H, W]
    g_adv_x, = torch.autograd.grad(g_loss, x_hat, retain_graph=True)
    if fixed_lambda is not None:
        lam = torch.tensor(float(fixed_lambda), device=x_hat.device)
    else:
        lam = adaptive((x_hat * g_rec_x).sum(), (x_hat * g_adv_x).sum(), last_layer)
    lam = lam.detach()  # a weight, never read on the host here (no wait for a GPU)
    outputs, grads = [x_hat], [g_rec_x + disc_weight * lam * g_adv_x]
    if isinstance(aux_loss, torch.Tensor) and aux_loss.requires_grad:
        outputs.append(aux_loss)
        grads.append(torch.ones_like(aux_loss))
    torch.autograd.backward(outputs, grads)
    return lam


def train_vqgan(model: nn.Module, images: torch.Tensor, *, steps: int, batch_size: int,
                lr: float = 2e-3, seed: int = 0,
                perceptual: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                perceptual_weight: float = 1.0, discriminator: nn.Module | None = None,
                disc_lr: float = 2e-4, disc_start: int = 0, disc_weight: float = 1.0,
                fixed_lambda: float | None = None, adaptive=adaptive_weight,
                d_loss_fn=hinge_d_loss, betas: tuple[float, float] = (0.5, 0.9),
                progress: bool = True, desc: str = "tokenizer",
                callback: Callable[[int, dict], None] | None = None,
                device: torch.device | str | None = None) -> History:
    """Train `model` (QuantizedAutoencoder convention) on images [N, C, H, W] in [0, 1].

    perceptual(x, x_hat) -> [B] (e.g. FeatureDistance); discriminator: images -> logits;
    disc_start: steps before the discriminator and the adversarial term start;
    fixed_lambda replaces the adaptive weight. The batch order depends only on `seed`.
    device: where to train (default: where the model is); every module and the images
    are moved there once. `callback(step, logs)` sees the logs as 0-dim tensors (nan
    floats where a term is off). Returns the History of LOGS per step as floats (nan
    where a term is off) and `seconds`.
    """
    device = torch.device(device) if device is not None else model_device(model)
    for module in (model, discriminator, perceptual):
        if isinstance(module, nn.Module):
            module.to(device)
    batches = minibatches(images.to(device), batch_size=batch_size,
                          generator=torch.Generator().manual_seed(seed))
    params = [p for p in model.parameters() if p.requires_grad]
    opt_g = torch.optim.Adam(params, lr=lr)
    opt_d = (torch.optim.Adam(discriminator.parameters(), lr=disc_lr, betas=betas)
             if discriminator is not None else None)
    last_layer = last_decoder_weight(model)
    history = History({name: [] for name in LOGS})
    start = time.perf_counter()
    bar = tqdm(range(steps), desc=desc, disable=not progress, mininterval=1.0, leave=False)
    for step in bar:
        (x,) = next(batches)  # [B, C, H, W]
        x_hat, _, _, _, aux_loss, _ = model(x)  # x_hat [B, C, H, W], pixel values
        l1 = (x - x_hat).abs().mean()
        p_loss = perceptual(x, x_hat).mean() if perceptual is not None else None
        rec = l1 if p_loss is None else l1 + perceptual_weight * p_loss
        on = discriminator is not None and warmup_factor(step, disc_start) > 0
        logs = {name: math.nan for name in LOGS}
        loss = rec + aux_loss
        opt_g.zero_grad(set_to_none=True)
        if on:
            discriminator.requires_grad_(False)  # the generator step leaves D alone
            g_loss = -discriminator(x_hat).mean()
            lam = adversarial_backward(x_hat, rec, g_loss, aux_loss, last_layer,
                                       adaptive=adaptive, fixed_lambda=fixed_lambda,
                                       disc_weight=disc_weight)
            loss = loss + disc_weight * lam * g_loss
            logs.update(g_loss=g_loss.detach(), **{"lambda": lam})
        else:
            loss.backward()
        opt_g.step()
        if on:
            discriminator.requires_grad_(True)
            logits_real = discriminator(x)  # [B, 1, h, w]
            logits_fake = discriminator(x_hat.detach())
            d_loss = d_loss_fn(logits_real, logits_fake)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            logs.update(d_loss=d_loss.detach(), logits_real=logits_real.detach().mean(),
                        logits_fake=logits_fake.detach().mean())
        logs.update(loss=loss.detach(), l1=l1.detach(),
                    aux_loss=torch.as_tensor(aux_loss, device=device).detach(),
                    perceptual=p_loss.detach() if p_loss is not None else math.nan)
        for name in LOGS:
            history[name].append(logs[name])
        if callback is not None:
            callback(step, logs)
    bar.close()
    history = History({name: _as_floats(values) for name, values in history.items()})
    history.seconds = time.perf_counter() - start
    return history


@torch.no_grad()
def reconstruct_pixels(model: nn.Module, images: torch.Tensor, chunk: int = 1000) -> torch.Tensor:
    """The decoder's output read as pixels and clipped to [0, 1]: [N, C, H, W], eval mode,
    computed on the model's device and returned on the CPU."""
    device = model_device(model)
    with eval_mode(model):
        return torch.cat([model(part.to(device))[0].clamp(0, 1).cpu()
                          for part in images.split(chunk)])
