"""lessonlib.tokenizers.training: the loss of one step, training, eval-mode tokens."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lessonlib.quantizers.ema import EMAVectorQuantizer
from lessonlib.quantizers.fsq import FSQ
from lessonlib.quantizers.vq import VectorQuantizer
from lessonlib.tokenizers.conv import QuantizedAutoencoder
from lessonlib.tokenizers.training import (
    eval_mode,
    reconstruct,
    tokenizer_step,
    tokens_of,
    train_tokenizer,
)


def images(n: int = 64, seed: int = 0) -> torch.Tensor:
    """Blocky binary images [n, 1, 28, 28]: learnable in a few steps."""
    g = torch.Generator().manual_seed(seed)
    coarse = (torch.rand(n, 1, 7, 7, generator=g) > 0.6).float()
    return coarse.repeat_interleave(4, dim=2).repeat_interleave(4, dim=3)


def vq_model(seed: int = 0) -> QuantizedAutoencoder:
    torch.manual_seed(seed)
    return QuantizedAutoencoder(VectorQuantizer(16, 4, commitment_cost=0.25), 4, width=8)


def test_step_loss_is_bce_plus_the_quantizer_loss():
    model = vq_model()
    x = images(8)
    logs = tokenizer_step(model)((x,))
    logits, _, _, _, aux_loss, perplexity = model(x)
    recon = F.binary_cross_entropy_with_logits(logits, x)
    assert torch.allclose(logs["recon"], recon)
    assert torch.allclose(logs["aux_loss"], aux_loss)
    assert torch.allclose(logs["loss"], recon + aux_loss)
    assert torch.allclose(logs["perplexity"], perplexity)
    assert logs["loss"].requires_grad


def test_training_lowers_the_loss_and_is_reproducible():
    x = images()
    runs = []
    for _ in range(2):
        model = vq_model()
        history = train_tokenizer(model, x, steps=60, batch_size=16, lr=1e-2, seed=3,
                                  progress=False)
        runs.append((model, history))
    (model, history), (_, history_again) = runs
    assert set(history) == {"loss", "recon", "aux_loss", "perplexity"}
    assert len(history["loss"]) == 60
    assert sum(history["recon"][-10:]) < sum(history["recon"][:10])
    assert history["loss"] == history_again["loss"], "same seed, same batches, same run"
    other = train_tokenizer(vq_model(), x, steps=60, batch_size=16, lr=1e-2, seed=4,
                            progress=False)
    assert other["loss"] != history["loss"], "the seed changes the batch order"


def test_tokens_are_measured_in_eval_mode_and_the_mode_is_restored():
    x = images(32)
    model = QuantizedAutoencoder(EMAVectorQuantizer(16, 4), 4, width=8)
    model.train()
    before = model.quantizer.codebook.clone()
    tokens = tokens_of(model, x, chunk=10)  # chunks of 10, 10, 10, 2
    assert tokens.shape == (32, 7, 7) and tokens.dtype == torch.int64
    assert torch.equal(model.quantizer.codebook, before), "no EMA update while measuring"
    assert model.training, "training mode restored"
    model.eval()
    assert torch.equal(tokens, model.tokenize(x))
    tokens_of(model, x)
    assert not model.training, "eval mode restored"


def test_reconstruct_returns_probabilities_of_the_eval_forward():
    x = images(12)
    model = QuantizedAutoencoder(FSQ((5, 5, 5)), 3, width=8)
    x_hat = reconstruct(model, x, chunk=5)
    assert x_hat.shape == x.shape
    assert float(x_hat.min()) >= 0 and float(x_hat.max()) <= 1
    assert torch.allclose(x_hat, torch.sigmoid(model(x)[0]))
    assert model.training


def test_eval_mode_restores_the_mode_even_after_an_error():
    model = vq_model()
    try:
        with eval_mode(model) as inside:
            assert inside is model and not model.training
            raise RuntimeError("measurement failed")
    except RuntimeError:
        pass
    assert model.training
