"""Public check for bits per token (lessonlib.priors.scoring.bits_per_token).

Compared with the classic slips on small logits: nats instead of bits, sums instead of
means, log10, normalising by log2 K, a softmax applied twice, forgetting the normaliser
(raw logits as log-probabilities), the class dimension in the wrong place for
F.cross_entropy, and an unstable softmax-then-log.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from lessonlib.checks.core import attempt, close, expect, fail, public_check, reject_slips
from lessonlib.priors import scoring as ref

LN2 = math.log(2.0)


def _ce(logits, targets, reduction="mean"):
    k = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, k).double(), targets.reshape(-1),
                           reduction=reduction)


def _slips(logits, targets) -> list[tuple[str, object]]:
    b, n, k = logits.shape
    nats = float(_ce(logits, targets))
    slips = [
        ("that is the cross-entropy in nats: divide by ln 2 to get bits", nats),
        ("you summed over all tokens; bits per token is the mean", nats * b * n / LN2),
        ("you summed over the tokens of each sequence (bits per sequence); bits per token "
         "is the mean over every token", nats * n / LN2),
        ("you summed in nats; bits per token is the mean, divided by ln 2", nats * b * n),
        ("you divided by ln 10 (log10); bits use log base 2: divide the nats by ln 2",
         nats / math.log(10.0)),
        ("you normalised by log2 K; bits per token is the plain cross-entropy in bits",
         nats / LN2 / math.log2(k)),
        ("you applied a softmax before F.cross_entropy, which applies log_softmax itself: "
         "pass the raw logits", float(_ce(F.softmax(logits.double(), -1), targets)) / LN2),
        ("you used the raw logit of the target as its log-probability: the log-probability "
         "is log_softmax(logits) (subtract logsumexp)",
         float(-logits.double().gather(-1, targets.unsqueeze(-1)).mean()) / LN2),
        ("the sign is flipped: cross-entropy is -mean log2 p(target), a positive number",
         -nats / LN2),
        ("that is the perplexity 2^bits; return the bits", 2 ** (nats / LN2)),
    ]
    if n == k:
        slips.append(("F.cross_entropy reads dim 1 as the classes: with logits [B, N, K] it "
                      "took the N positions for classes. Reshape to [B*N, K] and [B*N] "
                      "(or permute the logits to [B, K, N])",
                      float(F.cross_entropy(logits.double(), targets)) / LN2))
    return slips


def _probe(fn, logits, targets, label) -> None:
    got = attempt(fn, logits.clone(), targets.clone())
    if isinstance(got, torch.Tensor):
        expect(got.numel() == 1, f"return one number (the mean over all tokens), got a tensor "
               f"of shape {list(got.shape)}.")
        fail("return a Python float (float(...) or .item()), not a tensor.")
    expect(isinstance(got, float), f"return a Python float, got {type(got).__name__}.")
    want = ref.bits_per_token(logits, targets)
    expect(math.isfinite(got), f"{label}: got {got}: softmax followed by log overflows or "
           "underflows for large logits; use F.cross_entropy or log_softmax.")
    reject_slips(got, _slips(logits, targets), want=want, tol=1e-5)
    expect(close(got, want, 1e-5), f"{label}: bits per token should be {want:.5f}, got "
           f"{got:.5f}.")


@public_check("bits_per_token", reference=ref.bits_per_token)
def check_bits_per_token(fn) -> None:
    """Shapes [4, 6, 6] (N = K) and [2, 3, 5], confident logits (+-300), equal logits."""
    g = torch.Generator().manual_seed(11)
    logits = 2 * torch.randn(4, 6, 6, generator=g)
    _probe(fn, logits, torch.randint(0, 6, (4, 6), generator=g), "logits [4, 6, 6]")
    logits = 2 * torch.randn(2, 3, 5, generator=g)
    _probe(fn, logits, torch.randint(0, 5, (2, 3), generator=g), "logits [2, 3, 5]")
    big = torch.tensor([[[300.0, -300.0, 0.0], [0.0, 300.0, -300.0]]])  # [1, 2, 3]
    _probe(fn, big, torch.tensor([[0, 2]]), "confident logits (+-300)")
    uniform = torch.zeros(3, 4, 8)
    got = attempt(fn, uniform, torch.randint(0, 8, (3, 4), generator=g))
    expect(close(float(got), 3.0, 1e-5), "equal logits over K = 8 codes must cost log2 8 = 3 "
           f"bits per token, got {float(got):.4f}.")
