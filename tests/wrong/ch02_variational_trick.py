"""Realistic wrong answers for ch02_variational_trick (see AUTHORING.md)."""

import torch


def reparameterize__logvar_as_sigma(mu, logvar):
    """The tutorial's pitfall: mu + logvar * eps, the log-variance used as the std."""
    eps = torch.randn_like(logvar)
    return mu + logvar * eps


def reparameterize__variance_as_std(mu, logvar):
    """exp(logvar) is the variance sigma^2, used here as if it were sigma."""
    eps = torch.randn_like(logvar)
    return mu + torch.exp(logvar) * eps


def reparameterize__distribution_sample(mu, logvar):
    """Samples with Normal(mu, std).sample(): right values, but no gradient reaches the encoder."""
    std = torch.exp(0.5 * logvar)
    return torch.distributions.Normal(mu, std).sample()


def reparameterize__shared_eps(mu, logvar):
    """torch.randn(1): one noise value shared by every entry of the batch."""
    std = torch.exp(0.5 * logvar)
    return mu + std * torch.randn(1)


def reparameterize__detached(mu, logvar):
    """Right samples, detached from the graph: the gradient path is cut."""
    std = torch.exp(0.5 * logvar)
    z = mu + std * torch.randn_like(std)
    return z.detach()


def reparam_gradients__swapped(mu, sigma, eps):
    """Returns (dz/dsigma, dz/dmu) in the wrong order."""
    mu = torch.tensor(float(mu), requires_grad=True)
    sigma = torch.tensor(float(sigma), requires_grad=True)
    z = mu + sigma * eps
    z.backward()
    return sigma.grad.item(), mu.grad.item()


def reparam_gradients__sigma_not_eps(mu, sigma, eps):
    """Thinks dz/dsigma is sigma itself (confuses the factor with the variable)."""
    return 1.0, float(sigma)


def reparam_gradients__accumulated(mu, sigma, eps):
    """Calls backward twice on the same leaves: .grad accumulates to twice the derivative."""
    mu = torch.tensor(float(mu), requires_grad=True)
    sigma = torch.tensor(float(sigma), requires_grad=True)
    z = mu + sigma * eps
    z.backward(retain_graph=True)
    z.backward()
    return mu.grad.item(), sigma.grad.item()


def reparam_gradients__hard_coded(mu, sigma, eps):
    """Types the closed-form answer instead of reading it off autograd."""
    return 1.0, eps


answer_q1__a = "a"
answer_q1__c = "c"
answer_q2__a = "a"
answer_q2__d = "d"


# The learner who imports lessonlib's reference instead of writing the function: every
# graded test cell must reject it (lessonlib.checks.provenance).
from lessonlib.autoencoders.gaussian import (
    reparam_derivatives as reparam_gradients__imported_reference,  # noqa: E402
)
from lessonlib.autoencoders.gaussian import reparameterize as reparameterize__imported_reference  # noqa: E402

MESSAGES = {
    "reparameterize__logvar_as_sigma": "logvar itself as sigma",
    "reparameterize__variance_as_std": r"exp\(logvar\), the variance",
    "reparameterize__distribution_sample": r"no gradient.*sample\(\)",
    "reparameterize__shared_eps": "same z|shared",
    "reparameterize__detached": "detached",
    "reparam_gradients__swapped": "swapped",
    "reparam_gradients__sigma_not_eps": "came out as sigma",
    "reparam_gradients__accumulated": "accumulate",
    "reparam_gradients__hard_coded": "autograd never ran",
}
