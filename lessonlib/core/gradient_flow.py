"""Which parameters does a loss move? Ask autograd, without touching any `.grad`.

    sends_gradient(loss, {"encoder": enc.parameters(), "codebook": [vq.codebook.weight]})
    -> {"encoder": True, "codebook": False}

A group counts as moved when at least one of its parameters receives a gradient that is
not exactly zero. A loss that does not require grad (everything in it was detached) moves
nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch


def sends_gradient(loss: torch.Tensor,
                   groups: Mapping[str, Iterable[torch.Tensor]]) -> dict[str, bool]:
    """For each named group of parameters: does the scalar `loss` send it a non-zero gradient?

    Uses torch.autograd.grad with retain_graph=True, so the graph survives for the next
    question and no parameter's `.grad` is modified.
    """
    groups = {name: list(params) for name, params in groups.items()}
    flat = [(name, p) for name, params in groups.items() for p in params if p.requires_grad]
    moved = dict.fromkeys(groups, False)
    if not loss.requires_grad or not flat:
        return moved
    grads = torch.autograd.grad(loss, [p for _, p in flat], retain_graph=True,
                                allow_unused=True)
    for (name, _), grad in zip(flat, grads):
        if grad is not None and bool(grad.ne(0).any()):
            moved[name] = True
    return moved
