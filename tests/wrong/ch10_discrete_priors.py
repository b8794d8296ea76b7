"""Realistic wrong answers for ch10_discrete_priors (see AUTHORING.md).

The widely copied slips come first: the log of the logits in the Gumbel-max trick, one log
too few in the Gumbel noise, the temperature in the wrong place, a second noise draw for
the hard sample, the straight-through detach on the wrong side; the mask conventions of
attention; the off-by-one and float32 pitfalls of MaskGIT's schedule; keeping the most
confident tokens masked; nats for bits; the matrix square root taken entry by entry.
"""

import math

import torch
import torch.nn.functional as F

# ---------------------------------------------------------------- gumbel_softmax


def gumbel_softmax__log_of_logits(logits, tau=1.0, hard=False, generator=None):
    """The widely copied formula: log(pi) + g with the logits passed as pi."""
    u = torch.rand(logits.shape, generator=generator, dtype=logits.dtype).clamp(1e-20, 1.0)
    g = -torch.log(-torch.log(u))
    y = F.softmax((torch.log(logits) + g) / tau, dim=-1)
    if not hard:
        return y
    y_hard = F.one_hot(y.argmax(-1), y.shape[-1]).to(y.dtype)
    return y_hard - y.detach() + y


def gumbel_softmax__hard_second_draw(logits, tau=1.0, hard=False, generator=None):
    """The hard sample comes from a second, independent noise draw."""
    u = torch.rand(logits.shape, generator=generator, dtype=logits.dtype).clamp(1e-20, 1.0)
    y = F.softmax((logits - torch.log(-torch.log(u))) / tau, dim=-1)
    if not hard:
        return y
    u2 = torch.rand(logits.shape, generator=generator, dtype=logits.dtype).clamp(1e-20, 1.0)
    index = (logits - torch.log(-torch.log(u2))).argmax(-1)
    y_hard = F.one_hot(index, y.shape[-1]).to(y.dtype)
    return y_hard - y.detach() + y


def gumbel_softmax__detach_wrong_side(logits, tau=1.0, hard=False, generator=None):
    """Straight-through with the detach on the wrong side: y_hard - y + y.detach()."""
    u = torch.rand(logits.shape, generator=generator, dtype=logits.dtype).clamp(1e-20, 1.0)
    y = F.softmax((logits - torch.log(-torch.log(u))) / tau, dim=-1)
    if not hard:
        return y
    y_hard = F.one_hot(y.argmax(-1), y.shape[-1]).to(y.dtype)
    return y_hard - y + y.detach()


def gumbel_softmax__ignores_generator(logits, tau=1.0, hard=False, generator=None):
    """The seed's snippet: torch.rand_like, which takes no generator."""
    g = -torch.log(-torch.log(torch.rand_like(logits) + 1e-20) + 1e-20)
    y = F.softmax((logits + g) / tau, dim=-1)
    if not hard:
        return y
    y_hard = torch.zeros_like(y).scatter_(-1, y.argmax(-1, keepdim=True), 1.0)
    return y_hard - y.detach() + y


from lessonlib.priors.gumbel import gumbel_softmax as gumbel_softmax__imported_reference  # noqa: E402

# ---------------------------------------------------------------- causal_mask


def causal_mask__upper_triangle(n):
    """torch.triu: every query attends to the future."""
    return torch.ones(n, n, dtype=torch.bool).triu()


def causal_mask__no_diagonal(n):
    """j < i: a position cannot attend to itself (row 0 attends to nothing)."""
    return torch.ones(n, n, dtype=torch.bool).tril(diagonal=-1)


def causal_mask__blocked_convention(n):
    """nn.MultiheadAttention's convention: True = blocked."""
    return torch.ones(n, n, dtype=torch.bool).triu(diagonal=1)


def causal_mask__float_ones(n):
    """A float mask of ones and zeros: SDPA adds it to the scores and blocks nothing."""
    return torch.ones(n, n).tril()


from lessonlib.priors.masks import causal_mask as causal_mask__imported_reference  # noqa: E402

# ---------------------------------------------------------------- maskgit_num_masked


def maskgit_num_masked__step_not_shifted(step, total_steps, num_tokens):
    """cos(pi/2 * step / T): off by one, the first step masks everything again."""
    return max(0, math.floor(num_tokens * math.cos(math.pi / 2 * step / total_steps)))


def maskgit_num_masked__ceil(step, total_steps, num_tokens):
    """Rounds up."""
    return max(0, math.ceil(num_tokens * math.cos(math.pi / 2 * (step + 1) / total_steps)))


def maskgit_num_masked__revealed_count(step, total_steps, num_tokens):
    """Returns how many tokens are revealed, not how many stay masked."""
    return num_tokens - math.floor(num_tokens * math.cos(math.pi / 2 * (step + 1) / total_steps))


def maskgit_num_masked__float32_cosine(step, total_steps, num_tokens):
    """torch.cos in float32 without the clamp: -1 after the last step."""
    angle = torch.tensor(math.pi / 2 * (step + 1) / total_steps)
    return math.floor(num_tokens * float(torch.cos(angle)))


from lessonlib.priors.maskgit import (  # noqa: E402
    maskgit_num_masked as maskgit_num_masked__imported_reference,
)

# ---------------------------------------------------------------- confidence_mask


def confidence_mask__keeps_most_confident(confidence, mask, num_masked):
    """Keeps the most confident positions masked."""
    candidates = confidence.masked_fill(~mask, float("-inf"))
    top = candidates.topk(num_masked, dim=1).indices
    return torch.zeros_like(mask).scatter_(1, top, True)


def confidence_mask__ignores_mask(confidence, mask, num_masked):
    """Lowest confidence over all positions: re-masks tokens already revealed."""
    low = confidence.topk(num_masked, dim=1, largest=False).indices
    return torch.zeros_like(mask).scatter_(1, low, True)


def confidence_mask__returns_revealed(confidence, mask, num_masked):
    """Returns the positions revealed at this step instead of the new mask."""
    candidates = confidence.masked_fill(~mask, float("inf"))
    low = candidates.topk(num_masked, dim=1, largest=False).indices
    keep = torch.zeros_like(mask).scatter_(1, low, True)
    return mask & ~keep


def confidence_mask__batch_threshold(confidence, mask, num_masked):
    """One confidence threshold for the whole batch instead of per row."""
    candidates = confidence.masked_fill(~mask, float("inf"))
    if num_masked == 0:
        return torch.zeros_like(mask)
    threshold = candidates.reshape(-1).sort().values[num_masked * mask.shape[0] - 1]
    return mask & (confidence <= threshold)


from lessonlib.priors.maskgit import (  # noqa: E402
    confidence_mask as confidence_mask__imported_reference,
)

# ---------------------------------------------------------------- bits_per_token


def bits_per_token__nats(logits, targets):
    """Returns nats: forgets to divide by ln 2."""
    return float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)))


def bits_per_token__summed(logits, targets):
    """Sums over tokens instead of averaging."""
    nats = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                           reduction="sum")
    return float(nats) / math.log(2)


def bits_per_token__class_dim(logits, targets):
    """Passes [B, N, K] straight to F.cross_entropy, which reads dim 1 as the classes."""
    return float(F.cross_entropy(logits, targets)) / math.log(2)


def bits_per_token__softmax_first(logits, targets):
    """Applies softmax before F.cross_entropy (which applies log_softmax itself)."""
    probs = F.softmax(logits, dim=-1)
    nats = F.cross_entropy(probs.reshape(-1, probs.shape[-1]), targets.reshape(-1))
    return float(nats) / math.log(2)


from lessonlib.priors.scoring import bits_per_token as bits_per_token__imported_reference  # noqa: E402

# ---------------------------------------------------------------- frechet_distance


def frechet_distance__no_factor_two(mu1, sigma1, mu2, sigma2):
    """Tr(S1 + S2 - (S1 S2)^(1/2)): the factor 2 is missing."""
    s1, s2 = sigma1.double(), sigma2.double()
    root = torch.linalg.eigvals(s1 @ s2).real.clamp_min(0).sqrt().sum()
    return float((mu1.double() - mu2.double()).pow(2).sum() + torch.trace(s1 + s2) - root)


def frechet_distance__elementwise_sqrt(mu1, sigma1, mu2, sigma2):
    """torch.sqrt of the matrix product: an element-wise square root."""
    s1, s2 = sigma1.double(), sigma2.double()
    root = torch.trace(torch.sqrt(s1 @ s2))
    return float((mu1.double() - mu2.double()).pow(2).sum() + torch.trace(s1 + s2) - 2 * root)


def frechet_distance__eigvalsh(mu1, sigma1, mu2, sigma2):
    """eigvalsh on the non-symmetric S1 S2."""
    s1, s2 = sigma1.double(), sigma2.double()
    root = torch.linalg.eigvalsh(s1 @ s2).clamp_min(0).sqrt().sum()
    return float((mu1.double() - mu2.double()).pow(2).sum() + torch.trace(s1 + s2) - 2 * root)


def frechet_distance__no_clamp(mu1, sigma1, mu2, sigma2):
    """Real parts of the eigenvalues without clamping the tiny negatives: NaN."""
    s1, s2 = sigma1.double(), sigma2.double()
    root = torch.linalg.eigvals(s1 @ s2).real.sqrt().sum()
    return float((mu1.double() - mu2.double()).pow(2).sum() + torch.trace(s1 + s2) - 2 * root)


from lessonlib.priors.frechet import frechet_distance as frechet_distance__imported_reference  # noqa: E402

# ---------------------------------------------------------------- quiz answers

answer_q1__a = "a"  # blames training (mode collapse) for what the temperature does
answer_q2__d = "d"  # the log of the logits
answer_q3__c = "c"  # independent draws in one call
answer_q4__a = "a"  # "diffusion needs Gaussian noise"

MESSAGES = {
    "gumbel_softmax__log_of_logits": "log of the logits",
    "gumbel_softmax__hard_second_draw": "same noise draw",
    "gumbel_softmax__detach_wrong_side": "wrong side",
    "gumbel_softmax__ignores_generator": "identically seeded",
    "causal_mask__upper_triangle": "future",
    "causal_mask__no_diagonal": "diagonal is missing",
    "causal_mask__blocked_convention": "inverted",
    "causal_mask__float_ones": "float",
    "maskgit_num_masked__step_not_shifted": "off by one",
    "maskgit_num_masked__ceil": "rounded up",
    "maskgit_num_masked__revealed_count": "already revealed",
    "maskgit_num_masked__float32_cosine": "float32",
    "confidence_mask__keeps_most_confident": "MOST confident",
    "confidence_mask__ignores_mask": "masked again",
    "confidence_mask__returns_revealed": "positions to reveal",
    "confidence_mask__batch_threshold": "one threshold for the whole batch",
    "bits_per_token__nats": "nats",
    "bits_per_token__summed": "summed",
    "bits_per_token__class_dim": "dim 1",
    "bits_per_token__softmax_first": "softmax before",
    "frechet_distance__no_factor_two": "factor 2",
    "frechet_distance__elementwise_sqrt": "nan|element",
    "frechet_distance__eigvalsh": "eigvalsh",
    "frechet_distance__no_clamp": "clamp",
}
