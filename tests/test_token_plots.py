"""lessonlib.views.token_plots: token grids over images, the codebook in 2-D,
decoding token grids."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from lessonlib.autoencoders.pca import PCA  # noqa: E402
from lessonlib.views.token_plots import (  # noqa: E402
    codebook_projection,
    decode_token_grids,
    draw_codebook_pca,
    draw_token_grid,
    mean_patch_per_code,
)


@pytest.mark.parametrize("shape", [(28, 28), (1, 28, 28), (3, 32, 32)])
def test_draw_token_grid_writes_every_token_in_its_cell(shape):
    image = torch.rand(*shape)
    indices = torch.arange(12).reshape(3, 4) * 7
    fig, ax = plt.subplots()
    draw_token_grid(ax, image, indices, title="t")
    texts = ax.texts
    assert [t.get_text() for t in texts] == [str(int(v)) for v in indices.reshape(-1)]
    height, width = shape[-2:]
    x, y = texts[5].get_position()  # row 1, column 1
    assert x == pytest.approx(1.5 * width / 4) and y == pytest.approx(1.5 * height / 3)
    assert ax.get_title() == "t"
    plt.close(fig)


def test_draw_token_grid_rejects_bad_shapes():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError):
        draw_token_grid(ax, torch.rand(28, 28), torch.zeros(49, dtype=torch.long))
    with pytest.raises(ValueError):
        draw_token_grid(ax, torch.rand(2, 28, 28), torch.zeros(7, 7, dtype=torch.long))
    plt.close(fig)


def test_codebook_projection_is_pca():
    codebook = torch.randn(20, 5, generator=torch.Generator().manual_seed(0))
    xy, kept = codebook_projection(codebook)
    pca = PCA.fit(codebook)
    assert xy.shape == (20, 2)
    assert torch.allclose(xy.abs(), pca.encode(codebook, 2).abs(), atol=1e-5)
    assert kept == pytest.approx(pca.explained(2))
    flat, one = codebook_projection(torch.randn(6, 1))
    assert flat.shape == (6, 2) and one == 1.0 and flat[:, 1].eq(0).all()


def test_draw_codebook_pca_marks_dead_codes():
    codebook = torch.randn(10, 4, generator=torch.Generator().manual_seed(1))
    counts = torch.tensor([5, 0, 3, 0, 0, 1, 1, 1, 9, 2])
    fig, ax = plt.subplots()
    draw_codebook_pca(ax, codebook, counts, label_top=2)
    live, dead = ax.collections
    assert len(live.get_offsets()) == 7 and len(dead.get_offsets()) == 3
    sizes = live.get_sizes()
    assert sizes.argmax() == 5  # code 8, the most used, is the 6th live code
    assert [t.get_text() for t in ax.texts] == ["8", "0"]
    with pytest.raises(ValueError):
        draw_codebook_pca(ax, codebook, counts[:5])
    plt.close(fig)


def test_decode_token_grids_places_codes_at_their_positions():
    codebook = torch.randn(6, 3)
    tokens = torch.randint(0, 6, (2, 4, 5), generator=torch.Generator().manual_seed(2))
    z_q = decode_token_grids(nn.Identity(), codebook, tokens)
    assert z_q.shape == (2, 3, 4, 5)
    for b, r, c in [(0, 0, 0), (1, 3, 4), (0, 2, 1)]:
        assert torch.equal(z_q[b, :, r, c], codebook[tokens[b, r, c]])


def test_mean_patch_per_code_against_loops():
    gen = torch.Generator().manual_seed(3)
    images = torch.rand(3, 1, 8, 8, generator=gen)
    tokens = torch.randint(0, 4, (3, 2, 2), generator=gen)
    tokens[:, 0, 0] = 4  # code 4 only at the top-left cell
    means, counts = mean_patch_per_code(images, tokens, num_codes=6, margin=1)
    assert means.shape == (6, 1, 6, 6) and counts.tolist()[5] == 0
    assert torch.equal(counts, torch.bincount(tokens.reshape(-1), minlength=6))
    padded = torch.nn.functional.pad(images, (1, 1, 1, 1))
    for k in range(5):
        windows = [padded[b, :, 4 * r:4 * r + 6, 4 * c:4 * c + 6]
                   for b in range(3) for r in range(2) for c in range(2) if tokens[b, r, c] == k]
        if windows:
            assert torch.allclose(means[k], torch.stack(windows).mean(0), atol=1e-6)
    assert means[5].eq(0).all()
    assert means[4][0, 0].eq(0).all()  # the top-left context is zero padding
    with pytest.raises(ValueError):
        mean_patch_per_code(torch.rand(1, 1, 28, 28), torch.zeros(1, 5, 5), 4)
