"""Autoregressive prior over a token grid in raster order: p(t) = prod_i p(t_i | class, t_<i).

Training is next-token prediction with the causal TokenTransformer (teacher forcing: one
forward pass scores every position). Sampling draws one token per network call, N calls
per grid, reusing the keys and values of the past (TokenTransformer.step).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from lessonlib.core.device import model_device
from lessonlib.core.training import eval_mode
from lessonlib.priors.device_random import generator_on
from lessonlib.priors.transformer import TokenTransformer


def ar_logits(model: TokenTransformer, tokens: torch.Tensor, labels: torch.Tensor
              ) -> torch.Tensor:
    """Teacher-forced logits [B, N, K] for sequences tokens [B, N]: row i sees class, t_<i."""
    return model(tokens[:, :-1], labels)


def ar_loss(model: TokenTransformer, tokens: torch.Tensor, labels: torch.Tensor,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """Mean next-token cross-entropy (nats) over every position of tokens [B, N].

    (`generator` is unused: it keeps the signature of maskgit_loss, which draws masks.)"""
    logits = ar_logits(model, tokens, labels)  # [B, N, K]
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens.reshape(-1))


def guided_logits(cond: torch.Tensor, uncond: torch.Tensor | None, guidance: float
                  ) -> torch.Tensor:
    """Classifier-free guidance: uncond + (1 + w)(cond - uncond) = cond + w (cond - uncond)."""
    if uncond is None or guidance == 0.0:
        return cond
    return cond + guidance * (cond - uncond)


def draw(logits: torch.Tensor, temperature: float, generator: torch.Generator | None
         ) -> torch.Tensor:
    """One categorical draw per row of logits [B, K] at a temperature: [B]."""
    if temperature <= 0:
        return logits.argmax(dim=-1)
    probs = F.softmax(logits.float() / temperature, dim=-1)  # [B, K]
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)


@torch.no_grad()
def sample_autoregressive(model: TokenTransformer, labels: torch.Tensor, *,
                          temperature: float = 1.0, guidance: float = 0.0,
                          generator: torch.Generator | None = None,
                          chunk: int = 500) -> torch.Tensor:
    """Token sequences [B, N] drawn from the causal prior, one position per network call.

    labels [B]: classes, or model.null_class for unconditional samples. guidance > 0 adds
    classifier-free guidance (a second, unconditional stream in the same batch). The
    network runs on the model's device (a CPU generator seeds one for that device); the
    tokens come back on the CPU.
    """
    device = model_device(model)
    generator = generator_on(device, generator)
    parts = []
    with eval_mode(model):
        for lab in labels.to(device).split(chunk):
            b = lab.shape[0]
            streams = lab if guidance == 0 else torch.cat([lab, torch.full_like(
                lab, model.null_class)])  # [S*B]
            caches = [{} for _ in model.blocks]
            tokens = torch.zeros(b, 0, dtype=torch.long, device=device)
            step_input = tokens
            for _ in range(model.num_positions):
                logits = model.step(step_input if guidance == 0 else step_input.repeat(2, 1),
                                    streams, caches)  # [S*B, K]
                cond, uncond = (logits, None) if guidance == 0 else logits.split(b)
                nxt = draw(guided_logits(cond, uncond, guidance), temperature, generator)
                tokens = torch.cat([tokens, nxt.unsqueeze(1)], dim=1)  # [B, t+1]
                step_input = nxt.unsqueeze(1)  # [B, 1]
            parts.append(tokens.cpu())
    return torch.cat(parts)


def ar_calls_per_image(num_positions: int, guidance: float = 0.0) -> int:
    """Network evaluations per image: one per position (two with guidance)."""
    return num_positions * (1 if guidance == 0 else 2)


def uniform_bits(num_codes: int) -> float:
    """Bits per token of the uniform distribution over K codes: log2 K."""
    return math.log2(num_codes)
