"""Realistic wrong answers for ch01_autoencoders (see AUTHORING.md)."""

import torch


def conv_out_size__padding_once(size, kernel, stride, padding):
    """Adds the padding once, as if only one side of the image were padded."""
    return (size + padding - kernel) // stride + 1


def conv_out_size__no_plus_one(size, kernel, stride, padding):
    """Forgets the + 1 that counts the first window position."""
    return (size + 2 * padding - kernel) // stride


def conv_out_size__true_division(size, kernel, stride, padding):
    """Uses `/` and never floors: returns a float such as 7.5 where the layer gives 7."""
    return (size + 2 * padding - kernel) / stride + 1


def interpolate__endpoints_excluded(z1, z2, steps):
    """Takes steps + 2 points of linspace and drops both ends: z1 and z2 never appear."""
    t = torch.linspace(0.0, 1.0, steps + 2)[1:-1].unsqueeze(1)  # [S, 1]
    return (1 - t) * z1 + t * z2


def interpolate__range_steps(z1, z2, steps):
    """t = i / steps for i in range(steps): starts at z1 but stops one step short of z2."""
    return torch.stack([z1 + (i / steps) * (z2 - z1) for i in range(steps)])


def interpolate__transposed(z1, z2, steps):
    """Stacks the points as columns: returns [D, steps] instead of [steps, D]."""
    t = torch.linspace(0.0, 1.0, steps)  # [S]
    return torch.stack([(1 - ti) * z1 + ti * z2 for ti in t], dim=1)


answer_q1__a = "a"
answer_q1__d = "d"


# The learner who imports lessonlib's reference instead of writing the function: every
# graded test cell must reject it (lessonlib.checks.provenance).
from lessonlib.autoencoders.interpolation import interpolate as interpolate__imported_reference  # noqa: E402
from lessonlib.autoencoders.shapes import conv_out_size as conv_out_size__imported_reference  # noqa: E402

MESSAGES = {
    "conv_out_size__padding_once": "both sides",
    "conv_out_size__no_plus_one": r"\+ 1",
    "conv_out_size__true_division": "return an int",
    "interpolate__endpoints_excluded": "endpoints are missing",
    "interpolate__range_steps": "never reaches z2",
    "interpolate__transposed": "transposed",
}
