"""Realistic wrong answers for ch06_codebook_learning (see AUTHORING.md)."""

import torch
import torch.nn.functional as F

# ---------------------------------------------------------------- codebook_perplexity


def codebook_perplexity__nan_for_unused_codes(indices, num_codes):
    """p * log p over all K codes: an unused code gives 0 * log 0 = nan."""
    counts = torch.bincount(indices.reshape(-1), minlength=num_codes).float()
    p = counts / counts.sum()
    return torch.exp(-(p * p.log()).sum())


def codebook_perplexity__entropy_not_exp(indices, num_codes):
    """Returns the entropy itself (forgot the exp)."""
    counts = torch.bincount(indices.reshape(-1), minlength=num_codes).float()
    p = counts[counts > 0] / counts.sum()
    return -(p * p.log()).sum()


def codebook_perplexity__log2_then_exp(indices, num_codes):
    """Entropy in bits, then exp: mixes two bases."""
    counts = torch.bincount(indices.reshape(-1), minlength=num_codes).float()
    p = counts[counts > 0] / counts.sum()
    return torch.exp(-(p * torch.log2(p)).sum())


def codebook_perplexity__counts_not_frequencies(indices, num_codes):
    """Puts the raw counts into the entropy instead of the frequencies."""
    counts = torch.bincount(indices.reshape(-1), minlength=num_codes).float()
    c = counts[counts > 0]
    return torch.exp(-(c * c.log()).sum())


# ---------------------------------------------------------------- codebook_usage


def codebook_usage__counts_occurrences(indices, num_codes):
    """Counts tokens, not distinct codes."""
    return indices.numel() / num_codes


def codebook_usage__count_not_fraction(indices, num_codes):
    """Returns how many codes are used, not the fraction."""
    return float(torch.unique(indices).numel())


def codebook_usage__bincount_without_minlength(indices, num_codes):
    """bincount without minlength: divides by max(index) + 1 instead of K."""
    counts = torch.bincount(indices.reshape(-1))
    return float((counts > 0).float().mean())


# ---------------------------------------------------------------- ema_codebook_update


def ema_codebook_update__no_laplace_smoothing(codebook, cluster_size, embed_avg, z_flat,
                                              indices, decay=0.99, eps=1e-5):
    """Divides by the raw cluster_size: an unused code with count 0 becomes inf/nan."""
    onehot = F.one_hot(indices, codebook.shape[0]).type_as(z_flat)
    cluster_size = decay * cluster_size + (1 - decay) * onehot.sum(0)
    embed_avg = decay * embed_avg + (1 - decay) * onehot.t() @ z_flat
    return embed_avg / cluster_size.unsqueeze(1), cluster_size, embed_avg


def ema_codebook_update__decay_swapped(codebook, cluster_size, embed_avg, z_flat, indices,
                                       decay=0.99, eps=1e-5):
    """g * new + (1 - g) * old: the batch dominates and the average forgets at once."""
    k = codebook.shape[0]
    onehot = F.one_hot(indices, k).type_as(z_flat)
    cluster_size = (1 - decay) * cluster_size + decay * onehot.sum(0)
    embed_avg = (1 - decay) * embed_avg + decay * onehot.t() @ z_flat
    n = cluster_size.sum()
    smoothed = (cluster_size + eps) / (n + k * eps) * n
    return embed_avg / smoothed.unsqueeze(1), cluster_size, embed_avg


def ema_codebook_update__seed_batch_mean(codebook, cluster_size, embed_avg, z_flat, indices,
                                         decay=0.99, eps=1e-5):
    """The seed's per-code loop: codebook moved to the batch mean, no running sums kept."""
    codebook = codebook.clone()
    for k in range(codebook.shape[0]):
        mask = indices == k
        if mask.sum() == 0:
            continue
        codebook[k] = decay * codebook[k] + (1 - decay) * z_flat[mask].mean(0)
    return codebook, cluster_size, embed_avg


def ema_codebook_update__in_place(codebook, cluster_size, embed_avg, z_flat, indices,
                                  decay=0.99, eps=1e-5):
    """Right numbers, but updates the caller's buffers in place (mul_/add_): not pure."""
    k = codebook.shape[0]
    onehot = F.one_hot(indices, k).type_as(z_flat)
    cluster_size.mul_(decay).add_(onehot.sum(0), alpha=1 - decay)
    embed_avg.mul_(decay).add_(onehot.t() @ z_flat, alpha=1 - decay)
    n = cluster_size.sum()
    smoothed = (cluster_size + eps) / (n + k * eps) * n
    codebook.copy_(embed_avg / smoothed.unsqueeze(1))
    return codebook, cluster_size, embed_avg


# ---------------------------------------------------------------- revive_dead_codes


def revive_dead_codes__no_reset(codebook, cluster_size, embed_avg, z_flat, threshold=1.0,
                                generator=None):
    """Moves dead codes but keeps their old cluster_size/embed_avg: the next EMA step drags
    them back."""
    dead = cluster_size < threshold
    n = int(dead.sum())
    rows = torch.randint(0, z_flat.shape[0], (n,), generator=generator)
    codebook = codebook.clone()
    codebook[dead] = z_flat[rows]
    return codebook, cluster_size.clone(), embed_avg.clone(), n


def revive_dead_codes__revives_live_codes(codebook, cluster_size, embed_avg, z_flat,
                                          threshold=1.0, generator=None):
    """Comparison the wrong way round: moves the live codes and keeps the dead ones."""
    dead = cluster_size > threshold
    n = int(dead.sum())
    rows = torch.randint(0, z_flat.shape[0], (n,), generator=generator)
    codebook, cluster_size, embed_avg = codebook.clone(), cluster_size.clone(), embed_avg.clone()
    codebook[dead] = z_flat[rows]
    cluster_size[dead] = threshold
    embed_avg[dead] = z_flat[rows] * threshold
    return codebook, cluster_size, embed_avg, n


def revive_dead_codes__same_row(codebook, cluster_size, embed_avg, z_flat, threshold=1.0,
                                generator=None):
    """One random row for all dead codes: they all land on the same point and compete."""
    dead = cluster_size < threshold
    r = z_flat[torch.randint(0, z_flat.shape[0], (1,), generator=generator)]  # [1, D]
    codebook, cluster_size, embed_avg = codebook.clone(), cluster_size.clone(), embed_avg.clone()
    codebook[dead] = r
    cluster_size[dead] = threshold
    embed_avg[dead] = r * threshold
    return codebook, cluster_size, embed_avg, int(dead.sum())


def revive_dead_codes__in_place(codebook, cluster_size, embed_avg, z_flat, threshold=1.0,
                                generator=None):
    """Right values, but writes into the caller's tensors: not pure."""
    dead = cluster_size < threshold
    n = int(dead.sum())
    rows = z_flat[torch.randint(0, z_flat.shape[0], (n,), generator=generator)]
    codebook[dead] = rows
    embed_avg[dead] = rows * threshold
    cluster_size[dead] = threshold
    return codebook, cluster_size, embed_avg, n


# ---------------------------------------------------------------- quiz

answer_q1__a = "a"
answer_q1__c = "c"
answer_q2__a = "a"
answer_q2__c = "c"
answer_q3__b = "b"
answer_q3__d = "d"
answer_q4__a = "a"
answer_q4__c = "c"


# The learner who imports lessonlib's reference instead of writing the function: every
# graded test cell must reject it (lessonlib.checks.provenance).
from lessonlib.quantizers.codebook import (
    codebook_perplexity as codebook_perplexity__imported_reference,  # noqa: E402
)
from lessonlib.quantizers.codebook import codebook_usage as codebook_usage__imported_reference  # noqa: E402
from lessonlib.quantizers.codebook import (
    ema_codebook_update as ema_codebook_update__imported_reference,  # noqa: E402
)
from lessonlib.quantizers.codebook import revive_dead_codes as revive_dead_codes__imported_reference  # noqa: E402

MESSAGES = {
    "codebook_perplexity__nan_for_unused_codes": "0 \\* log 0",
    "codebook_perplexity__entropy_not_exp": "entropy itself",
    "codebook_perplexity__log2_then_exp": "log2 and then exp",
    "codebook_perplexity__counts_not_frequencies": "raw counts",
    "codebook_usage__counts_occurrences": "occurrences",
    "codebook_usage__count_not_fraction": "number of used codes",
    "codebook_usage__bincount_without_minlength": "minlength",
    "ema_codebook_update__no_laplace_smoothing": "Laplace smoothing",
    "ema_codebook_update__decay_swapped": "wrong way round",
    "ema_codebook_update__seed_batch_mean": "batch mean",
    "ema_codebook_update__in_place": "in place",
    "revive_dead_codes__no_reset": "dragged",
    "revive_dead_codes__revives_live_codes": "live codes|exactly 1.0",
    "revive_dead_codes__same_row": "same row",
    "revive_dead_codes__in_place": "in place",
}
