"""Realistic wrong answers for ch09_in_the_wild (see AUTHORING.md)."""

import math

import torch

# ---------------------------------------------------------------- latent_scale_factor


def latent_scale_factor__std_not_inverse(latents):
    """Returns the standard deviation itself, not 1 / std."""
    return float(latents.flatten().std())


def latent_scale_factor__root_mean_square(latents):
    """Divides by the root mean square: forgets that the latents are not centred."""
    return float(1.0 / latents.flatten().pow(2).mean().sqrt())


def latent_scale_factor__per_channel_mean(latents):
    """Averages one factor per channel (dim 1) instead of one factor for all values."""
    per_channel = latents.transpose(0, 1).flatten(1).std(dim=1)  # [C]
    return float((1.0 / per_channel).mean())


def latent_scale_factor__variance(latents):
    """Divides by the variance instead of the standard deviation."""
    return float(1.0 / latents.flatten().var())


def latent_scale_factor__tensor(latents):
    """The right value, but a 0-dim tensor instead of a Python float."""
    return 1.0 / latents.flatten().std()


# ---------------------------------------------------------------- gaussian_rate_distortion


def gaussian_rate_distortion__nats(variance, distortion):
    """The natural log: nats, not bits."""
    return max(0.0, 0.5 * math.log(variance / distortion))


def gaussian_rate_distortion__no_half(variance, distortion):
    """Forgets the factor 1/2."""
    return max(0.0, math.log2(variance / distortion))


def gaussian_rate_distortion__negative(variance, distortion):
    """No max(0, .): a distortion above the variance gives a negative rate."""
    return 0.5 * math.log2(variance / distortion)


def gaussian_rate_distortion__upside_down(variance, distortion):
    """distortion / variance instead of variance / distortion."""
    return max(0.0, 0.5 * math.log2(distortion / variance))


def gaussian_rate_distortion__tensor(variance, distortion):
    """Computes with tensors and returns a tensor."""
    rate = 0.5 * torch.log2(torch.tensor(variance / distortion))
    return torch.clamp(rate, min=0.0)


# ---------------------------------------------------------------- video_latent_shape


def video_latent_shape__no_first_frame(frames, height, width, channels, spatial=8, temporal=4):
    """Divides the frames by `temporal`, as if the first frame were not encoded alone."""
    if frames < 1 or (frames - 1) % temporal:
        raise ValueError("bad number of frames")
    if height % spatial or width % spatial:
        raise ValueError("bad frame size")
    return channels, frames // temporal, height // spatial, width // spatial


def video_latent_shape__no_checks(frames, height, width, channels, spatial=8, temporal=4):
    """The right formula, but accepts every clip (never raises)."""
    return channels, 1 + (frames - 1) // temporal, height // spatial, width // spatial


def video_latent_shape__frames_mod(frames, height, width, channels, spatial=8, temporal=4):
    """Requires frames % temporal == 0 (refuses the valid 1 + k * temporal clips)."""
    if frames < 1 or frames % temporal:
        raise ValueError("bad number of frames")
    if height % spatial or width % spatial:
        raise ValueError("bad frame size")
    return channels, frames // temporal, height // spatial, width // spatial


def video_latent_shape__fixed_factors(frames, height, width, channels, spatial=8, temporal=4):
    """Hard-codes 8x spatial and 4x temporal compression, ignoring the arguments."""
    if frames < 1 or (frames - 1) % 4:
        raise ValueError("bad number of frames")
    if height % 8 or width % 8:
        raise ValueError("bad frame size")
    return channels, 1 + (frames - 1) // 4, height // 8, width // 8


def video_latent_shape__time_first(frames, height, width, channels, spatial=8, temporal=4):
    """Returns (t, channels, h, w)."""
    if frames < 1 or (frames - 1) % temporal:
        raise ValueError("bad number of frames")
    if height % spatial or width % spatial:
        raise ValueError("bad frame size")
    return 1 + (frames - 1) // temporal, channels, height // spatial, width // spatial


def video_latent_shape__no_spatial_check(frames, height, width, channels, spatial=8,
                                         temporal=4):
    """Checks the frames but floors a height or width that does not divide."""
    if frames < 1 or (frames - 1) % temporal:
        raise ValueError("bad number of frames")
    return channels, 1 + (frames - 1) // temporal, height // spatial, width // spatial


# ---------------------------------------------------------------- quiz

answer_q1__a = "a"
answer_q1__b = "b"
answer_q2__a = "a"
answer_q2__c = "c"
answer_q3__a = "a"
answer_q3__c = "c"
answer_q4__b = "b"
answer_q4__c = "c"


MESSAGES = {
    "latent_scale_factor__std_not_inverse": "its inverse",
    "latent_scale_factor__root_mean_square": "root mean square",
    "latent_scale_factor__per_channel_mean": "one factor per channel",
    "latent_scale_factor__variance": "variance",
    "latent_scale_factor__tensor": "Python float",
    "gaussian_rate_distortion__nats": "log2",
    "gaussian_rate_distortion__no_half": "1/2 is missing",
    "gaussian_rate_distortion__negative": "never negative",
    "gaussian_rate_distortion__upside_down": "upside down",
    "gaussian_rate_distortion__tensor": "Python float",
    "video_latent_shape__no_first_frame": "first frame is encoded on its own",
    "video_latent_shape__no_checks": "should raise ValueError",
    "video_latent_shape__frames_mod": r"\(frames - 1\) % temporal, not frames % temporal",
    "video_latent_shape__fixed_factors": "use `spatial` and `temporal`",
    "video_latent_shape__time_first": "channels first",
    "video_latent_shape__no_spatial_check": r"not a multiple of 8\) should raise ValueError",
}


# The learner who imports lessonlib's reference instead of writing the function: every
# graded test cell must reject it (lessonlib.checks.provenance).
from lessonlib.autoencoders.latent_scale import (  # noqa: E402
    latent_scale_factor as latent_scale_factor__imported_reference,
)
from lessonlib.autoencoders.rate_distortion import (  # noqa: E402
    gaussian_rate_distortion as gaussian_rate_distortion__imported_reference,
)
from lessonlib.tokenizers.video import (  # noqa: E402
    video_latent_shape as video_latent_shape__imported_reference,
)
