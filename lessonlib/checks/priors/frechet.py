"""Public check for the Frechet distance (lessonlib.priors.frechet.frechet_distance).

Probes: one dimension (where the answer is (m1 - m2)^2 + (s1 - s2)^2), non-commuting
covariances (where the shortcuts differ from the matrix square root), rank-deficient
covariances (eigenvalues of S1 S2 that come out slightly negative or complex), and the
classic slips: the factor 2, a square root taken entry by entry, sqrt of the trace, the
mean term not squared or missing, eigvalsh on the non-symmetric S1 S2.
"""

from __future__ import annotations

import math

import torch

from lessonlib.checks.core import attempt, close, expect, fail, public_check, reject_slips
from lessonlib.priors import frechet as ref


def _spd(d: int, seed: int, rank: int | None = None) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(d, rank or d + 2, generator=g, dtype=torch.float64)
    return a @ a.T / a.shape[1]


def _slips(mu1, s1, mu2, s2) -> list[tuple[str, float]]:
    dmu2 = float((mu1 - mu2).pow(2).sum())
    tr = float(torch.trace(s1) + torch.trace(s2))
    root = ref.trace_sqrt_product(s1, s2)
    prod = s1 @ s2
    slips = [
        ("the cross term is -2 Tr((S1 S2)^(1/2)): you left out the factor 2",
         dmu2 + tr - root),
        ("the mean term is the SQUARED norm |mu1 - mu2|^2; you used the norm",
         math.sqrt(dmu2) + tr - 2 * root),
        ("the mean term |mu1 - mu2|^2 is missing", tr - 2 * root),
        ("you took the square root of the trace, sqrt(Tr(S1 S2)); the formula needs the "
         "trace of the matrix square root, the sum of sqrt(eigenvalues of S1 S2)",
         dmu2 + tr - 2 * math.sqrt(max(0.0, float(torch.trace(prod))))),
        ("Tr(S1 S2) without the square root: the cross term is Tr((S1 S2)^(1/2))",
         dmu2 + tr - 2 * float(torch.trace(prod))),
        ("the square root was taken entry by entry (prod ** 0.5, or torch.sqrt of the "
         "matrix): a matrix square root is not element-wise; use the eigenvalues of S1 S2",
         dmu2 + tr - 2 * float(torch.trace(prod.clamp_min(0).sqrt()))),
        ("sqrt(S1 * S2) is element-wise; (S1 S2)^(1/2) is the matrix product's square root: "
         "use the eigenvalues of S1 @ S2",
         dmu2 + tr - 2 * float(torch.trace((s1 * s2).clamp_min(0).sqrt()))),
        ("torch.linalg.eigvalsh assumes a symmetric matrix, and S1 S2 is not symmetric: use "
         "torch.linalg.eigvals and keep the real parts",
         dmu2 + tr - 2 * float(torch.linalg.eigvalsh(prod).clamp_min(0).sqrt().sum())),
        ("you multiplied the square roots of the eigenvalues of S1 and of S2 separately; "
         "that equals Tr((S1 S2)^(1/2)) only when S1 and S2 commute",
         dmu2 + tr - 2 * float((torch.linalg.eigvalsh(s1).clamp_min(0).sqrt()
                                * torch.linalg.eigvalsh(s2).clamp_min(0).sqrt()).sum())),
    ]
    return slips


def _probe(fn, mu1, s1, mu2, s2, label: str, dtype=torch.float64) -> None:
    args = [t.to(dtype).clone() for t in (mu1, s1, mu2, s2)]
    got = attempt(fn, *args)
    if isinstance(got, torch.Tensor):
        expect(got.numel() == 1, f"return one number, got shape {list(got.shape)}.")
        expect(not got.is_complex(), "the result is complex: take the real parts of the "
               "eigenvalues (.real) before the square root.")
        fail("return a Python float (float(...)), not a tensor.")
    expect(isinstance(got, float), f"return a Python float, got {type(got).__name__}.")
    want = ref.frechet_distance(mu1, s1, mu2, s2)
    expect(math.isfinite(got), f"{label}: the result is {got}, the square root of a negative "
           "number. Take the matrix square root through the eigenvalues of S1 S2 (torch.sqrt "
           "of the matrix is element-wise, and its entries can be negative); those eigenvalues "
           "can come out slightly negative (or with tiny imaginary parts) in floating point: "
           "take the real parts and clamp negatives to 0 before the square root.")
    tol = 1e-6 if dtype == torch.float64 else 1e-3
    reject_slips(got, _slips(mu1, s1, mu2, s2), want=want, tol=tol)
    expect(close(got, want, tol), f"{label}: the Frechet distance should be {want:.6f}, got "
           f"{got:.6f}.")


@public_check("frechet_distance", reference=ref.frechet_distance)
def check_frechet_distance(fn) -> None:
    """1-D Gaussians, non-commuting covariances in 5-D, rank-deficient covariances in 12-D,
    float32 inputs, and identical Gaussians."""
    _probe(fn, torch.tensor([1.0]), torch.tensor([[4.0]]), torch.tensor([-2.0]),
           torch.tensor([[9.0]]), "1-D: N(1, 2^2) vs N(-2, 3^2)")
    g = torch.Generator().manual_seed(2)
    mu1, mu2 = torch.randn(5, generator=g, dtype=torch.float64), torch.randn(
        5, generator=g, dtype=torch.float64)
    _probe(fn, mu1, _spd(5, 3), mu2, _spd(5, 4), "5-D, non-commuting covariances")
    zero = torch.zeros(12, dtype=torch.float64)
    _probe(fn, zero, _spd(12, 5, rank=3), zero + 0.1, _spd(12, 6, rank=2),
           "12-D, rank-deficient covariances")
    _probe(fn, mu1, _spd(5, 7), mu2, _spd(5, 8), "5-D, float32 inputs", dtype=torch.float32)
    s = _spd(4, 1)
    got = attempt(fn, torch.zeros(4, dtype=torch.float64), s.clone(),
                  torch.zeros(4, dtype=torch.float64), s.clone())
    expect(abs(float(got)) < 1e-6, f"two identical Gaussians are at distance 0, got "
           f"{float(got):.3g}.")
