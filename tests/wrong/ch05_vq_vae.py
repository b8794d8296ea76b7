"""Realistic wrong answers for ch05_vq_vae (see AUTHORING.md).

The pitfalls of the seeds come first: detach on the wrong side, no gradient reaching the
encoder, beta on the wrong term, missing stop-gradients, argmax instead of argmin, a dot
product instead of a distance, view(-1, D) on a channels-first map, perplexity per batch
row, flat indices.
"""

import torch
import torch.nn.functional as F
from torch import nn


def vq_straight_through__wrong_side_detach(z_e, codebook):
    """Detach on the wrong side: z_q + (z_e - z_q).detach() sends the gradient to the codebook."""
    indices = torch.cdist(z_e, codebook).argmin(dim=1)
    z_q = codebook[indices]
    return z_q + (z_e - z_q).detach(), indices


def vq_straight_through__argmax(z_e, codebook):
    """argmax of the distance: picks the farthest code."""
    indices = torch.cdist(z_e, codebook).argmax(dim=1)
    z_q = codebook[indices]
    return z_e + (z_q - z_e).detach(), indices


def vq_straight_through__dot_product(z_e, codebook):
    """Nearest code by the largest dot product: forgets the ||e_k||^2 term of the distance."""
    indices = (z_e @ codebook.t()).argmax(dim=1)
    z_q = codebook[indices]
    return z_e + (z_q - z_e).detach(), indices


def vq_straight_through__no_straight_through(z_e, codebook):
    """Returns the looked-up codes: the forward value is right, but z_e gets no gradient."""
    indices = torch.cdist(z_e, codebook).argmin(dim=1)
    return codebook[indices], indices


def vq_straight_through__detached_output(z_e, codebook):
    """Detaches everything: the value is right, but nothing flows back to the encoder."""
    indices = torch.cdist(z_e, codebook).argmin(dim=1)
    return (z_e + (codebook[indices] - z_e)).detach(), indices


def vq_straight_through__codebook_leak(z_e, codebook):
    """Detaches only z_e: the encoder gets its gradient but the codebook gets it too."""
    indices = torch.cdist(z_e, codebook).argmin(dim=1)
    return z_e + codebook[indices] - z_e.detach(), indices


class VectorQuantizer__no_permute(nn.Module):
    """view(-1, D) on the channels-first map: rows mix numbers of different positions."""

    def __init__(self, num_embeddings, embedding_dim, commitment_cost=0.25):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.commitment_cost = commitment_cost
        self.codebook = nn.Embedding(num_embeddings, embedding_dim)
        self.codebook.weight.data.uniform_(-1.0 / num_embeddings, 1.0 / num_embeddings)

    def forward(self, z_e):
        b, d, h, w = z_e.shape
        z = z_e.reshape(-1, d)
        indices = torch.cdist(z.detach(), self.codebook.weight.detach()).argmin(dim=1)
        z_q = self.codebook(indices)
        loss = F.mse_loss(z_q, z.detach()) + self.commitment_cost * F.mse_loss(z, z_q.detach())
        z_q = z + (z_q - z).detach()
        counts = torch.bincount(indices, minlength=self.num_embeddings).float()
        p = counts / counts.sum()
        perplexity = torch.exp(-(p * torch.log(p + 1e-10)).sum())
        return z_q.reshape(b, d, h, w), indices.reshape(b, h, w), loss, perplexity


class VectorQuantizer__beta_on_codebook_term(nn.Module):
    """commitment_cost multiplies the codebook term instead of the commitment term."""

    def __init__(self, num_embeddings, embedding_dim, commitment_cost=0.25):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.commitment_cost = commitment_cost
        self.codebook = nn.Embedding(num_embeddings, embedding_dim)
        self.codebook.weight.data.uniform_(-1.0 / num_embeddings, 1.0 / num_embeddings)

    def forward(self, z_e):
        b, d, h, w = z_e.shape
        z = z_e.permute(0, 2, 3, 1).reshape(-1, d)
        indices = torch.cdist(z.detach(), self.codebook.weight.detach()).argmin(dim=1)
        z_q = self.codebook(indices)
        loss = self.commitment_cost * F.mse_loss(z_q, z.detach()) + F.mse_loss(z, z_q.detach())
        z_q = z + (z_q - z).detach()
        counts = torch.bincount(indices, minlength=self.num_embeddings).float()
        p = counts / counts.sum()
        perplexity = torch.exp(-(p * torch.log(p + 1e-10)).sum())
        z_q = z_q.reshape(b, h, w, d).permute(0, 3, 1, 2)
        return z_q, indices.reshape(b, h, w), loss, perplexity


class VectorQuantizer__no_stop_gradients(nn.Module):
    """No sg in the losses: both terms pull z_e and the codebook towards each other."""

    def __init__(self, num_embeddings, embedding_dim, commitment_cost=0.25):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.commitment_cost = commitment_cost
        self.codebook = nn.Embedding(num_embeddings, embedding_dim)
        self.codebook.weight.data.uniform_(-1.0 / num_embeddings, 1.0 / num_embeddings)

    def forward(self, z_e):
        b, d, h, w = z_e.shape
        z = z_e.permute(0, 2, 3, 1).reshape(-1, d)
        indices = torch.cdist(z.detach(), self.codebook.weight.detach()).argmin(dim=1)
        z_q = self.codebook(indices)
        loss = F.mse_loss(z_q, z) + self.commitment_cost * F.mse_loss(z, z_q)
        z_q = z + (z_q - z).detach()
        counts = torch.bincount(indices, minlength=self.num_embeddings).float()
        p = counts / counts.sum()
        perplexity = torch.exp(-(p * torch.log(p + 1e-10)).sum())
        z_q = z_q.reshape(b, h, w, d).permute(0, 3, 1, 2)
        return z_q, indices.reshape(b, h, w), loss, perplexity


class VectorQuantizer__wrong_side_detach(nn.Module):
    """z_q + (z_e - z_q).detach(): the decoder's gradient goes to the codebook, not the encoder."""

    def __init__(self, num_embeddings, embedding_dim, commitment_cost=0.25):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.commitment_cost = commitment_cost
        self.codebook = nn.Embedding(num_embeddings, embedding_dim)
        self.codebook.weight.data.uniform_(-1.0 / num_embeddings, 1.0 / num_embeddings)

    def forward(self, z_e):
        b, d, h, w = z_e.shape
        z = z_e.permute(0, 2, 3, 1).reshape(-1, d)
        indices = torch.cdist(z.detach(), self.codebook.weight.detach()).argmin(dim=1)
        z_q = self.codebook(indices)
        loss = F.mse_loss(z_q, z.detach()) + self.commitment_cost * F.mse_loss(z, z_q.detach())
        z_q = z_q + (z - z_q).detach()
        counts = torch.bincount(indices, minlength=self.num_embeddings).float()
        p = counts / counts.sum()
        perplexity = torch.exp(-(p * torch.log(p + 1e-10)).sum())
        z_q = z_q.reshape(b, h, w, d).permute(0, 3, 1, 2)
        return z_q, indices.reshape(b, h, w), loss, perplexity


class VectorQuantizer__perplexity_per_row(nn.Module):
    """Perplexity of each image's codes, averaged over the batch, instead of the pooled usage."""

    def __init__(self, num_embeddings, embedding_dim, commitment_cost=0.25):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.commitment_cost = commitment_cost
        self.codebook = nn.Embedding(num_embeddings, embedding_dim)
        self.codebook.weight.data.uniform_(-1.0 / num_embeddings, 1.0 / num_embeddings)

    def forward(self, z_e):
        b, d, h, w = z_e.shape
        z = z_e.permute(0, 2, 3, 1).reshape(-1, d)
        indices = torch.cdist(z.detach(), self.codebook.weight.detach()).argmin(dim=1)
        z_q = self.codebook(indices)
        loss = F.mse_loss(z_q, z.detach()) + self.commitment_cost * F.mse_loss(z, z_q.detach())
        z_q = z + (z_q - z).detach()
        one_hot = F.one_hot(indices.reshape(b, h * w), self.num_embeddings).float()
        p = one_hot.mean(dim=1)  # [B, K]: usage per image
        perplexity = torch.exp(-(p * torch.log(p + 1e-10)).sum(dim=1)).mean()
        z_q = z_q.reshape(b, h, w, d).permute(0, 3, 1, 2)
        return z_q, indices.reshape(b, h, w), loss, perplexity


class VectorQuantizer__flat_indices(nn.Module):
    """Returns the indices as one flat vector [B*H*W] instead of the token grid [B, H, W]."""

    def __init__(self, num_embeddings, embedding_dim, commitment_cost=0.25):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.commitment_cost = commitment_cost
        self.codebook = nn.Embedding(num_embeddings, embedding_dim)
        self.codebook.weight.data.uniform_(-1.0 / num_embeddings, 1.0 / num_embeddings)

    def forward(self, z_e):
        b, d, h, w = z_e.shape
        z = z_e.permute(0, 2, 3, 1).reshape(-1, d)
        indices = torch.cdist(z.detach(), self.codebook.weight.detach()).argmin(dim=1)
        z_q = self.codebook(indices)
        loss = F.mse_loss(z_q, z.detach()) + self.commitment_cost * F.mse_loss(z, z_q.detach())
        z_q = z + (z_q - z).detach()
        counts = torch.bincount(indices, minlength=self.num_embeddings).float()
        p = counts / counts.sum()
        perplexity = torch.exp(-(p * torch.log(p + 1e-10)).sum())
        z_q = z_q.reshape(b, h, w, d).permute(0, 3, 1, 2)
        return z_q, indices, loss, perplexity


class VectorQuantizer__dot_product(nn.Module):
    """Nearest code by the largest dot product z . e_k (argmin of -z . e_k): no ||e_k||^2."""

    def __init__(self, num_embeddings, embedding_dim, commitment_cost=0.25):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.commitment_cost = commitment_cost
        self.codebook = nn.Embedding(num_embeddings, embedding_dim)
        self.codebook.weight.data.uniform_(-1.0 / num_embeddings, 1.0 / num_embeddings)

    def forward(self, z_e):
        b, d, h, w = z_e.shape
        z = z_e.permute(0, 2, 3, 1).reshape(-1, d)
        indices = (-2 * z.detach() @ self.codebook.weight.detach().t()).argmin(dim=1)
        z_q = self.codebook(indices)
        loss = F.mse_loss(z_q, z.detach()) + self.commitment_cost * F.mse_loss(z, z_q.detach())
        z_q = z + (z_q - z).detach()
        counts = torch.bincount(indices, minlength=self.num_embeddings).float()
        p = counts / counts.sum()
        perplexity = torch.exp(-(p * torch.log(p + 1e-10)).sum())
        z_q = z_q.reshape(b, h, w, d).permute(0, 3, 1, 2)
        return z_q, indices.reshape(b, h, w), loss, perplexity


def sends_gradient__backward_accumulates(loss, groups):
    """Calls loss.backward() and reads p.grad without clearing it: earlier gradients leak in."""
    loss.backward(retain_graph=True) if loss.requires_grad else None
    return {name: any(p.grad is not None and bool(p.grad.ne(0).any()) for p in params)
            for name, params in groups.items()}


def sends_gradient__none_means_unmoved(loss, groups):
    """Counts any returned gradient tensor as movement, even an all-zero one."""
    if not loss.requires_grad:
        return {name: False for name in groups}
    out = {}
    for name, params in groups.items():
        grads = torch.autograd.grad(loss, list(params), retain_graph=True, allow_unused=True)
        out[name] = any(g is not None for g in grads)
    return out


def sends_gradient__all_parameters(loss, groups):
    """Requires EVERY parameter of a group to get gradient (all instead of any)."""
    if not loss.requires_grad:
        return {name: False for name in groups}
    out = {}
    for name, params in groups.items():
        grads = torch.autograd.grad(loss, list(params), retain_graph=True, allow_unused=True)
        out[name] = all(g is not None and bool(g.ne(0).any()) for g in grads)
    return out


answer_q1__a = "a"
answer_q1__d = "d"
answer_q2__a = "a"
answer_q2__c = "c"
answer_q3__b = "b"
answer_q3__d = "d"


# The learner who imports lessonlib's reference instead of writing the function: every
# graded test cell must reject it (lessonlib.checks.provenance).
from lessonlib.core.gradient_flow import sends_gradient as sends_gradient__imported_reference  # noqa: E402
from lessonlib.quantizers.vq import VectorQuantizer as VectorQuantizer__imported_reference  # noqa: E402
from lessonlib.quantizers.vq import vq_straight_through as vq_straight_through__imported_reference  # noqa: E402

MESSAGES = {
    "vq_straight_through__wrong_side_detach": "wrong side",
    "vq_straight_through__argmax": "argmax",
    "vq_straight_through__dot_product": "dot product",
    "vq_straight_through__no_straight_through": "straight-through step is missing",
    "vq_straight_through__detached_output": "cut off from the graph|requires_grad is False",
    "vq_straight_through__codebook_leak": "codebook also receives",
    "VectorQuantizer__no_permute": "permute",
    "VectorQuantizer__beta_on_codebook_term": "wrong term",
    "VectorQuantizer__no_stop_gradients": "missing stop-gradients",
    "VectorQuantizer__wrong_side_detach": "wrong side",
    "VectorQuantizer__perplexity_per_row": "per batch row",
    "VectorQuantizer__flat_indices": r"B\*H\*W",
    "VectorQuantizer__dot_product": "dot product",
    "sends_gradient__backward_accumulates": "leaked|freed",
    "sends_gradient__none_means_unmoved": "exactly zero",
    "sends_gradient__all_parameters": "ANY",
}
