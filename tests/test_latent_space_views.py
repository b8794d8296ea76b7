"""lessonlib.views.latent_space, lessonlib.autoencoders.reconstruction and the interpolate check."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure
from torch.distributions import Bernoulli

from lessonlib.autoencoders.interpolation import interpolate
from lessonlib.autoencoders.reconstruction import (
    nearest_distance,
    reconstruction_errors,
    reconstruction_nll,
    squared_error_per_example,
)
from lessonlib.checks.autoencoders.interpolation import _slerp, check_interpolate
from lessonlib.views.latent_space import (
    LatentMap,
    render_latent_path,
    render_latent_space,
)
from lessonlib.views.widgets import Choice, IntSlider, Regenerate, probe_render
from tools.grading import load_wrong_module

matplotlib.use("Agg")

# ---------------------------------------------------------------- latent-space views


def _toy_map(name: str, shift: float, calls: list | None = None) -> LatentMap:
    """Codes of 60 'digits' (6 per class) on a ring; a decoder that draws a dot at z."""
    labels = torch.arange(10).repeat(6)  # [60]
    angle = labels.float() * 0.6 + torch.linspace(0, 0.5, 60)
    codes = torch.stack([angle.cos(), angle.sin()], 1) * 2 + shift  # [60, 2]

    def decode(z):
        if calls is not None:
            calls.append(z.clone())
        grid = torch.linspace(-4, 4, 8)
        rows = torch.exp(-(grid[None, :] - z[:, 1:2]) ** 2)  # [M, 8]
        cols = torch.exp(-(grid[None, :] - z[:, 0:1]) ** 2)  # [M, 8]
        return (rows[:, :, None] * cols[:, None, :]).unsqueeze(1)  # [M, 1, 8, 8]

    samplers = {"N(0, I)": lambda m, gen: torch.randn(m, 2, generator=gen),
                "far": lambda m, gen: 50 + torch.rand(m, 2, generator=gen)}
    return LatentMap(name, codes, decode, samplers)


LABELS = torch.arange(10).repeat(6)


def test_render_latent_space_draws_fresh_points_per_seed():
    calls: list = []
    maps = [_toy_map("ae", 3.0, calls), _toy_map("vae", 0.0)]
    fig = render_latent_space(0, "N(0, I)", maps=maps, labels=LABELS, n_points=40, n_samples=5)
    assert isinstance(fig, Figure)
    scatter_titles = [ax.get_title() for ax in fig.axes if ax.get_title().endswith("digits")]
    assert scatter_titles == ["ae: 40 test digits", "vae: 40 test digits"]
    plt.close(fig)
    first = calls[-1]
    assert first.shape == (5, 2)
    plt.close(render_latent_space(0, "N(0, I)", maps=maps, labels=LABELS, n_points=40, n_samples=5))
    assert torch.equal(calls[-1], first), "the same seed redraws the same points"
    plt.close(render_latent_space(1, "N(0, I)", maps=maps, labels=LABELS, n_points=40, n_samples=5))
    assert not torch.equal(calls[-1], first), "Regenerate (seed + 1) draws new points"
    plt.close(render_latent_space(1, "far", maps=maps, labels=LABELS, n_points=40, n_samples=5))
    assert bool((calls[-1] > 49).all()), "the chosen sampler draws the points"


def test_render_latent_space_limits_hold_codes_and_samples():
    maps = [_toy_map("ae", 10.0)]
    fig = render_latent_space(3, "N(0, I)", maps=maps, labels=LABELS, n_points=1000, n_samples=4)
    ax = fig.axes[0]
    x0, x1 = ax.get_xlim()
    assert x0 < float(maps[0].codes[:, 0].min()) and x1 > float(maps[0].codes[:, 0].max())
    assert x0 < -1.0, "the random N(0, I) points far from the codes stay in view"
    plt.close(fig)


def test_render_latent_path_uses_the_given_interpolate():
    seen = []

    def spy(z1, z2, steps):
        seen.append((z1.clone(), z2.clone(), steps))
        return interpolate(z1, z2, steps)

    maps = [_toy_map("ae", 3.0), _toy_map("vae", 0.0)]
    fig = render_latent_path(2, 7, maps=maps, labels=LABELS, interpolate=spy, steps=6)
    assert isinstance(fig, Figure)
    plt.close(fig)
    assert len(seen) == 2 and all(s == 6 for _, _, s in seen)
    first2, first7 = int((LABELS == 2).nonzero()[0, 0]), int((LABELS == 7).nonzero()[0, 0])
    assert torch.equal(seen[0][0], maps[0].codes[first2])
    assert torch.equal(seen[0][1], maps[0].codes[first7])
    line = fig.axes[0].lines[0]
    assert len(line.get_xdata()) == 6


def test_renders_at_control_extremes():
    maps = [_toy_map("ae", 3.0), _toy_map("vae", 0.0)]
    space = probe_render(
        lambda seed, sampler: render_latent_space(seed, sampler, maps=maps, labels=LABELS),
        [Regenerate("seed", 0), Choice("sampler", ("N(0, I)", "far"))])
    path = probe_render(
        lambda start_digit, end_digit: render_latent_path(
            start_digit, end_digit, maps=maps, labels=LABELS, interpolate=interpolate),
        [IntSlider("start_digit", 0, 9, 0), IntSlider("end_digit", 0, 9, 1)])
    assert space["calls"] == 3 and path["calls"] >= 4


# ---------------------------------------------------------------- reconstruction


def test_bce_per_example_matches_bernoulli_log_prob():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 1, 4, 4, generator=gen)
    x = torch.bernoulli(torch.full((5, 1, 4, 4), 0.3), generator=gen)
    oracle = -Bernoulli(logits=logits).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(reconstruction_nll(x, logits), oracle, atol=1e-5)


def test_bce_accepts_grey_levels_and_is_smallest_at_the_target():
    x = torch.full((1, 1, 2, 2), 0.3)
    best = reconstruction_nll(x, torch.logit(x))
    for shift in (-1.0, 0.5, 2.0):
        assert reconstruction_nll(x, torch.logit(x) + shift) > best


def test_squared_error_per_example():
    x = torch.zeros(2, 1, 2, 2)
    x_hat = torch.tensor([[1.0, 2.0, 0.0, 0.0], [0.5, 0.5, 0.5, 0.5]]).view(2, 1, 2, 2)
    assert torch.allclose(squared_error_per_example(x_hat, x), torch.tensor([5.0, 1.0]))


def test_reconstruction_errors_batches_and_means():
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(7, 1, 3, 3, generator=gen)
    logits = torch.logit(x.clamp(0.05, 0.95))
    errs = reconstruction_errors(lambda xb: xb, lambda zb: torch.logit(zb.clamp(0.05, 0.95)),
                                 x, batch_size=3)
    assert errs["bce"] == pytest.approx(float(reconstruction_nll(x, logits).mean()), rel=1e-5)
    want_mse = float((torch.sigmoid(logits) - x).pow(2).mean())
    assert errs["mse"] == pytest.approx(want_mse, rel=1e-5, abs=1e-9)


def test_nearest_distance_against_brute_force():
    gen = torch.Generator().manual_seed(2)
    x = torch.rand(9, 1, 4, 4, generator=gen)
    ref = torch.rand(13, 1, 4, 4, generator=gen)
    got = nearest_distance(x, ref, chunk=4)
    brute = torch.tensor([min(float((a - b).pow(2).mean().sqrt()) for b in ref) for a in x])
    assert torch.allclose(got, brute, atol=1e-6)
    assert torch.allclose(nearest_distance(ref[:3], ref), torch.zeros(3), atol=1e-6)


# ---------------------------------------------------------------- the interpolate check


def test_reference_interpolate_passes():
    assert check_interpolate.run(interpolate).passed


def test_check_names_the_wrong_versions_kept_for_grading():
    wrong = load_wrong_module("ch01_autoencoders")
    for name, pattern in wrong.MESSAGES.items():
        if name.startswith("interpolate__"):
            result = check_interpolate.run(getattr(wrong, name))
            assert result.status == "wrong" and pattern.lower() in result.message.lower()


SLIPS = {
    "reversed": (lambda a, b, s: interpolate(b, a, s), "reversed"),
    "t not scaled": (lambda a, b, s: torch.stack([a + i * (b - a) for i in range(s)]),
                     "not scaled"),
    "midpoint only": (lambda a, b, s: (a + b) / 2, "only the midpoint"),
    "every row the midpoint": (lambda a, b, s: ((a + b) / 2).expand(s, -1), "every row"),
    "no gradient": (lambda a, b, s: torch.tensor(interpolate(a, b, s).tolist(), dtype=a.dtype),
                    "no gradient"),
    "float64 t from numpy": (lambda a, b, s: interpolate(a.double(), b.double(), s),
                             "dtype"),
    "integer division": (lambda a, b, s: torch.stack([a + (i // (s - 1)) * (b - a)
                                                      for i in range(s)]), "integer division"),
    "steps - 1 rows": (lambda a, b, s: interpolate(a, b, s - 1), "rows for steps"),
    "steps + 1 rows": (lambda a, b, s: interpolate(a, b, s + 1), "rows for steps"),
    "python list": (lambda a, b, s: list(interpolate(a, b, s)), "list"),
    "starts late": (lambda a, b, s: torch.stack([a + ((i + 1) / s) * (b - a)
                                                 for i in range(s)]), "starts one step"),
    "slerp": (lambda a, b, s: _slerp(a, b, s).to(a.dtype), "spherical"),
    "in place": (lambda a, b, s: interpolate(a.mul_(1.5), b, s), "in place"),
    "cast to float32": (lambda a, b, s: interpolate(a, b, s).float(), "float64"),
    "uneven spacing": (lambda a, b, s: (1 - torch.linspace(0, 1, s)[:, None] ** 2) * a
                       + torch.linspace(0, 1, s)[:, None] ** 2 * b, "evenly spaced"),
}


@pytest.mark.parametrize("slip", sorted(SLIPS))
def test_check_names_each_classic_slip(slip):
    fn, phrase = SLIPS[slip]
    result = check_interpolate.run(fn)
    assert result.status == "wrong", result
    assert phrase.lower() in result.message.lower(), result.message


def test_stub_is_not_attempted():
    def stub(z1, z2, steps):
        ...

    assert check_interpolate.run(stub).status == "not attempted"
