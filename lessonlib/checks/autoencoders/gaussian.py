"""Public checks for Gaussian latents: reparameterize, its derivatives, the KL, the IWAE bound.

Every check is deterministic: random draws happen inside `torch.random.fork_rng` with a fixed
seed, so the notebook's own random stream is left exactly where it was.
"""

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
    expect_tensor,
    fail,
    given,
    public_check,
    reject_slips,
)

# ----------------------------------------------------------------------------- reparameterize

# Per-dimension parameters of the statistical probe: sigma = 0.5 (the chapter's example
# mu = 2.3, log_var = -1.39 up to rounding), 1, e^0.5 and e^-1.5, so that every std slip differs.
_MU = torch.tensor([2.3, -1.0, 0.0, 4.0])
_LOGVAR = torch.tensor([2 * math.log(0.5), 0.0, 1.0, -3.0])
_N_DRAWS = 20_000

# The std per dimension that the samples of each classic slip show.
_STD_SLIPS = {
    "you used exp(logvar), the variance, as the standard deviation: sigma = exp(logvar / 2) "
    "(the square root of the variance).": _LOGVAR.double().exp(),
    "you used logvar itself as sigma: logvar = log sigma^2 can be negative; "
    "sigma = exp(logvar / 2).": _LOGVAR.double().abs(),
    "you used exp(logvar / 4): sigma is exp(logvar / 2), the square root of exp(logvar).":
        (_LOGVAR.double() / 4).exp(),
    "you used exp(2 * logvar): logvar is log sigma^2, not log sigma; sigma = exp(logvar / 2).":
        (2 * _LOGVAR.double()).exp(),
}


def _draw(fn, mu, logvar, seed):
    """One call of the learner's function under a fixed seed, outside the global stream."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return attempt(fn, mu, logvar)


def _reparameterize_draws(fn, mu, logvar) -> None:
    """A [2, 3] batch: the right shape, a draw rather than the mean, fresh noise per call."""
    z = expect_tensor(_draw(fn, mu, logvar, 0), (2, 3), "reparameterize(mu, logvar) for [2, 3]")
    expect(not torch.equal(z.detach(), mu), "you returned mu only: z must be a random draw "
           "mu + sigma * eps, not the mean (the mean is for evaluation, not for training).")
    again = _draw(fn, mu, logvar, 1)
    expect(not torch.allclose(z.detach(), torch.as_tensor(again).detach()),
           "two calls under different random states gave the same z: eps is fixed (a "
           "constant, or a seed set inside your function). Draw a fresh eps on every call.")


def _reparameterize_statistics(fn) -> None:
    """Many draws of each dimension: mean mu, std exp(logvar / 2), standard normal noise."""
    mu = _MU.expand(_N_DRAWS, 4).clone()  # [N, 4]
    logvar = _LOGVAR.expand(_N_DRAWS, 4).clone()  # [N, 4]
    z = expect_tensor(_draw(fn, mu, logvar, 0), (_N_DRAWS, 4),
                      f"reparameterize(mu, logvar) for mu, logvar of shape [{_N_DRAWS}, 4]")
    z = z.detach().double()
    expect(bool(torch.isfinite(z).all()), "some samples are NaN or inf: did you take the "
           "log or square root of logvar? logvar is any real number; sigma = exp(logvar / 2).")
    sigma = (0.5 * _LOGVAR).exp().double()  # [4]
    spread_rows = z.std(dim=0)  # [4]
    expect(bool((spread_rows > 1e-6).any()), "every row of the batch got the same z: the "
           "noise is a constant or a single number shared by the whole batch (e.g. "
           "torch.randn(1) or a fixed eps). Draw one eps per entry: torch.randn_like(std).")
    eps_hat = (z - _MU.double()) / sigma  # [N, 4], the noise the learner used
    expect(not close(eps_hat.mean(), 0.5, 0.05) or not close(eps_hat.std(), 0.2887, 0.05),
           "the noise looks uniform on [0, 1): use torch.randn_like (standard normal), "
           "not torch.rand_like.")
    mean_err = (z.mean(dim=0) - _MU.double()).abs()  # [4]
    expect(bool((mean_err < 0.05 + 5 * sigma / math.sqrt(_N_DRAWS)).all()),
           f"the samples should average to mu = {_MU.tolist()}, got "
           f"{[round(v, 3) for v in z.mean(dim=0).tolist()]}: z = mu + sigma * eps with "
           "eps ~ N(0, 1) of mean 0.")
    reject_slips(spread_rows, _STD_SLIPS,
                 same=lambda a, b: torch.allclose(a, b, rtol=0.05, atol=0.01))
    expect(torch.allclose(spread_rows, sigma, rtol=0.04, atol=0.0),
           f"the samples' standard deviation per dimension should be exp(logvar / 2) = "
           f"{[round(v, 3) for v in sigma.tolist()]}, got "
           f"{[round(v, 3) for v in spread_rows.tolist()]}.")
    corr = torch.corrcoef(eps_hat.T)  # [4, 4]
    off_diag = (corr - torch.eye(4, dtype=corr.dtype)).abs().max()
    expect(float(off_diag) < 0.05, "the noise of different dimensions is correlated: each "
           "entry needs its own eps (torch.randn_like(std) has the full shape of mu).")
    inside = float((eps_hat.abs() < 1).double().mean())
    expect(abs(inside - 0.6827) < 0.02, f"{100 * inside:.1f}% of the noise lies within one "
           "standard deviation, a standard normal has 68.3%: draw eps with torch.randn_like.")


def _reparameterize_dtypes(fn, mu, logvar) -> None:
    """float32 and float64 inputs give outputs of the same dtype."""
    for dtype in (torch.float32, torch.float64):
        out = _draw(fn, mu.to(dtype), logvar.to(dtype), 2)
        expect(out.dtype == dtype, f"for {dtype} inputs the output should be {dtype}, got "
               f"{out.dtype}: create eps with torch.randn_like(std).")


def _reparameterize_gradients(fn) -> None:
    """Autograd through the sample: dz/dmu = 1 and dz/dlogvar = (z - mu) / 2 at every entry."""
    mu = torch.tensor([[0.5, -1.0, 2.0], [0.0, 1.5, -0.3]], requires_grad=True)  # [2, 3]
    logvar = torch.tensor([[0.2, -1.0, 0.7], [-2.0, 0.0, 1.1]], requires_grad=True)  # [2, 3]
    z = expect_tensor(_draw(fn, mu, logvar, 1), (2, 3), "reparameterize(mu, logvar) for [2, 3]")
    expect(z.requires_grad, "your output carries no gradient: it was detached from mu and "
           "logvar (.detach(), torch.no_grad(), .data, .item() or distribution.sample()). "
           "Build z = mu + std * eps from mu and logvar directly.")
    z.sum().backward()
    expect(mu.grad is not None, "no gradient reaches mu: z must be built from mu itself "
           "(not mu.detach(), mu.data or a copy made with torch.tensor(mu)).")
    no_logvar_grad = ("no gradient reaches logvar: the noise scale must be computed from "
                      "logvar (std = exp(logvar / 2)), not detached from it.")
    expect(logvar.grad is not None, no_logvar_grad)
    expect(bool(mu.grad.abs().sum() > 0),
           "no gradient reaches mu (dz/dmu = 0): torch.normal(mu, std) and "
           "Normal(mu, std).sample() treat the sample as a constant. Write z = mu + std * eps.")
    expect(torch.allclose(mu.grad, torch.ones_like(mu)),
           f"dz/dmu should be 1 for every entry, got {mu.grad.tolist()}.")
    expect(bool(logvar.grad.abs().sum() > 0), no_logvar_grad)
    dz = (z - mu).detach()  # sigma * eps
    reject_slips(logvar.grad, {
        "dz/dlogvar equals z - mu: you used exp(logvar) (the variance) as the standard "
        "deviation. sigma = exp(logvar / 2), so dz/dlogvar = (z - mu) / 2.": dz},
        same=lambda a, b: torch.allclose(a, b, atol=1e-6))
    expect(torch.allclose(logvar.grad, 0.5 * dz, atol=1e-5),
           "dz/dlogvar should be sigma * eps / 2 = (z - mu) / 2, the chain rule through "
           "sigma = exp(logvar / 2); check how you turn logvar into sigma.")


def _reparameterize_device(fn) -> None:
    """Inputs on another device (the meta device stands in for a GPU): the noise follows."""
    meta = torch.zeros(2, 3, device="meta")
    try:
        on_meta = attempt(fn, meta, meta.clone())
    except NotAttempted:  # an operation without a meta kernel: nothing to learn here
        return
    except RuntimeError as err:
        if "device" in str(err):
            fail("your noise lives on the CPU whatever device mu is on (the GPU, say): use "
                 "torch.randn_like(std), which follows mu's device and dtype.")
        return
    if isinstance(on_meta, torch.Tensor):
        expect(on_meta.device.type == "meta", "the output left mu's device: create eps with "
               "torch.randn_like(std).")


def _reparameterize_seeded(fn, mu, logvar) -> None:
    """Under a fixed seed the draws equal mu + exp(logvar / 2) * torch.randn_like(mu)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        want = mu + (0.5 * logvar).exp() * torch.randn_like(mu)  # [2, 3]
    got = _draw(fn, mu, logvar, 3)
    expect(torch.allclose(got.detach(), want, atol=1e-5), "the moments are right, but under a "
           "fixed seed your draws differ from mu + exp(logvar / 2) * torch.randn_like(mu): "
           "draw eps once with torch.randn_like, as the exercise asks (seeded runs must agree).")


@public_check("reparameterize", reference=gaussian.reparameterize)
def check_reparameterize(fn) -> None:
    """Shape, fresh noise, the moments of many draws, autograd, device and the seeded stream."""
    mu = torch.tensor([[0.0, 1.0, -2.0], [3.0, 0.5, 1.0]])  # [2, 3]
    logvar = torch.tensor([[0.0, -1.0, 0.5], [1.0, -2.0, 0.0]])  # [2, 3]
    _reparameterize_draws(fn, mu, logvar)
    _reparameterize_statistics(fn)
    _reparameterize_dtypes(fn, mu, logvar)
    _reparameterize_gradients(fn)
    _reparameterize_device(fn)
    _reparameterize_seeded(fn, mu, logvar)


# ----------------------------------------------------------------------------- derivatives

# Settings not shown in the notebook; eps differs from 1, sigma and eps * sigma / 2 in each.
_DERIVATIVE_SETTINGS = [(2.3, 0.5, -1.2), (-0.4, 1.5, 0.7), (-1.71, 1.32, -0.89)]


class _AutogradCalls(TorchFunctionMode):
    """Counts the derivatives autograd computes for tensors made while the mode is active.

    Every tensor a torch function returns with requires_grad gets a hook that fires when
    autograd computes a gradient with respect to it (z.backward(), torch.autograd.backward,
    torch.autograd.grad, jacobian, ...); calls of Tensor.backward and torch.autograd.grad
    count as well (torch.func.grad goes through the latter).
    """

    def __init__(self):
        super().__init__()
        self.count = 0

    def _seen(self, grad):
        self.count += 1

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.count += func is torch.Tensor.backward or func is torch.autograd.grad
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor) and t.requires_grad:
                t.register_hook(self._seen)
        return out


def _autograd_derivatives(mu: float, sigma: float, eps: float) -> tuple[float, float]:
    """The oracle: (dz/dmu, dz/dsigma) of z = mu + sigma * eps from autograd, in float64."""
    leaves = torch.tensor([mu, sigma], dtype=torch.float64, requires_grad=True)  # [2]
    (grad,) = torch.autograd.grad(leaves[0] + leaves[1] * eps, leaves)
    return float(grad[0]), float(grad[1])


def _derivatives_at(fn, mu: float, sigma: float, eps: float) -> None:
    """One setting: autograd's pair (1, eps), the classic slips named, and a result that
    autograd really computed (typing in the derived answer skips the exercise)."""
    with _AutogradCalls() as autograd_calls:
        got = attempt(fn, mu, sigma, eps)
    expect(isinstance(got, (tuple, list)) and len(got) == 2,
           f"return a pair (dz_dmu, dz_dsigma), got {type(got).__name__}.")
    expect(all(g is not None for g in got), "one of the derivatives is None: did you set "
           "requires_grad=True on mu and sigma and call z.backward() before reading .grad?")
    got = tuple(float(g) for g in got)
    want = _autograd_derivatives(mu, sigma, eps)
    where = f"at mu = {mu}, sigma = {sigma}, eps = {eps}"
    reject_slips(got, [
        (f"{where}: the two derivatives are swapped; return (dz_dmu, dz_dsigma).", (eps, 1.0)),
        (f"{where}: both derivatives are doubled: gradients accumulate in .grad; call "
         "backward once on fresh tensors.", (2.0, 2 * eps)),
        (f"{where}: dz/dsigma came out as sigma; it is the noise eps that multiplies sigma "
         "in z = mu + sigma * eps.", (want[0], sigma)),
        (f"{where}: that is dz/dlogvar (eps * sigma / 2); the question asks for dz/dsigma.",
         (want[0], eps * sigma / 2)),
    ], want=want, same=lambda a, b: close(a[0], b[0]) and close(a[1], b[1]))
    expect(close(got[0], want[0]), f"{where}: dz/dmu should be 1 (z moves one-for-one "
           f"with mu), got {got[0]}.")
    expect(close(got[1], want[1]), f"{where}: dz/dsigma should equal eps = {eps}, got "
           f"{got[1]}.")
    expect(autograd_calls.count > 0, "the numbers are right, but autograd never ran: this "
           "exercise asks you to read them off autograd. Make mu and sigma tensors with "
           "requires_grad=True, build z = mu + sigma * eps, call z.backward() and return "
           "the two .grad values.")


@public_check("reparam_gradients", reference=gaussian.reparam_derivatives)
def check_reparam_gradients(fn) -> None:
    """Autograd's (dz/dmu, dz/dsigma) at three settings not shown in the notebook."""
    for mu, sigma, eps in _DERIVATIVE_SETTINGS:
        _derivatives_at(fn, mu, sigma, eps)


# ----------------------------------------------------------------------------- KL


def kl_oracle_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """torch.distributions' KL(N(mu, exp(logvar)) || N(0, 1)) of each dimension, float64:
    an independent reference, [B, D] -> [B, D]."""
    q = Normal(mu.double(), (0.5 * logvar.double()).exp())
    return kl_divergence(q, Normal(0.0, 1.0))


# The classic slips in one dimension's KL term, as (message, formula (mu, logvar) -> [B, D]).
# kl_standard_normal sums them over the latent dims; vae_loss also averages over the batch.
# Order matters: the first match is the message shown.
KL_TERM_SLIPS = [
    ("you used -2 * logvar: logvar already is log sigma^2, so the term is -logvar (-2 log "
     "sigma is the same term written with log sigma, not with logvar).",
     lambda m, lv: 0.5 * (m**2 + lv.exp() - 2 * lv - 1)),
    ("you used -logvar / 2, that is -log sigma (sigma vs log sigma^2): the closed form has "
     "-log sigma^2 = -logvar.",
     lambda m, lv: 0.5 * (m**2 + lv.exp() - 0.5 * lv - 1)),
    ("you used logvar as log sigma (sigma^2 = exp(2 logvar), -2 logvar): the encoder outputs "
     "logvar = log sigma^2, so sigma^2 = exp(logvar) and -log sigma^2 = -logvar.",
     lambda m, lv: 0.5 * (m**2 + (2 * lv).exp() - 2 * lv - 1)),
    ("you forgot the -1 inside the bracket: 0.5 * (mu^2 + sigma^2 - log sigma^2 - 1), so that "
     "each dimension's KL is 0 at mu = 0, sigma = 1.",
     lambda m, lv: 0.5 * (m**2 + lv.exp() - lv)),
    ("the sign is flipped: KL >= 0, it is 0.5 * sum(mu^2 + sigma^2 - log sigma^2 - 1) "
     "= -0.5 * sum(1 + logvar - mu^2 - exp(logvar)).",
     lambda m, lv: -0.5 * (m**2 + lv.exp() - lv - 1)),
    ("the sign of the log term is flipped: the KL has -log sigma^2 = -logvar.",
     lambda m, lv: 0.5 * (m**2 + lv.exp() + lv - 1)),
    ("you used sigma = exp(logvar / 2) where sigma^2 = exp(logvar) belongs (sigma vs log "
     "sigma^2).",
     lambda m, lv: 0.5 * (m**2 + (0.5 * lv).exp() - lv - 1)),
    ("you dropped the factor 1/2 in front of the sum.",
     lambda m, lv: m**2 + lv.exp() - lv - 1),
    ("you used mu where mu^2 belongs.",
     lambda m, lv: 0.5 * (m + lv.exp() - lv - 1)),
]


def _kl_shape(fn, mu, logvar) -> torch.Tensor:
    """One KL per example: reduce over the latent dims only, [B, D] -> [B]."""
    got = attempt(fn, mu, logvar)
    expect(isinstance(got, torch.Tensor), f"return a tensor, got {type(got).__name__}.")
    expect(got.dim() != 0, "you returned one number for the whole batch: sum over the "
           "latent dimensions only (dim=-1), keeping one KL per example, shape [B].")
    expect(tuple(got.shape) != (mu.shape[1],), "you summed over the batch, not over the "
           "latent dimensions: reduce dim=-1, so [B, D] -> [B].")
    return expect_tensor(got, (mu.shape[0],), "kl_standard_normal(mu, logvar) for [3, 4] "
                         "inputs").detach().double()


@public_check("kl_standard_normal", reference=gaussian.kl_standard_normal)
def check_kl_standard_normal(fn) -> None:
    """Against torch.distributions' KL on a [3, 4] batch; shape [B]; zero at the prior."""
    mu = torch.tensor([[3.0, 0.1, 0.0, -1.0], [0.1, 2.5, 0.0, 0.3], [0.0, 0.0, 0.0, 0.0]])
    logvar = torch.tensor([[2 * math.log(0.2), 2 * math.log(0.9), 0.0, 0.5],
                           [math.log(0.9), math.log(0.1), math.log(0.01), math.log(1.2)],
                           [0.0, 0.0, 0.0, 0.0]])
    got = _kl_shape(fn, mu, logvar)
    want = kl_oracle_per_dim(mu, logvar).sum(dim=-1)  # [3]
    m, lv = mu.double(), logvar.double()
    slips = [(message, term(m, lv).sum(-1)) for message, term in KL_TERM_SLIPS]
    slips.append(("you averaged over the latent dimensions: the KL of independent dimensions "
                  "is their sum (.sum(dim=-1)), not their mean.",
                  kl_oracle_per_dim(mu, logvar).mean(-1)))
    reject_slips(got, slips, want=want, tol=1e-4)
    expect(close(got, want, 1e-4), f"for the [3, 4] test batch torch.distributions gives "
           f"{[round(v, 4) for v in want.tolist()]}, you gave "
           f"{[round(v, 4) for v in got.tolist()]}.")
    one = attempt(fn, torch.zeros(5, 1), torch.zeros(5, 1))
    expect_tensor(one, (5,), "kl_standard_normal for [5, 1] inputs (one latent dimension)")
    expect(bool((one.detach().abs() < 1e-6).all()), "q = N(0, 1) is the prior itself: its "
           "KL must be 0.")


# ----------------------------------------------------------------------------- IWAE


def _iwae_values(fn, log_w) -> None:
    """K = 3 samples for B = 2 examples: one bound per example, logsumexp over K - log K."""
    got = attempt(fn, log_w)
    expect(isinstance(got, torch.Tensor), f"return a tensor, got {type(got).__name__}.")
    expect(got.dim() != 0, "you returned one number: keep one bound per example, shape [B] "
           "(reduce over the K samples only).")
    expect(tuple(got.shape) != (3,), "your output has K entries: reduce over dim 0 (the K "
           "importance samples), not over the batch (dim 1).")
    got = expect_tensor(got, (2,), "iwae_bound(log_w) for log_w of shape [K=3, B=2]")
    got = got.detach().double()
    lw = log_w.double()
    want = torch.logsumexp(lw, dim=0) - math.log(3)  # [2]
    reject_slips(got, {
        "that is the mean of the log weights, i.e. the ELBO (Jensen's lower bound); the IWAE "
        "bound is the log of the mean of the weights: logsumexp over K minus log K.":
            lw.mean(dim=0),
        "you forgot to subtract log K: the bound is log((1/K) sum_k w_k).":
            torch.logsumexp(lw, dim=0),
        "you subtracted log B (the batch size); the average is over the K samples: "
        "subtract log K.": torch.logsumexp(lw, dim=0) - math.log(2),
        "you divided the logsumexp by K: the 1/K goes inside the log, i.e. subtract log K.":
            torch.logsumexp(lw, dim=0) / 3,
        "you took the max over K instead of logsumexp.": lw.max(dim=0).values - math.log(3),
    }, want=want)
    expect(close(got, want), f"for log_w = {log_w.tolist()} the bound is "
           f"{[round(v, 4) for v in want.tolist()]}, you gave "
           f"{[round(v, 4) for v in got.tolist()]}.")


def _iwae_edge_cases(fn, log_w) -> None:
    """K = 1 gives the ELBO itself; log weights near -1000 stay finite (never exponentiate)."""
    single = attempt(fn, log_w[:1])  # K = 1
    expect(close(single.detach().double(), log_w[0].double()), "with K = 1 the bound must be "
           "the ELBO itself, log w_1.")
    far = torch.tensor([[-1000.0, -1200.0], [-1001.0, -1199.0]])  # [K=2, B=2]
    out = attempt(fn, far).detach().double()
    expect(bool(torch.isfinite(out).all()), "log weights near -1000 gave -inf or NaN: "
           "exp(-1000) underflows to 0. Never exponentiate: use torch.logsumexp(log_w, dim=0).")
    want_far = torch.logsumexp(far.double(), dim=0) - math.log(2)
    expect(close(out, want_far, 1e-3), f"for log weights near -1000 the bound should be "
           f"{want_far.tolist()}, got {out.tolist()}.")


@public_check("iwae_bound", reference=gaussian.iwae_bound)
def check_iwae_bound(fn) -> None:
    """K = 3 samples for B = 2 examples; K = 1 is the ELBO; log weights near -1000."""
    log_w = torch.tensor([[-1.0, 0.0], [-2.0, 1.0], [0.5, -3.0]])  # [K=3, B=2]
    _iwae_values(fn, log_w)
    _iwae_edge_cases(fn, log_w)


# ----------------------------------------------------------------------------- Jensen

JENSEN_WEIGHTS = (0.5, 2.0, 8.0)  # three importance weights w = p(x, z) / q(z | x)


def _jensen_pair() -> tuple[float, float]:
    w = torch.tensor(JENSEN_WEIGHTS, dtype=torch.float64)
    return float(w.mean().log()), float(w.log().mean())


@public_check("jensen", reference=_jensen_pair())
def check_jensen(value) -> None:
    """(log of the mean of w, mean of log w) for w = (0.5, 2, 8)."""
    value = given(value, "jensen")
    expect(isinstance(value, (tuple, list)) and len(value) == 2,
           f"set jensen to a pair (log_of_mean, mean_of_log), got {value!r}.")
    log_of_mean, mean_of_log = (float(v) for v in value)
    want_lom, want_mol = _jensen_pair()
    expect(not (close(log_of_mean, want_mol, 1e-4) and close(mean_of_log, want_lom, 1e-4)),
           "the two numbers are swapped: first log(mean(w)), then mean(log(w)).")
    reject_slips(log_of_mean, {
        "log(sum(w)) is not log(mean(w)): divide by the number of weights (3) first.":
            math.log(sum(JENSEN_WEIGHTS)),
        "3.5 is the mean of w itself: take its log.": sum(JENSEN_WEIGHTS) / 3,
        "use the natural log (torch.log, math.log), not log10.": math.log10(3.5),
    }, want=want_lom, tol=1e-4)
    expect(close(log_of_mean, want_lom, 1e-4),
           f"log of the mean of w = {list(JENSEN_WEIGHTS)} is not {log_of_mean:.4f}.")
    expect(close(mean_of_log, want_mol, 1e-4),
           f"the mean of log w for w = {list(JENSEN_WEIGHTS)} is not {mean_of_log:.4f}.")
