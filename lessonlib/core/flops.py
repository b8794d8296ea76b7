"""Counting the floating-point operations of a forward pass, without running it.

torch.utils.flop_counter counts the FLOPs of the matrix products, convolutions and
attention of a forward pass (a multiply-add counts as 2). On the "meta" device tensors have
shapes but no data, so a network of any size can be counted at any input size in
milliseconds and without memory:

    with torch.device("meta"):
        net = UNetLike(in_channels=4)          # parameters without storage
    count_flops(net, (1, 4, 64, 64))          # FLOPs for one 4x64x64 input

Element-wise operations (activations, normalisations, additions) are not counted; in
convolutional networks they are a small fraction of the work.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_flops(module: nn.Module, *shapes: tuple[int, ...]) -> int:
    """FLOPs of module(*inputs) for zero inputs of the given shapes, on the module's device
    (build it on the meta device to count without computing)."""
    device = next(module.parameters()).device
    inputs = [torch.zeros(shape, device=device) for shape in shapes]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(*inputs)
    return int(counter.get_total_flops())
