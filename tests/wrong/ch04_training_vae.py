"""Realistic wrong answers for ch04_training_vae (see AUTHORING.md).

More slips (gaussian without the 0.5, the KL summed over the batch, a cap at 1, std
instead of variance, ...) are checked in tests/test_vae_objective.py, without autograding.
"""

import torch
import torch.nn.functional as F


def vae_loss__logvar_as_log_sigma(x, logits, mu, logvar, likelihood="bernoulli", beta=1.0,
                                  free_bits=0.0):
    """Treats logvar as log sigma: sigma^2 = exp(2 logvar), log sigma^2 = 2 logvar."""
    b = x.shape[0]
    x = x.reshape(b, -1)
    if likelihood == "bernoulli":
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / b
    else:
        recon = 0.5 * (logits - x).pow(2).sum() / b
    kl_dims = 0.5 * (mu.pow(2) + torch.exp(2 * logvar) - 2 * logvar - 1)
    kl = kl_dims.sum(1).mean()
    term = torch.clamp(kl_dims.mean(0), min=free_bits).sum() if free_bits > 0 else kl
    return recon + beta * term, recon, kl


def vae_loss__mixed_reductions(x, logits, mu, logvar, likelihood="bernoulli", beta=1.0,
                               free_bits=0.0):
    """Per-pixel mean reconstruction (the F.*_loss default) next to a summed KL."""
    b = x.shape[0]
    x = x.reshape(b, -1)
    if likelihood == "bernoulli":
        recon = F.binary_cross_entropy_with_logits(logits, x)
    else:
        recon = 0.5 * F.mse_loss(logits, x)
    kl_dims = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1)
    kl = kl_dims.sum(1).mean()
    term = torch.clamp(kl_dims.mean(0), min=free_bits).sum() if free_bits > 0 else kl
    return recon + beta * term, recon, kl


def vae_loss__sigmoid_then_bce(x, logits, mu, logvar, likelihood="bernoulli", beta=1.0,
                               free_bits=0.0):
    """BCE on probabilities: sigmoid, then binary_cross_entropy (saturates, clamps at 100)."""
    b = x.shape[0]
    x = x.reshape(b, -1)
    if likelihood == "bernoulli":
        recon = F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum") / b
    else:
        recon = 0.5 * (logits - x).pow(2).sum() / b
    kl_dims = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1)
    kl = kl_dims.sum(1).mean()
    term = torch.clamp(kl_dims.mean(0), min=free_bits).sum() if free_bits > 0 else kl
    return recon + beta * term, recon, kl


def vae_loss__free_bits_per_example(x, logits, mu, logvar, likelihood="bernoulli", beta=1.0,
                                    free_bits=0.0):
    """Clamps every example's per-dim KL (the tutorial's code), not the batch-mean per dim."""
    b = x.shape[0]
    x = x.reshape(b, -1)
    if likelihood == "bernoulli":
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / b
    else:
        recon = 0.5 * (logits - x).pow(2).sum() / b
    kl_dims = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1)
    kl = kl_dims.sum(1).mean()
    term = torch.clamp(kl_dims, min=free_bits).sum(1).mean()
    return recon + beta * term, recon, kl


def vae_loss__free_bits_clamps_kl(x, logits, mu, logvar, likelihood="bernoulli", beta=1.0,
                                  free_bits=0.0):
    """Returns the clamped KL instead of the true KL when free bits are on."""
    b = x.shape[0]
    x = x.reshape(b, -1)
    if likelihood == "bernoulli":
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / b
    else:
        recon = 0.5 * (logits - x).pow(2).sum() / b
    kl_dims = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1)
    kl = torch.clamp(kl_dims.mean(0), min=free_bits).sum()
    return recon + beta * kl, recon, kl


def vae_loss__beta_on_recon(x, logits, mu, logvar, likelihood="bernoulli", beta=1.0,
                            free_bits=0.0):
    """Puts beta on the reconstruction term instead of the KL."""
    b = x.shape[0]
    x = x.reshape(b, -1)
    if likelihood == "bernoulli":
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / b
    else:
        recon = 0.5 * (logits - x).pow(2).sum() / b
    kl_dims = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1)
    kl = kl_dims.sum(1).mean()
    term = torch.clamp(kl_dims.mean(0), min=free_bits).sum() if free_bits > 0 else kl
    return beta * recon + term, recon, kl


def kl_anneal_beta__integer_division(step, anneal_steps, beta_max=1.0):
    """Floor division: beta stays 0 for the whole warm-up."""
    if anneal_steps == 0:
        return float(beta_max)
    return float(min(beta_max, beta_max * (step // anneal_steps)))


def kl_anneal_beta__off_by_one(step, anneal_steps, beta_max=1.0):
    """Counts steps from 1: beta is already beta_max / anneal_steps at step 0."""
    if anneal_steps == 0:
        return float(beta_max)
    return float(min(beta_max, beta_max * (step + 1) / anneal_steps))


def kl_anneal_beta__not_capped(step, anneal_steps, beta_max=1.0):
    """No cap: beta keeps growing after the warm-up."""
    if anneal_steps == 0:
        return float(beta_max)
    return float(beta_max * step / anneal_steps)


def kl_anneal_beta__zero_division(step, anneal_steps, beta_max=1.0):
    """anneal_steps = 0 divides by zero."""
    return float(min(beta_max, beta_max * step / anneal_steps))


def kl_anneal_beta__max_one_guard(step, anneal_steps, beta_max=1.0):
    """The tutorial's guard max(anneal_steps, 1): with anneal_steps = 0, step 0 gives 0."""
    return float(min(beta_max, beta_max * step / max(anneal_steps, 1)))


def kl_anneal_beta__capped_at_one(step, anneal_steps, beta_max=1.0):
    """Caps at 1 instead of beta_max."""
    if anneal_steps == 0:
        return float(beta_max)
    return float(min(1.0, beta_max * step / anneal_steps))


def active_units__mean_not_variance(mu, threshold=0.01):
    """Thresholds the average posterior mean instead of its variance."""
    return int((mu.mean(dim=0).abs() > threshold).sum())


def active_units__variance_over_dims(mu, threshold=0.01):
    """Variance over the latent dims (dim=1) instead of over the data."""
    return int((mu.var(dim=1) > threshold).sum())


def active_units__greater_equal(mu, threshold=0.01):
    """>= instead of >: a dim exactly at the threshold (e.g. constant with 0) counts."""
    return int((mu.var(dim=0) >= threshold).sum())


def active_units__returns_tensor(mu, threshold=0.01):
    """Returns a 0-dim tensor, not an int."""
    return (mu.var(dim=0) > threshold).sum()


def active_units__std_threshold(mu, threshold=0.01):
    """Thresholds the standard deviation instead of the variance."""
    return int((mu.std(dim=0) > threshold).sum())


answer_q1__a = "a"
answer_q1__c = "c"
answer_q2__a = "a"
answer_q2__d = "d"
answer_q3__a = "a"
answer_q3__d = "d"
answer_q4__a = "a"
answer_q4__b = "b"


# The learner who imports lessonlib's reference instead of writing the function: every
# graded test cell must reject it (lessonlib.checks.provenance).
from lessonlib.autoencoders.vae_objective import active_units as active_units__imported_reference  # noqa: E402
from lessonlib.autoencoders.vae_objective import (
    kl_anneal_beta as kl_anneal_beta__imported_reference,  # noqa: E402
)
from lessonlib.autoencoders.vae_objective import vae_loss as vae_loss__imported_reference  # noqa: E402

MESSAGES = {
    "vae_loss__logvar_as_log_sigma": "logvar as log sigma",
    "vae_loss__mixed_reductions": "mixed reductions.*per-pixel mean",
    "vae_loss__sigmoid_then_bce": "probabilities.*binary_cross_entropy_with_logits",
    "vae_loss__free_bits_per_example": "free bits applied per example",
    "vae_loss__free_bits_clamps_kl": "returned kl must be the true, unclamped KL",
    "vae_loss__beta_on_recon": "beta multiplies the reconstruction",
    "kl_anneal_beta__integer_division": "integer division",
    "kl_anneal_beta__off_by_one": "off by one",
    "kl_anneal_beta__not_capped": "cap it",
    "kl_anneal_beta__zero_division": "divides by zero",
    "kl_anneal_beta__max_one_guard": "max\\(anneal_steps, 1\\)",
    "kl_anneal_beta__capped_at_one": "capped beta at 1",
    "active_units__mean_not_variance": "mean of mu",
    "active_units__variance_over_dims": "over the latent dims",
    "active_units__greater_equal": "not >=",
    "active_units__returns_tensor": "not a tensor|got a tensor",
    "active_units__std_threshold": "standard deviation",
}
