"""Random draws for a model on any device, reproducible from one CPU generator.

The course seeds CPU generators (torch.Generator()). A CPU generator cannot draw on a GPU,
so samplers ask `generator_on(device, generator)` for one that can: on the CPU it is the
generator itself (same numbers as before, draw for draw); on another device it is a new
generator of that device, seeded once from the CPU generator (reproducible on that device,
and no step waits for a copy to the host).
"""

from __future__ import annotations

import torch


def generator_on(device: torch.device | str, generator: torch.Generator | None
                 ) -> torch.Generator | None:
    """A generator that draws on `device`, derived from `generator` (None stays None)."""
    device = torch.device(device)
    if generator is None or generator.device.type == device.type:
        return generator
    seed = int(torch.randint(2**62, (), generator=generator))  # a CPU draw, not a sync
    return torch.Generator(device=device).manual_seed(seed)
