"""Realistic wrong answers for ch00_latent_spaces (see AUTHORING.md)."""

import math


def compression_ratio__inverted(input_shape, latent_shape):
    """Divides the latent size by the input size."""
    return math.prod(latent_shape) / math.prod(input_shape)


def compression_ratio__sum_of_dims(input_shape, latent_shape):
    """Adds the dimensions instead of multiplying them."""
    return sum(input_shape) / sum(latent_shape)


def compression_ratio__floor_division(input_shape, latent_shape):
    """Integer division drops the fractional part of the ratio."""
    return float(math.prod(input_shape) // math.prod(latent_shape))


answer_q1__a = "a"
answer_q1__d = "d"


# The learner who imports lessonlib's reference instead of writing the function: every
# graded test cell must reject it (lessonlib.checks.provenance).
from lessonlib.autoencoders.shapes import compression_ratio as compression_ratio__imported_reference  # noqa: E402

MESSAGES = {
    "compression_ratio__inverted": "upside down",
    "compression_ratio__sum_of_dims": "added the dimensions",
    "compression_ratio__floor_division": "floor division",
}
