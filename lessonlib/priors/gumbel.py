"""The Gumbel-max trick and its relaxation, the Gumbel-softmax (Concrete) distribution.

Gumbel-max: with g_k = -log(-log u_k), u_k ~ U(0, 1) independent,

    argmax_k (logits_k + g_k)  ~  Categorical(softmax(logits))

exactly. The logits enter as they are: they are log-probabilities up to a constant. (A
widely copied version writes log(pi_k) + g_k and then passes logits as pi: it takes the
log of the logits and samples something else.)

Gumbel-softmax (Jang et al. 2017; Maddison et al. 2017, both ICLR) replaces the argmax by a
softmax at temperature tau:

    y = softmax((logits + g) / tau)

a point inside the simplex that approaches the one-hot sample as tau -> 0 and is
differentiable in the logits. The straight-through version (hard=True) returns the exact
one-hot of argmax y in the forward pass and the gradient of y in the backward pass:
y_hard - y.detach() + y.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gumbel_noise(shape, generator: torch.Generator | None = None, *,
                 dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
    """Standard Gumbel noise g = -log(-log u), u = torch.rand(shape, generator=generator)
    kept inside (0, 1) (clamped to [tiny, 1 - eps] of the dtype, so g is always finite).

    u is drawn where the generator lives (a CPU generator draws on the CPU, so a run is
    the same on any device) and the noise is returned on `device`."""
    info = torch.finfo(dtype)
    where = generator.device if generator is not None else device
    u = torch.rand(shape, generator=generator, dtype=dtype, device=where).to(device)
    u = u.clamp(info.tiny, 1.0 - info.eps)
    return -torch.log(-torch.log(u))


def gumbel_softmax(logits: torch.Tensor, tau: float = 1.0, hard: bool = False,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """A Gumbel-softmax sample over the last dimension: [..., K] -> [..., K].

    y = softmax((logits + g) / tau); with hard=True the one-hot of argmax y (same noise),
    carrying the straight-through gradient of y.
    """
    g = gumbel_noise(logits.shape, generator, dtype=logits.dtype, device=logits.device)
    y = F.softmax((logits + g) / tau, dim=-1)  # [..., K]
    if not hard:
        return y
    index = y.argmax(dim=-1, keepdim=True)  # [..., 1]
    y_hard = torch.zeros_like(y).scatter_(-1, index, 1.0)  # [..., K] exact one-hot
    return y_hard - y.detach() + y


def gumbel_max_sample(logits: torch.Tensor, generator: torch.Generator | None = None
                      ) -> torch.Tensor:
    """argmax(logits + g): an exact Categorical(softmax(logits)) draw: [..., K] -> [...]."""
    g = gumbel_noise(logits.shape, generator, dtype=logits.dtype, device=logits.device)
    return (logits + g).argmax(dim=-1)


def category_frequencies(samples: torch.Tensor, num_categories: int) -> torch.Tensor:
    """Frequencies [K] of integer samples (any shape) over 0..K-1."""
    counts = torch.bincount(samples.reshape(-1), minlength=num_categories).double()
    return counts / counts.sum()
