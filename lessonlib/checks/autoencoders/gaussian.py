"""Public checks for Gaussian latents: reparameterize, its derivatives, the KL, the IWAE bound."""

from __future__ import annotations

import math

import torch
from torch.distributions import Normal, kl_divergence
from torch.overrides import TorchFunctionMode

from lessonlib.autoencoders import gaussian
from lessonlib.checks.core import (
    NotAttempted,
    attempt,
    close,
    expect,
    expect_close,
    expect_tensor,
    expect_tuple,
    given,
    public_check,
    reject_slips,
    rounded,
    seeded,
)

# sigma = 0.5 (the chapter's example), 1, e^0.5 and e^-1.5 per dimension: every std slip differs.
_MU = torch.tensor([2.3, -1.0, 0.0, 4.0])
_LOGVAR = torch.tensor([2 * math.log(0.5), 0.0, 1.0, -3.0])
_N_DRAWS = 20_000
_STD_SLIPS = {  # message -> the std per dimension that the slip's samples show
    "you used exp(logvar), the variance, as the standard deviation: sigma = exp(logvar / 2).":
        _LOGVAR.double().exp(),
    "you used logvar itself as sigma (it can be negative): sigma = exp(logvar / 2).":
        _LOGVAR.double().abs(),
    "you used exp(logvar / 4): sigma = exp(logvar / 2).": (_LOGVAR.double() / 4).exp(),
    "you used exp(2 * logvar): logvar is log sigma^2; sigma = exp(logvar / 2).":
        (2 * _LOGVAR.double()).exp(),
}


def _draw(fn, mu, logvar, seed, shape=(2, 3)):
    """One call under a fixed seed, outside the notebook's random stream; a tensor of `shape`."""
    with seeded(seed):
        z = attempt(fn, mu, logvar)
    return expect_tensor(z, shape, f"reparameterize(mu, logvar) for {list(shape)}")


def _reparameterize_statistics(fn) -> None:
    """Many draws of each dimension: mean mu, std exp(logvar / 2), standard normal noise."""
    mu, logvar = _MU.expand(_N_DRAWS, 4).clone(), _LOGVAR.expand(_N_DRAWS, 4).clone()  # [N, 4]
    z = _draw(fn, mu, logvar, 0, (_N_DRAWS, 4)).detach().double()
    expect(bool(torch.isfinite(z).all()), "some samples are NaN or inf: logvar is any real "
           "number; take no log or square root of it. sigma = exp(logvar / 2).")
    sigma, spread = (0.5 * _LOGVAR).exp().double(), z.std(dim=0)  # [4], [4]
    expect(bool((spread > 1e-6).any()), "every row of the batch got the same z: the noise is "
           "shared by the whole batch. Draw one eps per entry: torch.randn_like(std).")
    eps_hat = (z - _MU.double()) / sigma  # [N, 4], the noise the learner used
    expect(not close(eps_hat.mean(), 0.5, 0.05) or not close(eps_hat.std(), 0.2887, 0.05),
           "the noise looks uniform on [0, 1): use torch.randn_like, not torch.rand_like.")
    mean = z.mean(dim=0)  # [4]
    expect(bool(((mean - _MU.double()).abs() < 0.05 + 5 * sigma / math.sqrt(_N_DRAWS)).all()),
           f"the samples should average to mu = {_MU.tolist()}, got {rounded(mean, 3)}.")
    reject_slips(spread, _STD_SLIPS, same=lambda a, b: torch.allclose(a, b, rtol=0.05, atol=0.01))
    expect(torch.allclose(spread, sigma, rtol=0.04, atol=0.0), f"the samples' std per dimension "
           f"should be exp(logvar / 2) = {rounded(sigma, 3)}, got {rounded(spread, 3)}.")
    off_diag = (torch.corrcoef(eps_hat.T) - torch.eye(4, dtype=z.dtype)).abs().max()
    expect(float(off_diag) < 0.05, "the noise of different dimensions is correlated: each "
           "entry needs its own eps (torch.randn_like(std)).")
    inside = float((eps_hat.abs() < 1).double().mean())
    expect(abs(inside - 0.6827) < 0.02, f"{100 * inside:.1f}% of the noise lies within one "
           "std, a standard normal has 68.3%: draw eps with torch.randn_like.")


def _reparameterize_gradients(fn) -> None:
    """Autograd through the sample: dz/dmu = 1 and dz/dlogvar = (z - mu) / 2 at every entry."""
    mu = torch.tensor([[0.5, -1.0, 2.0], [0.0, 1.5, -0.3]], requires_grad=True)  # [2, 3]
    logvar = torch.tensor([[0.2, -1.0, 0.7], [-2.0, 0.0, 1.1]], requires_grad=True)  # [2, 3]
    z = _draw(fn, mu, logvar, 1)
    expect(z.requires_grad, "your output carries no gradient: it was detached from mu and "
           "logvar (.detach(), no_grad, .data, distribution.sample()...).")
    z.sum().backward()
    expect(mu.grad is not None, "no gradient reaches mu: build z from mu itself (not "
           "mu.detach(), mu.data or torch.tensor(mu)).")
    no_logvar_grad = ("no gradient reaches logvar: compute std = exp(logvar / 2) from logvar, "
                      "not detached from it.")
    expect(logvar.grad is not None, no_logvar_grad)
    expect(bool(mu.grad.abs().sum() > 0), "no gradient reaches mu (dz/dmu = 0): torch.normal "
           "and Normal(mu, std).sample() treat the sample as a constant; write mu + std * eps.")
    expect(torch.allclose(mu.grad, torch.ones_like(mu)),
           f"dz/dmu should be 1 for every entry, got {mu.grad.tolist()}.")
    expect(bool(logvar.grad.abs().sum() > 0), no_logvar_grad)
    dz = (z - mu).detach()  # sigma * eps
    reject_slips(logvar.grad, {"dz/dlogvar equals z - mu: you used exp(logvar), the variance, "
                               "as the std; sigma = exp(logvar / 2).": dz},
                 same=lambda a, b: torch.allclose(a, b, atol=1e-6))
    expect(torch.allclose(logvar.grad, 0.5 * dz, atol=1e-5), "dz/dlogvar should be "
           "(z - mu) / 2, the chain rule through sigma = exp(logvar / 2).")


@public_check("reparameterize", reference=gaussian.reparameterize)
def check_reparameterize(fn) -> None:
    """Shape, fresh noise, the moments of many draws, autograd, dtype, device, seeded stream."""
    mu = torch.tensor([[0.0, 1.0, -2.0], [3.0, 0.5, 1.0]])  # [2, 3]
    logvar = torch.tensor([[0.0, -1.0, 0.5], [1.0, -2.0, 0.0]])  # [2, 3]
    z = _draw(fn, mu, logvar, 0)
    expect(not torch.equal(z.detach(), mu), "you returned mu only: z must be a random draw "
           "mu + sigma * eps (the mean is for evaluation, not for training).")
    expect(not torch.allclose(z.detach(), _draw(fn, mu, logvar, 1).detach()), "two calls "
           "under different random states gave the same z: eps is fixed; draw it per call.")
    _reparameterize_statistics(fn)
    for dtype in (torch.float32, torch.float64):
        out = _draw(fn, mu.to(dtype), logvar.to(dtype), 2)
        expect(out.dtype == dtype, f"for {dtype} inputs the output should be {dtype}, got "
               f"{out.dtype}: create eps with torch.randn_like(std).")
    _reparameterize_gradients(fn)
    meta = torch.zeros(2, 3, device="meta")  # the meta device stands in for a GPU
    try:
        on_meta = attempt(fn, meta, meta.clone())
    except NotAttempted:  # an operation without a meta kernel: nothing to learn here
        on_meta = None
    except RuntimeError as err:
        expect("device" not in str(err), "your noise lives on the CPU whatever device mu is on "
               "(a GPU, say): use torch.randn_like(std), which follows mu's device and dtype.")
        on_meta = None
    expect(not isinstance(on_meta, torch.Tensor) or on_meta.device.type == "meta",
           "the output left mu's device: create eps with torch.randn_like(std).")
    with seeded(3):
        want = mu + (0.5 * logvar).exp() * torch.randn_like(mu)  # [2, 3]
    expect(torch.allclose(_draw(fn, mu, logvar, 3).detach(), want, atol=1e-5), "under a fixed "
           "seed your draws differ from mu + exp(logvar / 2) * torch.randn_like(mu).")


# Settings not shown in the notebook; eps differs from 1, sigma and eps * sigma / 2 in each.
_DERIVATIVE_SETTINGS = [(2.3, 0.5, -1.2), (-0.4, 1.5, 0.7), (-1.71, 1.32, -0.89)]


class _AutogradCalls(TorchFunctionMode):
    """Counts autograd's work: hooks on new tensors that require grad, backward/grad calls."""

    count = 0

    def _seen(self, grad):
        self.count += 1

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.count += func is torch.Tensor.backward or func is torch.autograd.grad
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor) and t.requires_grad:
                t.register_hook(self._seen)
        return out


@public_check("reparam_gradients", reference=gaussian.reparam_derivatives)
def check_reparam_gradients(fn) -> None:
    """Autograd's (dz/dmu, dz/dsigma) = (1, eps) at three settings, from autograd itself."""
    for mu, sigma, eps in _DERIVATIVE_SETTINGS:
        with _AutogradCalls() as autograd_calls:
            got = expect_tuple(attempt(fn, mu, sigma, eps), "dz_dmu, dz_dsigma")
        expect(all(g is not None for g in got), "one of the derivatives is None: set "
               "requires_grad=True on mu and sigma and call z.backward() before reading .grad.")
        got = tuple(float(g) for g in got)
        leaves = torch.tensor([mu, sigma], dtype=torch.float64, requires_grad=True)  # [2]
        want = tuple(torch.autograd.grad(leaves[0] + leaves[1] * eps, leaves)[0].tolist())
        where = f"at mu = {mu}, sigma = {sigma}, eps = {eps}"
        expect_close(got, want, f"{where}: (dz/dmu, dz/dsigma) should be (1, eps), got {got}.", [
            (f"{where}: the two derivatives are swapped; return (dz_dmu, dz_dsigma).", (eps, 1.0)),
            (f"{where}: both derivatives are doubled: gradients accumulate in .grad; call "
             "backward once on fresh tensors.", (2.0, 2 * eps)),
            (f"{where}: dz/dsigma came out as sigma; it is eps that multiplies sigma in "
             "z = mu + sigma * eps.", (want[0], sigma)),
            (f"{where}: that is dz/dlogvar (eps * sigma / 2), not dz/dsigma.",
             (want[0], eps * sigma / 2)),
        ], same=lambda a, b: close(a[0], b[0]) and close(a[1], b[1]))
        expect(autograd_calls.count > 0, "the numbers are right, but autograd never ran: build "
               "z from tensors with requires_grad=True, call z.backward(), return the .grad.")


def kl_oracle_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """torch.distributions' KL(N(mu, exp(logvar)) || N(0, 1)) per dimension, float64: [B, D]."""
    return kl_divergence(Normal(mu.double(), (0.5 * logvar.double()).exp()), Normal(0.0, 1.0))


# The classic slips in one dimension's KL term: (message, (mu, logvar) -> [B, D]), first match
# shown. kl_standard_normal sums them over the latent dims; vae_loss also averages the batch.
KL_TERM_SLIPS = [
    ("you used -2 * logvar: logvar already is log sigma^2, so the term is -logvar.",
     lambda m, lv: 0.5 * (m**2 + lv.exp() - 2 * lv - 1)),
    ("you used -logvar / 2, that is -log sigma (sigma vs log sigma^2): the term is -logvar.",
     lambda m, lv: 0.5 * (m**2 + lv.exp() - 0.5 * lv - 1)),
    ("you used logvar as log sigma (sigma^2 = exp(2 logvar)): logvar = log sigma^2, so "
     "sigma^2 = exp(logvar).", lambda m, lv: 0.5 * (m**2 + (2 * lv).exp() - 2 * lv - 1)),
    ("you forgot the -1 inside the bracket: 0.5 * (mu^2 + sigma^2 - log sigma^2 - 1) is 0 at "
     "mu = 0, sigma = 1.", lambda m, lv: 0.5 * (m**2 + lv.exp() - lv)),
    ("the sign is flipped: KL >= 0, it is 0.5 * sum(mu^2 + sigma^2 - log sigma^2 - 1).",
     lambda m, lv: -0.5 * (m**2 + lv.exp() - lv - 1)),
    ("the sign of the log term is flipped: the KL has -log sigma^2 = -logvar.",
     lambda m, lv: 0.5 * (m**2 + lv.exp() + lv - 1)),
    ("you used sigma = exp(logvar / 2) where sigma^2 = exp(logvar) belongs (sigma vs log sigma^2).",
     lambda m, lv: 0.5 * (m**2 + (0.5 * lv).exp() - lv - 1)),
    ("you dropped the factor 1/2 in front of the sum.", lambda m, lv: m**2 + lv.exp() - lv - 1),
    ("you used mu where mu^2 belongs.", lambda m, lv: 0.5 * (m + lv.exp() - lv - 1)),
]


@public_check("kl_standard_normal", reference=gaussian.kl_standard_normal)
def check_kl_standard_normal(fn) -> None:
    """Against torch.distributions' KL on a [3, 4] batch; shape [B]; zero at the prior."""
    mu = torch.tensor([[3.0, 0.1, 0.0, -1.0], [0.1, 2.5, 0.0, 0.3], [0.0, 0.0, 0.0, 0.0]])
    logvar = torch.tensor([[2 * math.log(0.2), 2 * math.log(0.9), 0.0, 0.5],
                           [math.log(0.9), math.log(0.1), math.log(0.01), math.log(1.2)],
                           [0.0, 0.0, 0.0, 0.0]])
    got = expect_tensor(attempt(fn, mu, logvar), (3,), "the KL of [3, 4] inputs", {
        (): "you returned one number for the whole batch: sum over the latent dimensions "
            "only (dim=-1), one KL per example.",
        (4,): "you summed over the batch, not over the latent dimensions: [B, D] -> [B]."})
    got, per_dim = got.detach().double(), kl_oracle_per_dim(mu, logvar)  # [3], [3, 4]
    want, m, lv = per_dim.sum(dim=-1), mu.double(), logvar.double()
    expect_close(got, want, f"for the [3, 4] test batch torch.distributions gives "
                 f"{rounded(want)}, you gave {rounded(got)}.", [
                     (message, term(m, lv).sum(-1)) for message, term in KL_TERM_SLIPS] + [
        ("you averaged over the latent dimensions: the KL of independent dimensions is their "
         "sum.", per_dim.mean(-1))], tol=1e-4)
    one = expect_tensor(attempt(fn, torch.zeros(5, 1), torch.zeros(5, 1)), (5,),
                        "the KL of [5, 1] inputs (one latent dimension)")
    expect(bool((one.detach().abs() < 1e-6).all()), "q = N(0, 1) is the prior: its KL is 0.")


@public_check("iwae_bound", reference=gaussian.iwae_bound)
def check_iwae_bound(fn) -> None:
    """K = 3 samples for B = 2 examples; K = 1 is the ELBO; log weights near -1000."""
    lw = torch.tensor([[-1.0, 0.0], [-2.0, 1.0], [0.5, -3.0]], dtype=torch.float64)  # [K, B]
    got = expect_tensor(attempt(fn, lw.float()), (2,), "the bound for log_w [K=3, B=2]", {
        (): "you returned one number: keep one bound per example, shape [B].",
        (3,): "your output has K entries: reduce over dim 0 (the K importance samples), not "
              "over the batch."}).detach().double()
    want = torch.logsumexp(lw, dim=0) - math.log(3)  # [2]
    expect_close(got, want, f"for log_w = {lw.tolist()} the bound is {rounded(want)}, you gave "
                 f"{rounded(got)}.", {
        "that is the mean of the log weights, the ELBO; the IWAE bound is the log of the mean "
        "weight: logsumexp over K minus log K.": lw.mean(dim=0),
        "you forgot to subtract log K: the bound is log((1/K) sum_k w_k).":
            torch.logsumexp(lw, dim=0),
        "you subtracted log B (the batch size): subtract log K.":
            torch.logsumexp(lw, dim=0) - math.log(2),
        "you divided the logsumexp by K: the 1/K goes inside the log (subtract log K).":
            torch.logsumexp(lw, dim=0) / 3,
        "you took the max over K instead of logsumexp.": lw.max(dim=0).values - math.log(3),
    })
    expect(close(attempt(fn, lw[:1].float()).detach().double(), lw[0]),
           "with K = 1 the bound must be the ELBO itself, log w_1.")
    far = torch.tensor([[-1000.0, -1200.0], [-1001.0, -1199.0]])  # [K=2, B=2]
    out = attempt(fn, far).detach().double()
    expect(bool(torch.isfinite(out).all()), "log weights near -1000 gave -inf or NaN: "
           "exp(-1000) underflows to 0. Use torch.logsumexp(log_w, dim=0).")
    want_far = torch.logsumexp(far.double(), dim=0) - math.log(2)
    expect(close(out, want_far, 1e-3), f"for log weights near -1000 the bound should be "
           f"{want_far.tolist()}, got {out.tolist()}.")


JENSEN_WEIGHTS = (0.5, 2.0, 8.0)  # three importance weights w = p(x, z) / q(z | x)
_W = torch.tensor(JENSEN_WEIGHTS, dtype=torch.float64)


@public_check("jensen", reference=(float(_W.mean().log()), float(_W.log().mean())))
def check_jensen(value) -> None:
    """(log of the mean of w, mean of log w) for w = (0.5, 2, 8)."""
    log_of_mean, mean_of_log = (float(v) for v in expect_tuple(
        given(value, "jensen"), "log_of_mean, mean_of_log", "set jensen to"))
    want_lom, want_mol = check_jensen.reference
    expect(not (close(log_of_mean, want_mol, 1e-4) and close(mean_of_log, want_lom, 1e-4)),
           "the two numbers are swapped: first log(mean(w)), then mean(log(w)).")
    expect_close(log_of_mean, want_lom, f"log of the mean of w = {list(JENSEN_WEIGHTS)} is not "
                 f"{log_of_mean:.4f}.", {
        "log(sum(w)) is not log(mean(w)): divide by the number of weights first.":
            math.log(sum(JENSEN_WEIGHTS)),
        "3.5 is the mean of w itself: take its log.": sum(JENSEN_WEIGHTS) / 3,
        "use the natural log (torch.log, math.log), not log10.": math.log10(3.5),
    }, tol=1e-4)
    expect(close(mean_of_log, want_mol, 1e-4), f"the mean of log w for w = "
           f"{list(JENSEN_WEIGHTS)} is not {mean_of_log:.4f}.")
