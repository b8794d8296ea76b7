"""Realistic wrong answers for ch08_tokenizers (see AUTHORING.md)."""

import torch
import torch.nn.functional as F

# ---------------------------------------------------------------- receptive_field


def receptive_field__jump_updated_first(layers):
    """Multiplies the jump by the stride before using it for the same layer."""
    r, jump = 1, 1
    for kernel, stride in layers:
        jump *= stride
        r += (kernel - 1) * jump
    return r


def receptive_field__whole_kernel(layers):
    """Adds kernel * jump instead of (kernel - 1) * jump."""
    r, jump = 1, 1
    for kernel, stride in layers:
        r += kernel * jump
        jump *= stride
    return r


def receptive_field__strides_ignored(layers):
    """Adds up the kernels as if every stride were 1."""
    return 1 + sum(kernel - 1 for kernel, _ in layers)


def receptive_field__output_to_input(layers):
    """Walks the layers from the output back to the input with the forward recursion."""
    r, jump = 1, 1
    for kernel, stride in reversed(list(layers)):
        r += (kernel - 1) * jump
        jump *= stride
    return r


def receptive_field__starts_at_zero(layers):
    """Starts from r = 0."""
    r, jump = 0, 1
    for kernel, stride in layers:
        r += (kernel - 1) * jump
        jump *= stride
    return r


# ---------------------------------------------------------------- hinge_d_loss


def hinge_d_loss__signs_swapped(logits_real, logits_fake):
    """Pushes real logits down and fake logits up."""
    return 0.5 * (F.relu(1.0 + logits_real).mean() + F.relu(1.0 - logits_fake).mean())


def hinge_d_loss__no_half(logits_real, logits_fake):
    """Forgets the 0.5."""
    return F.relu(1.0 - logits_real).mean() + F.relu(1.0 + logits_fake).mean()


def hinge_d_loss__non_saturating(logits_real, logits_fake):
    """The cross-entropy GAN loss instead of the hinge."""
    return 0.5 * (F.softplus(-logits_real).mean() + F.softplus(logits_fake).mean())


def hinge_d_loss__no_relu(logits_real, logits_fake):
    """Drops the relu: confident patches make the loss ever more negative."""
    return 0.5 * ((1.0 - logits_real).mean() + (1.0 + logits_fake).mean())


def hinge_d_loss__pooled_mean(logits_real, logits_fake):
    """One mean over all real and fake terms together (wrong when the counts differ)."""
    terms = torch.cat([F.relu(1.0 - logits_real).flatten(), F.relu(1.0 + logits_fake).flatten()])
    return terms.mean()


def hinge_d_loss__relu_of_mean(logits_real, logits_fake):
    """Takes the mean of the logits first, then the hinge."""
    return 0.5 * (F.relu(1.0 - logits_real.mean()) + F.relu(1.0 + logits_fake.mean()))


# ---------------------------------------------------------------- adaptive_weight


def adaptive_weight__inverted(rec_loss, g_loss, last_layer, delta=1e-4, max_weight=1e4):
    """The ratio upside down: adversarial norm over reconstruction norm."""
    g_rec = torch.autograd.grad(rec_loss, last_layer, retain_graph=True)[0]
    g_adv = torch.autograd.grad(g_loss, last_layer, retain_graph=True)[0]
    return (g_adv.norm() / (g_rec.norm() + delta)).clamp(0, max_weight).detach()


def adaptive_weight__backward_accumulates(rec_loss, g_loss, last_layer, delta=1e-4,
                                          max_weight=1e4):
    """Uses .backward() and reads .grad: the second gradient is added to the first."""
    rec_loss.backward(retain_graph=True)
    g_rec = last_layer.grad.clone()
    g_loss.backward(retain_graph=True)
    g_adv = last_layer.grad.clone()
    return (g_rec.norm() / (g_adv.norm() + delta)).clamp(0, max_weight).detach()


def adaptive_weight__not_detached(rec_loss, g_loss, last_layer, delta=1e-4, max_weight=1e4):
    """Forgets the detach; create_graph makes lambda differentiable."""
    g_rec = torch.autograd.grad(rec_loss, last_layer, retain_graph=True, create_graph=True)[0]
    g_adv = torch.autograd.grad(g_loss, last_layer, retain_graph=True, create_graph=True)[0]
    return (g_rec.norm() / (g_adv.norm() + delta)).clamp(0, max_weight)


def adaptive_weight__graph_freed(rec_loss, g_loss, last_layer, delta=1e-4, max_weight=1e4):
    """No retain_graph on the second call: the tokenizer's backward pass then fails."""
    g_rec = torch.autograd.grad(rec_loss, last_layer, retain_graph=True)[0]
    g_adv = torch.autograd.grad(g_loss, last_layer)[0]
    return (g_rec.norm() / (g_adv.norm() + delta)).clamp(0, max_weight).detach()


def adaptive_weight__loss_ratio(rec_loss, g_loss, last_layer, delta=1e-4, max_weight=1e4):
    """Balances the losses themselves instead of their gradients."""
    return (rec_loss.abs() / (g_loss.abs() + delta)).clamp(0, max_weight).detach()


def adaptive_weight__no_clamp(rec_loss, g_loss, last_layer, delta=1e-4, max_weight=1e4):
    """Forgets the clamp to [0, max_weight]."""
    g_rec = torch.autograd.grad(rec_loss, last_layer, retain_graph=True)[0]
    g_adv = torch.autograd.grad(g_loss, last_layer, retain_graph=True)[0]
    return (g_rec.norm() / (g_adv.norm() + delta)).detach()


# ---------------------------------------------------------------- feature_distance


def feature_distance__not_normalised(feats_x, feats_y, weights=None, eps=1e-10):
    """Compares the raw features: no unit normalisation over the channels."""
    total = 0.0
    for i, (fx, fy) in enumerate(zip(feats_x, feats_y)):
        d = (fx - fy).pow(2)
        if weights is not None:
            d = d * weights[i].view(1, -1, 1, 1)
        total = total + d.sum(dim=1).mean(dim=(1, 2))
    return total


def feature_distance__mean_over_channels(feats_x, feats_y, weights=None, eps=1e-10):
    """Averages the squared differences over the channels instead of summing them."""
    total = 0.0
    for i, (fx, fy) in enumerate(zip(feats_x, feats_y)):
        nx = fx / (fx.norm(dim=1, keepdim=True) + eps)
        ny = fy / (fy.norm(dim=1, keepdim=True) + eps)
        d = (nx - ny).pow(2)
        if weights is not None:
            d = d * weights[i].view(1, -1, 1, 1)
        total = total + d.mean(dim=1).mean(dim=(1, 2))
    return total


def feature_distance__normalised_over_space(feats_x, feats_y, weights=None, eps=1e-10):
    """Normalises each channel over the spatial positions instead of each position over
    the channels."""
    total = 0.0
    for i, (fx, fy) in enumerate(zip(feats_x, feats_y)):
        nx = fx / (fx.norm(dim=(2, 3), keepdim=True) + eps)
        ny = fy / (fy.norm(dim=(2, 3), keepdim=True) + eps)
        d = (nx - ny).pow(2)
        if weights is not None:
            d = d * weights[i].view(1, -1, 1, 1)
        total = total + d.sum(dim=1).mean(dim=(1, 2))
    return total


def feature_distance__weights_squared(feats_x, feats_y, weights=None, eps=1e-10):
    """Applies the weights before squaring (the paper's w * diff, squared)."""
    total = 0.0
    for i, (fx, fy) in enumerate(zip(feats_x, feats_y)):
        nx = fx / (fx.norm(dim=1, keepdim=True) + eps)
        ny = fy / (fy.norm(dim=1, keepdim=True) + eps)
        d = nx - ny
        if weights is not None:
            d = d * weights[i].view(1, -1, 1, 1)
        total = total + d.pow(2).sum(dim=1).mean(dim=(1, 2))
    return total


def feature_distance__sum_over_positions(feats_x, feats_y, weights=None, eps=1e-10):
    """Sums over the positions: big layers dominate."""
    total = 0.0
    for i, (fx, fy) in enumerate(zip(feats_x, feats_y)):
        nx = fx / (fx.norm(dim=1, keepdim=True) + eps)
        ny = fy / (fy.norm(dim=1, keepdim=True) + eps)
        d = (nx - ny).pow(2)
        if weights is not None:
            d = d * weights[i].view(1, -1, 1, 1)
        total = total + d.sum(dim=1).sum(dim=(1, 2))
    return total


def feature_distance__batch_mean(feats_x, feats_y, weights=None, eps=1e-10):
    """Returns one number for the batch instead of one per image."""
    total = 0.0
    for i, (fx, fy) in enumerate(zip(feats_x, feats_y)):
        nx = fx / (fx.norm(dim=1, keepdim=True) + eps)
        ny = fy / (fy.norm(dim=1, keepdim=True) + eps)
        d = (nx - ny).pow(2)
        if weights is not None:
            d = d * weights[i].view(1, -1, 1, 1)
        total = total + d.sum(dim=1).mean()
    return total


def feature_distance__sqrt_at_zero(feats_x, feats_y, weights=None, eps=1e-10):
    """The fast norm without a guard: sqrt(sum of squares) has an infinite derivative at an
    all-zero feature vector, so the gradient turns into nan."""
    total = 0.0
    for i, (fx, fy) in enumerate(zip(feats_x, feats_y)):
        nx = fx / ((fx * fx).sum(dim=1, keepdim=True).sqrt() + eps)
        ny = fy / ((fy * fy).sum(dim=1, keepdim=True).sqrt() + eps)
        d = (nx - ny).pow(2)
        if weights is not None:
            d = d * weights[i].view(1, -1, 1, 1)
        total = total + d.sum(dim=1).mean(dim=(1, 2))
    return total


# ---------------------------------------------------------------- quiz

answer_q1__a = "a"
answer_q1__d = "d"
answer_q2__a = "a"
answer_q2__c = "c"
answer_q3__a = "a"
answer_q3__c = "c"
answer_q4__c = "c"
answer_q4__a = "a"
answer_q5__b = "b"
answer_q5__d = "d"


# The learner who imports lessonlib's reference instead of writing the function: every
# graded test cell must reject it (lessonlib.checks.provenance).
from lessonlib.tokenizers.adversarial import adaptive_weight as adaptive_weight__imported_reference  # noqa: E402
from lessonlib.tokenizers.adversarial import hinge_d_loss as hinge_d_loss__imported_reference  # noqa: E402
from lessonlib.tokenizers.patchgan import receptive_field as receptive_field__imported_reference  # noqa: E402
from lessonlib.tokenizers.perceptual import (  # noqa: E402
    feature_distance as feature_distance__imported_reference,
)

MESSAGES = {
    "receptive_field__jump_updated_first": "before it is multiplied",
    "receptive_field__whole_kernel": "k - 1",
    "receptive_field__strides_ignored": "strides are ignored",
    "receptive_field__output_to_input": "from input to output",
    "receptive_field__starts_at_zero": "r = 1",
    "hinge_d_loss__signs_swapped": "swapped",
    "hinge_d_loss__no_half": "0.5 is missing",
    "hinge_d_loss__non_saturating": "cross-entropy",
    "hinge_d_loss__no_relu": "relu is missing",
    "hinge_d_loss__pooled_mean": "pooled",
    "hinge_d_loss__relu_of_mean": "relu of the mean",
    "adaptive_weight__inverted": "upside down",
    "adaptive_weight__backward_accumulates": r"\.grad",
    "adaptive_weight__not_detached": "detach",
    "adaptive_weight__graph_freed": "retain_graph",
    "adaptive_weight__loss_ratio": "not the losses",
    "adaptive_weight__no_clamp": "clamp",
    "feature_distance__not_normalised": "not unit-normalised",
    "feature_distance__mean_over_channels": "not the mean",
    "feature_distance__normalised_over_space": "not over the spatial",
    "feature_distance__weights_squared": "squared them",
    "feature_distance__sum_over_positions": "not the sum",
    "feature_distance__batch_mean": r"shape \[3\]",
    "feature_distance__sqrt_at_zero": "nan or inf",
}
