"""Public check for the Gaussian rate-distortion function (lessonlib.autoencoders.rate_distortion).

The probes: D = v / 4 costs 1 bit; D = v costs nothing, and so does D > v (never a
negative rate); more cases on a log scale. Slips named: nats instead of bits, the 1/2
missing, the ratio upside down, the max(0, .) missing, the square root of the ratio taken
twice, a tensor or numpy number instead of a float.
"""

from __future__ import annotations

import math

from lessonlib.autoencoders import rate_distortion as ref
from lessonlib.checks.core import attempt, expect, expect_number, public_check, reject_slips

_CASES = [(1.0, 0.25), (4.0, 1.0), (10.0, 0.1), (2.0, 0.5), (0.3, 0.02), (5.0, 4.0)]
_ABOVE = [(1.0, 1.0), (2.0, 8.0), (0.5, 0.6)]  # D >= v: zero bits


def _slip_values(formula) -> list[float]:
    return [formula(v, d) for v, d in _CASES + _ABOVE]


_SLIPS = {
    "the rate is in bits: use log2, not the natural log (that gives nats).":
        lambda v, d: max(0.0, 0.5 * math.log(v / d)),
    "the factor 1/2 is missing: R(D) = 1/2 log2(variance / distortion).":
        lambda v, d: max(0.0, math.log2(v / d)),
    "the ratio is upside down: variance / distortion, not distortion / variance.":
        lambda v, d: max(0.0, 0.5 * math.log2(d / v)),
    "a distortion at or above the variance needs no bits (send nothing, guess the mean): "
    "the rate is max(0, ...), never negative.": lambda v, d: 0.5 * math.log2(v / d),
    "1/2 log2(v / D) already accounts for the square root of the ratio of variances; you "
    "took it twice.": lambda v, d: max(0.0, 0.25 * math.log2(v / d)),
    "use the variance itself, not its square root, in the ratio.":
        lambda v, d: max(0.0, 0.5 * math.log2(math.sqrt(v) / d)),
}


@public_check("gaussian_rate_distortion", reference=ref.gaussian_rate_distortion)
def check_gaussian_rate_distortion(fn) -> None:
    """Bits for six distortions below the variance and three at or above it."""
    got = [expect_number(attempt(fn, v, d)) for v, d in _CASES + _ABOVE]
    want = _slip_values(ref.gaussian_rate_distortion)
    reject_slips(got, {message: (lambda f=f: _slip_values(f)) for message, f in _SLIPS.items()},
                 want=want, same=lambda a, b: all(math.isclose(x, y, abs_tol=1e-6)
                                                  for x, y in zip(a, b)))
    expect(math.isclose(got[0], 1.0, abs_tol=1e-6), f"a distortion of a quarter of the "
           f"variance (1.0 -> 0.25) should cost exactly 1 bit, got {got[0]}.")
    for (v, d), g, w in zip(_CASES + _ABOVE, got, want):
        expect(math.isclose(g, w, abs_tol=1e-6), f"variance {v}, distortion {d} should "
               f"give {w:.4f} bits, got {g:.4f}.")
