"""Realistic wrong answers for ch11_review (see AUTHORING.md).

Each code-fix exercise has: the buggy function handed in unchanged, a fix of the symptom that
keeps the bug ("fixed the symptom, not the bug"), another realistic wrong fix, and an import
of lessonlib's reference. Each quiz question has its best-known pitfall as a wrong answer.
"""

import math

import torch
import torch.nn.functional as F

# --- fix_kl_per_example -------------------------------------------------------------------


def fix_kl_per_example__unchanged(mu, logvar):
    """The buggy line handed in as it was: .sum() adds over the batch too."""
    return 0.5 * (mu**2 + logvar.exp() - logvar - 1).sum()


def fix_kl_per_example__mean_everything(mu, logvar):
    """Fixed the symptom, not the bug: .mean() no longer grows with the batch, but it also
    divides the KL by the number of latent dimensions."""
    return 0.5 * (mu**2 + logvar.exp() - logvar - 1).mean()


def fix_kl_per_example__sum_over_batch_axis(mu, logvar):
    """Reduces dim 0 (the batch) instead of the latent dimensions: one value per dimension."""
    return 0.5 * (mu**2 + logvar.exp() - logvar - 1).sum(dim=0)


# --- fix_vq_stop_gradient -----------------------------------------------------------------


def fix_vq_stop_gradient__unchanged(z_e, codebook):
    """The detach still on the wrong side: forward value z_e, gradient to the codebook."""
    indices = torch.cdist(z_e, codebook).argmin(dim=1)
    z_q = codebook[indices]
    return z_q + (z_e - z_q).detach(), indices


def fix_vq_stop_gradient__returns_code(z_e, codebook):
    """Fixed the symptom, not the bug: the forward value is now the code, but z_q =
    codebook[indices] has no path back to the encoder."""
    indices = torch.cdist(z_e, codebook).argmin(dim=1)
    return codebook[indices], indices


def fix_vq_stop_gradient__no_detach(z_e, codebook):
    """z_e + (z_q - z_e) without .detach(): the z_e terms cancel in the gradient too."""
    indices = torch.cdist(z_e, codebook).argmin(dim=1)
    z_q = codebook[indices]
    return z_e + (z_q - z_e), indices


# --- fix_lfq_entropy_sign -----------------------------------------------------------------


def fix_lfq_entropy_sign__unchanged(z, inv_temperature=100.0):
    """Both entropies still computed as sum p log p, that is -H."""
    d = z.shape[1]
    bits = (torch.arange(2**d).unsqueeze(1) >> torch.arange(d)) & 1
    codes = (2 * bits - 1).to(z.dtype)
    log_p = (2 * inv_temperature * z @ codes.t()).log_softmax(dim=1)
    p = log_p.exp()
    mean_p = p.mean(dim=0)
    return (p * log_p).sum(dim=1).mean(), (mean_p * mean_p.clamp_min(1e-12).log()).sum()


def fix_lfq_entropy_sign__codebook_only(z, inv_temperature=100.0):
    """Fixed the symptom, not the bug: the collapse came from the codebook term, so only it
    was negated; the per-sample term still rewards undecided assignments."""
    d = z.shape[1]
    bits = (torch.arange(2**d).unsqueeze(1) >> torch.arange(d)) & 1
    codes = (2 * bits - 1).to(z.dtype)
    log_p = (2 * inv_temperature * z @ codes.t()).log_softmax(dim=1)
    p = log_p.exp()
    mean_p = p.mean(dim=0)
    return (p * log_p).sum(dim=1).mean(), -(mean_p * mean_p.clamp_min(1e-12).log()).sum()


def fix_lfq_entropy_sign__mean_of_entropies(z, inv_temperature=100.0):
    """Signs fixed, but the codebook entropy is the mean of the entropies (the per-sample
    term again) instead of the entropy of the mean assignment."""
    d = z.shape[1]
    bits = (torch.arange(2**d).unsqueeze(1) >> torch.arange(d)) & 1
    codes = (2 * bits - 1).to(z.dtype)
    log_p = (2 * inv_temperature * z @ codes.t()).log_softmax(dim=1)
    p = log_p.exp()
    per_sample = -(p * log_p).sum(dim=1).mean()
    return per_sample, -(p * log_p).sum(dim=1).mean()


# --- fix_fsq_even_levels ------------------------------------------------------------------


def fix_fsq_even_levels__unchanged(z, levels):
    """No half shift: an even L reaches only L - 1 levels, and the digits collide."""
    shape = (1, -1) + (1,) * (z.dim() - 2)
    L = torch.tensor(levels, dtype=z.dtype).view(shape)
    half = (L - 1) / 2
    place = torch.tensor([math.prod(levels[:i]) for i in range(len(levels))]).view(shape)
    bounded = half * torch.tanh(z)
    z_hat = bounded + (bounded.round() - bounded).detach()
    return z_hat, ((z_hat + half).round().long() * place).sum(dim=1)


def fix_fsq_even_levels__shift_not_added_back(z, levels):
    """Fixed the symptom, not the bug: subtracting 0.5 before rounding gives L levels, but
    without adding it back the grid is lopsided (-4..3 for L = 8)."""
    shape = (1, -1) + (1,) * (z.dim() - 2)
    L = torch.tensor(levels, dtype=z.dtype).view(shape)
    half, shift = (L - 1) / 2, (L % 2 == 0).to(z.dtype) * 0.5
    place = torch.tensor([math.prod(levels[:i]) for i in range(len(levels))]).view(shape)
    bounded = half * torch.tanh(z) - shift
    z_hat = bounded + (bounded.round() - bounded).detach()
    return z_hat, ((z_hat + half + shift).round().long() * place).sum(dim=1)


def fix_fsq_even_levels__scale_l_over_2(z, levels):
    """Scales by L/2 to get more levels: L + 1 integers, off the grid at saturation."""
    shape = (1, -1) + (1,) * (z.dim() - 2)
    L = torch.tensor(levels, dtype=z.dtype).view(shape)
    half = (L - 1) / 2
    place = torch.tensor([math.prod(levels[:i]) for i in range(len(levels))]).view(shape)
    bounded = L / 2 * torch.tanh(z)
    z_hat = bounded + (bounded.round() - bounded).detach()
    digits = (z_hat + half).round().long().clamp(min=0) % L.long()
    return z_hat, (digits * place).sum(dim=1)


# --- fix_gumbel_max -----------------------------------------------------------------------


def fix_gumbel_max__unchanged(logits, generator=None):
    """Still the log of the logits: NaN for negative logits, which argmax returns."""
    u = torch.rand(logits.shape, generator=generator)
    return (torch.log(logits) - torch.log(-torch.log(u))).argmax(dim=-1)


def fix_gumbel_max__clamped_log(logits, generator=None):
    """Fixed the symptom, not the bug: the clamp removes the NaN, the log of the logits
    stays, so the samples follow the clamped logits as if they were probabilities."""
    u = torch.rand(logits.shape, generator=generator)
    return (torch.log(logits.clamp_min(1e-12)) - torch.log(-torch.log(u))).argmax(dim=-1)


def fix_gumbel_max__noise_on_probabilities(logits, generator=None):
    """Drops the log but adds the noise to softmax(logits): far too flat a distribution."""
    u = torch.rand(logits.shape, generator=generator)
    return (F.softmax(logits, dim=-1) - torch.log(-torch.log(u))).argmax(dim=-1)


# --- fix_causal_mask ----------------------------------------------------------------------


def fix_causal_mask__unchanged(n):
    """Still one diagonal too many: query i sees key i + 1, the token it predicts."""
    return torch.ones(n, n, dtype=torch.bool).tril(diagonal=1)


def fix_causal_mask__no_diagonal(n):
    """Fixed the symptom, not the bug: no future any more, but no present either; the
    first row has no key and its softmax is NaN."""
    return torch.ones(n, n, dtype=torch.bool).tril(diagonal=-1)


def fix_causal_mask__inverted(n):
    """nn.MultiheadAttention's convention (True = blocked) handed to SDPA (True = allowed)."""
    return torch.ones(n, n, dtype=torch.bool).triu(diagonal=1)


# --- the 25 questions: each one's best-known pitfall --------------------------------------

answer_q1__a = "a"  # log p(x|z) at the mean: the expectation dropped
answer_q2__b = "b"  # "for speed"
answer_q3__b = "b"  # "larger beta, more disentanglement"
answer_q4__a = "a"  # mode collapse
answer_q5__b = "b"  # a fixed, pretrained codebook
answer_q6__b = "b"  # the stop-gradients swapped
answer_q7__a = "a"  # the detach on the wrong side
answer_q8__a = "a"  # "just a GAN"
answer_q9__d = "d"  # "100% usage by construction"
answer_q10__c = "c"  # the KL summed over the batch
answer_q11__a = "a"  # K = 1 already tighter
answer_q12__c = "c"  # beta > 1 as a cure
answer_q13__b = "b"  # E[z^2] = mu^2
answer_q14__a = "a"  # a learning-rate device
answer_q15__b = "b"  # "unbiased"
answer_q16__a = "a"  # a momentum optimizer
answer_q17__a = "a"  # attention-based
answer_q18__a = "a"  # "MSE of VGG features"
answer_q19__b = "b"  # normal noise
answer_q20__a = "a"  # "nothing to do with diffusion"
answer_q21__c = "c"  # the one-line FSQ without a bound
answer_q22__d = "d"  # a larger codebook
answer_q23__b = "b"  # SD's VAE as a VQ-VAE
answer_q24__a = "a"  # "it is a ResNet"
answer_q25__a = "a"  # "PSNR is a bad metric", no trade-off

# The learner who imports lessonlib's reference instead of fixing the function: every graded
# test cell must reject it (lessonlib.checks.provenance).
from lessonlib.autoencoders.gaussian import (  # noqa: E402
    kl_standard_normal as fix_kl_per_example__imported_reference,
)
from lessonlib.priors.gumbel import gumbel_max_sample as fix_gumbel_max__imported_reference  # noqa: E402
from lessonlib.priors.masks import causal_mask as fix_causal_mask__imported_reference  # noqa: E402
from lessonlib.quantizers.fsq import fsq_quantize as fix_fsq_even_levels__imported_reference  # noqa: E402
from lessonlib.quantizers.lfq import (  # noqa: E402
    lfq_entropy_terms as fix_lfq_entropy_sign__imported_reference,
)
from lessonlib.quantizers.vq import (  # noqa: E402
    vq_straight_through as fix_vq_stop_gradient__imported_reference,
)

MESSAGES = {
    "fix_kl_per_example__unchanged": "still summed over the batch",
    "fix_kl_per_example__mean_everything": r"no longer grows with the batch, but \.mean\(\)",
    "fix_kl_per_example__sum_over_batch_axis": "batch axis",
    "fix_vq_stop_gradient__unchanged": "forward value is still z_e",
    "fix_vq_stop_gradient__returns_code": "you return the code itself",
    "fix_vq_stop_gradient__no_detach": "without .detach",
    "fix_lfq_entropy_sign__unchanged": "both entropies are still negative",
    "fix_lfq_entropy_sign__codebook_only": "per-sample entropy is still -H",
    "fix_lfq_entropy_sign__mean_of_entropies": "entropy of the batch-average",
    "fix_fsq_even_levels__unchanged": "L = 8 still gives 7 levels",
    "fix_fsq_even_levels__shift_not_added_back": "did not add it back",
    "fix_fsq_even_levels__scale_l_over_2": "escape the grid|L/2",
    "fix_gumbel_max__unchanged": "still take the log of the logits",
    "fix_gumbel_max__clamped_log": "clamping the logits",
    "fix_gumbel_max__noise_on_probabilities": "added to the probabilities",
    "fix_causal_mask__unchanged": "still sees key i \\+ 1",
    "fix_causal_mask__no_diagonal": "the diagonal is gone",
    "fix_causal_mask__inverted": "inverted",
}
