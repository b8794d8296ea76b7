"""Realistic wrong answers for ch03_elbo (see AUTHORING.md)."""

import math

import torch


def kl_standard_normal__two_logvar(mu, logvar):
    """The tutorial's pitfall: -2 * logvar, mixing log sigma^2 with 2 log sigma."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 2 * logvar - 1).sum(dim=-1)


def kl_standard_normal__no_minus_one(mu, logvar):
    """Forgets the -1 inside the bracket (the prior then gets a KL of D/2)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar).sum(dim=-1)


def kl_standard_normal__sign_flip(mu, logvar):
    """Copies -0.5 * sum(1 + logvar - mu^2 - exp(logvar)) with the bracket reversed."""
    return -0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(dim=-1)


def kl_standard_normal__mean_over_dims(mu, logvar):
    """Averages over the latent dimensions instead of summing."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).mean(dim=-1)


def kl_standard_normal__sum_over_batch(mu, logvar):
    """Sums over everything: one scalar for the batch instead of one KL per example."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum()


def iwae_bound__mean_log_w(log_w):
    """Averages the log weights: that is the ELBO (Jensen), not the IWAE bound."""
    return log_w.mean(dim=0)


def iwae_bound__log_mean_exp(log_w):
    """log(mean(exp(log_w))) without logsumexp: exp(-1000) underflows to 0, log gives -inf."""
    return torch.log(torch.exp(log_w).mean(dim=0))


def iwae_bound__no_log_k(log_w):
    """logsumexp over K without the -log K: the sum of the weights, not their mean."""
    return torch.logsumexp(log_w, dim=0)


def iwae_bound__wrong_axis(log_w):
    """Reduces over the batch (dim 1) instead of the K samples."""
    return torch.logsumexp(log_w, dim=1) - math.log(log_w.shape[1])


def iwae_bound__minus_log_b(log_w):
    """Subtracts log B (the batch size) instead of log K."""
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[1])


jensen__swapped = (0.6931471805599453, 1.252762968495368)
jensen__log_of_sum = (2.3513752571634776, 0.6931471805599453)

answer_q1__b = "b"
answer_q1__d = "d"
answer_q2__a = "a"
answer_q2__c = "c"
answer_q3__a = "a"
answer_q3__d = "d"


# The learner who imports lessonlib's reference instead of writing the function: every
# graded test cell must reject it (lessonlib.checks.provenance).
from lessonlib.autoencoders.gaussian import iwae_bound as iwae_bound__imported_reference  # noqa: E402
from lessonlib.autoencoders.gaussian import (
    kl_standard_normal as kl_standard_normal__imported_reference,  # noqa: E402
)

MESSAGES = {
    "kl_standard_normal__two_logvar": r"-2 \* logvar",
    "kl_standard_normal__no_minus_one": "forgot the -1",
    "kl_standard_normal__sign_flip": "sign is flipped",
    "kl_standard_normal__mean_over_dims": "averaged over the latent dimensions",
    "kl_standard_normal__sum_over_batch": "one number for the whole batch",
    "iwae_bound__mean_log_w": "ELBO",
    "iwae_bound__log_mean_exp": "logsumexp",
    "iwae_bound__no_log_k": "forgot to subtract log K",
    "iwae_bound__wrong_axis": "not over the batch",
    "iwae_bound__minus_log_b": "log B",
}
