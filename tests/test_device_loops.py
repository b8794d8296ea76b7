"""The VQ-GAN, feature-net and prior training loops, and the samplers, honour a device and
never wait for it at each step.

As in test_device.py: this machine has no GPU, so "another device" is PyTorch's meta device
(placement only: meta tensors hold no data), and host reads (`.item()`, `float(t)`,
`.tolist()`, `.cpu()`, `.numpy()`) are counted by a recorder, per file that asks for them.

How the host-read tests were shown to fail: a copy of train_vqgan that logs
`float(loss.detach())`, `float(l1.detach())`, `float(g_loss.detach())` and `float(lam)` at
every step (as it did before the device wiring) makes the recorder count 52 reads in the
16 steps of test_train_vqgan_reads_the_host_once, which fails; a copy of train_prior whose
step calls `loss.item()` fails test_train_prior_reads_the_host_once_and_follows_the_device
(20 reads).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import torch
from torch.overrides import TorchFunctionMode

from lessonlib.core.device import model_device
from lessonlib.priors import autoregressive, maskgit
from lessonlib.priors import training as prior_training
from lessonlib.priors.autoregressive import ar_loss, sample_autoregressive
from lessonlib.priors.device_random import generator_on
from lessonlib.priors.gumbel import gumbel_noise
from lessonlib.priors.maskgit import cosine_mask, maskgit_decode, maskgit_loss
from lessonlib.priors.training import drop_classes, train_prior
from lessonlib.priors.transformer import TokenTransformer
from lessonlib.quantizers import FSQ
from lessonlib.tokenizers import QuantizedAutoencoder, adversarial, feature_net, vqgan
from lessonlib.tokenizers.feature_net import FeatureNet, accuracy, embed_all, train_feature_net
from lessonlib.tokenizers.patchgan import PatchDiscriminator
from lessonlib.tokenizers.perceptual import FeatureDistance
from lessonlib.tokenizers.vqgan import reconstruct_pixels, train_vqgan

HOST_READS = {torch.Tensor.item, torch.Tensor.tolist, torch.Tensor.__float__,
              torch.Tensor.cpu, torch.Tensor.numpy}
DISPATCH = {str(Path(torch.__file__).resolve().parent / name)
            for name in ("overrides.py", "_tensor.py")}


def _caller() -> str:
    frame = sys._getframe(2)
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()) in DISPATCH:
        frame = frame.f_back
    return str(Path(frame.f_code.co_filename).resolve()) if frame is not None else ""


class HostReads(TorchFunctionMode):
    """Counts host reads asked for by code in the given modules' files."""

    def __init__(self, *modules):
        super().__init__()
        self.files = {str(Path(m.__file__).resolve()) for m in modules}
        self.count = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in HOST_READS and _caller() in self.files:
            self.count += 1
        return func(*args, **(kwargs or {}))


def tiny_tokenizer(seed=0):
    torch.manual_seed(seed)
    return QuantizedAutoencoder(FSQ((3, 3)), 2, width=8)


def digits(n=64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=gen), torch.randint(10, (n,), generator=gen)


def tiny_vqgan_parts(seed=0):
    torch.manual_seed(seed)
    disc = PatchDiscriminator(1, 8, 2)
    return tiny_tokenizer(seed), disc, FeatureDistance(FeatureNet(widths=(4, 4, 4), embed_dim=8))


def tiny_prior(causal=True):
    torch.manual_seed(0)
    return TokenTransformer(5, 6, 3, d_model=16, n_layers=1, n_heads=2, dropout=0.0,
                            causal=causal)


def test_train_vqgan_reads_the_host_once():
    x, _ = digits()
    model, disc, perceptual = tiny_vqgan_parts()
    with HostReads(vqgan, adversarial) as reads:
        history = train_vqgan(model, x, steps=16, batch_size=16, perceptual=perceptual,
                              discriminator=disc, disc_start=6, progress=False)
    assert reads.count == 0, f"{reads.count} host reads in 16 steps: no per-step float()"
    assert all(len(history[name]) == 16 for name in vqgan.LOGS)
    assert all(isinstance(v, float) for name in vqgan.LOGS for v in history[name])
    assert all(math.isnan(v) for v in history["d_loss"][:6])
    assert all(math.isfinite(v) for v in history["d_loss"][6:] + history["lambda"][6:])
    assert all(math.isfinite(v) for v in history["loss"] + history["perceptual"])


def test_train_vqgan_on_cpu_is_the_same_with_or_without_device():
    x, _ = digits()
    runs = []
    for device in (None, "cpu"):
        model, disc, perceptual = tiny_vqgan_parts()
        runs.append(train_vqgan(model, x, steps=8, batch_size=16, perceptual=perceptual,
                                discriminator=disc, disc_start=3, fixed_lambda=0.5,
                                progress=False, device=device))
    for name in vqgan.LOGS:
        assert runs[0][name] == pytest.approx(runs[1][name], nan_ok=True, rel=0, abs=0)
    assert runs[0]["lambda"][3:] == [0.5] * 5


def test_train_vqgan_moves_every_module_and_the_images_once(monkeypatch):
    seen = []
    real = vqgan.minibatches
    monkeypatch.setattr(vqgan, "minibatches",
                        lambda *t, **kw: seen.extend(x.device.type for x in t) or real(*t, **kw))
    model, disc, perceptual = tiny_vqgan_parts()
    train_vqgan(model, digits()[0], steps=0, batch_size=16, perceptual=perceptual,
                discriminator=disc, progress=False, device="meta")
    assert seen == ["meta"]
    assert {model_device(m).type for m in (model, disc, perceptual)} == {"meta"}


def test_reconstruct_pixels_runs_on_the_model_device_and_returns_cpu():
    model = tiny_tokenizer()
    x, _ = digits(8)
    out = reconstruct_pixels(model, x, chunk=3)
    assert out.device.type == "cpu" and out.shape == x.shape
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    seen = []
    meta_model = tiny_tokenizer().to("meta")
    meta_model.encoder.register_forward_pre_hook(lambda m, args: seen.append(args[0].device))
    with pytest.raises(NotImplementedError):  # meta tensors hold no data: no values to read
        reconstruct_pixels(meta_model, x)
    assert seen == [torch.device("meta")], "the images go to the model's device"



def test_feature_net_training_and_evaluation_follow_the_device(monkeypatch):
    x, y = digits()
    net = FeatureNet(widths=(4, 4, 4), embed_dim=8)
    with HostReads(feature_net) as reads:
        history = train_feature_net(net, x, y, steps=20, batch_size=16)
    assert reads.count == 0 and len(history["accuracy"]) == 20
    emb = embed_all(net, x, chunk=10)
    assert emb.device.type == "cpu" and emb.shape == (64, 8)
    assert 0.0 <= accuracy(net, x, y, chunk=10) <= 1.0
    seen = []
    real = feature_net.minibatches
    monkeypatch.setattr(feature_net, "minibatches",
                        lambda *t, **kw: seen.extend(v.device.type for v in t) or real(*t, **kw))
    meta_net = FeatureNet(widths=(4, 4, 4), embed_dim=8)
    train_feature_net(meta_net, x, y, steps=0, device="meta")
    assert seen == ["meta", "meta"] and model_device(meta_net).type == "meta"


@pytest.mark.parametrize("causal", [True, False])
def test_train_prior_reads_the_host_once_and_follows_the_device(causal, monkeypatch):
    tokens = torch.randint(5, (64, 6), generator=torch.Generator().manual_seed(0))
    labels = torch.arange(64) % 3
    loss = ar_loss if causal else maskgit_loss
    with HostReads(prior_training, autoregressive, maskgit) as reads:
        history = train_prior(tiny_prior(causal), tokens, labels, loss, steps=20,
                              batch_size=16, warmup=5, progress=False)
    assert reads.count == 0, f"{reads.count} host reads in 20 steps"
    assert len(history["loss"]) == 20
    again = train_prior(tiny_prior(causal), tokens, labels, loss, steps=20, batch_size=16,
                        warmup=5, progress=False, device="cpu")
    assert again["loss"] == history["loss"], "device='cpu' changes nothing on the CPU"
    seen = []
    real = prior_training.minibatches
    monkeypatch.setattr(prior_training, "minibatches",
                        lambda *t, **kw: seen.extend(v.device.type for v in t) or real(*t, **kw))
    model = tiny_prior(causal)
    train_prior(model, tokens, labels, loss, steps=0, progress=False, device="meta")
    assert seen == ["meta", "meta"] and model_device(model).type == "meta"


def test_random_choices_are_drawn_on_the_cpu_and_land_on_the_data_device():
    labels = torch.zeros(8, dtype=torch.long, device="meta")
    gen = torch.Generator().manual_seed(0)
    assert drop_classes(labels, 0.5, 3, gen).device.type == "meta"
    assert cosine_mask(torch.zeros(4, 6, dtype=torch.long, device="meta"), gen).device.type \
        == "meta"
    assert gumbel_noise((3, 4), gen, device="meta").device.type == "meta"
    a = gumbel_noise((3, 4), torch.Generator().manual_seed(1))
    b = gumbel_noise((3, 4), torch.Generator().manual_seed(1), device="cpu")
    assert torch.equal(a, b)
    assert generator_on("cpu", gen) is gen and generator_on("meta", None) is None


@pytest.mark.parametrize("sampler", ["ar", "maskgit"])
def test_samplers_run_on_the_model_device_without_per_step_reads(sampler):
    labels = torch.tensor([0, 1, 2, 0])
    model = tiny_prior(causal=sampler == "ar")

    def sample(m, gen=None, temperature=1.0):
        if sampler == "ar":
            return sample_autoregressive(m, labels, generator=gen, temperature=temperature,
                                         guidance=1.0, chunk=2)
        return maskgit_decode(m, labels, total_steps=4, generator=gen, guidance=1.0,
                              temperature=temperature, choice_temperature=0.0)

    with HostReads(autoregressive, maskgit) as reads:
        first = sample(model, torch.Generator().manual_seed(3))
    assert first.device.type == "cpu" and first.shape == (4, 6)
    assert reads.count <= 2, f"{reads.count} host reads: only the result comes back"
    assert torch.equal(first, sample(model, torch.Generator().manual_seed(3)))
    seen = []
    meta_model = tiny_prior(causal=sampler == "ar").to("meta")
    meta_model.blocks[0].register_forward_pre_hook(
        lambda module, args: seen.append(args[0].device.type))
    with pytest.raises(NotImplementedError, match="meta"):  # only the final copy fails
        sample(meta_model, temperature=0.0)
    assert seen and set(seen) == {"meta"}
