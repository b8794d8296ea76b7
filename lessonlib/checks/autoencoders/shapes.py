"""Public checks for shape arithmetic: compression_ratio, conv_out_size."""

from __future__ import annotations

import operator

from lessonlib.autoencoders import shapes
from lessonlib.checks.core import attempt, close, expect, expect_close, public_check, reject_slips


@public_check("compression_ratio", reference=shapes.compression_ratio)
def check_compression_ratio(fn) -> None:
    """Stable Diffusion's 48x, a non-integer ratio, and plain lists as shapes."""
    got = attempt(fn, (1, 3, 512, 512), (1, 4, 64, 64))
    expect(isinstance(got, (int, float)) or hasattr(got, "item"),
           f"return a number (float), got {type(got).__name__}.")
    got = float(got)
    reject_slips(got, {
        "the ratio is upside down: it is input / latent, not latent / input.": 1 / 48,
        "you added the dimensions: a tensor of shape [a, b, c] holds a * b * c numbers "
        "(use math.prod).": (1 + 3 + 512 + 512) / (1 + 4 + 64 + 64),
    }, want=48.0, tol=1e-3)
    expect(close(got, 48.0), f"[1, 3, 512, 512] -> [1, 4, 64, 64] should give 48.0, got {got}.")
    odd = float(attempt(fn, [3, 5], [2]))
    expect_close(odd, 7.5, f"[3, 5] -> [2] should give 7.5, got {odd}.", {
        "[3, 5] -> [2] gave 7: floor division `//` drops the fraction; use `/`.": 7.0})


_CONV_CASES = [(28, 4, 2, 1), (14, 4, 2, 1), (7, 3, 1, 1), (7, 3, 2, 0), (8, 3, 2, 0),
               (5, 3, 1, 2), (32, 5, 3, 2), (11, 3, 3, 0)]
_CONV_SLIPS = {  # message -> the formula a learner may have written: (size, k, s, p) -> int
    "padding counts on both sides: use size + 2 * padding.":
        lambda n, k, s, p: (n + p - k) // s + 1,
    "you dropped the + 1 (the first window position counts).":
        lambda n, k, s, p: (n + 2 * p - k) // s,
    "the + 1 goes after the division: floor((size + 2p - k) / s) + 1.":
        lambda n, k, s, p: (n + 2 * p - k + 1) // s,
    "round down (floor), not up.": lambda n, k, s, p: -(-(n + 2 * p - k) // s) + 1,
    "round down (floor), not to the nearest integer.":
        lambda n, k, s, p: round((n + 2 * p - k) / s) + 1,
    "the kernel is subtracted once, not added.": lambda n, k, s, p: (n + 2 * p + k) // s + 1,
}


@public_check("conv_out_size", reference=shapes.conv_out_size)
def check_conv_out_size(fn) -> None:
    """The encoder's 28 -> 14 -> 7 steps, a 'same' convolution, and cases that need floor."""
    outputs = [attempt(fn, *case) for case in _CONV_CASES]
    for got in outputs:
        expect(isinstance(got, int) and not isinstance(got, bool),
               f"return an int (a size counts pixels), got {type(got).__name__} {got!r}.")
    wants = [(n + 2 * p - k) // s + 1 for n, k, s, p in _CONV_CASES]
    reject_slips(outputs, {message: [formula(*case) for case in _CONV_CASES]
                           for message, formula in _CONV_SLIPS.items()},
                 want=wants, same=operator.eq)
    for case, got, want in zip(_CONV_CASES, outputs, wants):
        expect(got == want, "size {}, kernel {}, stride {}, padding {} should give {}, got {}."
               .format(*case, want, got))
