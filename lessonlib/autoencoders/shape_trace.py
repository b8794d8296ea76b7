"""Shape trace: the output shape of every child module on one forward pass."""

from __future__ import annotations

import torch
from torch import nn


def trace_shapes(module: nn.Module, x: torch.Tensor) -> list[tuple[str, tuple[int, ...]]]:
    """Run `module(x)` and return [(child name, output shape), ...] in call order.

    Leaf modules only (Conv2d, Linear, ...); the input is listed first as ("input", shape).
    """
    trace: list[tuple[str, tuple[int, ...]]] = [("input", tuple(x.shape))]
    hooks = []
    for name, child in module.named_modules():
        if name and not list(child.children()):
            hooks.append(child.register_forward_hook(
                lambda _m, _i, out, name=name: trace.append((name, tuple(out.shape)))))
    try:
        with torch.no_grad():
            module(x)
    finally:
        for hook in hooks:
            hook.remove()
    return trace
