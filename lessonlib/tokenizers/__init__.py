"""Image tokenizers: an encoder, a quantizer and a decoder trained together.

conv (TokenEncoder, TokenDecoder, QuantizedAutoencoder: 28x28 digit <-> 7x7 token grid),
training (train_tokenizer, tokenizer_step, tokens_of, reconstruct).
"""

from lessonlib.tokenizers.conv import QuantizedAutoencoder, TokenDecoder, TokenEncoder
from lessonlib.tokenizers.training import reconstruct, tokenizer_step, tokens_of, train_tokenizer

__all__ = ["QuantizedAutoencoder", "TokenDecoder", "TokenEncoder", "reconstruct",
           "tokenizer_step", "tokens_of", "train_tokenizer"]
