# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Chapter 11 · Review: the 25 interview questions, and a pitfall clinic
#
# **You will:** answer 25 questions often asked in interviews about VAEs, VQ-VAEs, FSQ, VQ-GAN
# and priors over tokens, each with an explanation to reveal once you have answered and a
# link to the chapter where you measured the answer; find and fix six bugs taken from real
# failure modes, each with a tempting half-fix that the checks recognise; write five short
# answers in your own words, one of them about a number you measured earlier; and read your
# score card for the whole course.

# %%
import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Normal, kl_divergence

from lessonlib.autoencoders import kl_standard_normal
from lessonlib.checks import check_choice
from lessonlib.checks.review import (
    check_fix_causal_mask,
    check_fix_fsq_even_levels,
    check_fix_gumbel_max,
    check_fix_kl_per_example,
    check_fix_lfq_entropy_sign,
    check_fix_vq_stop_gradient,
)
from lessonlib.core import is_fast, pick, record, seed_everything
from lessonlib.quantizers import codebook_usage, lfq_quantize
from lessonlib.views.score_card import show_score_card

CHAPTER = "ch11_review"

# %% tags=["parameters"]
FAST = False  # papermill sets True in CI; nbgrader grading forces it too

# %%
FAST = is_fast(FAST)
seed_everything(0)
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## 1. How this review works
#
# Three parts, and a card at the end.
#
# * **Sections 2 to 7: the 25 questions**, numbered Q1 to Q25 as they are usually listed
#   (from "what is the ELBO?" to the distortion-perception trade-off) and grouped here by
#   topic. Each has four options; the wrong ones are the mistakes people actually make in
#   interviews and in code. Set `answer_qN` to a letter and run the check below it: it says
#   whether your choice is the best one, never which one is. Then press the button under the
#   question to read why, with a link to the chapter section where you saw it measured.
#   A few widely repeated answers are wrong or overstated (a KL snippet, the "one-line FSQ",
#   "MaskGIT is not diffusion", a citation of the distortion-perception theorem); those
#   questions teach the correct statement and say why.
# * **Sections 8 to 13: the pitfall clinic.** Six short functions, each with a bug that
#   trains without crashing: a KL summed over the batch, a straight-through estimator with
#   the detach on the wrong side, LFQ's entropies with a sign error, FSQ without the half
#   shift for even levels, Gumbel-max on the log of the logits, and a causal mask that shows
#   each position the next token. Run the buggy version and see the symptom, then write the
#   fixed function. The checks name the mistake that is still there, including the fix that
#   removes the symptom and keeps the bug.
# * **Section 14: five short answers** in your own words, graded by hand, with model answers
#   to reveal once you have written yours.
# * **Section 15: your score card.** Every check you ran in any chapter recorded its latest
#   outcome in a small file in your course folder; the card reads it and tells you what to
#   revisit.
#
# The explanations come from the instructor notebooks: in a copy of the course repository
# the buttons show them; in a graded class your instructor holds them.

# %% [markdown]
# ## 2. Check: the VAE and its objective

# %% [markdown]
# **Q1. What is the ELBO of a VAE?**
#
# a) $\log p_\theta(x \mid z) - D_\mathrm{KL}\big(q_\phi(z \mid x)\,\|\,p(z)\big)$ at the
#    encoder's mean $z = \mu_\phi(x)$ alone: a lower bound on $\log p_\theta(x)$ that needs
#    a single decoder call.
#
# b) A reconstruction term minus any penalty that keeps the codes small, such as
#    $\lVert\mu_\phi(x)\rVert^2$: every such sum is a lower bound on $\log p_\theta(x)$.
#
# c) $\mathbb E_{q_\phi(z\mid x)}[\log p_\theta(x \mid z)] - D_\mathrm{KL}(q_\phi(z\mid x)\,\|\,p(z)) \le \log p_\theta(x)$,
#    with a gap of $D_\mathrm{KL}(q_\phi(z\mid x)\,\|\,p_\theta(z\mid x))$.
#
# d) $\mathbb E_{q_\phi(z\mid x)}[\log p_\theta(x \mid z)] + D_\mathrm{KL}(q_\phi(z\mid x)\,\|\,p(z)) \ge \log p_\theta(x)$,
#    since a KL is never negative; it is tight when $q$ equals the prior $p(z)$.

# %% nbgrader={"grade": false, "grade_id": "answer_q1", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q1 = None
### BEGIN SOLUTION
answer_q1 = "c"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q1", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q1, question="ch11/q1", key="06d6cc5d3f0ae298",
             hint="Reread chapter 3, section 2: where does the expectation come from, and "
                  "what is the gap?")
### BEGIN HIDDEN TESTS
assert answer_q1 == "c"
### END HIDDEN TESTS

# %% [markdown] model_answer="ch11_q1"
# **Q1 (c).** Write
# $\log p_\theta(x) = \log \mathbb E_{q_\phi(z\mid x)}\big[p_\theta(x, z) / q_\phi(z \mid x)\big]$
# and apply Jensen's inequality: the expectation *outside* the log is the ELBO,
# $\mathbb E_q[\log p_\theta(x\mid z)] - D_\mathrm{KL}(q\,\|\,p(z))$, and the exact identity
# $\log p_\theta(x) = \text{ELBO} + D_\mathrm{KL}\big(q_\phi(z\mid x)\,\|\,p_\theta(z\mid x)\big)$
# gives the gap. Dropping the expectation (a) gives a number that is not a bound at all; (b)
# admits any penalty, but only this KL, to this prior, with the expected log-likelihood,
# makes a bound; (d) flips the sign of the KL. Where:
# [chapter 3, section 2 (the derivation) and section 6](../ch03_elbo/ch03_elbo.ipynb), where
# the gap is measured on a model whose $\log p(x)$ is exact: with the prior as $q$ the ELBO
# is {{ch03_elbo@elbo_prior_q:.1f}} nats against $\log p(x)$ =
# {{ch03_elbo@ppca_log_px:.2f}}, a gap of {{ch03_elbo@gap_prior_q:.1f}} nats; with the true
# posterior the ELBO reaches {{ch03_elbo@elbo_true_posterior:.2f}}, $\log p(x)$ itself.

# %% [markdown]
# **Q2. What problem does the reparameterization trick solve?**
#
# a) Sampling $z$ is not differentiable in $\mu$ and $\sigma$;
#    $z = \mu + \sigma \odot \varepsilon$, with independent noise $\varepsilon$, is: the
#    encoder gets its gradient.
#
# b) It speeds up sampling: one batch of standard normal noise, shifted and scaled, costs
#    far less on a GPU than a separate normal draw for each example in the batch.
#
# c) It gives the KL term its closed form: with $z = \mu + \sigma\varepsilon$, the KL to
#    $\mathcal N(0, I)$ becomes a sum of simple terms over the latent dimensions, with no
#    sampling.
#
# d) It removes the noise from training: with $\varepsilon$ drawn once at the start and then
#    kept fixed, the encoder is deterministic and its gradient is exact.

# %% nbgrader={"grade": false, "grade_id": "answer_q2", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q2 = None
### BEGIN SOLUTION
answer_q2 = "a"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q2", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q2, question="ch11/q2", key="5765a61ba6f34a9d",
             hint="Reread chapter 2, section 4: what can autograd not pass through?")
### BEGIN HIDDEN TESTS
assert answer_q2 == "a"
### END HIDDEN TESTS

# %% [markdown] model_answer="ch11_q2"
# **Q2 (a).** A draw from $\mathcal N(\mu, \sigma^2)$ is a constant to autograd: nothing
# flows back to $\mu$ or $\sigma$. The pathwise form moves the randomness into
# $\varepsilon$, which does not depend on the encoder, so $\partial z/\partial \mu = 1$ and
# $\partial z / \partial \sigma = \varepsilon$. It is about differentiability, not speed
# (b): both samplers cost the same. The closed-form KL (c) comes from both distributions
# being Gaussian. The noise stays (d): a fresh $\varepsilon$ every step, and the gradient is
# an unbiased estimate of the gradient of the expectation. Where:
# [chapter 2, sections 4 to 6](../ch02_variational_trick/ch02_variational_trick.ipynb):
# through `.sample()` the encoder's mean head received a gradient of norm
# {{ch02_variational_trick@sample_grad_norm_mu_head:.1f}}, through $\mu + \sigma\varepsilon$
# one of norm {{ch02_variational_trick@grad_norm_mu_head:.2f}}; and with one sample the
# pathwise estimate had a variance of {{ch02_variational_trick@variance_n1_pathwise:.1f}}
# against {{ch02_variational_trick@variance_n1_score_function:.0f}} for the score-function
# (REINFORCE) estimate.

# %% [markdown]
# **Q10. The closed form of $D_\mathrm{KL}(\mathcal N(\mu, \sigma^2 I)\,\|\,\mathcal N(0, I))$, in code.**
#
# The encoder outputs `mu` and `logvar` $= \log\sigma^2$, both of shape `[B, D]`; the
# reconstruction term of the loss is a mean over the batch. Which line computes the KL term
# the loss should add?
#
# a) `0.5 * (mu**2 + logvar.exp() - 2 * logvar - 1).sum(dim=-1).mean()`
#
# b) `0.5 * (mu**2 + logvar.exp() - logvar - 1).sum(dim=-1).mean()`
#
# c) `0.5 * (mu**2 + logvar.exp() - logvar - 1).sum()`
#
# d) `0.5 * (mu**2 + logvar.exp() - logvar).sum(dim=-1).mean()`

# %% nbgrader={"grade": false, "grade_id": "answer_q10", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q10 = None
### BEGIN SOLUTION
answer_q10 = "b"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q10", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q10, question="ch11/q10", key="054603a0187f2556",
             hint="Reread chapter 3, section 5, and count which axes each reduction runs "
                  "over.")
### BEGIN HIDDEN TESTS
assert answer_q10 == "b"
### END HIDDEN TESTS

# %% [markdown] model_answer="ch11_q10"
# **Q10 (b).** Per dimension the KL is $\tfrac12(\mu^2 + \sigma^2 - \log\sigma^2 - 1)$, zero
# exactly at the prior. (a) writes $-2\log\sigma^2$: that would be right for $\log\sigma$,
# not for `logvar` $= \log\sigma^2$. (d) forgets the $-1$, so the prior itself gets a KL of
# $D/2$. (c) is a line often quoted, and its formula is right, but `.sum()` without a
# dimension also **sums over the batch**: the KL then grows with the batch size while the
# reconstruction (a batch mean) does not, so a batch of 128 multiplies $\beta$ by 128. Sum
# over the latent dimensions, average over the batch (or sum both terms over the batch,
# consistently). Where: [chapter 3, sections 4 and 5](../ch03_elbo/ch03_elbo.ipynb); the
# pitfall clinic below (section 8) measures the scaling.

# %% [markdown]
# **Q13. Deriving $D_\mathrm{KL}(\mathcal N(\mu, \sigma^2)\,\|\,\mathcal N(0, 1))$.**
#
# The log-ratio of the two densities is
# $-\tfrac12\log\sigma^2 - \frac{(z-\mu)^2}{2\sigma^2} + \frac{z^2}{2}$. Its expectation
# under $q = \mathcal N(\mu, \sigma^2)$ needs two moments. Which, and what comes out?
#
# a) Only $\mathbb E_q[z] = \mu$, substituted for $z$ in both squares, giving
#    $\tfrac12(\mu^2 - \log\sigma^2)$.
#
# b) $\mathbb E_q[(z-\mu)^2] = \sigma^2$ and $\mathbb E_q[z^2] = \mu^2$, giving
#    $\tfrac12(\mu^2 - \log\sigma^2 - 1)$.
#
# c) $\mathbb E_q[(z-\mu)^2] = \sigma^2$ and $\mathbb E_q[z^2] = \mu^2 + \sigma^2$, giving
#    $\tfrac12(\mu^2 + \sigma^2 - \log\sigma^2 - 1)$.
#
# d) $\mathbb E_q[(z-\mu)^2] = \sigma^2$ and, as for a centred $z$,
#    $\mathbb E_q[z^2] = \sigma^2$, giving $\tfrac12(\sigma^2 - \log\sigma^2 - 1)$.

# %% nbgrader={"grade": false, "grade_id": "answer_q13", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q13 = None
### BEGIN SOLUTION
answer_q13 = "c"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q13", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q13, question="ch11/q13", key="3f218b37a7406751",
             hint="Reread chapter 3, section 4: the second moment of a Gaussian that is not "
                  "centred.")
### BEGIN HIDDEN TESTS
assert answer_q13 == "c"
### END HIDDEN TESTS

# %% [markdown] model_answer="ch11_q13"
# **Q13 (c).** $\mathbb E_q\big[\tfrac{(z-\mu)^2}{2\sigma^2}\big] = \tfrac12$ and
# $\mathbb E_q[z^2] = \operatorname{Var}(z) + (\mathbb E z)^2 = \sigma^2 + \mu^2$, so the KL
# is $-\tfrac12\log\sigma^2 - \tfrac12 + \tfrac12(\mu^2 + \sigma^2)$. The step most often
# dropped is that expansion of $\mathbb E_q[z^2]$: (b) forgets the variance, (d) the mean,
# and (a) replaces the expectation by a plug-in value. Where:
# [chapter 3, section 4 (the derivation) and section 5](../ch03_elbo/ch03_elbo.ipynb), where
# a widely copied table turns out to be wrong in one row: dimension 1 is
# {{ch03_elbo@kl_table_per_dim/dim1:.2f}} nats, not 4.0, for a total of
# {{ch03_elbo@kl_table_total:.2f}}.

# %% [markdown]
# **Q11. Is the IWAE bound tighter than the ELBO, and how is it used?**
#
# With $K$ samples $z_k \sim q_\phi(z\mid x)$ and weights
# $w_k = p_\theta(x, z_k) / q_\phi(z_k \mid x)$:
#
# a) Yes, for every $K$, 1 included: a single importance-weighted sample is already tighter
#    than the ELBO, so IWAE should replace the ELBO as the training loss.
#
# b) It averages $K$ single-sample ELBOs, $\frac1K\sum_k\log w_k$: more samples mean less
#    noise, and the bound tightens towards $\log p(x)$ as $K$ grows.
#
# c) No: it is an upper bound on $\log p(x)$, used together with the ELBO to bracket the
#    likelihood from above and below.
#
# d) $\mathcal L_K = \mathbb E[\log\frac1K\sum_k w_k]$ rises with $K$ from the ELBO
#    ($K = 1$) towards $\log p(x)$; used mostly to evaluate.

# %% nbgrader={"grade": false, "grade_id": "answer_q11", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q11 = None
### BEGIN SOLUTION
answer_q11 = "d"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q11", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q11, question="ch11/q11", key="56a1418ac556c594",
             hint="Reread chapter 3, section 7: where is the log, inside or outside the "
                  "average?")
### BEGIN HIDDEN TESTS
assert answer_q11 == "d"
### END HIDDEN TESTS

# %% [markdown] model_answer="ch11_q11"
# **Q11 (d).** The log of the average weight is at least the average of the logs (Jensen),
# and equal for $K = 1$: $\mathcal L_1$ *is* the ELBO (a), and averaging the logs (b) is
# still the ELBO in expectation, only less noisy. Burda et al. (ICLR 2016) show
# $\mathcal L_K \le \mathcal L_{K+1} \le \log p(x)$, so it is a lower bound (c). Rainforth
# et al. (ICML 2018) show that a tighter bound can give the encoder a noisier gradient,
# hence the use for evaluation rather than as the training loss. Where:
# [chapter 3, section 7](../ch03_elbo/ch03_elbo.ipynb):
# on the model whose $\log p(x)$ is exact ({{ch03_elbo@iwae_ppca_log_px:.2f}}) the bound
# rose from {{ch03_elbo@iwae_ppca/1:.2f}} ($K = 1$) to {{ch03_elbo@iwae_ppca/500:.2f}}
# ($K = 500$); on a trained VAE from {{ch03_elbo@iwae_vae_beta1/1:.1f}} to
# {{ch03_elbo@iwae_vae_beta1/50:.1f}} nats ($K = 50$).

# %% [markdown]
# ## 3. Check: training VAEs (β, collapse, hierarchies)

# %% [markdown]
# **Q3. What does $\beta$ control in a $\beta$-VAE?**
#
# The loss is reconstruction $+\ \beta \cdot$ KL.
#
# a) The learning rate of the encoder relative to that of the decoder: with $\beta > 1$ the
#    encoder adapts faster than the decoder can follow it.
#
# b) The degree of disentanglement: a larger $\beta$ gives one factor of variation per
#    latent dimension, so take the largest $\beta$ the reconstructions allow.
#
# c) It multiplies the reconstruction term, so $\beta > 1$ sharpens the reconstructions at
#    the cost of a less regular, less smooth latent space.
#
# d) The price of information in $z$: a larger $\beta$ pulls posteriors towards the prior,
#    blurring reconstructions and switching off dimensions.

# %% nbgrader={"grade": false, "grade_id": "answer_q3", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q3 = None
### BEGIN SOLUTION
answer_q3 = "d"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q3", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q3, question="ch11/q3", key="da744973e7311e38",
             hint="Reread chapter 4, sections 7 and 12: what did the sweep and the random "
                  "seeds show?")
### BEGIN HIDDEN TESTS
assert answer_q3 == "d"
### END HIDDEN TESTS

# %% [markdown] model_answer="ch11_q3"
# **Q3 (d).** $\beta$ weighs the rate (the KL, the information $z$ carries about $x$)
# against the distortion. The slogan "larger $\beta$, more disentanglement" (b) is the
# pitfall: Locatello et al. (ICML 2019) proved that unsupervised disentanglement is
# impossible without inductive biases, and measured that random seeds matter as much as
# $\beta$. Where:
# [chapter 4, sections 7 and 12](../ch04_training_vae/ch04_training_vae.ipynb): the MLP VAE
# kept {{ch04_training_vae@beta_sweep/1/active}} active dimensions at $\beta = 1$,
# {{ch04_training_vae@beta_sweep/4/active}} at $\beta = 4$ and
# {{ch04_training_vae@beta_sweep/16/active}} at $\beta = 16$; on the sprites, two random
# seeds at $\beta = 4$ scored a MIG of {{ch04_training_vae@sprites_mig/beta4_seed0:.3f}} and
# {{ch04_training_vae@sprites_mig/beta4_seed1:.3f}}.

# %% [markdown]
# **Q4. What is posterior collapse, and how does it show in numbers?**
#
# a) The decoder outputs the same image whatever $z$ is, like a GAN's mode collapse; it
#    shows as near-identical samples drawn from the prior.
#
# b) $q_\phi(z\mid x) \approx p(z)$ for every $x$, so $z$ carries no information about $x$;
#    it shows as a near-zero KL per dimension.
#
# c) The posterior variance shrinks to 0 and the VAE turns into a deterministic autoencoder;
#    it shows as sharp reconstructions and a huge KL.
#
# d) The KL term grows without bound while the decoder ignores it; it shows as a total loss
#    that rises and finally diverges.

# %% nbgrader={"grade": false, "grade_id": "answer_q4", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q4 = None
### BEGIN SOLUTION
answer_q4 = "b"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q4", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q4, question="ch11/q4", key="0532c76c3c17bc0a",
             hint="Reread chapter 4, section 10: which two numbers did the collapse table "
                  "report?")
### BEGIN HIDDEN TESTS
assert answer_q4 == "b"
### END HIDDEN TESTS

# %% [markdown] model_answer="ch11_q4"
# **Q4 (b).** \"The latent is useless\" is the symptom; the measurement is the KL per
# dimension and the active units. (c) describes the opposite regime (a huge KL), (d) is not
# collapse, and (a) confuses it with a GAN's mode collapse: a collapsed VAE with a strong
# decoder can still produce varied samples, it just does not use $z$. Where:
# [chapter 4, section 10](../ch04_training_vae/ch04_training_vae.ipynb): with an
# autoregressive decoder only {{ch04_training_vae@collapse_table/strong/informative_dims}}
# of 20 dimensions carried more than 0.1 nats; at $\beta = 100$ the KL was
# {{ch04_training_vae@beta_sweep/100/kl:.4f}} nats with
# {{ch04_training_vae@beta_sweep/100/active}} active units.

# %% [markdown]
# **Q12. How do you mitigate posterior collapse?**
#
# a) Attack its causes: free bits (a KL floor per dimension), KL annealing, a weaker
#    decoder, or a more expressive posterior or prior.
#
# b) KL annealing: warm $\beta$ up from 0 to 1, and a model that gets past the warm-up with
#    informative codes keeps them for the rest of training.
#
# c) Raise $\beta$ above 1, as a $\beta$-VAE does: a heavier KL term keeps each posterior
#    near the prior, where it cannot drift into collapse.
#
# d) Add latent dimensions and a stronger decoder, so that enough dimensions survive
#    training and the decoder can make use of them.

# %% nbgrader={"grade": false, "grade_id": "answer_q12", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q12 = None
### BEGIN SOLUTION
answer_q12 = "a"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q12", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q12, question="ch11/q12", key="c55a1e80f580fb75",
             hint="Reread chapter 4, section 10: which of the cures did the strong decoder "
                  "respond to, and which way does a heavier KL push?")
### BEGIN HIDDEN TESTS
assert answer_q12 == "a"
### END HIDDEN TESTS

# %% [markdown] model_answer="ch11_q12"
# **Q12 (a).** Annealing alone (b) helps early in training but does not remove the optimum a
# strong decoder has without $z$; $\beta > 1$ (c) pushes the posterior *towards* the prior,
# making collapse easier, not harder; and extra dimensions (d) collapse like the others,
# while a stronger decoder makes collapse more likely, not less.
# Where: [chapter 4, section 10](../ch04_training_vae/ch04_training_vae.ipynb): the strong
# decoder used {{ch04_training_vae@collapse_table/strong/informative_dims}} informative
# dimensions, {{ch04_training_vae@collapse_table/strong_anneal/informative_dims}} with
# annealing and {{ch04_training_vae@collapse_table/strong_free_bits/informative_dims}} with
# free bits; and the plain VAE at $\beta = 4$ used
# {{ch04_training_vae@collapse_table/mlp_beta4/informative_dims}} against
# {{ch04_training_vae@collapse_table/mlp_beta1/informative_dims}} at $\beta = 1$.

# %% [markdown]
# **Q24. How does NVAE train a deep hierarchical VAE stably?**
#
# a) Deeper ResNet encoders and decoders with more channels; apart from its size, the
#    network trains like a one-layer VAE.
#
# b) It replaces the KL term of every latent group by an adversarial loss, which cannot
#    collapse, so the hierarchy trains stably.
#
# c) A single latent variable with a PixelCNN decoder, which is easier to train than a
#    hierarchy of latent groups.
#
# d) Top-down latent groups, each posterior parameterised relative to its prior (the
#    residual normal), and spectral regularisation.

# %% nbgrader={"grade": false, "grade_id": "answer_q24", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q24 = None
### BEGIN SOLUTION
answer_q24 = "d"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q24", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q24, question="ch11/q24", key="9f31b07f3cd6699c",
             hint="Reread chapter 4, section 13: what is special about the distributions, "
                  "not only the network?")
### BEGIN HIDDEN TESTS
assert answer_q24 == "d"
### END HIDDEN TESTS

# %% [markdown] model_answer="ch11_q24"
# **Q24 (d).** "It uses a ResNet" (a) is the answer that misses the point: what keeps a deep
# hierarchy of latents trainable in NVAE (Vahdat and Kautz, NeurIPS 2020) is probabilistic.
# With the residual normal,
# $q(z_l \mid z_{<l}, x) = \mathcal N(\mu_p + \Delta\mu, \sigma_p \cdot \Delta\sigma)$, the
# KL of a group depends on the correction $(\Delta\mu, \Delta\sigma)$ only, so it stays
# small while the prior moves; spectral regularization bounds how fast the encoder can
# change it. Where: [chapter 4, section 13](../ch04_training_vae/ch04_training_vae.ipynb).

# %% [markdown]
# ## 4. Check: VQ-VAE and its codebook

# %% [markdown]
# **Q5. What is VQ-VAE's codebook, and how is it used?**
#
# a) $K$ vectors learned with the networks (codebook loss or EMA); each encoder output
#    vector is replaced by its nearest code, whose index is the token.
#
# b) A fixed set of vectors chosen before training (random, or k-means on image patches) and
#    then frozen, so that the tokens keep their meaning while the networks train.
#
# c) A soft mixture: each position becomes a softmax-weighted average of all $K$ codes,
#    which keeps the quantizer differentiable without a straight-through estimator.
#
# d) A dictionary of image patches: each token indexes a patch of pixels, which the decoder
#    pastes into the output image at its position.

# %% nbgrader={"grade": false, "grade_id": "answer_q5", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q5 = None
### BEGIN SOLUTION
answer_q5 = "a"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q5", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q5, question="ch11/q5", key="1db67f62c3565e29",
             hint="Reread chapter 5, sections 1 and 4: which term of the loss moves the "
                  "codes?")
### BEGIN HIDDEN TESTS
assert answer_q5 == "a"
### END HIDDEN TESTS

# %% [markdown] model_answer="ch11_q5"
# **Q5 (a).** The codebook is learned end to end, not fixed or pretrained (b): the codebook
# term (or the EMA update) moves each code towards the encoder outputs assigned to it. The
# assignment is hard, the nearest code, not a soft mixture (c); DALL-E's discrete VAE
# relaxes it differently, with the Gumbel-softmax. The codes live in the latent space, not
# in pixels (d). Where: [chapter 5, sections 1, 4 and 6](../ch05_vq_vae/ch05_vq_vae.ipynb):
# the codebook trained on MNIST reached {{ch05_vq_vae@test_psnr_db:.1f}} dB with a
# perplexity of {{ch05_vq_vae@test_perplexity:.0f}}.

# %% [markdown]
# **Q6. What are VQ-VAE's three loss terms?**
#
# ($\operatorname{sg}$ is the stop-gradient, `.detach()` in PyTorch.)
#
# a) Reconstruction; a KL to a uniform prior over the $K$ codes; and
#    $\lVert z_e - e\rVert^2$ without stop-gradients, which moves the encoder and the codes
#    together.
#
# b) Reconstruction; a codebook term $\lVert z_e - \operatorname{sg}[e]\rVert^2$, which
#    moves the codes; and a commitment term
#    $\beta\lVert \operatorname{sg}[z_e] - e\rVert^2$, which keeps the encoder close to its
#    codes.
#
# c) Reconstruction; a codebook term $\lVert \operatorname{sg}[z_e] - e\rVert^2$, which
#    moves the codes; and a commitment term
#    $\beta\lVert z_e - \operatorname{sg}[e]\rVert^2$, which moves the encoder.
#
# d) Reconstruction; a perceptual term, the distance between the features of $x$ and
#    $\hat x$ in a pretrained network; and an adversarial term from a patch discriminator.

# %% nbgrader={"grade": false, "grade_id": "answer_q6", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q6 = None
### BEGIN SOLUTION
answer_q6 = "c"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q6", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q6, question="ch11/q6", key="f0fb059e4be24cba",
             hint="Reread chapter 5, section 4: which side does each stop-gradient freeze?")
### BEGIN HIDDEN TESTS
assert answer_q6 == "c"
### END HIDDEN TESTS

# %% [markdown] model_answer="ch11_q6"
# **Q6 (c).** (b) has the stop-gradients on the wrong sides: its "codebook" term then moves
# only the encoder, and its "commitment" term only the codes. (a) merges the two terms into
# one that pulls both sides at once (the KL to a uniform prior is a constant and is dropped
# in VQ-VAE). (d) is VQ-GAN's recipe. Where:
# [chapter 5, sections 4 and 5](../ch05_vq_vae/ch05_vq_vae.ipynb), where your
# `sends_gradient` confirmed which parameters each term moves.

# %% [markdown]
# **Q7. What is the straight-through estimator (STE) in VQ-VAE?**
#
# a) The decoder receives $z_e$ in the forward pass as well, so that both passes agree and
#    the gradient is exact: `z_q + (z_e - z_q).detach()`.
#
# b) The forward pass uses the code $z_q$; the backward pass copies the gradient at $z_q$
#    unchanged to $z_e$: `z_e + (z_q - z_e).detach()`.
#
# c) A softmax over the negative distances to the codes replaces the argmin in both passes,
#    so the whole quantizer becomes differentiable.
#
# d) The argmin is differentiable almost everywhere, so autograd already gives the exact
#    gradient and the quantizer needs no special treatment.

# %% nbgrader={"grade": false, "grade_id": "answer_q7", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q7 = None
### BEGIN SOLUTION
answer_q7 = "b"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q7", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q7, question="ch11/q7", key="e71c9382c37db057",
             hint="Reread chapter 5, section 3: what does the decoder see in the forward "
                  "pass?")
### BEGIN HIDDEN TESTS
assert answer_q7 == "b"
### END HIDDEN TESTS

# %% [markdown] model_answer="ch11_q7"
# **Q7 (b).** Both halves matter: the forward value is the real code, and only the backward
# pass pretends. (a) is the detach on the wrong side: the decoder then never sees a code and
# the gradient goes to the codebook (the pitfall clinic, section 9, fixes it). (c) is a soft
# relaxation, another method. (d): the derivative of a nearest-code lookup is 0 almost
# everywhere, which teaches the encoder nothing. Where:
# [chapter 5, section 3](../ch05_vq_vae/ch05_vq_vae.ipynb), where the gradient reaching
# $z_e$ equalled the gradient at $z_q$ to within {{ch05_vq_vae@ste_grad_max_difference}}.

# %% [markdown]
# **Q14. What do the stop-gradients do in the codebook and commitment terms?**
#
# a) They slow the codes down, so that they cannot move faster than the encoder outputs they
#    follow, which would make training oscillate.
#
# b) They decide which side each term moves: the codebook term moves only the codes, the
#    commitment term only the encoder.
#
# c) They make the loss differentiable: without them, the argmin inside the quantizer would
#    stop the backward pass with an error.
#
# d) They remove the quantization error from the reconstruction loss, so that the decoder is
#    trained on the encoder's outputs.

# %% nbgrader={"grade": false, "grade_id": "answer_q14", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q14 = None
### BEGIN SOLUTION
answer_q14 = "b"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q14", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q14, question="ch11/q14", key="3439ad2540185d2f",
             hint="Reread chapter 5, section 5: which parameters receive a gradient from "
                  "each term?")
### BEGIN HIDDEN TESTS
assert answer_q14 == "b"
### END HIDDEN TESTS

# %% [markdown] model_answer="ch11_q14"
# **Q14 (b).** Without a stop-gradient, $\lVert z_e - e\rVert^2$ moves both sides towards
# each other at once. The stop-gradients split it into two one-sided moves: the codes chase
# the encoder outputs, and a weaker commitment keeps the encoder from wandering away from
# its codes (its outputs would otherwise grow). That is gradient routing, not a
# learning-rate device (a); the loss is differentiable either way (c); and the
# reconstruction loss reaches the encoder through the straight-through estimator, untouched
# by these terms (d). Where:
# [chapter 5, section 5 (the derivation)](../ch05_vq_vae/ch05_vq_vae.ipynb).

# %% [markdown]
# **Q15. The STE's gradient is the exact gradient of which function?**
#
# a) Of a surrogate where quantization is the identity plus a constant, $L(z_e + c)$ with
#    $c = z_q - z_e$ fixed: a biased estimate.
#
# b) Of the true quantized loss: the STE is an unbiased estimate of its gradient, exact on
#    average over a batch and only noisier per example.
#
# c) Of a Gumbel-softmax relaxation of the argmin in the limit of temperature 0, where the
#    relaxed assignment equals the hard lookup.
#
# d) Of the loss averaged over uniform quantization noise, as in dithered quantization,
#    where the added noise stands in for the rounding.

# %% nbgrader={"grade": false, "grade_id": "answer_q15", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q15 = None
### BEGIN SOLUTION
answer_q15 = "a"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q15", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q15, question="ch11/q15", key="4f7c62b93be196f8",
             hint="Reread chapter 5, section 3: what is the true derivative of a "
                  "nearest-code lookup?")
### BEGIN HIDDEN TESTS
assert answer_q15 == "a"
### END HIDDEN TESTS

# %% [markdown] model_answer="ch11_q15"
# **Q15 (a).** The true derivative of the quantized path is 0 almost everywhere (and
# undefined at the boundaries), so no unbiased estimator is being computed (b): the STE
# substitutes the gradient of a surrogate in which quantization is the identity plus a
# constant, evaluated at the code (Bengio, Léonard and Courville, 2013). It is biased, and
# the bias grows with the distance between $z_e$ and $z_q$. Where:
# [chapter 5, section 3](../ch05_vq_vae/ch05_vq_vae.ipynb); the short answer in section 14
# comes back to it.

# %% [markdown]
# **Q16. The EMA codebook update: what is it, and why use it?**
#
# In a batch, $n_k$ encoder outputs are assigned to code $k$, with sum $s_k$.
#
# a) Adam's first moment applied to the gradient of the codebook loss, with decay 0.99
#    instead of 0.9: the codes move along a smoothed gradient.
#
# b) An average of the encoder's weights over training (Polyak averaging), so that the
#    tokens it produces change slowly and the codebook can follow.
#
# c) $e_k \leftarrow \gamma e_k + (1 - \gamma) z$, with $z$ one randomly chosen encoder
#    output per step, so that every code keeps moving and none dies.
#
# d) $N_k \leftarrow \gamma N_k + (1-\gamma)n_k$,
#    $m_k \leftarrow \gamma m_k + (1-\gamma)s_k$, $e_k = m_k / N_k$: online k-means, no
#    codebook loss.

# %% nbgrader={"grade": false, "grade_id": "answer_q16", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q16 = None
### BEGIN SOLUTION
answer_q16 = "d"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q16", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q16, question="ch11/q16", key="62286e58eb2651b7",
             hint="Reread chapter 6, section 3: what is each code after the update, in "
                  "words?")
### BEGIN HIDDEN TESTS
assert answer_q16 == "d"
### END HIDDEN TESTS

# %% [markdown] model_answer="ch11_q16"
# **Q16 (d).** EMA is k-means run on mini-batches (van den Oord et al. 2017, appendix;
# Razavi et al. 2019), not a momentum optimizer (a) and not weight averaging (b). It does
# not revive dead codes by itself: a code that wins no outputs keeps decaying. Where:
# [chapter 6, sections 3 to 5](../ch06_codebook_learning/ch06_codebook_learning.ipynb): EMA
# alone used {{ch06_codebook_learning@ema_usage:.1%}} of the 512 codes, EMA with dead-code
# revival {{ch06_codebook_learning@ema_revival_usage:.0%}}.

# %% [markdown]
# **Q22. How do you diagnose and mitigate codebook collapse in a VQ-VAE?**
#
# a) Watch the reconstruction loss: while it falls, every code pulls its weight; if it
#    stalls, double the codebook to give the encoder more choices.
#
# b) Watch the commitment loss; if it rises, raise the commitment weight $\beta$, which
#    pulls the unused codes towards the encoder outputs.
#
# c) Measure code usage and perplexity on held-out data; revive dead codes, or switch to
#    EMA, k-means initialisation or FSQ.
#
# d) Compare the codebook size with the data: collapse is a small-codebook problem, so a
#    codebook of $K = 8192$ or more avoids it.

# %% nbgrader={"grade": false, "grade_id": "answer_q22", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q22 = None
### BEGIN SOLUTION
answer_q22 = "c"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q22", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q22, question="ch11/q22", key="c5bce4e503de3483",
             hint="Reread chapter 6, sections 2 and 5: which numbers did you watch, and "
                  "what moved them?")
### BEGIN HIDDEN TESTS
assert answer_q22 == "c"
### END HIDDEN TESTS

# %% [markdown] model_answer="ch11_q22"
# **Q22 (c).** A falling reconstruction loss (a) says nothing about how many codes carry it;
# the commitment term (b) moves the encoder, not the codes; and a larger codebook (a, d) is
# the common wrong cure: more codes start far from the data and never win. Where:
# [chapter 6, sections 2, 5 and 8](../ch06_codebook_learning/ch06_codebook_learning.ipynb):
# the gradient-trained codebook used {{ch06_codebook_learning@gradient_usage:.1%}} of its
# codes (perplexity {{ch06_codebook_learning@gradient_perplexity:.0f}}), EMA with revival
# {{ch06_codebook_learning@ema_revival_usage:.0%}} (perplexity
# {{ch06_codebook_learning@ema_revival_perplexity:.0f}}).

# %% [markdown]
# ## 5. Check: FSQ and LFQ

# %% [markdown]
# **Q9. Why does FSQ not suffer codebook collapse, and can its usage still be low?**
#
# a) Its codebook is trained by EMA with dead-code revival built in, which reassigns unused
#    codes; usage stays high once training settles.
#
# b) It adds an entropy penalty, as LFQ does, that spreads the tokens over the grid; usage
#    is low only when its weight is too small.
#
# c) There is no learned codebook to collapse, only a fixed grid of levels; usage can still
#    be low if the encoder's outputs cover only part of it.
#
# d) Collapse is impossible and usage is 100% by construction: the bounded rounding spreads
#    the outputs evenly over the grid.

# %% nbgrader={"grade": false, "grade_id": "answer_q9", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q9 = None
### BEGIN SOLUTION
answer_q9 = "c"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q9", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q9, question="ch11/q9", key="a4eedb5816e9bbfb",
             hint="Reread chapter 7, sections 1 and 9: what is learned, and what did the "
                  "random seeds do?")
### BEGIN HIDDEN TESTS
assert answer_q9 == "c"
### END HIDDEN TESTS

# %% [markdown] model_answer="ch11_q9"
# **Q9 (c).** FSQ (Mentzer et al., ICLR 2024) is not a trick for training a VQ-VAE's
# codebook (a): there is no codebook parameter at all, and no auxiliary loss (b). But "usage
# near 100%" is a tendency, not a guarantee (d): whether a code is used depends on whether
# some input lands in its cell. Where:
# [chapter 7, sections 1 and 9](../ch07_fsq_lfq/ch07_fsq_lfq.ipynb): the same FSQ tokenizer
# trained with random seeds 0 to 3 used {{ch07_fsq_lfq@fsq_seed_usage/0:.0%}},
# {{ch07_fsq_lfq@fsq_seed_usage/1:.0%}}, {{ch07_fsq_lfq@fsq_seed_usage/2:.0%}} and
# {{ch07_fsq_lfq@fsq_seed_usage/3:.0%}} of its 1000 codes.

# %% [markdown]
# **Q21. FSQ with levels (8, 5, 5, 5): how many codes, and what does training need?**
#
# A widely shared "one-line FSQ" reads `z_hat = z + (z.round() - z).detach()`.
#
# a) $8 + 5 + 5 + 5 = 23$ codes, one set per channel; the rounding needs no straight-through
#    estimator, since $\tanh$ is differentiable.
#
# b) 1000 codes; `round` still needs the straight-through estimator, but no codebook loss;
#    without the $\tanh$ bound the one-liner is not FSQ.
#
# c) 1000 codes; the one-liner is all of FSQ: it contains the straight-through, and the
#    decoder learns to use whatever integers the rounding gives.
#
# d) 1000 codes; FSQ is LFQ with more levels per channel, so it also needs LFQ's entropy
#    loss to spread the tokens over the grid.

# %% nbgrader={"grade": false, "grade_id": "answer_q21", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q21 = None
### BEGIN SOLUTION
answer_q21 = "b"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q21", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q21, question="ch11/q21", key="f2aa3c5b7bfefbe4",
             hint="Reread chapter 7, sections 1 and 3: what makes the grid finite?")
### BEGIN HIDDEN TESTS
assert answer_q21 == "b"
### END HIDDEN TESTS

# %% [markdown] model_answer="ch11_q21"
# **Q21 (b).** The implicit codebook is the product of the levels, $\prod_i L_i$
# ($8^6 = 262{,}144$ for six channels of 8). `round` has zero gradient almost everywhere, so
# the straight-through estimator is still needed (a); what FSQ drops is the codebook and
# commitment losses, since its grid is fixed. The widely shared one-line version (c) is only
# the straight-through rounding: the bound is what makes the codebook finite, and the half
# shift is what gives an even $L$ its $L$ levels (the pitfall clinic, section 11). LFQ is
# the $L = 2$ case (d), but FSQ needs no entropy loss. Where:
# [chapter 7, sections 1 and 3](../ch07_fsq_lfq/ch07_fsq_lfq.ipynb).

# %% [markdown]
# ## 6. Check: tokenizers and latent diffusion

# %% [markdown]
# **Q8. What does VQ-GAN add to VQ-VAE?**
#
# a) A GAN discriminator on the reconstructed pixels, trained with the hinge loss; the
#    losses and the PixelCNN prior of VQ-VAE are kept as they are.
#
# b) A KL term in place of the quantizer, which makes the latent continuous, so that a
#    diffusion model can be trained on it.
#
# c) Attention between the codes of the codebook, and a larger codebook, so that codes share
#    information and fewer of them die.
#
# d) Perceptual (LPIPS) and patch-based adversarial losses with an adaptive weight, and a
#    Transformer prior over the tokens.

# %% nbgrader={"grade": false, "grade_id": "answer_q8", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q8 = None
### BEGIN SOLUTION
answer_q8 = "d"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q8", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q8, question="ch11/q8", key="e4c14a60adf5f595",
             hint="Reread chapter 8, sections 1 to 4: which losses, and what comes after "
                  "the tokenizer?")
### BEGIN HIDDEN TESTS
assert answer_q8 == "d"
### END HIDDEN TESTS

# %% [markdown] model_answer="ch11_q8"
# **Q8 (d).** "It adds a GAN" (a) misses the perceptual loss, the adaptive weight that
# balances the adversarial term against the reconstruction, and the Transformer prior that
# turns the tokenizer into a generator. A KL and a continuous latent (b) describe Stable
# Diffusion's autoencoder, a descendant. Where:
# [chapter 8, sections 2 to 5](../ch08_tokenizers/ch08_tokenizers.ipynb), where the three
# recipes (plain, perceptual, perceptual + adversarial) are trained side by side.

# %% [markdown]
# **Q17. What is a PatchGAN discriminator, and why does VQ-GAN use one?**
#
# a) An attention-based discriminator that judges the global layout of the whole image at
#    once, from one token per patch.
#
# b) A fully convolutional discriminator with a grid of real/fake logits, each judging one
#    patch: it penalises unrealistic local texture.
#
# c) A discriminator made for image-to-image translation (pix2pix) only; VQ-GAN replaces it
#    by a global discriminator with one logit per image.
#
# d) A patch-wise perceptual distance: a frozen, pretrained classifier compares the features
#    of each patch of $x$ with those of $\hat x$.

# %% nbgrader={"grade": false, "grade_id": "answer_q17", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q17 = None
### BEGIN SOLUTION
answer_q17 = "b"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q17", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q17, question="ch11/q17", key="959cafbae941e39d",
             hint="Reread chapter 8, section 2: what does one output logit see?")
### BEGIN HIDDEN TESTS
assert answer_q17 == "b"
### END HIDDEN TESTS

# %% [markdown] model_answer="ch11_q17"
# **Q17 (b).** PatchGAN (Isola et al., CVPR 2017) is convolutional, not attention-based (a),
# and VQ-GAN uses exactly this design (c). (d) describes LPIPS. Where:
# [chapter 8, section 2](../ch08_tokenizers/ch08_tokenizers.ipynb), where your
# `receptive_field` gave 70 pixels for pix2pix's discriminator and a 256×256 image gave a
# 30×30 grid of logits.

# %% [markdown]
# **Q18. What is LPIPS, and what does it have over MSE?**
#
# a) The mean squared error between VGG features of the two images: deep features are what
#    make it perceptual, and nothing is learned.
#
# b) The distance between the intermediate features of the GAN's own discriminator (feature
#    matching), which is trained along with it.
#
# c) Distances between unit-normalised deep features of a pretrained network, weighted per
#    channel by weights fitted to human judgments.
#
# d) Structural similarity (SSIM), comparing local means, variances and covariances at
#    several scales of an image pyramid.

# %% nbgrader={"grade": false, "grade_id": "answer_q18", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q18 = None
### BEGIN SOLUTION
answer_q18 = "c"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q18", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q18, question="ch11/q18", key="9035e4814b99f8cb",
             hint="Reread chapter 8, section 3: what is learned in LPIPS, and from what "
                  "data?")
### BEGIN HIDDEN TESTS
assert answer_q18 == "c"
### END HIDDEN TESTS

# %% [markdown] model_answer="ch11_q18"
# **Q18 (c).** "It uses VGG features" (a) leaves out what makes LPIPS (Zhang et al., CVPR
# 2018) a perceptual metric: the per-channel normalisation and the linear weights calibrated
# on thousands of human two-alternative judgments. Feature matching (b) is VAE-GAN's
# reconstruction loss; SSIM (d) is hand-designed. Where:
# [chapter 8, section 3](../ch08_tokenizers/ch08_tokenizers.ipynb), where your
# `feature_distance` computes the formula on a small feature network, and the blind-spot
# comparison puts a one-pixel shift, a blur and a dimming side by side under PSNR and the
# feature distance.

# %% [markdown]
# **Q23. In the latent-diffusion family (LDM, Stable Diffusion, SD3, FLUX), what does each part do?**
#
# a) A continuous, lightly KL-regularised autoencoder is trained first and frozen; a
#    diffusion or flow-matching model learns its latents.
#
# b) Stable Diffusion's VAE is a VQ-VAE: the diffusion model denoises its grid of discrete
#    tokens, and the decoder turns the final tokens into pixels.
#
# c) The autoencoder and the diffusion model are trained jointly, end to end, on the
#    denoising loss alone, so the latent suits the denoiser.
#
# d) Flow matching replaces the autoencoder: SD3 and FLUX transport noise to pixels
#    directly, at full resolution, with no VAE at all.

# %% nbgrader={"grade": false, "grade_id": "answer_q23", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q23 = None
### BEGIN SOLUTION
answer_q23 = "a"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q23", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q23, question="ch11/q23", key="3ba33de37f6ec320",
             hint="Reread chapter 0, section 3: what shape does the diffusion model "
                  "actually see?")
### BEGIN HIDDEN TESTS
assert answer_q23 == "a"
### END HIDDEN TESTS

# %% [markdown] model_answer="ch11_q23"
# **Q23 (a).** Confusing Stable Diffusion's VAE with a VQ-VAE (b) is the pitfall: it has no
# quantization (the latent diffusion paper, Rombach et al., CVPR 2022, tested a
# VQ-regularised variant too, but the released models use the KL one). The two stages are
# trained separately and the autoencoder is frozen (c); SD3 (Esser et al., ICML 2024) and
# FLUX keep an autoencoder with a 16-channel latent and change the generative model to flow
# matching (d). Where:
# [chapter 0, section 3](../ch00_latent_spaces/ch00_latent_spaces.ipynb):
# {{ch00_latent_spaces@sd_vae_ratio:.0f}} times fewer numbers for the diffusion model;
# [chapter 9](../ch09_in_the_wild/ch09_in_the_wild.ipynb) builds the autoencoder's recipe.

# %% [markdown]
# **Q25. What is the distortion-perception trade-off, and what does it imply for VQ-GAN and the Stable Diffusion VAE?**
#
# a) PSNR is a poor metric, nothing more: with enough training and a good architecture, a
#    tokenizer improves PSNR and realism together.
#
# b) Past a point, lower distortion means less realistic outputs (Blau and Michaeli, CVPR
#    2018): realism costs some PSNR.
#
# c) Adversarial losses raise PSNR along with realism, which is why VQ-GAN reconstructs with
#    a higher PSNR than VQ-VAE on the same data.
#
# d) It binds generators that sample from noise; an autoencoder is exempt, since it sees its
#    input and can match it pixel by pixel.

# %% nbgrader={"grade": false, "grade_id": "answer_q25", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q25 = None
### BEGIN SOLUTION
answer_q25 = "b"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q25", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q25, question="ch11/q25", key="1926452d2390d5d7",
             hint="Reread chapter 8, sections 5 and 6: what happened to PSNR when the "
                  "adversarial term was switched on?")
### BEGIN HIDDEN TESTS
assert answer_q25 == "b"
### END HIDDEN TESTS

# %% [markdown] model_answer="ch11_q25"
# **Q25 (b).** The output with the least squared error is the posterior mean, an average of
# the plausible images, hence blurry; any output closer to the distribution of real images
# must pay in distortion. "PSNR is not a good metric" (a) is half the answer; the other half
# is that no method escapes the trade-off: it holds for any estimator, autoencoders included
# (d), and Blau and Michaeli's rate-distortion-perception paper (ICML 2019) shows it at a
# fixed rate, the situation of a tokenizer. A widely repeated citation gives "Blau and
# Michaeli, ICML 2018" for the trade-off: the perception-distortion paper is CVPR 2018, and
# the rate-distortion-perception paper is ICML 2019. Where:
# [chapter 8, sections 5 and 6](../ch08_tokenizers/ch08_tokenizers.ipynb), where the recipe
# with the adversarial term reconstructed with a lower PSNR and a better Fréchet distance
# than the recipe without it.

# %% [markdown]
# ## 7. Check: priors over tokens

# %% [markdown]
# **Q19. How does the Gumbel-max trick sample a categorical distribution?**
#
# A network outputs logits $\ell_1, \dots, \ell_K$.
#
# a) Add Gumbel noise $-\log(-\log u)$, $u \sim \mathcal U(0,1)$, to the logits; the argmax
#    then follows $\operatorname{softmax}(\ell)$ exactly.
#
# b) Add standard normal noise to the logits and take the argmax: by the central limit
#    theorem the result follows $\operatorname{softmax}(\ell)$.
#
# c) Add Gumbel noise to the probabilities $\operatorname{softmax}(\ell)$ rather than to the
#    logits, then take the argmax.
#
# d) Apply $\arg\max_k(\log\pi_k + g_k)$ with the logits as $\pi$: take their log, add
#    Gumbel noise $g_k$, and take the argmax.

# %% nbgrader={"grade": false, "grade_id": "answer_q19", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q19 = None
### BEGIN SOLUTION
answer_q19 = "a"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q19", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q19, question="ch11/q19", key="3bdbe11e0e18791f",
             hint="Reread chapter 10, section 1: what are logits, relative to "
                  "log-probabilities?")
### BEGIN HIDDEN TESTS
assert answer_q19 == "a"
### END HIDDEN TESTS

# %% [markdown] model_answer="ch11_q19"
# **Q19 (a).** Logits are log-probabilities up to a constant, which the argmax ignores.
# Normal noise (b) gives another distribution; noise on the probabilities (c) is far too
# flat; and (d) is the widely copied formula $\arg\max_k(\log\pi_k + g_k)$ with the logits
# passed as $\pi$, which is NaN for a negative logit (the pitfall clinic, section 12).
# Where: [chapter 10, section 1](../ch10_discrete_priors/ch10_discrete_priors.ipynb), which
# counts it: for logits 1, 2, 3 the log-of-logits version samples 1/6, 1/3, 1/2 instead of
# 0.09, 0.24, 0.67.

# %% [markdown]
# **Q20. Where is MaskGIT faster than an autoregressive prior, why is its quality not worse, and is it a diffusion model?**
#
# a) Its transformer is smaller; quality holds because the tokens of an image are nearly
#    independent. It is BERT, with nothing to do with diffusion.
#
# b) It predicts every token in a single forward pass, which a bidirectional transformer
#    allows; as a BERT, it is not a generative model at all.
#
# c) It is faster only at training time; sampling needs one step per token, as a Gaussian
#    diffusion over the codebook vectors does.
#
# d) About 8 calls instead of one per token: each fills masked tokens in parallel, keeping
#    the most confident. It is absorbing-state discrete diffusion.

# %% nbgrader={"grade": false, "grade_id": "answer_q20", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your answer: "a", "b", "c" or "d"
answer_q20 = None
### BEGIN SOLUTION
answer_q20 = "d"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_answer_q20", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check_choice(answer_q20, question="ch11/q20", key="31ec89ec16d028b5",
             hint="Reread chapter 10, section 10: how many network calls does each prior "
                  "make?")
### BEGIN HIDDEN TESTS
assert answer_q20 == "d"
### END HIDDEN TESTS

# %% [markdown] model_answer="ch11_q20"
# **Q20 (d).** The speed comes from decoding many tokens per call, not from a smaller
# network (a), and it needs a few rounds, not one (b). The often repeated "MaskGIT is not
# discrete diffusion, it is an extension of BERT" is overstated: training on a random
# masking ratio and decoding by gradually unmasking is, up to the weighting of the masking
# levels, the absorbing-state discrete diffusion of Austin et al. (NeurIPS 2021); masked
# diffusion models are now written and trained in exactly that form (for example Sahoo et
# al., NeurIPS 2024). Where:
# [chapter 10, sections 10 to 13](../ch10_discrete_priors/ch10_discrete_priors.ipynb), where
# the MaskGIT prior decodes a 7×7 grid in 8 rounds against 49 calls for the autoregressive
# one.

# %% [markdown]
# ## 8. Build it: the KL that grows with the batch
#
# **The pitfall clinic.** This section and the next five each show a short function with a
# bug taken from a real failure mode. None of them crashes: each trains, just badly. The
# buggy function sits in a read-only cell; run it and the cell after it, which shows the
# symptom, then write the fixed function in the answer cell. The check under it names the
# mistake that is still there, including the tempting fix that removes the symptom and
# keeps the bug.
#
# **The bug.** The closed-form KL of chapter 3 is often quoted as one line,
# `0.5 * (mu**2 + logvar.exp() - logvar - 1).sum()`. The formula is right; the reduction is
# not. `.sum()` without a dimension adds over the latent dimensions *and over the batch*,
# while the reconstruction term next to it is a mean over the batch. The KL's weight then
# grows with the batch size: it is a hidden factor in $\beta$.

# %% nbgrader={"grade": false, "grade_id": "buggy_kl_per_example", "locked": true, "schema_version": 3, "solution": false, "task": false}
def kl_per_example_buggy(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, I)) of each example: mu, logvar [B, D] -> [B]."""
    return 0.5 * (mu**2 + logvar.exp() - logvar - 1).sum()


# %% [markdown]
# The cell below feeds the buggy function batches of 16, 64 and 256 encoder outputs (drawn
# at random, 20 latent dimensions) and compares it with the batch mean of the per-example KL
# (lessonlib's `kl_standard_normal`, from chapter 3). The ratio is the factor by which the
# buggy loss multiplies $\beta$.

# %%
gen = torch.Generator().manual_seed(0)
mu_pool = 0.8 * torch.randn(256, 20, generator=gen)  # [N, D] posterior means
logvar_pool = -1.0 + 0.3 * torch.randn(256, 20, generator=gen)  # [N, D] log-variances
print(f"{'batch':>5s} {'buggy KL term':>14s} {'mean KL per example':>20s} {'hidden factor':>14s}")
for batch in (16, 64, 256):
    buggy_term = float(kl_per_example_buggy(mu_pool[:batch], logvar_pool[:batch]))
    mean_term = float(kl_standard_normal(mu_pool[:batch], logvar_pool[:batch]).mean())
    print(f"{batch:5d} {buggy_term:14.1f} {mean_term:20.2f} {buggy_term / mean_term:13.1f}x")
record(CHAPTER, "kl_bug_hidden_factor_b256", buggy_term / mean_term)

# %% [markdown]
# The hidden factor is the batch size itself. With a batch of 128 and $\beta = 1$ the buggy
# loss trains a VAE at $\beta = 128$, in the regime where chapter 4's $\beta = 100$ run kept
# {{ch04_training_vae@beta_sweep/100/active}} active units; and changing the batch size,
# an innocent-looking edit, changes the model you get.
#
# Write `fix_kl_per_example(mu, logvar)`: one KL per example, shape `[B]`, summed over the
# latent dimensions only. The loss then averages it over the batch, like the
# reconstruction.
#
# <details><summary>Hint 1</summary>
#
# Which axes does `.sum()` reduce when it is given no dimension? Which one should it reduce?
# </details>
#
# <details><summary>Hint 2</summary>
#
# Replacing `.sum()` by `.mean()` stops the growth with the batch, but it also divides by
# the number of latent dimensions. Reduce the last dimension only, and keep the batch.
# </details>

# %% nbgrader={"grade": false, "grade_id": "fix_kl_per_example", "locked": false, "schema_version": 3, "solution": true, "task": false}
def fix_kl_per_example(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, I)) of each example: mu, logvar [B, D] -> [B]."""
    ### BEGIN SOLUTION
    kl_each_dim = 0.5 * (mu.pow(2) + torch.exp(logvar) - logvar - 1.0)  # [B, D]
    return kl_each_dim.sum(dim=-1)  # [B]: the latent dims, never the batch
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_fix_kl_per_example", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_fix_kl_per_example(fix_kl_per_example)
### BEGIN HIDDEN TESTS
for _b, _d, _seed in [(1, 1, 0), (7, 5, 1), (128, 20, 2)]:
    _g = torch.Generator().manual_seed(_seed)
    _mu, _lv = 2 * torch.randn(_b, _d, generator=_g), torch.randn(_b, _d, generator=_g)
    _want = kl_divergence(Normal(_mu.double(), (0.5 * _lv.double()).exp()), Normal(0.0, 1.0))
    _got = fix_kl_per_example(_mu, _lv)
    assert tuple(_got.shape) == (_b,), f"one KL per example: shape [{_b}]"
    assert torch.allclose(_got.double(), _want.sum(-1), atol=1e-4, rtol=1e-4), "torch.distributions"
_mu, _lv = torch.randn(16, 4), torch.randn(16, 4)
_small, _big = fix_kl_per_example(_mu, _lv), fix_kl_per_example(_mu.repeat(8, 1), _lv.repeat(8, 1))
assert torch.allclose(_small.mean(), _big.mean(), atol=1e-5), "the batch mean must not depend on the batch size"
_mu, _lv = _mu.requires_grad_(), _lv.requires_grad_()
fix_kl_per_example(_mu, _lv).sum().backward()
assert torch.allclose(_mu.grad, _mu.detach(), atol=1e-5), "dKL/dmu = mu"
assert torch.allclose(_lv.grad, 0.5 * (_lv.detach().exp() - 1), atol=1e-5), "dKL/dlogvar = (sigma^2 - 1) / 2"
### END HIDDEN TESTS
assert True

# %%
kl_fixed = check_fix_kl_per_example.use(fix_kl_per_example)
for batch in (16, 64, 256):
    loss_term = float(kl_fixed(mu_pool[:batch], logvar_pool[:batch]).mean())
    print(f"batch {batch:3d}: KL term of the loss {loss_term:.2f} nats per example")

# %% [markdown]
# ## 9. Build it: the straight-through estimator with the detach on the wrong side
#
# **The bug.** The straight-through estimator of chapter 5 is one line, and it has two
# sides: `z_e + (z_q - z_e).detach()` has the forward value $z_q$ and sends the gradient to
# $z_e$. Swap the roles and `z_q + (z_e - z_q).detach()` has the forward value $z_e$ (the
# decoder never sees a code: nothing is quantized) and sends the decoder's gradient to the
# codebook, not to the encoder.

# %% nbgrader={"grade": false, "grade_id": "buggy_vq_stop_gradient", "locked": true, "schema_version": 3, "solution": false, "task": false}
def vq_straight_through_buggy(z_e, codebook):
    """Nearest code with a straight-through gradient: z_e [B, D], codebook [K, D] ->
    (z_q_st [B, D], indices [B])."""
    distances = torch.cdist(z_e, codebook)  # [B, K]
    indices = distances.argmin(dim=1)  # [B]
    z_q = codebook[indices]  # [B, D]
    return z_q + (z_e - z_q).detach(), indices


# %% [markdown]
# The cell below runs a stand-in encoder (one linear layer), a learnable codebook of 16
# codes and a stand-in decoder loss (the squared distance to random targets), backpropagates
# once, and reports where the gradient went and what the decoder saw.

# %%
gen = torch.Generator().manual_seed(1)
encoder = nn.Linear(8, 4)  # stands in for the encoder: x [B, 8] -> z_e [B, 4]
codebook = nn.Parameter(torch.randn(16, 4, generator=gen))  # [K, D]
x_demo = torch.randn(32, 8, generator=gen)  # [B, 8]
target = torch.randn(32, 4, generator=gen)  # [B, D]: stands in for the decoder's wishes


def gradient_routes(straight_through):
    """One backward pass of a downstream loss: where does its gradient go?"""
    encoder.zero_grad()
    codebook.grad = None
    z_e = encoder(x_demo)  # [B, D]
    z_q, _ = straight_through(z_e, codebook)
    F.mse_loss(z_q, target).backward()
    to_codebook = 0.0 if codebook.grad is None else float(codebook.grad.norm())
    to_encoder = 0.0 if encoder.weight.grad is None else float(encoder.weight.grad.norm())
    return to_encoder, to_codebook, float((z_q - z_e).detach().abs().max())


routes = gradient_routes(vq_straight_through_buggy)
print(f"buggy: gradient norm at the encoder {routes[0]:.4f}, at the codebook {routes[1]:.4f}; "
      f"largest |z_q - z_e| in the forward pass {routes[2]:.4f}")
record(CHAPTER, "ste_bug_encoder_grad", routes[0])

# %% [markdown]
# The encoder receives nothing and the forward pass quantizes nothing. Two fixes are
# tempting: returning `z_q` itself, or `z_e + (z_q - z_e)` without the `.detach()`. Both
# repair the forward value; in both, the encoder still receives no gradient.
#
# Write `fix_vq_stop_gradient(z_e, codebook) -> (z_q_st, indices)` for `z_e` of shape
# `[B, D]` and a codebook `[K, D]`: the nearest code in the forward pass, the gradient at
# `z_q_st` copied unchanged to `z_e`, none to the codebook.
#
# <details><summary>Hint 1</summary>
#
# Which tensor should the gradient reach? That one must appear *outside* the `.detach()`,
# and the whole correction that makes the forward value a code goes *inside* it.
# </details>

# %% nbgrader={"grade": false, "grade_id": "fix_vq_stop_gradient", "locked": false, "schema_version": 3, "solution": true, "task": false}
def fix_vq_stop_gradient(z_e, codebook):
    """Nearest code with a straight-through gradient: z_e [B, D], codebook [K, D] ->
    (z_q_st [B, D], indices [B])."""
    ### BEGIN SOLUTION
    nearest = torch.cdist(z_e.detach(), codebook.detach()).argmin(dim=1)  # [B]
    code = codebook[nearest]  # [B, D]
    return z_e + (code - z_e).detach(), nearest  # value: the code; gradient: to z_e only
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_fix_vq_stop_gradient", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_fix_vq_stop_gradient(fix_vq_stop_gradient)
### BEGIN HIDDEN TESTS
for _seed, _b, _k, _d in [(0, 10, 6, 4), (1, 1, 3, 2), (2, 50, 32, 8)]:
    _g = torch.Generator().manual_seed(_seed)
    _cb = torch.randn(_k, _d, generator=_g, dtype=torch.float64).requires_grad_()
    _ze = torch.randn(_b, _d, generator=_g, dtype=torch.float64).requires_grad_()
    _zq, _idx = fix_vq_stop_gradient(_ze, _cb)
    _brute = torch.tensor([min(range(_k), key=lambda k: float(((_ze[i] - _cb[k]).detach() ** 2).sum()))
                           for i in range(_b)])
    assert torch.equal(_idx.long(), _brute), "nearest code by brute force"
    assert torch.allclose(_zq.detach(), _cb.detach()[_brute]), "forward value: the code"
    _up = torch.randn(_b, _d, generator=_g, dtype=torch.float64)
    _gz, _gc = torch.autograd.grad((_zq * _up).sum(), [_ze, _cb], allow_unused=True)
    assert _gz is not None and torch.allclose(_gz, _up), "identity gradient to z_e"
    assert _gc is None or torch.count_nonzero(_gc) == 0, "no downstream gradient to the codebook"
### END HIDDEN TESTS
assert True

# %%
straight_through = check_fix_vq_stop_gradient.use(fix_vq_stop_gradient)
routes = gradient_routes(straight_through)
print(f"fixed: gradient norm at the encoder {routes[0]:.4f}, at the codebook {routes[1]:.4f}; "
      f"largest |z_q - z_e| in the forward pass {routes[2]:.4f}")
record(CHAPTER, "ste_fixed_encoder_grad", routes[0])

# %% [markdown]
# Now the encoder learns from the decoder's loss and the forward pass is quantized. The
# codebook gets nothing from this loss, as it should: it moves through its own term,
# $\lVert \operatorname{sg}[z_e] - e\rVert^2$, or by EMA (chapters 5 and 6).
#
# ## 10. Build it: LFQ's entropy terms with a sign error
#
# **The bug.** LFQ (chapter 7) adds MAGVIT-v2's entropy terms to its loss,
# $\lambda\,(\text{per-sample entropy} - \text{codebook entropy})$: each output should sit
# confidently near one code, and over the batch the codes should be used evenly. The
# function below computes the two entropies, but as $\sum p \log p$, which is $-H$.

# %% nbgrader={"grade": false, "grade_id": "buggy_lfq_entropy_sign", "locked": true, "schema_version": 3, "solution": false, "task": false}
def lfq_entropy_terms_buggy(z, inv_temperature=100.0):
    """MAGVIT-v2's entropies for rows z [N, d]: (per_sample_entropy, codebook_entropy)."""
    d = z.shape[1]
    bits = (torch.arange(2 ** d).unsqueeze(1) >> torch.arange(d)) & 1  # [K, d]
    codes = (2 * bits - 1).to(z.dtype)  # [K, d]: every code of {-1, +1}^d
    log_p = (2 * inv_temperature * z @ codes.t()).log_softmax(dim=1)  # [N, K]
    p = log_p.exp()
    per_sample = (p * log_p).sum(dim=1).mean()
    mean_p = p.mean(dim=0)  # [K]
    codebook_term = (mean_p * mean_p.clamp_min(1e-12).log()).sum()
    return per_sample, codebook_term


# %% [markdown]
# The cell below trains 256 rows of 6 channels (64 codes) directly on the auxiliary loss
# per-sample $-$ codebook (plain gradient descent), starting with most channels positive,
# and reports the share of the 64 codes the rows' signs use at the end.

# %%
STEPS = pick(150, 100, fast_mode=FAST)


def train_rows(entropy_terms, steps=STEPS):
    """Gradient descent on the entropy loss alone, for rows z [256, 6] that start mostly
    positive."""
    gen = torch.Generator().manual_seed(2)
    z = 0.5 + 0.5 * torch.randn(256, 6, generator=gen, dtype=torch.float64)  # [N, d]
    z.requires_grad_(True)  # float64: float32 would crawl through denormal probabilities
    for _ in range(steps):
        per_sample, codebook_term = entropy_terms(z, 1.0)
        (grad,) = torch.autograd.grad(per_sample - codebook_term, z)
        with torch.no_grad():
            z -= 20.0 * grad  # a large step: the loss averages over the 256 rows
    signs = lfq_quantize(z.detach().unsqueeze(-1))[1]  # [N, 1]: one token per row
    return codebook_usage(signs, 64), float(z.detach().abs().mean())


start_usage, start_size = train_rows(lfq_entropy_terms_buggy, steps=0)
buggy_usage, buggy_size = train_rows(lfq_entropy_terms_buggy)
print(f"at the start: {100 * start_usage:.0f}% of the 64 codes used")
print(f"after {STEPS} steps on the buggy entropies: {100 * buggy_usage:.1f}% used, "
      f"mean |z| {buggy_size:.2f}")
record(CHAPTER, "lfq_bug_usage", buggy_usage)

# %% [markdown]
# With $-H$ in both places the loss asks for the opposite of what it should: undecided
# assignments, and a batch squeezed onto a few codes. The tempting half-fix negates only
# the codebook term (the collapse was the visible symptom); the per-sample term then still
# rewards undecided assignments, every channel drifting towards 0.
#
# Write `fix_lfq_entropy_sign(z, inv_temperature=100.0) -> (per_sample_entropy,
# codebook_entropy)`, both entropies $\geq 0$ in nats, as in chapter 7.
#
# <details><summary>Hint 1</summary>
#
# $H(p) = -\sum_c p(c) \log p(c)$. Where is the minus sign in the buggy function? Fix the
# entropy, in both places, and leave the loss `per_sample - codebook` as it is.
# </details>

# %% nbgrader={"grade": false, "grade_id": "fix_lfq_entropy_sign", "locked": false, "schema_version": 3, "solution": true, "task": false}
def fix_lfq_entropy_sign(z, inv_temperature=100.0):
    """MAGVIT-v2's entropies for rows z [N, d]: (per_sample_entropy, codebook_entropy)."""
    ### BEGIN SOLUTION
    n_bits = z.shape[1]
    index = torch.arange(2 ** n_bits)  # [K]
    signs = ((index[:, None] >> torch.arange(n_bits)) & 1) * 2.0 - 1.0  # [K, d]
    scores = 2 * inv_temperature * z @ signs.to(z.dtype).T  # [N, K]
    log_q = torch.log_softmax(scores, dim=1)
    q = log_q.exp()
    entropy_each = -(q * log_q).sum(dim=1)  # [N], H >= 0: the minus sign
    q_bar = q.mean(dim=0)  # [K] batch-average assignment
    return entropy_each.mean(), -(q_bar * torch.log(q_bar.clamp_min(1e-12))).sum()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_fix_lfq_entropy_sign", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_fix_lfq_entropy_sign(fix_lfq_entropy_sign)
### BEGIN HIDDEN TESTS
def _bernoulli_entropy(p):
    return -(p * p.log() + (1 - p) * (1 - p).log())


for _d, _n, _tau in [(1, 5, 1.0), (3, 9, 2.0), (5, 16, 0.5)]:
    _z = 0.4 * torch.randn(_n, _d, generator=torch.Generator().manual_seed(_d), dtype=torch.float64)
    _per, _cb = fix_lfq_entropy_sign(_z, _tau)
    # the softmax over {-1, +1}^d factorizes: P(bit j = +1) = sigmoid(4 tau z_j)
    _want_per = float(_bernoulli_entropy(torch.sigmoid(4 * _tau * _z)).sum(1).mean())
    assert math.isclose(float(_per), _want_per, rel_tol=1e-4, abs_tol=1e-6), "per-sample entropy"
    _codes = torch.tensor(list(itertools.product([-1.0, 1.0], repeat=_d)), dtype=torch.float64)
    _mean_p = torch.softmax(2 * _tau * _z @ _codes.T, dim=1).mean(0)
    assert math.isclose(float(_cb), float(-(_mean_p * _mean_p.log()).sum()), rel_tol=1e-4), "codebook entropy"
    assert 0 <= float(_per) <= float(_cb) + 1e-6 <= _d * math.log(2) + 1e-6
_z = (0.5 + 0.3 * torch.randn(64, 3, generator=torch.Generator().manual_seed(9))).requires_grad_(True)
for _ in range(60):
    _per, _cb = fix_lfq_entropy_sign(_z, 1.0)
    (_g,) = torch.autograd.grad(_per - _cb, _z)
    with torch.no_grad():
        _z -= 20.0 * _g
assert len(torch.unique(_z.detach() > 0, dim=0)) == 8, "the entropy loss should spread the rows over all 8 codes"
### END HIDDEN TESTS
assert True

# %%
entropy_terms = check_fix_lfq_entropy_sign.use(fix_lfq_entropy_sign)
fixed_usage, fixed_size = train_rows(entropy_terms)
print(f"after {STEPS} steps on the fixed entropies: {100 * fixed_usage:.1f}% of the 64 codes "
      f"used, mean |z| {fixed_size:.2f}")
record(CHAPTER, "lfq_fixed_usage", fixed_usage)

# %% [markdown]
# ## 11. Build it: FSQ's even levels
#
# **The bug.** FSQ (chapter 7) rounds $\frac{L-1}{2}\tanh(z)$. For odd $L$ that lands on
# the integers $-\frac{L-1}{2}, \dots, \frac{L-1}{2}$. For even $L$, $\frac{L-1}{2}$ is a
# half-integer (3.5 for $L = 8$), the scaled value stays strictly inside $(-3.5, 3.5)$, and
# rounding reaches only the 7 integers $-3, \dots, 3$: one level is lost. The function below
# has that bug, and its token indices inherit it.

# %% nbgrader={"grade": false, "grade_id": "buggy_fsq_even_levels", "locked": true, "schema_version": 3, "solution": false, "task": false}
def fsq_quantize_buggy(z, levels):
    """Bound, round and index: z [B, d, ...] -> (z_hat [B, d, ...], indices [B, ...])."""
    shape = (1, -1) + (1,) * (z.dim() - 2)
    L = torch.tensor(levels, dtype=z.dtype).view(shape)  # [1, d, 1, ...]
    half = (L - 1) / 2
    bounded = half * torch.tanh(z)
    z_hat = bounded + (bounded.round() - bounded).detach()  # straight-through rounding
    digits = (z_hat + half).round().long()  # level -> digit in 0..L-1
    place = torch.tensor([math.prod(levels[:i]) for i in range(len(levels))]).view(shape)
    return z_hat, (digits * place).sum(dim=1)


# %% [markdown]
# The cell below sends 20,000 random encoder outputs through the buggy quantizer with the
# FSQ paper's levels (8, 5, 5, 5), which promise 1000 codes.

# %%
levels_demo = (8, 5, 5, 5)
z_demo = 1.5 * torch.randn(20_000, 4, generator=torch.Generator().manual_seed(3))  # [N, d]
z_hat_demo, tokens_demo = fsq_quantize_buggy(z_demo, levels_demo)
print("levels reached per channel:", [len(torch.unique(z_hat_demo[:, c])) for c in range(4)])
print("channel 0 values:", torch.unique(z_hat_demo[:, 0]).tolist())
print("channel 0 digits:", torch.unique((z_hat_demo[:, 0] + 3.5).round()).long().tolist())
print(f"distinct tokens: {len(torch.unique(tokens_demo))} of the promised 1000")
record(CHAPTER, "fsq_bug_tokens", len(torch.unique(tokens_demo)))

# %% [markdown]
# Channel 0 has 7 levels, not 8, and the indices make it worse: the level plus 3.5 is a
# half-integer, and `round` sends halves to the nearest *even* integer, so levels $-2$ and
# $-1$ both become digit 2. (And where $\tanh$ saturates to exactly $\pm 1$ in float32,
# for $|z|$ above about 9, the scaled value is $\pm 3.5$ itself, which rounds to $\pm 4$:
# off the grid.) The tempting fix subtracts 0.5 before rounding and stops there:
# 8 levels, $-4, \dots, 3$, the right count on a lopsided grid that the decoding of the
# indices (`fsq_indices_to_codes`) does not return.
#
# Write `fix_fsq_even_levels(z, levels) -> (z_hat, indices)` with the conventions of
# chapter 7's `fsq_quantize`: $\hat z_i = \operatorname{round}\big(\frac{L_i-1}{2}\tanh z_i -
# s_i\big) + s_i$ with $s_i = 0.5$ for even $L_i$ (0 for odd), the straight-through
# estimator around the rounding only, and mixed-radix indices, dim 0 least significant.
#
# <details><summary>Hint 1</summary>
#
# The shift goes in twice: subtract it before rounding, add it back after. Then the digit
# of a level is `z_hat + (L - 1) / 2`, an exact integer for every $L$.
# </details>

# %% nbgrader={"grade": false, "grade_id": "fix_fsq_even_levels", "locked": false, "schema_version": 3, "solution": true, "task": false}
def fix_fsq_even_levels(z, levels):
    """Bound, round and index: z [B, d, ...] -> (z_hat [B, d, ...], indices [B, ...])."""
    ### BEGIN SOLUTION
    view = [1, len(levels)] + [1] * (z.dim() - 2)
    n_levels = torch.tensor(levels, dtype=z.dtype, device=z.device).reshape(view)
    offset = (n_levels % 2 == 0).to(z.dtype) * 0.5  # s: 0.5 for even L, 0 for odd
    scaled = (n_levels - 1) / 2 * torch.tanh(z) - offset
    z_hat = scaled + (torch.round(scaled) - scaled).detach() + offset  # [B, d, ...]
    digit = torch.round(z_hat.detach() + (n_levels - 1) / 2).long()  # 0..L-1
    radix = torch.cumprod(torch.tensor([1] + list(levels[:-1])), dim=0).reshape(view)
    return z_hat, (digit * radix.to(z.device)).sum(dim=1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_fix_fsq_even_levels", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_fix_fsq_even_levels(fix_fsq_even_levels)
### BEGIN HIDDEN TESTS
for _levels in [(8, 5, 5, 5), (4,), (2, 3), (6, 6), (7, 8, 2)]:
    _d = len(_levels)
    _sweep = torch.linspace(-6, 6, 2001)
    _z = torch.stack([_sweep] * _d, dim=0).unsqueeze(0)  # [1, d, 2001]
    _z_hat, _idx = fix_fsq_even_levels(_z, _levels)
    for _c, _L in enumerate(_levels):
        _grid = [_i - (_L - 1) / 2 for _i in range(_L)]
        assert sorted(set(_z_hat[0, _c].tolist())) == _grid, f"L = {_L}: the levels {_grid}"
    _all = torch.tensor(list(itertools.product(*[range(_L) for _L in _levels])))  # [K, d] digits
    _codes = _all - torch.tensor([(_L - 1) / 2 for _L in _levels])  # [K, d] grid values
    _ratio = _codes.float() / torch.tensor([(_L - 1) / 2 for _L in _levels])  # in [-1, 1]
    _big = torch.atanh(_ratio.clamp(-0.999, 0.999))  # z whose bound value is the code
    _z_hat2, _idx2 = fix_fsq_even_levels(_big, _levels)
    assert torch.equal(_z_hat2.detach(), _codes.float()), "a code's own value quantizes to itself"
    _want = [sum(int(_dig) * math.prod(_levels[:_j]) for _j, _dig in enumerate(_row)) for _row in _all]
    assert _idx2.tolist() == _want and sorted(_want) == list(range(math.prod(_levels))), "mixed radix"
_z = torch.linspace(-2, 2, 40).reshape(1, 4, 10).requires_grad_(True)
(fix_fsq_even_levels(_z, (8, 5, 6, 4))[0] * 1.0).sum().backward()
_half = torch.tensor([3.5, 2.0, 2.5, 1.5]).view(1, 4, 1)
assert torch.allclose(_z.grad, _half * (1 - torch.tanh(_z.detach()) ** 2), atol=1e-5), "straight-through around round only"
### END HIDDEN TESTS
assert True

# %%
fsq_quantize_fixed = check_fix_fsq_even_levels.use(fix_fsq_even_levels)
z_hat_fixed, tokens_fixed = fsq_quantize_fixed(z_demo, levels_demo)
print("levels reached per channel:", [len(torch.unique(z_hat_fixed[:, c])) for c in range(4)])
print(f"distinct tokens: {len(torch.unique(tokens_fixed))} of 1000")
record(CHAPTER, "fsq_fixed_tokens", len(torch.unique(tokens_fixed)))

# %% [markdown]
# (Not every one of the 1000 codes need appear: 20,000 random outputs may miss a few rare
# corners of the grid. What matters is that every one of them *can* appear.)
#
# ## 12. Build it: Gumbel-max on the log of the logits
#
# **The bug.** The Gumbel-max trick is usually written $\arg\max_k(\log \pi_k + g_k)$ for
# *probabilities* $\pi$. A network gives logits, which already are log-probabilities up to a
# constant; passing them as $\pi$ takes the log of a log. The function below does exactly
# that.

# %% nbgrader={"grade": false, "grade_id": "buggy_gumbel_max", "locked": true, "schema_version": 3, "solution": false, "task": false}
def gumbel_max_buggy(logits, generator=None):
    """One draw from Categorical(softmax(logits)) per row, by Gumbel-max: [..., K] -> [...]."""
    log_pi = torch.log(logits)  # the log-probabilities of argmax(log pi + g)
    u = torch.rand(logits.shape, generator=generator)
    g = -torch.log(-torch.log(u))  # standard Gumbel noise
    return (log_pi + g).argmax(dim=-1)


# %% [markdown]
# The cell below draws 20,000 samples for the logits $(-1, 0.5, 2, -3)$ and counts them.

# %%
logits_demo = torch.tensor([-1.0, 0.5, 2.0, -3.0])
rows_demo = logits_demo.expand(20_000, 4).contiguous()  # [N, K]


def frequencies(sampler):
    draws = sampler(rows_demo, torch.Generator().manual_seed(5))  # [N]
    return torch.bincount(draws, minlength=4).double() / len(draws)  # [K]


print(f"{'softmax(logits)':24s}", [round(v, 3) for v in F.softmax(logits_demo, 0).tolist()])
print(f"{'buggy sampler':24s}", [round(v, 3) for v in frequencies(gumbel_max_buggy).tolist()])
record(CHAPTER, "gumbel_bug_share_category0", float(frequencies(gumbel_max_buggy)[0]))

# %% [markdown]
# Every draw is category 0. Two of the logits are negative, their log is NaN, and
# `argmax` treats NaN as the largest value. The tempting fix clamps the logits before the
# log: the NaN disappears, and the sampler then picks between the positive logits as if
# they were probabilities, which is still not $\operatorname{softmax}(\ell)$.
#
# Write `fix_gumbel_max(logits, generator=None)`: one category index per row, distributed
# as $\operatorname{softmax}(\text{logits})$ over the last dimension, with the uniforms
# drawn once by `torch.rand(logits.shape, generator=generator)` as in the buggy version.
#
# <details><summary>Hint 1</summary>
#
# $\log \operatorname{softmax}(\ell)_k = \ell_k - \log\sum_j e^{\ell_j}$, and the argmax
# ignores a constant: what should be added to the noise?
# </details>

# %% nbgrader={"grade": false, "grade_id": "fix_gumbel_max", "locked": false, "schema_version": 3, "solution": true, "task": false}
def fix_gumbel_max(logits, generator=None):
    """One draw from Categorical(softmax(logits)) per row, by Gumbel-max: [..., K] -> [...]."""
    ### BEGIN SOLUTION
    uniform = torch.rand(logits.shape, generator=generator).clamp(1e-20, 1.0)
    gumbel = -torch.log(-torch.log(uniform))  # [..., K]
    return torch.argmax(logits + gumbel, dim=-1)  # logits: log-probs up to a constant
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_fix_gumbel_max", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_fix_gumbel_max(fix_gumbel_max)
### BEGIN HIDDEN TESTS
_logits = torch.tensor([0.0, -2.0, 1.5, -0.5, 3.0, -40.0])
_draws = fix_gumbel_max(_logits.expand(60_000, 6).contiguous(), torch.Generator().manual_seed(11))
assert _draws.dtype in (torch.int64, torch.int32) and tuple(_draws.shape) == (60_000,)
_freq = torch.bincount(_draws, minlength=6).double() / 60_000
_p = torch.softmax(_logits.double(), 0)
assert bool(((_freq - _p).abs() <= 4 * (_p * (1 - _p) / 60_000).sqrt() + 1e-3).all()), "frequencies = softmax(logits)"
_grid = torch.randn(2, 3, 7, generator=torch.Generator().manual_seed(1))
_a = fix_gumbel_max(_grid, torch.Generator().manual_seed(3))
assert tuple(_a.shape) == (2, 3) and torch.equal(_a, fix_gumbel_max(_grid, torch.Generator().manual_seed(3)))
assert torch.equal(fix_gumbel_max(_grid + 100.0, torch.Generator().manual_seed(3)), _a), "a constant shift changes nothing"
### END HIDDEN TESTS
assert True

# %%
gumbel_sampler = check_fix_gumbel_max.use(fix_gumbel_max)
print(f"{'softmax(logits)':24s}", [round(v, 3) for v in F.softmax(logits_demo, 0).tolist()])
print(f"{'fixed sampler':24s}", [round(v, 3) for v in frequencies(gumbel_sampler).tolist()])

# %% [markdown]
# ## 13. Build it: the causal mask that shows the next token
#
# **The bug.** An autoregressive prior (chapter 10) predicts token $i + 1$ from tokens
# $0, \dots, i$; its attention mask must let query $i$ see keys $j \leq i$ only. The mask
# below is one diagonal too generous: query $i$ also sees key $i + 1$, which is the very
# token it is trained to predict.

# %% nbgrader={"grade": false, "grade_id": "buggy_causal_mask", "locked": true, "schema_version": 3, "solution": false, "task": false}
def causal_mask_buggy(n):
    """BoolTensor [n, n], True where query i may attend to key j (SDPA's convention)."""
    return torch.ones(n, n, dtype=torch.bool).tril(diagonal=1)


# %% [markdown]
# The cell below runs one attention layer (random weights, 6 positions) with each mask,
# changes one input token at a time, and records which outputs move: output $i$ may depend
# on inputs $j \leq i$ only.

# %%
gen = torch.Generator().manual_seed(4)
n_pos, width = 6, 8
tokens_in = torch.randn(1, n_pos, width, generator=gen)  # [1, N, C]
w_q, w_k, w_v = (torch.randn(width, width, generator=gen) / math.sqrt(width) for _ in range(3))


def depends_on(mask):
    """[N, N] bool: output i changes when input j changes."""
    def attend(h):
        return F.scaled_dot_product_attention(h @ w_q, h @ w_k, h @ w_v, attn_mask=mask)

    base = attend(tokens_in)  # [1, N, C]
    moved = torch.zeros(n_pos, n_pos, dtype=torch.bool)
    for j in range(n_pos):
        nudged = tokens_in.clone()
        nudged[0, j] += 1.0
        moved[:, j] = (attend(nudged) - base)[0].abs().amax(dim=-1) > 1e-6
    return moved


def future_inputs_seen(mask):
    return int(depends_on(mask).triu(diagonal=1).sum())


print("buggy mask: output i depends on input j (rows i, columns j)")
print(depends_on(causal_mask_buggy(n_pos)).int())
print(f"pairs with j > i (the future): {future_inputs_seen(causal_mask_buggy(n_pos))}")
record(CHAPTER, "mask_bug_future_pairs", future_inputs_seen(causal_mask_buggy(n_pos)))

# %% [markdown]
# Every output depends on the next input. Trained like that, a prior copies its target
# (its training loss looks far too good) and fails at sampling time, when the next token
# does not exist yet. The tempting fix moves the diagonal the other way, `diagonal=-1`: no
# future any more, and no present either. A position must attend to itself; the first row
# then has no key at all and its softmax is NaN.
#
# Write `fix_causal_mask(n)`: a BoolTensor `[n, n]`, True where key $j \leq$ query $i$
# (the convention of `F.scaled_dot_product_attention`'s boolean `attn_mask`).
#
# <details><summary>Hint 1</summary>
#
# Compare a column of query positions with a row of key positions, or keep
# `torch.tril` with the diagonal where it belongs.
# </details>

# %% nbgrader={"grade": false, "grade_id": "fix_causal_mask", "locked": false, "schema_version": 3, "solution": true, "task": false}
def fix_causal_mask(n):
    """BoolTensor [n, n], True where query i may attend to key j (SDPA's convention)."""
    ### BEGIN SOLUTION
    query = torch.arange(n).unsqueeze(1)  # [n, 1]
    key = torch.arange(n).unsqueeze(0)  # [1, n]
    return key <= query  # [n, n]: itself and the past, never the future
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_fix_causal_mask", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check_fix_causal_mask(fix_causal_mask)
### BEGIN HIDDEN TESTS
for _n in range(1, 10):
    _m = fix_causal_mask(_n)
    assert _m.dtype == torch.bool and _m.tolist() == [[_j <= _i for _j in range(_n)] for _i in range(_n)], f"n = {_n}"
_h = torch.randn(1, 5, 4, generator=torch.Generator().manual_seed(2))
_out = F.scaled_dot_product_attention(_h, _h, _h, attn_mask=fix_causal_mask(5))
assert torch.isfinite(_out).all()
_h2 = _h.clone()
_h2[0, 3] += 5.0
_out2 = F.scaled_dot_product_attention(_h2, _h2, _h2, attn_mask=fix_causal_mask(5))
assert torch.allclose(_out[0, :3], _out2[0, :3]), "outputs before position 3 must not see it"
### END HIDDEN TESTS
assert True

# %%
mask_fn = check_fix_causal_mask.use(fix_causal_mask)
print("fixed mask: output i depends on input j")
print(depends_on(mask_fn(n_pos)).int())
print(f"pairs with j > i (the future): {future_inputs_seen(mask_fn(n_pos))}")

# %% [markdown]
# ## 14. Checkpoint: five short answers
#
# Answer each in a few sentences, in your own words, then press the button under it to
# compare with a model answer. (Graded by hand.)
#
# **S1. Two collapses.** Posterior collapse (a VAE) and codebook collapse (a VQ-VAE) share
# a name. What collapses in each, which number shows it, and name one cure for each that
# would make no sense for the other.

# %% [markdown] nbgrader={"grade": true, "grade_id": "short_two_collapses", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Model answer.** In posterior collapse the encoder's distribution collapses onto the
# prior: $q(z \mid x) \approx p(z)$ for every $x$, so the latent carries no information; it
# shows as a KL near 0 per latent dimension and few active units. In codebook collapse the
# encoder's outputs collapse onto a few codes: most of the $K$ codes are never chosen; it
# shows as a low usage (fraction of codes used) and a perplexity far below $K$. Both shrink
# the information the latent can carry. Free bits (a floor on each dimension's KL) cures
# the first and means nothing for a VQ-VAE, which has no KL to floor (its rate is fixed at
# $\log K$ per position); dead-code revival cures the second and means nothing for a VAE,
# which has no codes to revive.

# %% [markdown]
# **S2. How biased is the straight-through estimator?** It passes the gradient at $z_q$ to
# $z_e$ as if the quantization were the identity. When is that a good guide for the
# encoder, when does it mislead, and which term of the VQ-VAE loss keeps it honest?

# %% [markdown] nbgrader={"grade": true, "grade_id": "short_straight_through_bias", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Model answer.** The estimator uses the decoder's gradient *at the code* $z_q$ as if it
# were the gradient at $z_e$. That is a good guide when $z_e$ is close to its code compared
# with how fast the decoder's gradient changes: then the two points see nearly the same
# slope, and a small step of $z_e$ moves the loss as predicted (or crosses to a neighbouring
# code that is better in the same direction). It misleads when $z_e$ is far from its code,
# for example at the start with a badly initialised codebook, or when a dead code's region
# is empty: the encoder is pushed in a direction computed somewhere else, and its step may
# not change the code at all. The commitment term $\beta\lVert z_e -
# \operatorname{sg}[e]\rVert^2$ keeps $z_e$ near its code, which keeps the bias small (and
# the codebook term or EMA keeps the codes near the data). FSQ's rounding error is at most
# half a step, which is why its straight-through works without any extra term.

# %% [markdown]
# **S3. Explain a number you measured.** In chapter 7 the LFQ tokenizer with $d = 10$ bits
# (1,024 codes) and no entropy terms used **{{ch07_fsq_lfq@lfq_usage:.1%}}** of its codes in
# the recorded full run; with MAGVIT-v2's entropy terms, **{{ch07_fsq_lfq@lfq_entropy_usage:.1%}}**.
# Your own run printed its numbers in section 8 of that chapter, with the share of +1 for
# each bit below them. Explain *your* first number: why that value, and not some other small
# one? Then say what the entropy terms changed.

# %% [markdown] nbgrader={"grade": true, "grade_id": "short_measured_lfq_usage", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Model answer.** LFQ's codes are combinations of independent bits, so its usage is
# counted in powers of two. If $k$ of the $d = 10$ bits vary over the data and the others
# are frozen (the same sign for every input: a share of +1 of exactly 0 or 1), at most
# $2^k$ codes can occur, a share $2^k / 2^{10}$ of the codebook: each frozen bit halves the
# usable codes. So multiply the usage by 1,024 and compare it with the powers of two. In
# the recorded run {{ch07_fsq_lfq@lfq_usage:.1%}} of the 1,024 codes were used, a few
# dozen, about what five live bits allow ($2^5 = 32$); the per-bit shares agree: several
# bits were frozen, a couple more flipped for a handful of positions only (each adding a
# few rare codes), and about five varied (not every combination of them occurs). A bit
# freezes because nothing in the reconstruction loss pushes a channel whose outputs all
# share one sign back across zero: the straight-through gradient of `sign` carries no
# force towards the unused half. The entropy terms add that force: a high codebook entropy
# asks the batch-average assignment to be even, which pushes every bit towards a
# half-and-half balance (after training the shares were all near one half), and a low
# per-sample entropy keeps each output away from 0, confidently on one code. (If your run
# printed other numbers, the same reasoning applies: count the bits whose share is neither
# 0 nor 1, and compare $2^{\text{that count}}$ with the codes used.)

# %% [markdown]
# **S4. "Our new tokenizer has a lower PSNR."** A colleague reports that a tokenizer
# trained with perceptual and adversarial losses reconstructs with a lower PSNR than the
# plain VQ-VAE it replaces, and proposes to drop the new losses. Reply in a few sentences,
# and say what you would measure instead.

# %% [markdown] nbgrader={"grade": true, "grade_id": "short_psnr_vs_realism", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Model answer.** A lower PSNR is the expected price, not a defect. The reconstruction
# with the least squared error is the average of all images consistent with the code,
# which is blurry; Blau and Michaeli (CVPR 2018; with the rate, ICML 2019) proved that
# beyond a point, more realism costs distortion. The perceptual and adversarial losses buy
# sharp, plausible texture with a little PSNR. To compare the two tokenizers I would
# measure what the new losses target: a perceptual distance (LPIPS) and a distribution
# distance of the reconstructions (FID, or the Fréchet distance of chapter 8), at the same
# rate (same token grid and codebook); and, since a tokenizer serves a generator, the
# quality of the images the prior generates through each one. PSNR stays as a sanity
# check, not the decision.

# %% [markdown]
# **S5. Continuous or discrete?** You must choose the latent of a new image generator: a
# continuous, KL-regularised latent (for a diffusion or flow-matching model) or a grid of
# discrete tokens (for an autoregressive or MaskGIT prior). Give one argument for each, and
# say what you would measure before deciding.

# %% [markdown] nbgrader={"grade": true, "grade_id": "short_continuous_or_discrete", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Model answer.** *Continuous:* each position carries real numbers rather than one of $K$
# choices, so at the same grid size the autoencoder reconstructs better, there is no
# codebook to collapse, and diffusion and flow matching model such latents very well (the
# Stable Diffusion family). *Discrete:* the prior becomes a classifier over $K$ tokens,
# trained with plain cross-entropy (an exact likelihood, bits per token), with all the
# machinery of language models, and the image tokens can sit in one sequence with text;
# the rate is explicit (positions times $\log_2 K$ bits). Before deciding I would measure,
# at the target compression, each autoencoder's reconstruction (PSNR and a perceptual or
# Fréchet distance), the discrete one's code usage and perplexity, and, on a small scale,
# the sample quality and sampling cost of a prior trained on each latent.

# %% [markdown]
# ## 15. Your score card
#
# Every public check you run, in any chapter, records its latest outcome (*not attempted*,
# *wrong* or *passed*) with the time, in a small file in your course folder,
# `.lessonlib-progress.json`; pressing the button under a written answer records it as
# *written*. Nothing is sent anywhere: the file stays on your computer, and deleting it
# resets the card. The cell below reads it, together with the list of every exercise of the
# course, and shows one row per chapter (a cell per exercise, coloured by its latest
# outcome) and, below, the table per exercise. Chapters with a wrong exercise open by
# themselves, and their exercises to revisit are named. Run it again whenever you like: it
# only reads. (While nbgrader grades, nothing is recorded, so a graded copy shows an empty
# card.)

# %%
show_score_card()

# %% [markdown]
# ## Summary
#
# * The ELBO is $\mathbb E_q[\log p(x\mid z)] - D_\mathrm{KL}(q\,\|\,p)$, its gap the KL to
#   the true posterior; the reparameterization trick makes its sample differentiable; the
#   KL is $\tfrac12\sum(\mu^2 + \sigma^2 - \log\sigma^2 - 1)$ *per example*, averaged over
#   the batch like the reconstruction.
# * $\beta$ prices information, it does not guarantee disentanglement; posterior collapse
#   is a KL near zero and few active units, cured by annealing, free bits, weaker decoders,
#   richer posteriors, not by a larger $\beta$.
# * VQ-VAE's codebook is learned; its two stop-gradient terms move the codes and the
#   encoder separately; the straight-through estimator is a biased surrogate with a real
#   forward pass; collapse shows in usage and perplexity and is cured by EMA with revival,
#   not by a bigger codebook. FSQ bounds, rounds (with the straight-through) and needs no
#   extra loss, yet its usage can fall; the one-line "FSQ" without the bound is not FSQ.
# * VQ-GAN adds perceptual and patch-adversarial losses and a Transformer prior; lower PSNR
#   with more realism is the distortion-perception trade-off (Blau and Michaeli, CVPR 2018;
#   with the rate, ICML 2019). MaskGIT is closely related to absorbing-state discrete
#   diffusion.
# * The clinic's six bugs all train without an error message. The half-fixes that remove
#   the symptom (a `.mean()` for the KL, `z_q` alone for the straight-through, one negated
#   entropy, a shift without its return, a clamped log, a mask without its diagonal) leave
#   a model that is still wrong: test the property, not the symptom. Measured here: the
#   buggy FSQ produced {{fsq_bug_tokens}} distinct tokens of the 1000 its levels promise
#   (the fixed one {{fsq_fixed_tokens}}); trained on the buggy entropies, LFQ rows ended on
#   {{lfq_bug_usage:.1%}} of their codes, on the fixed ones {{lfq_fixed_usage:.0%}}.

# %% [markdown]
# ## References
#
# * Kingma, D. P. and Welling, M. (2014). Auto-encoding variational Bayes. *ICLR*.
# * Burda, Y., Grosse, R. and Salakhutdinov, R. (2016). Importance weighted autoencoders.
#   *ICLR*.
# * Rainforth, T., Kosiorek, A. R., Le, T. A., Maddison, C. J., Igl, M., Wood, F. and Teh,
#   Y. W. (2018). Tighter variational bounds are not necessarily better. *ICML*.
# * Higgins, I., Matthey, L., Pal, A., Burgess, C., Glorot, X., Botvinick, M., Mohamed, S.
#   and Lerchner, A. (2017). β-VAE: learning basic visual concepts with a constrained
#   variational framework. *ICLR*.
# * Locatello, F., Bauer, S., Lucic, M., Rätsch, G., Gelly, S., Schölkopf, B. and Bachem,
#   O. (2019). Challenging common assumptions in the unsupervised learning of disentangled
#   representations. *ICML*.
# * Bowman, S. R., Vilnis, L., Vinyals, O., Dai, A. M., Jozefowicz, R. and Bengio, S.
#   (2016). Generating sentences from a continuous space. *CoNLL*.
# * Kingma, D. P., Salimans, T., Jozefowicz, R., Chen, X., Sutskever, I. and Welling, M.
#   (2016). Improved variational inference with inverse autoregressive flow. *NeurIPS*.
#   (Free bits.)
# * Chen, X., Kingma, D. P., Salimans, T., Duan, Y., Dhariwal, P., Schulman, J., Sutskever,
#   I. and Abbeel, P. (2017). Variational lossy autoencoder. *ICLR*.
# * Vahdat, A. and Kautz, J. (2020). NVAE: a deep hierarchical variational autoencoder.
#   *NeurIPS*.
# * van den Oord, A., Vinyals, O. and Kavukcuoglu, K. (2017). Neural discrete
#   representation learning. *NeurIPS*.
# * Razavi, A., van den Oord, A. and Vinyals, O. (2019). Generating diverse high-fidelity
#   images with VQ-VAE-2. *NeurIPS*.
# * Bengio, Y., Léonard, N. and Courville, A. (2013). Estimating or propagating gradients
#   through stochastic neurons for conditional computation. arXiv:1308.3432.
# * Mentzer, F., Minnen, D., Agustsson, E. and Tschannen, M. (2024). Finite scalar
#   quantization: VQ-VAE made simple. *ICLR*.
# * Yu, L. et al. (2024). Language model beats diffusion: tokenizer is key to visual
#   generation. *ICLR*. (MAGVIT-v2, LFQ.)
# * Esser, P., Rombach, R. and Ommer, B. (2021). Taming transformers for high-resolution
#   image synthesis. *CVPR*. (VQ-GAN.)
# * Isola, P., Zhu, J.-Y., Zhou, T. and Efros, A. A. (2017). Image-to-image translation
#   with conditional adversarial networks. *CVPR*. (PatchGAN.)
# * Zhang, R., Isola, P., Efros, A. A., Shechtman, E. and Wang, O. (2018). The unreasonable
#   effectiveness of deep features as a perceptual metric. *CVPR*. (LPIPS.)
# * Rombach, R., Blattmann, A., Lorenz, D., Esser, P. and Ommer, B. (2022). High-resolution
#   image synthesis with latent diffusion models. *CVPR*.
# * Esser, P. et al. (2024). Scaling rectified flow transformers for high-resolution image
#   synthesis. *ICML*. (Stable Diffusion 3.)
# * Blau, Y. and Michaeli, T. (2018). The perception-distortion tradeoff. *CVPR*.
# * Blau, Y. and Michaeli, T. (2019). Rethinking lossy compression: the
#   rate-distortion-perception tradeoff. *ICML*.
# * Jang, E., Gu, S. and Poole, B. (2017). Categorical reparameterization with
#   Gumbel-softmax. *ICLR*.
# * Maddison, C. J., Mnih, A. and Teh, Y. W. (2017). The concrete distribution: a
#   continuous relaxation of discrete random variables. *ICLR*.
# * Chang, H., Zhang, H., Jiang, L., Liu, C. and Freeman, W. T. (2022). MaskGIT: masked
#   generative image transformer. *CVPR*.
# * Austin, J., Johnson, D. D., Ho, J., Tarlow, D. and van den Berg, R. (2021). Structured
#   denoising diffusion models in discrete state-spaces. *NeurIPS*. (D3PM.)
# * Sahoo, S. S., Arriola, M., Schiff, Y., Gokaslan, A., Marroquin, E., Chiu, J. T., Rush,
#   A. and Kuleshov, V. (2024). Simple and effective masked diffusion language models.
#   *NeurIPS*.
# * Vaswani, A. et al. (2017). Attention is all you need. *NeurIPS*. (The causal mask.)
