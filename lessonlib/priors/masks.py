"""The causal attention mask of an autoregressive transformer.

Convention of F.scaled_dot_product_attention's boolean attn_mask: True where query i MAY
attend to key j. Causal: j <= i (a position sees itself and the past, never the future).
(nn.MultiheadAttention's boolean masks use the opposite convention: True = blocked.)
"""

from __future__ import annotations

import torch


def causal_mask(n: int, device=None) -> torch.Tensor:
    """BoolTensor [n, n]: True where key j <= query i (lower triangle with the diagonal)."""
    return torch.ones(n, n, dtype=torch.bool, device=device).tril()
