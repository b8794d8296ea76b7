"""Video tokenizers: causal 3-D convolutions and the shape of a video latent.

A video tokenizer compresses time as well as space. The causal design of MAGVIT-v2 (Yu et
al., ICLR 2024) and NVIDIA's Cosmos tokenizers encodes the first frame on its own, so that
a single image is a one-frame video, and every later latent frame summarises `temporal`
new frames, never looking ahead:

    frames T = 1 + k * temporal  ->  latent frames t = 1 + k
    video_latent_shape(17, 256, 256, 16)  ->  (16, 5, 32, 32)

Causality comes from the padding. A 3-D convolution with a time kernel k_t and stride s_t
pads k_t - 1 frames **before** the clip and none after, so output frame j sees input frames
j * s_t - (k_t - 1) ... j * s_t and nothing later; with that padding an input of
1 + k * s_t frames gives 1 + k output frames. Space is padded symmetrically as usual.

    conv = CausalConv3d(3, 16, kernel=(3, 3, 3), stride=(2, 2, 2))
    conv(video)                     # [B, 3, 17, 64, 64] -> [B, 16, 9, 32, 32]
    CausalVideoEncoder(3, 8)(video) # [B, 3, 17, 64, 64] -> [B, 8, 5, 8, 8]
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def video_latent_shape(frames: int, height: int, width: int, channels: int,
                       spatial: int = 8, temporal: int = 4) -> tuple[int, int, int, int]:
    """(channels, latent frames, latent height, latent width) of a causal video tokenizer.

    The first frame is encoded alone, then every `temporal` frames make one latent frame:
    t = 1 + (frames - 1) // temporal; h = height // spatial, w = width // spatial.
    Raises ValueError unless frames >= 1, (frames - 1) % temporal == 0, and height and
    width are multiples of `spatial`.
    """
    if frames < 1:
        raise ValueError(f"a clip needs at least one frame, got {frames}")
    if (frames - 1) % temporal:
        raise ValueError(f"{frames} frames: a causal tokenizer takes 1 + k * {temporal} frames "
                         f"(1, {1 + temporal}, {1 + 2 * temporal}, ...)")
    if height % spatial or width % spatial:
        raise ValueError(f"{height}x{width} is not a multiple of the spatial factor {spatial}")
    return channels, 1 + (frames - 1) // temporal, height // spatial, width // spatial


def _triple(value) -> tuple[int, int, int]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value, value)


class CausalConv3d(nn.Module):
    """A Conv3d on [B, C, T, H, W] that pads only the past in time.

    kernel, stride: ints or (time, height, width). Time: kernel_t - 1 frames of padding
    before the clip (`pad_mode` "replicate" repeats the first frame, "zeros" adds black
    frames), none after. Space: (kernel - 1) // 2 on each side, zeros.
    causal=False pads time symmetrically instead ((kernel_t - 1) // 2 each side): the
    usual, non-causal convolution, for comparison.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel=3, stride=1,
                 pad_mode: str = "replicate", causal: bool = True):
        super().__init__()
        self.kernel, self.stride = _triple(kernel), _triple(stride)
        if pad_mode not in ("replicate", "zeros"):
            raise ValueError(f"pad_mode must be 'replicate' or 'zeros', got {pad_mode!r}")
        self.pad_mode, self.causal = pad_mode, causal
        self.conv = nn.Conv3d(in_channels, out_channels, self.kernel, self.stride)

    def time_padding(self) -> tuple[int, int]:
        """(frames padded before, frames padded after)."""
        k = self.kernel[0]
        return (k - 1, 0) if self.causal else ((k - 1) // 2, (k - 1) // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        before, after = self.time_padding()
        _, kh, kw = self.kernel
        ph, pw = (kh - 1) // 2, (kw - 1) // 2
        x = F.pad(x, (pw, pw, ph, ph, 0, 0))  # [B, C, T, H + 2ph, W + 2pw]: space, zeros
        if before or after:
            mode = "replicate" if self.pad_mode == "replicate" else "constant"
            x = F.pad(x, (0, 0, 0, 0, before, after), mode=mode)  # time
        return self.conv(x)


class CausalVideoEncoder(nn.Module):
    """Three causal 3-D convolutions: [B, C, T, H, W] -> [B, latent, 1 + (T-1)/4, H/8, W/8].

    Spatial stride 2 in every layer; temporal stride 1, 2, 2 (the first layer keeps every
    frame). SiLU between layers. causal=False builds the same stack with symmetric time
    padding (then T must be 1 + 4k as well, and the output has the same shape).
    """

    def __init__(self, in_channels: int = 1, latent_channels: int = 4, width: int = 16,
                 causal: bool = True):
        super().__init__()
        self.layers = nn.ModuleList([
            CausalConv3d(in_channels, width, 3, (1, 2, 2), causal=causal),  # T, H/2
            CausalConv3d(width, width, 3, (2, 2, 2), causal=causal),  # 1 + (T-1)/2, H/4
            CausalConv3d(width, latent_channels, 3, (2, 2, 2), causal=causal),  # 1 + (T-1)/4
        ])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.silu(x)
        return x
