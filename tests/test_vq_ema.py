"""lessonlib.quantizers.ema.EMAVectorQuantizer: EMA codebook, revival schedule,
output convention."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lessonlib.core.information import code_perplexity
from lessonlib.quantizers.codebook import ema_codebook_update, revive_dead_codes
from lessonlib.quantizers.common import to_rows
from lessonlib.quantizers.ema import EMAVectorQuantizer
from lessonlib.quantizers.vq import nearest_code


def feature_map(seed: int, b: int = 2, d: int = 3, h: int = 4, w: int = 4) -> torch.Tensor:
    return torch.randn(b, d, h, w, generator=torch.Generator().manual_seed(seed))


def test_output_convention_and_straight_through():
    q = EMAVectorQuantizer(16, 3, commitment_cost=0.25)
    z_e = feature_map(0).requires_grad_(True)
    z_q, indices, aux_loss, perplexity = q(z_e)
    assert z_q.shape == z_e.shape
    assert indices.shape == (2, 4, 4) and indices.dtype == torch.int64
    assert aux_loss.dim() == 0 and perplexity.dim() == 0
    rows = to_rows(z_q.detach())  # [N, D]
    assert torch.allclose(rows, q.codebook[indices.reshape(-1)])  # forward value: the codes
    expected_aux = 0.25 * F.mse_loss(to_rows(z_e.detach()), rows)
    assert torch.allclose(aux_loss.detach(), expected_aux)
    assert torch.allclose(perplexity, code_perplexity(indices, 16))
    (grad,) = torch.autograd.grad(z_q.sum(), z_e)
    assert torch.allclose(grad, torch.ones_like(grad)), "straight-through: gradient copied"
    assert list(q.parameters()) == [], "the EMA codebook is a buffer, not a parameter"


def test_commitment_gradient_reaches_only_the_encoder_output():
    q = EMAVectorQuantizer(8, 3, commitment_cost=0.25)
    z_e = feature_map(1).requires_grad_(True)
    z_q, _, aux_loss, _ = q(z_e)
    (grad,) = torch.autograd.grad(aux_loss, z_e)
    # d/dz_e of 0.25 * mean((z_e - sg(z_q))^2): the codes are constants here
    assert torch.allclose(grad, 0.25 * 2 * (z_e - z_q).detach() / z_e.numel())
    assert not q.codebook.requires_grad, "the codebook moves by EMA, never by this gradient"


def test_indices_are_nearest_codes_of_the_current_codebook():
    q = EMAVectorQuantizer(16, 3).eval()
    z_e = feature_map(2)
    _, indices, _, _ = q(z_e)
    assert torch.equal(indices.reshape(-1), nearest_code(to_rows(z_e), q.codebook))


def test_codebook_moves_to_the_mean_of_its_vectors():
    """decay 0: one k-means step; every used code lands on the mean of its vectors."""
    q = EMAVectorQuantizer(6, 3, decay=0.0)
    z_e = feature_map(3, b=4)
    before = q.codebook.clone()
    _, indices, _, _ = q(z_e)
    rows, flat = to_rows(z_e), indices.reshape(-1)
    for k in flat.unique():
        assert torch.allclose(q.codebook[k], rows[flat == k].mean(0), atol=1e-3)
    assert not torch.equal(before, q.codebook)


def test_repeated_ema_steps_converge_to_a_kmeans_fixed_point():
    g = torch.Generator().manual_seed(4)
    centers = torch.tensor([[4.0, 0.0], [-4.0, 0.0], [0.0, 4.0]])
    points = centers[torch.arange(300) % 3] + 0.3 * torch.randn(300, 2, generator=g)  # [N, 2]
    z_e = points.t().reshape(1, 2, 15, 20)  # [1, D, H, W] holding the 300 points
    q = EMAVectorQuantizer(3, 2, decay=0.9)
    q.codebook.copy_(centers + 0.5)
    q.embed_avg.copy_(centers + 0.5)
    q.cluster_size.fill_(1.0)
    for _ in range(150):
        q(z_e)
    flat = nearest_code(points, q.codebook)
    for k in range(3):
        assert torch.allclose(q.codebook[k], points[flat == k].mean(0), atol=1e-2)


def test_eval_mode_leaves_the_buffers_alone():
    q = EMAVectorQuantizer(8, 3, revive_threshold=1.0, revive_every=1)
    q(feature_map(5))
    state = [t.clone() for t in (q.codebook, q.cluster_size, q.embed_avg)]
    q.eval()
    q(feature_map(6))
    assert all(torch.equal(a, b) for a, b in zip(state, (q.codebook, q.cluster_size,
                                                         q.embed_avg)))


def test_plugged_in_functions_are_used_and_revival_runs_every_n_steps():
    calls = {"ema": 0, "revive": 0}

    def ema_spy(*args, **kwargs):
        calls["ema"] += 1
        return ema_codebook_update(*args, **kwargs)

    def revive_spy(*args, **kwargs):
        calls["revive"] += 1
        return revive_dead_codes(*args, **kwargs)

    q = EMAVectorQuantizer(32, 3, revive_threshold=1.0, revive_every=3, ema_update=ema_spy,
                           revive=revive_spy)
    for i in range(9):
        q(feature_map(10 + i))
    assert calls == {"ema": 9, "revive": 3}
    assert q.revived > 0, "with 32 codes and 32 vectors per step some codes are dead"


def test_no_revival_without_threshold():
    q = EMAVectorQuantizer(32, 3, revive_threshold=None, revive_every=1)
    for i in range(5):
        q(feature_map(20 + i))
    assert q.revived == 0


def test_revival_puts_dead_codes_on_encoder_outputs():
    q = EMAVectorQuantizer(64, 3, revive_threshold=1.0, revive_every=1)
    z_e = feature_map(30, b=4) + 10.0  # far from the initial codebook
    q(z_e)
    rows = to_rows(z_e)
    revived = q.cluster_size == 1.0
    assert revived.sum() > 0
    for code in q.codebook[revived]:
        assert (rows - code).abs().amax(dim=1).min() < 1e-5
