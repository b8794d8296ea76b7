"""Pitfall clinic: FSQ without the half shift for even levels (fix_fsq_even_levels).

round((L - 1)/2 * tanh(z)) is right for odd L only. For even L the scaled value lies in
(-(L-1)/2, (L-1)/2), half-integers at the ends, and rounding it reaches only the L - 1
integers in between: L = 8 gives 7 levels and (8, 5, 5, 5) gives 875 codes, not 1000.
The fix subtracts s = 0.5 before rounding and adds it back after. Subtracting without
adding back (the symptom fixed: 8 levels) leaves a lopsided grid, -4..3.
"""

from __future__ import annotations

import torch

from lessonlib.checks.core import attempt, expect, expect_tensor, expect_tuple, fail, public_check
from lessonlib.checks.quantizers.fsq import check_fsq_quantize
from lessonlib.quantizers import fsq

LEVELS = (8, 5, 6)  # two even channels, one odd


def _levels_reached(fn, z: torch.Tensor) -> torch.Tensor:
    """The learner's z_hat for z [B, d, n] with LEVELS, as floats."""
    z_hat = expect_tuple(attempt(fn, z.clone(), LEVELS), "z_hat, indices")[0]
    return expect_tensor(z_hat, tuple(z.shape), "z_hat").detach().float()


def _probe_levels(fn) -> None:
    """A ramp through every threshold (tanh not saturated), then saturated values: the set
    of levels each channel reaches."""
    ramp = torch.linspace(-5.0, 5.0, 401)  # tanh(5) < 1: every threshold, no saturation
    z_hat = _levels_reached(fn, ramp.expand(1, len(LEVELS), 401).contiguous())
    for c, level in enumerate(LEVELS):
        values = sorted({round(v, 4) for v in torch.unique(z_hat[:, c]).tolist()})
        grid = fsq.fsq_levels(level).tolist()
        half = (level - 1) / 2
        if values == grid:
            continue
        if level % 2 == 0 and len(values) == level - 1:
            fail(f"L = {level} still gives {level - 1} levels, {values[0]:g}..{values[-1]:g}: "
                 f"(L - 1)/2 * tanh(z) stays inside +-{half:g} and rounding it reaches only "
                 "the integers in between, so an even L loses a level (levels (8, 5, 5, 5) "
                 "give 7 * 5 * 5 * 5 = 875 codes, not 1000). Subtract s = 0.5 before "
                 "rounding and add it back after.")
        if level % 2 == 0 and values == [v - 0.5 for v in grid]:
            fail(f"L = {level} has {level} levels now, but they are {values[0]:g}..{values[-1]:g}"
                 ": you subtracted the 0.5 before rounding but did not add it back after. The "
                 f"grid is lopsided, and the codes are not the half-integers {grid[0]:g}.."
                 f"{grid[-1]:g} that the indices decode to (fsq_indices_to_codes).")
        expect(max(abs(v) for v in values) <= half + 1e-6, f"L = {level}: values up to "
               f"{max(abs(v) for v in values):g} escape the grid (largest level {half:g}): "
               "the tanh bound is missing, or the scale is larger than (L - 1)/2.")
        fail(f"L = {level} should reach exactly the levels {grid}, got {values[:10]}.")
    saturated = 30.0 * torch.tensor([-1.0, 1.0]).expand(1, len(LEVELS), 2).contiguous()
    z_hat = _levels_reached(fn, saturated)  # tanh(+-30) is exactly +-1 in float32
    for c, level in enumerate(LEVELS):
        half = (level - 1) / 2
        top = float(z_hat[:, c].abs().max())
        expect(top <= half + 1e-6, f"L = {level}: where tanh(z) is exactly +-1 (large |z|), "
               f"z_hat reaches {top:g}, off the grid (largest level {half:g}). Without the "
               f"half shift an even L rounds (L - 1)/2 = {half:g} up to {half + 0.5:g} there: "
               "subtract s = 0.5 before rounding and add it back after.")


@public_check("fix_fsq_even_levels", reference=fsq.fsq_quantize)
def check_fix_fsq_even_levels(fn) -> None:
    """The levels each channel reaches for even and odd L, then chapter 7's FSQ check."""
    _probe_levels(fn)
    check_fsq_quantize.probe(fn)
