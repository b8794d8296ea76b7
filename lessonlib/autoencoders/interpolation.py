"""Walking in latent space: straight lines between codes."""

from __future__ import annotations

import torch


def interpolate(z1: torch.Tensor, z2: torch.Tensor, steps: int) -> torch.Tensor:
    """`steps` points on the segment z1 -> z2, endpoints included: [D], [D] -> [steps, D]."""
    t = torch.linspace(0.0, 1.0, steps, dtype=z1.dtype, device=z1.device).unsqueeze(1)  # [S, 1]
    return (1 - t) * z1.unsqueeze(0) + t * z2.unsqueeze(0)  # [S, D]
