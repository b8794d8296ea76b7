"""Models reused across chapters (sized for 28x28 MNIST on a laptop CPU)."""

from lessonlib.models.conv_autoencoder import ConvAutoencoder, ConvDecoder, ConvEncoder
from lessonlib.models.mlp_vae import MLPVAE

__all__ = ["ConvAutoencoder", "ConvDecoder", "ConvEncoder", "MLPVAE"]
