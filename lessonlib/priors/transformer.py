"""A small transformer over a token grid, read in raster order, with a class token first.

The same network serves both priors of the course:

* causal (autoregressive): input [class, t_0, ..., t_{T-1}] -> logits [B, T+1, K]; row i
  predicts token t_i from the class and t_<i (the causal mask hides the future);
* bidirectional (MaskGIT): input [class, t_0, ..., t_{N-1}] with masked places holding the
  extra token `mask_id` = K -> logits [B, N, K] for every grid position.

The class embedding has one extra entry, `null_class` = num_classes, for "no class": a
model trained with the class dropped now and then (class dropout) is a conditional and an
unconditional prior at once, and can be sampled with classifier-free guidance.
Pre-norm blocks (nanoGPT style); attention is F.scaled_dot_product_attention with a
boolean mask from `mask_fn` (True = may attend), by default lessonlib's causal_mask.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from lessonlib.priors.masks import causal_mask


class SelfAttention(nn.Module):
    def __init__(self, d_model: int, n_heads: int, dropout: float):
        super().__init__()
        if d_model % n_heads:
            raise ValueError("d_model must be divisible by n_heads")
        self.n_heads, self.dropout = n_heads, dropout
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None,
                cache: dict | None = None) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)  # 3 x [B, T, D]
        q, k, v = (z.view(b, t, self.n_heads, d // self.n_heads).transpose(1, 2)
                   for z in (q, k, v))  # [B, H, T, D/H]
        if cache is not None:  # incremental decoding: keys and values of the past
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)  # [B, H, T_past + T, D/H]
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask,
                                           dropout_p=self.dropout if self.training else 0.0)
        y = y.transpose(1, 2).reshape(b, t, d)  # [B, T, D]
        return self.proj(y)


class Block(nn.Module):
    def __init__(self, d_model: int, n_heads: int, dropout: float):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = SelfAttention(d_model, n_heads, dropout)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(),
                                 nn.Linear(4 * d_model, d_model))
        self.drop = nn.Dropout(dropout)

    def forward(self, x, attn_mask=None, cache=None):
        x = x + self.drop(self.attn(self.ln1(x), attn_mask, cache))
        return x + self.drop(self.mlp(self.ln2(x)))


class TokenTransformer(nn.Module):
    """Transformer prior over `num_positions` tokens from `num_codes` codes, class token first.

    causal=True: forward(tokens [B, T], labels [B]) -> logits [B, T+1, K] (T <= N-1 for
    training on t_<N-1; row i predicts t_i). causal=False: tokens [B, N] (mask_id = K at
    masked places) -> logits [B, N, K]. labels: ints in 0..num_classes, num_classes = no
    class.
    """

    def __init__(self, num_codes: int, num_positions: int = 49, num_classes: int = 10,
                 d_model: int = 128, n_layers: int = 4, n_heads: int = 4,
                 dropout: float = 0.1, causal: bool = True,
                 mask_fn: Callable[[int], torch.Tensor] = causal_mask):
        super().__init__()
        self.num_codes, self.num_positions = num_codes, num_positions
        self.num_classes, self.null_class = num_classes, num_classes
        self.mask_id, self.causal, self.mask_fn = num_codes, causal, mask_fn
        self.token_emb = nn.Embedding(num_codes + 1, d_model)  # + the mask token
        self.class_emb = nn.Embedding(num_classes + 1, d_model)  # + "no class"
        self.pos_emb = nn.Parameter(torch.zeros(1, num_positions + 1, d_model))
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(d_model, n_heads, dropout) for _ in range(n_layers))
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, num_codes)
        self.apply(self._init)
        nn.init.normal_(self.pos_emb, std=0.02)

    @staticmethod
    def _init(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def _embed(self, tokens: torch.Tensor, labels: torch.Tensor, start: int = 0) -> torch.Tensor:
        """[class, tokens] embeddings (class only when start == 0) plus positions."""
        parts = [self.token_emb(tokens)] if tokens.shape[1] else []
        if start == 0:
            parts.insert(0, self.class_emb(labels).unsqueeze(1))  # [B, 1, D]
        x = torch.cat(parts, dim=1)  # [B, T', D]
        return self.drop(x + self.pos_emb[:, start:start + x.shape[1]])

    def forward(self, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x = self._embed(tokens, labels)  # [B, T+1, D]
        mask = None
        if self.causal:
            mask = self.mask_fn(x.shape[1]).to(x.device)  # [T+1, T+1] True = may attend
        for block in self.blocks:
            x = block(x, mask)
        logits = self.head(self.ln_f(x))  # [B, T+1, K]
        return logits if self.causal else logits[:, 1:]

    @torch.no_grad()
    def step(self, tokens: torch.Tensor, labels: torch.Tensor, caches: list[dict]
             ) -> torch.Tensor:
        """Incremental causal decoding with a key/value cache (eval mode).

        First call: caches = [{} per layer], tokens [B, 0] -> logits [B, K] for t_0.
        Then tokens [B, 1] (the token just drawn) -> logits [B, K] for the next one.
        """
        start = 0 if not caches[0] else caches[0]["k"].shape[2]
        x = self._embed(tokens, labels, start)  # [B, 1, D]
        for block, cache in zip(self.blocks, caches):
            x = block(x, None, cache)  # a new query may attend to every cached key
        return self.head(self.ln_f(x[:, -1]))  # [B, K]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
