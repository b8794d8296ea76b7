"""Public check for the shape of a causal video latent (lessonlib.tokenizers.video).

The probes: a 17-frame clip (MAGVIT-v2's 1 + 4 * 4), a single image, other factors, and
clips a causal tokenizer cannot take. Slips named: time divided without the separate first
frame, the + 1 forgotten, the factors 8 and 4 hard-coded, the axes in another order, the
factors swapped, a valid clip refused (frames % temporal), a shape that should have been
refused.
"""

from __future__ import annotations

from lessonlib.checks.core import (
    attempt,
    expect,
    expect_tuple,
    fail,
    public_check,
    reject_slips,
)
from lessonlib.tokenizers import video as ref

_CASES = [((17, 256, 256, 16), {}), ((1, 64, 64, 4), {}), ((9, 128, 96, 8), {}),
          ((33, 512, 512, 16), {"spatial": 16, "temporal": 8}),
          ((121, 512, 512, 16), {"spatial": 8, "temporal": 8})]
_INVALID = [((16, 256, 256, 16), {}, "16 frames (not 1 + a multiple of 4)"),
            ((0, 64, 64, 4), {}, "0 frames"),
            ((17, 100, 64, 4), {}, "a height of 100 (not a multiple of 8)"),
            ((9, 64, 60, 4), {}, "a width of 60 (not a multiple of 8)"),
            ((13, 64, 64, 4), {"temporal": 8}, "13 frames with temporal=8")]


def _shape(f, h, w, c, spatial=8, temporal=4):
    return c, 1 + (f - 1) // temporal, h // spatial, w // spatial


def _no_first_frame(f, h, w, c, spatial=8, temporal=4):
    return c, f // temporal, h // spatial, w // spatial


def _no_plus_one(f, h, w, c, spatial=8, temporal=4):
    return c, (f - 1) // temporal, h // spatial, w // spatial


def _fixed_factors(f, h, w, c, spatial=8, temporal=4):
    return c, 1 + (f - 1) // 4, h // 8, w // 8


def _time_first(f, h, w, c, spatial=8, temporal=4):
    return 1 + (f - 1) // temporal, c, h // spatial, w // spatial


def _swapped(f, h, w, c, spatial=8, temporal=4):
    return c, 1 + (f - 1) // spatial, h // temporal, w // temporal


_SLIPS = {
    "the first frame is encoded on its own: t = 1 + (frames - 1) // temporal, not "
    "frames // temporal.": _no_first_frame,
    "you forgot the first latent frame: t = 1 + (frames - 1) // temporal.": _no_plus_one,
    "you used 8 and 4 whatever the arguments say: use `spatial` and `temporal`.":
        _fixed_factors,
    "return (channels, t, h, w): channels first, then time, then space (the layout of a "
    "Conv3d's output).": _time_first,
    "the spatial and temporal factors are swapped.": _swapped,
}


@public_check("video_latent_shape", reference=ref.video_latent_shape)
def check_video_latent_shape(fn) -> None:
    """Five valid clips (two with other factors) and five a causal tokenizer refuses."""
    got = []
    for args, kwargs in _CASES:
        try:
            out = attempt(fn, *args, **kwargs)
        except ValueError as err:
            fail(f"{args[0]} frames is a valid clip for temporal={kwargs.get('temporal', 4)} "
                 f"(1 + a multiple of it), but your function raised ValueError ({err}): test "
                 "(frames - 1) % temporal, not frames % temporal.")
        out = expect_tuple(out, "c, t, h, w", "return")
        expect(all(isinstance(v, int) and not isinstance(v, bool) for v in out),
               f"return four ints, got {out!r}.")
        got.append(tuple(out))
    want = [_shape(*a, **k) for a, k in _CASES]
    reject_slips(got, {message: [slip(*a, **k) for a, k in _CASES]
                       for message, slip in _SLIPS.items()},
                 want=want, same=lambda a, b: list(a) == list(b))
    for (args, kwargs), g, w in zip(_CASES, got, want):
        extra = "".join(f", {k}={v}" for k, v in kwargs.items())
        expect(g == w, f"video_latent_shape{args[:4]}{extra} should be {w}, got {g}.")
    for args, kwargs, what in _INVALID:
        try:
            out = fn(*args, **kwargs)
        except ValueError:
            continue
        fail(f"{what} should raise ValueError (a causal tokenizer cannot take it), "
             f"got {out!r}.")
