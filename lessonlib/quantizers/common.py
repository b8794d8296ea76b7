"""What every quantizer in lessonlib shares: its output type and the rows <-> map reshapes.

Every quantizer (VQ, EMA-VQ, FSQ, LFQ) is an nn.Module with a `num_codes` attribute (the
size K of its codebook, explicit or implicit) whose forward maps an encoder output
z_e [B, D, H, W] to a QuantizerOutput:

    z_q        [B, D, H, W]  quantized, with a straight-through gradient to z_e
    indices    [B, H, W]     integer code per position (int64)
    aux_loss   scalar        what the quantizer adds to the reconstruction loss (0 if none)
    perplexity scalar        exp(entropy of the code usage in this batch)

It is a named tuple, so `z_q, indices, aux_loss, perplexity = quantizer(z_e)` works, and a
learner's class that returns a plain 4-tuple plugs in the same way.
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class QuantizerOutput(NamedTuple):
    z_q: torch.Tensor  # [B, D, H, W]
    indices: torch.Tensor  # [B, H, W] int64
    aux_loss: torch.Tensor  # scalar
    perplexity: torch.Tensor  # scalar


def to_rows(z: torch.Tensor) -> torch.Tensor:
    """[B, D, H, W] -> [B*H*W, D] (channels last, one row per position)."""
    return z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])


def from_rows(rows: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """Inverse of to_rows: [B*H*W, D] -> [B, D, H, W] for the given [B, D, H, W] shape."""
    b, d, h, w = shape
    return rows.reshape(b, h, w, d).permute(0, 3, 1, 2).contiguous()
