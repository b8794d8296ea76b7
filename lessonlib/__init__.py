"""lessonlib: the helper package of the course "Latent spaces, from VAE to FSQ".

The map. Each concept is defined in exactly one module; a group's __init__ re-exports the
names the notebooks use, so `from lessonlib.core import seed_everything` works as well as
`from lessonlib.core.seeding import seed_everything`.

core/            what every chapter uses
    seeding          seed_everything
    runmode          is_fast, pick, is_grading (fast mode for CI and grading)
    device           get_device, describe
    results          record (headline figures of a run)
    batching         minibatches
    training         train, History, eval_mode (the training loop; eval mode and back)
    information      entropy, code_perplexity, perplexity_of_counts, discrete_entropy
    gradient_flow    sends_gradient (which parameters a loss moves)
    image_metrics    psnr
data/            offline data sets shipped in data/: load_mnist, load_digits, load_photos,
                 make_sprites
autoencoders/    continuous latents: the autoencoder and the VAE
    shapes           compression_ratio, conv_out_size
    shape_trace      trace_shapes
    pca              PCA (the optimal linear autoencoder)
    conv             ConvEncoder, ConvDecoder, ConvAutoencoder (28x28 digits)
    interpolation    interpolate
    reconstruction   reconstruction_nll (Bernoulli / Gaussian), reconstruction_errors,
                     nearest_distance
    gaussian         reparameterize, kl_standard_normal, log_normal_diag, iwae_bound
    vae_objective    vae_loss, kl_per_dim, kl_anneal_beta, active_units, aggregate_mismatch
    vae_evaluation   evaluate_vae, iwae_log_weights, VAESnapshot, snapshot
    mlp_vae          MLPVAE
    linear_gaussian  LinearGaussian (a latent-variable model with exact log p(x))
    score_function   pathwise vs score-function gradient estimators
    disentanglement  mutual_info_matrix, mutual_info_gap (MIG), latent_traversal
quantizers/      discrete latents
    common           QuantizerOutput (z_q, indices, aux_loss, perplexity), to_rows, from_rows
    vq               nearest_code, vq_straight_through, VectorQuantizer
    codebook         codebook_usage, codebook_perplexity, ema_codebook_update,
                     revive_dead_codes
    ema              EMAVectorQuantizer
    fsq              FSQ, fsq_quantize, fsq_indices_to_codes, fsq_codebook, ...
    lfq              LFQ, lfq_quantize, lfq_entropy_terms, lfq_codebook, ...
tokenizers/      image tokenizers: encoder + quantizer + decoder
    conv             TokenEncoder, TokenDecoder, QuantizedAutoencoder (28x28 <-> 7x7 tokens)
    training         train_tokenizer, tokenizer_step, tokens_of, reconstruct
views/           plots, the widget shell (widgets.interactive) and one module per
                 interactive: render_x(**params) -> matplotlib Figure
checks/          public self-checks (core: the machinery; quiz: multiple choice), grouped
                 as above: checks.autoencoders, checks.quantizers
"""

__version__ = "0.1.0"
