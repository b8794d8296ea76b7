"""Public check for the receptive field of a stack of convolutions (lessonlib.tokenizers.patchgan).

The probes use single layers, pix2pix's 70x70 discriminator and mixed stacks, and name the
classic slips: the jump updated before it is used, a kernel counted whole instead of
k - 1, strides ignored, the layers read from output to input, a start at 0.
"""

from __future__ import annotations

import numbers
import operator

from lessonlib.checks.core import attempt, expect, public_check, reject_slips
from lessonlib.tokenizers import patchgan as ref

PIX2PIX = [(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)]
_CASES = [PIX2PIX, [(4, 2), (4, 1), (4, 1)], [(3, 1), (3, 2), (5, 2), (3, 1)],
          [(7, 2), (3, 2), (3, 3)]]


def _jump_first(layers):
    r, jump = 1, 1
    for k, s in layers:
        jump *= s
        r += (k - 1) * jump
    return r


def _whole_kernel(layers):
    r, jump = 1, 1
    for k, s in layers:
        r += k * jump
        jump *= s
    return r


def _from_zero(layers):
    r, jump = 0, 1
    for k, s in layers:
        r += (k - 1) * jump
        jump *= s
    return r


def _no_stride(layers):
    return 1 + sum(k - 1 for k, _ in layers)


def _product(layers):
    r = 1
    for k, s in layers:
        r = r * s + (k - s)
    return r


_SLIPS = {
    "the jump (the input distance between neighbouring units) must be used before it is "
    "multiplied by this layer's stride: first r += (k - 1) * jump, then jump *= s.":
        _jump_first,
    "a kernel of size k widens the field by k - 1 times the jump, not k (one kernel of "
    "size 3 on the input sees 3 pixels, so r goes from 1 to 3).": _whole_kernel,
    "start from r = 1 (one output unit of zero layers sees one pixel), not 0.": _from_zero,
    "the strides are ignored: after a layer of stride s, neighbouring units are s times "
    "further apart in the input, so later kernels widen the field by (k - 1) * jump.":
        _no_stride,
    "the layers are listed from input to output; you walked them in the opposite order.":
        lambda layers: ref.receptive_field(list(reversed(layers))),
    "you iterated r = r * s + (k - s) with the layers in input-to-output order; that "
    "recursion holds from the output back to the input (reverse the list).": _product,
}


@public_check("receptive_field", reference=ref.receptive_field)
def check_receptive_field(fn) -> None:
    """One layer, no layer, pix2pix's 70 and three other stacks, all integers."""
    cases = [[(3, 1)], [(4, 2)], [], *_CASES]
    got = [attempt(fn, list(layers)) for layers in cases]
    for g in got:
        expect(isinstance(g, numbers.Integral) and not isinstance(g, bool),
               f"return an int (a number of pixels), got {type(g).__name__} {g!r}.")
    want = [ref.receptive_field(layers) for layers in cases]
    reject_slips(got, {message: [slip(layers) for layers in cases]
                       for message, slip in _SLIPS.items()}, want=want, same=operator.eq)
    expect(got[2] == 1, f"an empty stack should give 1 (the unit sees one pixel), got {got[2]}.")
    for (k, s), g, w in zip([(3, 1), (4, 2)], got, want):
        expect(g == w, f"a single layer with kernel {k}, stride {s} sees {w} pixels, got {g}.")
    expect(got[3] == 70, f"pix2pix's discriminator {PIX2PIX} should give 70, got {got[3]}.")
    for layers, g, w in zip(cases[4:], got[4:], want[4:]):
        expect(g == w, f"{layers} should give {w}, got {g}.")
    expect(attempt(fn, tuple(PIX2PIX)) == 70, "a tuple of layers should work like a list.")
