"""MaskGIT (Chang et al. 2022, CVPR): a bidirectional transformer that fills in a masked grid.

Training: mask a random fraction cos(pi/2 r), r ~ U(0, 1), of the positions (replace them
by the mask token) and predict the originals at the masked places (cross-entropy there
only). Decoding, `total_steps` rounds: predict every masked position at once, draw a token
for each, keep the most confident draws, re-mask the rest; after step s (0-based) exactly
maskgit_num_masked(s, total_steps, N) positions are still masked, 0 after the last.
Masked generation of this kind is closely related to discrete diffusion with an absorbing
[MASK] state (Austin et al. 2021, NeurIPS, D3PM): the forward process masks tokens, the
model learns to reverse it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from lessonlib.core.device import model_device
from lessonlib.core.training import eval_mode
from lessonlib.priors.autoregressive import guided_logits
from lessonlib.priors.device_random import generator_on
from lessonlib.priors.gumbel import gumbel_noise
from lessonlib.priors.transformer import TokenTransformer


def maskgit_num_masked(step: int, total_steps: int, num_tokens: int) -> int:
    """Tokens still masked after 0-based decoding step `step` (cosine schedule, Python floats)."""
    return max(0, math.floor(num_tokens * math.cos(math.pi / 2 * (step + 1) / total_steps)))


def confidence_mask(confidence: torch.Tensor, mask: torch.Tensor, num_masked: int
                    ) -> torch.Tensor:
    """New mask [B, N]: the num_masked lowest-confidence positions among those masked now.

    confidence [B, N] (float), mask [B, N] (True = still masked). Positions already
    unmasked are never masked again.
    """
    masked_conf = confidence.masked_fill(~mask, float("inf"))  # [B, N]
    lowest = masked_conf.topk(num_masked, dim=1, largest=False).indices  # [B, num_masked]
    return torch.zeros_like(mask).scatter_(1, lowest, True)


def cosine_mask(tokens: torch.Tensor, generator: torch.Generator | None = None
                ) -> torch.Tensor:
    """Training mask [B, N] (True = masked): ceil(N cos(pi/2 r)) random positions per row,
    r ~ U(0, 1) per row, at least one. Drawn on the CPU, returned on tokens' device."""
    b, n = tokens.shape
    r = torch.rand(b, generator=generator)  # [B]
    count = torch.ceil(n * torch.cos(math.pi / 2 * r)).clamp(1, n).long()  # [B]
    order = torch.rand(b, n, generator=generator).argsort(dim=1)  # random ranks [B, N]
    return (order < count.unsqueeze(1)).to(tokens.device)


def maskgit_loss(model: TokenTransformer, tokens: torch.Tensor, labels: torch.Tensor,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Cross-entropy (nats) at the masked places of a cosine-schedule masking of [B, N]."""
    mask = cosine_mask(tokens, generator)  # [B, N]
    inputs = tokens.masked_fill(mask, model.mask_id)  # [B, N]
    logits = model(inputs, labels)  # [B, N, K]
    return F.cross_entropy(logits[mask], tokens[mask])


@torch.no_grad()
def maskgit_decode(model: TokenTransformer, labels: torch.Tensor, *, total_steps: int = 8,
                   temperature: float = 1.0, choice_temperature: float = 4.5,
                   guidance: float = 0.0, generator: torch.Generator | None = None,
                   num_masked_fn: Callable[[int, int, int], int] = maskgit_num_masked,
                   confidence_mask_fn: Callable = confidence_mask,
                   keep_history: bool = False):
    """Iterative decoding: token grids [B, N] in `total_steps` network calls per image.

    At each step every masked position draws a token at `temperature`; its confidence is
    the log-probability of the draw plus Gumbel noise scaled by choice_temperature * (1 -
    (step + 1) / total_steps) (MaskGIT's annealed randomness in which positions to keep).
    Returns tokens, or (tokens, history) with history a list of [B, N] grids after each
    step, -1 where still masked; all on the CPU. The network runs on the model's device
    (labels are moved there once; a CPU generator seeds one for that device).
    """
    device = model_device(model)
    generator = generator_on(device, generator)
    labels = labels.to(device)
    b, n = labels.shape[0], model.num_positions
    tokens = torch.full((b, n), model.mask_id, dtype=torch.long, device=device)
    mask = torch.ones(b, n, dtype=torch.bool, device=device)
    history = []
    with eval_mode(model):
        for step in range(total_steps):
            if guidance == 0:
                logits = model(tokens, labels)  # [B, N, K]
            else:
                both = model(tokens.repeat(2, 1), torch.cat([labels, torch.full_like(
                    labels, model.null_class)]))  # [2B, N, K]
                logits = guided_logits(*both.split(b), guidance)
            log_probs = F.log_softmax(logits.float() / max(temperature, 1e-6), dim=-1)
            if temperature <= 0:
                drawn = logits.argmax(dim=-1)  # [B, N]
            else:
                drawn = torch.multinomial(log_probs.exp().reshape(b * n, -1), 1,
                                          generator=generator).reshape(b, n)
            drawn = torch.where(mask, drawn, tokens)  # keep what is already decided
            confidence = log_probs.gather(2, drawn.unsqueeze(2)).squeeze(2)  # [B, N]
            anneal = choice_temperature * (1.0 - (step + 1) / total_steps)
            if anneal > 0:
                confidence = confidence + anneal * gumbel_noise((b, n), generator,
                                                                device=device)
            num_masked = num_masked_fn(step, total_steps, n)
            mask = confidence_mask_fn(confidence, mask, num_masked)
            tokens = torch.where(mask, torch.full_like(drawn, model.mask_id), drawn)
            if keep_history:
                history.append(torch.where(mask, torch.full_like(drawn, -1), drawn))
    tokens = tokens.cpu()
    return (tokens, [grid.cpu() for grid in history]) if keep_history else tokens
