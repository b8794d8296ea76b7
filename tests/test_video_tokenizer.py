"""lessonlib.tokenizers.video: causality of CausalConv3d from the support of autograd
Jacobians (an independent oracle), output lengths, and video_latent_shape against the
shapes the causal encoder actually produces."""

from __future__ import annotations

import math

import pytest
import torch

from lessonlib.tokenizers.video import CausalConv3d, CausalVideoEncoder, video_latent_shape


def time_support(module, frames=9, size=8):
    """dep[j, t] = True if output frame j has a non-zero gradient w.r.t. input frame t."""
    x = torch.randn(1, module_in_channels(module), frames, size, size, dtype=torch.float64,
                    requires_grad=True)
    out = module.double()(x)
    dep = torch.zeros(out.shape[2], frames, dtype=torch.bool)
    for j in range(out.shape[2]):
        (grad,) = torch.autograd.grad(out[:, :, j].sum(), x, retain_graph=True)
        dep[j] = grad.abs().sum(dim=(0, 1, 3, 4)) > 0
    return dep


def module_in_channels(module):
    first = next(m for m in module.modules() if isinstance(m, torch.nn.Conv3d))
    return first.in_channels


@pytest.mark.parametrize("kernel, stride", [(3, 1), (3, 2), (4, 2), (2, 1)])
def test_causal_conv_sees_only_the_past(kernel, stride):
    torch.manual_seed(0)
    conv = CausalConv3d(2, 3, kernel=(kernel, 3, 3), stride=(stride, 1, 1))
    dep = time_support(conv, frames=9)
    for j in range(dep.shape[0]):
        seen = torch.nonzero(dep[j]).flatten().tolist()
        assert max(seen) == j * stride, "output frame j ends at input frame j * stride"
        assert min(seen) == max(0, j * stride - kernel + 1)
    assert dep.shape[0] == (9 - 1) // stride + 1


def test_symmetric_padding_leaks_the_future():
    torch.manual_seed(0)
    conv = CausalConv3d(1, 1, kernel=3, stride=1, causal=False)
    dep = time_support(conv, frames=5)
    assert dep[0, 1] and dep.shape[0] == 5


@pytest.mark.parametrize("frames", [1, 5, 9, 17])
def test_encoder_latent_frame_j_depends_on_frames_up_to_4j(frames):
    torch.manual_seed(1)
    enc = CausalVideoEncoder(1, 2, 4)
    dep = time_support(enc, frames=frames, size=16)
    assert dep.shape[0] == 1 + (frames - 1) // 4
    # Receptive field in time, by hand: kernel 3 everywhere, strides 1, 2, 2, so latent
    # frame j sees input frames 4j - 8 ... 4j (nine frames, clipped at the start).
    for j in range(dep.shape[0]):
        seen = torch.nonzero(dep[j]).flatten()
        assert seen.max() == 4 * j
        assert seen.min() == max(0, 4 * j - 8)
    assert dep[: min(3, dep.shape[0]), 0].all(), "latent frames 0-2 see the first frame"


@pytest.mark.parametrize("frames, height, width", [(1, 8, 8), (5, 16, 24), (17, 32, 32),
                                                   (9, 64, 40)])
def test_video_latent_shape_matches_the_encoder(frames, height, width):
    with torch.device("meta"):
        out = CausalVideoEncoder(3, 6, 4)(torch.zeros(2, 3, frames, height, width))
    assert video_latent_shape(frames, height, width, 6) == tuple(out.shape[1:])


def test_video_latent_shape_values_and_errors():
    assert video_latent_shape(17, 256, 256, 16) == (16, 5, 32, 32)
    assert video_latent_shape(121, 512, 512, 16, spatial=8, temporal=8) == (16, 16, 64, 64)
    assert all(type(v) is int for v in video_latent_shape(33, 64, 64, 4))
    for bad in [(0, 64, 64, 4), (2, 64, 64, 4), (17, 60, 64, 4), (17, 64, 12, 4),
                (5, 64, 64, 4, 8, 8)]:
        with pytest.raises(ValueError):
            video_latent_shape(*bad)


def test_replicate_and_zero_padding_differ_only_near_the_start():
    torch.manual_seed(2)
    rep = CausalConv3d(1, 1, kernel=3, pad_mode="replicate")
    zero = CausalConv3d(1, 1, kernel=3, pad_mode="zeros")
    zero.load_state_dict(rep.state_dict())
    x = torch.rand(1, 1, 6, 5, 5) + 1.0
    a, b = rep(x), zero(x)
    assert not torch.allclose(a[:, :, :2], b[:, :, :2])
    assert torch.allclose(a[:, :, 2:], b[:, :, 2:])
    with pytest.raises(ValueError):
        CausalConv3d(1, 1, pad_mode="reflect")
    assert math.isfinite(float(a.detach().sum()))
