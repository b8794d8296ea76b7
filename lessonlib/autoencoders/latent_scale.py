"""The latent scale factor of a latent-diffusion autoencoder (Stable Diffusion's 0.18215).

A diffusion model adds noise of a fixed size (its schedule assumes data of standard
deviation about 1) to the latents it learns. An autoencoder trained with a tiny KL weight
is free to make its latents any size, so they are rescaled before diffusion and scaled back
before decoding:

    z_diffusion = latent_scale_factor(latents) * z          (encode, then scale)
    x = decoder(z_diffusion / factor)                       (unscale, then decode)

The latent-diffusion code computes the factor once, as 1 / the standard deviation of all
the latent values (every batch element, channel and position together: one number) of the
first training batch; Stable Diffusion 1.x's 0.18215 is that number for its autoencoder
(Rombach et al., CVPR 2022, sections 4.3.2 and D.1). Later autoencoders carry their own
factors; those with 16 channels also subtract a shift first:
z_diffusion = factor * (z - shift). PUBLISHED lists the values of the released
configuration files.
"""

from __future__ import annotations

import torch

# name -> (latent channels, scaling factor, shift factor, where the numbers are published)
PUBLISHED = {
    "Stable Diffusion 1.x": (4, 0.18215, 0.0, "CompVis/stable-diffusion configs/"
                             "stable-diffusion/v1-inference.yaml, scale_factor"),
    "SDXL": (4, 0.13025, 0.0, "stabilityai/sdxl-vae vae config.json, scaling_factor"),
    "Stable Diffusion 3": (16, 1.5305, 0.0609, "stabilityai/stable-diffusion-3-medium-"
                           "diffusers vae/config.json, scaling_factor and shift_factor"),
    "FLUX.1": (16, 0.3611, 0.1159, "black-forest-labs/flux src/flux/util.py, "
               "AutoEncoderParams scale_factor and shift_factor"),
}


def latent_scale_factor(latents: torch.Tensor) -> float:
    """1 / the standard deviation of all values of `latents` (any shape, e.g.
    [B, C, h, w]), as a Python float: the unbiased standard deviation over every element,
    as `1. / z.flatten().std()` in the latent-diffusion code."""
    std = latents.detach().double().flatten().std()
    if not torch.isfinite(std) or float(std) == 0.0:
        raise ValueError("the latents need at least two distinct finite values")
    return float(1.0 / std)
