"""Public check for the LPIPS formula on given features (lessonlib.tokenizers.perceptual).

feature_distance. The probes use two layers of small random feature maps, with and
without per-channel weights, a zero feature vector, a batch of one; the slips named are
computed here: no unit normalisation, normalising over the wrong axis, a mean over
channels, a sum over positions, the weights squared, a square root, a mean over layers,
a batch mean.
"""

from __future__ import annotations

import torch

from lessonlib.checks.core import (
    attempt,
    close,
    expect,
    expect_tensor,
    public_check,
    reject_slips,
)
from lessonlib.tokenizers import perceptual as ref


def _feats(seed: int = 0, batch: int = 3):
    """Two layers of features for x and y: [B, 4, 3, 3] and [B, 6, 2, 2]."""
    g = torch.Generator().manual_seed(seed)
    shapes = [(batch, 4, 3, 3), (batch, 6, 2, 2)]
    fx = [torch.relu(torch.randn(s, generator=g)) + 0.05 for s in shapes]
    fy = [torch.relu(torch.randn(s, generator=g)) + 0.05 for s in shapes]
    return fx, fy


def _weights():
    return [torch.tensor([0.5, 1.5, 2.0, 0.25]), torch.linspace(0.2, 1.2, 6)]


def _distance(fx, fy, weights=None, norm_dims=(1,), channel_reduce="sum",
              space_reduce="mean", weight_power=1, root=False, layer_reduce="sum"):
    """The formula with one ingredient changed (for naming slips); [B] float64."""
    per_layer = []
    for i, (a, b) in enumerate(zip(fx, fy)):
        a, b = a.double(), b.double()
        if norm_dims is not None:
            a = a / (a.pow(2).sum(dim=norm_dims, keepdim=True).sqrt() + 1e-10)
            b = b / (b.pow(2).sum(dim=norm_dims, keepdim=True).sqrt() + 1e-10)
        d = (a - b).pow(2)
        if weights is not None:
            d = d * weights[i].double().view(1, -1, 1, 1) ** weight_power
        d = d.sum(dim=1) if channel_reduce == "sum" else d.mean(dim=1)
        d = d.mean(dim=(1, 2)) if space_reduce == "mean" else d.sum(dim=(1, 2))
        per_layer.append(d.sqrt() if root else d)
    stacked = torch.stack(per_layer)  # [L, B]
    return stacked.sum(0) if layer_reduce == "sum" else stacked.mean(0)


def _slips(fx, fy, weights=None):
    return {
        "the features are not unit-normalised: divide each position's feature vector by its "
        "norm over the channels (dim 1) before taking differences":
            _distance(fx, fy, weights, norm_dims=None),
        "normalise over the channels (dim 1) at each position, not over the spatial dims":
            _distance(fx, fy, weights, norm_dims=(2, 3)),
        "normalise over the channels (dim 1) at each position, not over the whole map of "
        "an image": _distance(fx, fy, weights, norm_dims=(1, 2, 3)),
        "sum the squared differences over the channels, not the mean":
            _distance(fx, fy, weights, channel_reduce="mean"),
        "average over the positions (H, W), not the sum: layers of different sizes must "
        "count alike": _distance(fx, fy, weights, space_reduce="sum"),
        "the weights multiply the squared difference (the LPIPS code's 1x1 layer on "
        "(f_x - f_y)^2); you squared them": (_distance(fx, fy, weights, weight_power=2)
                                              if weights is not None else None),
        "no square root: the distance is the squared difference itself":
            _distance(fx, fy, weights, root=True),
        "sum over the layers, not the mean": _distance(fx, fy, weights, layer_reduce="mean"),
    }


@public_check("feature_distance", reference=ref.feature_distance)
def check_feature_distance(fn) -> None:
    """Two layers, default and given weights, zero features, gradients, a batch of one."""
    fx, fy = _feats()
    out = attempt(fn, [f.clone() for f in fx], [f.clone() for f in fy])
    expect_tensor(out, (3,), "the distance (one number per image)")
    want = ref.feature_distance(fx, fy)
    reject_slips(out.detach(), _slips(fx, fy), want=want, tol=1e-5)
    expect(close(out.detach(), want, 1e-5),
           f"without weights the distances should be {[round(v, 4) for v in want.tolist()]}, "
           f"got {[round(v, 4) for v in out.detach().tolist()]}.")
    w = _weights()
    out = attempt(fn, [f.clone() for f in fx], [f.clone() for f in fy], w)
    expect_tensor(out, (3,), "the weighted distance")
    want = ref.feature_distance(fx, fy, w)
    reject_slips(out.detach(), {"the weights are ignored": ref.feature_distance(fx, fy),
                                **_slips(fx, fy, w)}, want=want, tol=1e-5)
    expect(close(out.detach(), want, 1e-5),
           "with weights the distances are wrong: weights[l] ([C_l]) multiplies the squared "
           "differences of layer l channel by channel, before the sum over channels.")
    same = attempt(fn, [f.clone() for f in fx], [f.clone() for f in fx])
    expect(close(same.detach(), torch.zeros(3), 1e-6), "identical features should be at "
           "distance 0.")
    scaled = attempt(fn, [f.clone() for f in fx], [3.0 * f for f in fx])
    expect(close(scaled.detach(), torch.zeros(3), 1e-6),
           "features that differ only by a positive scale should be at distance 0: each "
           "position's feature vector is scaled to unit length first.")
    zero_x = [f.clone() for f in fx]
    zero_x[0][:, :, 0, 0] = 0.0  # a dead position: every channel 0
    out = attempt(fn, zero_x, [f.clone() for f in fy])
    expect(bool(torch.isfinite(out.detach()).all()),
           "a position whose features are all 0 gave nan or inf: divide by (norm + eps), "
           "with eps=1e-10 by default.")
    expect(close(out.detach(), ref.feature_distance(zero_x, fy), 1e-5),
           "with an all-zero feature vector the distance is wrong: f / (norm + eps) is 0 "
           "there.")
    zero_g = [f.clone().requires_grad_(True) for f in zero_x]
    attempt(fn, zero_g, [f.clone() for f in fy]).sum().backward()
    expect(all(f.grad is not None and bool(torch.isfinite(f.grad).all()) for f in zero_g),
           "at an all-zero feature vector the gradient is nan or inf (ReLU features are often "
           "all 0 at a position): the derivative of sqrt at 0 is infinite. Use f.norm(dim=1), "
           "or add a tiny constant inside the square root (sqrt(sum of squares + 1e-20)).")
    one_x, one_y = _feats(seed=5, batch=1)
    out = attempt(fn, one_x, one_y)
    expect_tensor(out, (1,), "the distance for a batch of one")
    gx = [f.clone().requires_grad_(True) for f in fx]
    out = attempt(fn, gx, [f.clone() for f in fy], w)
    expect(out.requires_grad, "the distance carries no gradient: a perceptual loss trains "
           "the decoder through it (no .detach(), .item() or numpy).")
    out.sum().backward()
    rx = [f.clone().requires_grad_(True) for f in fx]
    ref.feature_distance(rx, fy, w).sum().backward()
    for a, b in zip(gx, rx):
        expect(a.grad is not None and close(a.grad, b.grad, 1e-4),
               "the value is right but the gradient is not: keep the normalisation inside "
               "the graph (no .detach() on the norm).")
