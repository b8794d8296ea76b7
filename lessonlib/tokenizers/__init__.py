"""Image tokenizers: an encoder, a quantizer and a decoder trained together.

conv (TokenEncoder, TokenDecoder, QuantizedAutoencoder: 28x28 digit <-> 7x7 token grid),
training (train_tokenizer, tokenizer_step, tokens_of, reconstruct). The VQ-GAN pieces:
feature_net (FeatureNet, the small digit classifier whose layers give the features),
perceptual (feature_distance: the LPIPS formula on those features), patchgan
(PatchDiscriminator, receptive_field), adversarial (hinge losses, adaptive_weight, warm-up),
vqgan (train_vqgan), quality (reconstruction_quality). Beyond images: video (CausalConv3d,
CausalVideoEncoder, video_latent_shape), realism (real_vs_fake_accuracy: how well a small
classifier tells reconstructions from real images).
"""

from lessonlib.tokenizers.adversarial import (
    adaptive_weight,
    hinge_d_loss,
    hinge_g_loss,
    warmup_factor,
)
from lessonlib.tokenizers.conv import QuantizedAutoencoder, TokenDecoder, TokenEncoder
from lessonlib.tokenizers.feature_net import FeatureNet, accuracy, embed_all, train_feature_net
from lessonlib.tokenizers.patchgan import (
    PatchDiscriminator,
    conv_geometry,
    pix2pix_layers,
    receptive_box,
    receptive_field,
)
from lessonlib.tokenizers.perceptual import FeatureDistance, feature_distance, unit_normalize
from lessonlib.tokenizers.quality import gradient_sharpness, ink_ratio, reconstruction_quality
from lessonlib.tokenizers.realism import real_vs_fake_accuracy
from lessonlib.tokenizers.training import reconstruct, tokenizer_step, tokens_of, train_tokenizer
from lessonlib.tokenizers.video import CausalConv3d, CausalVideoEncoder, video_latent_shape
from lessonlib.tokenizers.vqgan import last_decoder_weight, reconstruct_pixels, train_vqgan

__all__ = [
    "CausalConv3d", "CausalVideoEncoder", "FeatureDistance", "FeatureNet", "PatchDiscriminator",
    "QuantizedAutoencoder", "TokenDecoder", "TokenEncoder", "accuracy", "adaptive_weight",
    "conv_geometry", "embed_all", "feature_distance", "gradient_sharpness", "hinge_d_loss",
    "hinge_g_loss", "ink_ratio", "last_decoder_weight", "pix2pix_layers",
    "real_vs_fake_accuracy", "receptive_box", "receptive_field", "reconstruct",
    "reconstruct_pixels", "reconstruction_quality", "tokenizer_step", "tokens_of",
    "train_feature_net", "train_tokenizer", "train_vqgan", "unit_normalize",
    "video_latent_shape", "warmup_factor",
]
