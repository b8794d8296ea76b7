"""Public checks for walking in latent space: interpolate."""

from __future__ import annotations

import torch

from lessonlib.autoencoders import interpolation as latent
from lessonlib.checks.core import (
    attempt,
    attempt_pure,
    close,
    expect,
    expect_tensor,
    public_check,
    reject_slips,
)


def _path(z1: torch.Tensor, z2: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Points z1 + t (z2 - z1) for each t: [D], [D], [S] -> [S, D] (float64 oracle)."""
    return z1.double() + t.double()[:, None] * (z2.double() - z1.double())


def _slerp(z1: torch.Tensor, z2: torch.Tensor, steps: int) -> torch.Tensor:
    """Spherical interpolation (what the exercise does not ask for): [D], [D] -> [S, D]."""
    a, b = z1.double(), z2.double()
    omega = torch.arccos((a @ b / (a.norm() * b.norm())).clamp(-1, 1))
    t = torch.linspace(0, 1, steps, dtype=torch.float64)[:, None]  # [S, 1]
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def _slips(z1: torch.Tensor, z2: torch.Tensor, s: int) -> dict:
    """The path each classic mistake gives for `s` steps: message -> [s, D]."""
    grids = {
        "the endpoints are missing: t runs strictly between 0 and 1; the path must start at "
        "z1 and end at z2.": torch.arange(1, s + 1) / (s + 1),
        "the path never reaches z2: t = i / steps stops one step short; divide by steps - 1.":
            torch.arange(s) / s,
        "the path starts one step after z1: t = (i + 1) / steps; the first t must be 0.":
            torch.arange(1, s + 1) / s,
        "t is not scaled to [0, 1]: t = 0, 1, ..., steps - 1 overshoots past z2; divide by "
        "steps - 1 (or use torch.linspace(0, 1, steps)).": torch.arange(s),
        "the direction is reversed: the first row must be z1 and the last z2.":
            torch.linspace(1, 0, s),
        "only the endpoints appear: integer division makes t = 0 everywhere but the last "
        "step.": (torch.arange(s) == s - 1).double(),
        "every row is the midpoint (z1 + z2) / 2: t must change from row to row.":
            torch.full((s,), 0.5),
    }
    slips = {message: _path(z1, z2, t) for message, t in grids.items()}
    slips["that is spherical interpolation (slerp), an arc; this exercise asks for the "
          "straight line (1 - t) z1 + t z2."] = _slerp(z1, z2, s)
    return slips


def _interpolate_shape(fn, z1, z2, steps: int) -> torch.Tensor:
    """One tensor [steps, D] in the inputs' dtype, the inputs left untouched."""
    got = attempt_pure(fn, z1, z2, steps, names="z1, z2")
    expect(not (isinstance(got, (list, tuple)) and got
                and all(isinstance(row, torch.Tensor) for row in got)),
           "you returned a Python list of points: stack them into one tensor [steps, D].")
    d = z1.shape[0]
    expect(not (isinstance(got, torch.Tensor) and got.dim() == 1
                and close(got.double(), (z1 + z2).double() / 2, 1e-4)),
           "you returned only the midpoint (z1 + z2) / 2: return the whole path, [steps, D].")
    expect_tensor(got, (steps, d), f"interpolate(z1, z2, steps={steps}), D = {d},", {
        (d,): "you returned a single vector: return the whole path, one row per step.",
        (d, steps): "the result is transposed, [D, steps]: return one row per step, [steps, D].",
        (steps - 1, d): f"got {steps - 1} rows for steps={steps}: both endpoints are steps.",
        (steps + 1, d): f"got {steps + 1} rows for steps={steps}: `steps` counts all points."})
    expect(got.dtype == z1.dtype, f"z1 and z2 are {z1.dtype} but the path is {got.dtype}: keep "
           "the inputs' dtype (an integer or numpy t changes it; a decoder then refuses it).")
    return got


@public_check("interpolate", reference=latent.interpolate)
def check_interpolate(fn) -> None:
    """Shape [steps, D], both endpoints, even spacing on the straight line, gradients."""
    z1, z2 = torch.tensor([1.0, -2.0, 0.5, 3.0]), torch.tensor([-3.0, 2.0, 4.5, 3.0])
    got = _interpolate_shape(fn, z1, z2, 5)
    want = _path(z1, z2, torch.linspace(0, 1, 5, dtype=torch.float64))  # [5, D]
    reject_slips(got, _slips(z1, z2, 5), want=want, tol=1e-4)
    for row, end in ((0, "first row should be z1 (t = 0)"), (-1, "last row should be z2 (t = 1)")):
        expect(close(got[row], want[row], 1e-5), f"the {end}.")
    expect(close(got, want, 1e-5), "the rows should be evenly spaced on the straight line: "
           "row i is (1 - t_i) z1 + t_i z2 with t_i = i / (steps - 1).")
    two = attempt(fn, z1, z2, 2)
    expect(isinstance(two, torch.Tensor) and tuple(two.shape) == (2, 4)
           and close(two, torch.stack([z1, z2]).double(), 1e-5),
           "with steps=2 the path is just [z1, z2].")
    # float64 inputs that require grad: a float64 path whose gradients are (1 - t) and t
    a = torch.tensor([0.3, -0.7], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([1.1, 0.4], dtype=torch.float64, requires_grad=True)
    path = expect_tensor(attempt(fn, a, b, 4), (4, 2), "interpolate(z1, z2, steps=4), D = 2,")
    expect(path.requires_grad, "no gradient reaches z1 and z2: build the path with tensor "
           "arithmetic (no .item(), .tolist(), .numpy() or torch.tensor(...) of the values).")
    expect(path.dtype == torch.float64, f"with float64 inputs the path should be float64 too, "
           f"got {path.dtype} (do not cast the result).")
    weights = torch.arange(1.0, 9.0, dtype=torch.float64).view(4, 2)  # [4, 2]
    (path * weights).sum().backward()
    t = torch.linspace(0, 1, 4, dtype=torch.float64)[:, None]  # [4, 1]
    expect(a.grad is not None and b.grad is not None
           and close(a.grad, ((1 - t) * weights).sum(0), 1e-6)
           and close(b.grad, (t * weights).sum(0), 1e-6), "the gradients with respect to z1 "
           "and z2 are not those of (1 - t) z1 + t z2: keep the path a plain weighted sum.")
