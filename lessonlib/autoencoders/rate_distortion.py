"""Rate-distortion for Gaussian sources under squared error: how few bits a given error needs.

Shannon's rate-distortion function R(D) is the smallest number of bits per sample with
which any code can describe a source so that the mean squared error stays at most D. For a
Gaussian source of variance v it has a closed form (Cover and Thomas, Elements of
Information Theory, 2006, ch. 10):

    R(D) = max(0, 1/2 log2(v / D))  bits             (gaussian_rate_distortion)

Each halving of the error costs half a bit; at D >= v no bits are needed (send nothing,
guess the mean). For independent Gaussian components of variances v_1..v_n (the
eigenvalues of a covariance matrix) the optimal split of the error is **reverse
water-filling**: pick a water level theta, give each component the error
D_i = min(theta, v_i), and spend R = sum_i max(0, 1/2 log2(v_i / D_i)) bits. Components
below the water level are not sent at all.

    water_filling(variances, theta)          -> (rate in bits, total distortion)
    rate_distortion_curve(variances, n=100)  -> (rates, distortions) along the curve
    gaussian_rate_for_distortion(variances, D) -> bits, by bisection on theta

Among all sources with a given covariance the Gaussian is the hardest to compress, so for
other data these numbers are an upper bound on R(D): a code that finds non-Gaussian
structure can do better.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch


def gaussian_rate_distortion(variance: float, distortion: float) -> float:
    """Bits per sample to describe a Gaussian of `variance` with MSE `distortion`:
    max(0, 0.5 * log2(variance / distortion)). Both arguments must be positive."""
    if variance <= 0 or distortion <= 0:
        raise ValueError(f"variance and distortion must be positive, got {variance}, "
                         f"{distortion}")
    return max(0.0, 0.5 * math.log2(variance / distortion))


def _as_list(variances) -> list[float]:
    values = (variances.detach().double().flatten().tolist()
              if isinstance(variances, torch.Tensor) else [float(v) for v in variances])
    if not values or min(values) <= 0:
        raise ValueError("variances must be a non-empty list of positive numbers")
    return values


def water_filling(variances: Sequence[float] | torch.Tensor, theta: float,
                  rate_fn=gaussian_rate_distortion) -> tuple[float, float]:
    """(rate in bits, total distortion) of reverse water-filling at water level `theta`.

    variances [n]: the component variances; each component gets D_i = min(theta, v_i)
    and costs rate_fn(v_i, D_i) bits (rate_fn: the scalar Gaussian R(D), replaceable by
    a learner's version).
    """
    values = _as_list(variances)
    shares = [min(theta, v) for v in values]
    return sum(rate_fn(v, d) for v, d in zip(values, shares)), sum(shares)


def rate_distortion_curve(variances: Sequence[float] | torch.Tensor, n: int = 100,
                          rate_fn=gaussian_rate_distortion) -> tuple[list[float], list[float]]:
    """The Gaussian R(D) curve for these component variances at `n` water levels spaced
    geometrically from 1e-4 of the smallest variance to the largest: (rates, distortions),
    rates in bits, distortions as totals over the components (from small D to large)."""
    values = _as_list(variances)
    low, high = math.log(min(values) * 1e-4), math.log(max(values))
    levels = [math.exp(low + (high - low) * i / (n - 1)) for i in range(n)]
    points = [water_filling(values, theta, rate_fn) for theta in levels]
    return [r for r, _ in points], [d for _, d in points]


def gaussian_rate_for_distortion(variances: Sequence[float] | torch.Tensor,
                                 distortion: float, rate_fn=gaussian_rate_distortion) -> float:
    """R(D) in bits for a total distortion D over independent Gaussian components: the
    water level theta with sum_i min(theta, v_i) = D is found by bisection. D at or above
    the total variance needs 0 bits."""
    values = _as_list(variances)
    if distortion <= 0:
        raise ValueError(f"distortion must be positive, got {distortion}")
    if distortion >= sum(values):
        return 0.0
    low, high = 0.0, max(values)
    for _ in range(200):  # sum(min(theta, v)) grows with theta: bisection converges
        mid = 0.5 * (low + high)
        if sum(min(mid, v) for v in values) < distortion:
            low = mid
        else:
            high = mid
    return water_filling(values, 0.5 * (low + high), rate_fn)[0]
