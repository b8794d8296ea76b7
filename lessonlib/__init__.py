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
    flops            count_flops (a network's cost, counted on the meta device)
    model_cache      cached_model (trained models kept in the course folder, by config)
data/            offline data sets shipped in data/files: load_mnist, load_digits,
                 load_photos, make_sprites; crops (random_crops, tile_crops of the
                 photographs), clips (make_moving_sprites: short videos)
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
    kl_autoencoder   KLAutoencoder (the Stable-Diffusion-style VAE: 8x down, 4 channels)
    latent_scale     latent_scale_factor, PUBLISHED (the factors of released VAEs)
    rate_distortion  gaussian_rate_distortion, water_filling, rate_distortion_curve
    perception_distortion  the exact trade-off on the linear Gaussian model
quantizers/      discrete latents
    common           QuantizerOutput (z_q, indices, aux_loss, perplexity), to_rows, from_rows
    vq               nearest_code, vq_straight_through, VectorQuantizer
    codebook         codebook_usage, codebook_perplexity, ema_codebook_update,
                     revive_dead_codes, codebook_from_data
    ema              EMAVectorQuantizer
    fsq              FSQ, fsq_quantize, fsq_indices_to_codes, fsq_codebook, ...
    lfq              LFQ, lfq_quantize, lfq_entropy_terms, lfq_codebook, ...
tokenizers/      image tokenizers: encoder + quantizer + decoder, and what VQ-GAN adds
    conv             TokenEncoder, TokenDecoder, QuantizedAutoencoder (28x28 <-> 7x7 tokens)
    training         train_tokenizer, tokenizer_step, tokens_of, reconstruct
    feature_net      FeatureNet (a small classifier whose layers serve as features),
                     train_feature_net, accuracy, embed_all
    perceptual       feature_distance (the LPIPS formula), unit_normalize, FeatureDistance
    patchgan         PatchDiscriminator, receptive_field, receptive_box, pix2pix_layers
    adversarial      hinge_d_loss, hinge_g_loss, adaptive_weight, warmup_factor
    vqgan            train_vqgan (reconstruction + feature distance + PatchGAN)
    quality          reconstruction_quality, gradient_sharpness, ink_ratio
    video            CausalConv3d, CausalVideoEncoder, video_latent_shape
    realism          real_vs_fake_accuracy (perception: can a classifier tell them apart)
priors/          generating tokens, and scoring what comes out
    gumbel           gumbel_softmax, gumbel_noise, gumbel_max_sample
    categorical_gradients  REINFORCE against Gumbel-softmax: bias and variance
    dvae             GumbelQuantizer (DALL-E 1's bottleneck), anneal_temperature
    masks            causal_mask
    transformer      TokenTransformer (causal or bidirectional, class token first)
    training         train_prior
    autoregressive   ar_loss, sample_autoregressive (key/value cache), guided_logits
    maskgit          maskgit_num_masked, confidence_mask, maskgit_loss, maskgit_decode
    scoring          bits_per_token and the count baselines
    frechet          frechet_distance, feature_statistics
    unet             UNetLike (the shape of a diffusion U-Net, for its cost)
views/           plots, the widget shell (widgets.interactive), model_answer (reveal after
                 an attempt), score_card, and one module per interactive:
                 render_x(**params) -> matplotlib Figure
checks/          public self-checks (core: the machinery; quiz: multiple choice; provenance:
                 was it written in the notebook; progress: the score card's record),
                 grouped as above: checks.autoencoders, checks.quantizers,
                 checks.tokenizers, checks.priors, and checks.review (the pitfall clinic)
"""

__version__ = "0.1.0"
