"""Core: what every chapter uses, whatever its model.

seeding (seed_everything), runmode (is_fast, pick, is_grading), device (get_device,
describe), results (record), batching (minibatches), training (train, History, eval_mode),
information (entropy, perplexity), gradient_flow (sends_gradient), image_metrics (psnr).
"""

from lessonlib.core.batching import minibatches
from lessonlib.core.device import describe, get_device, model_device
from lessonlib.core.gradient_flow import sends_gradient
from lessonlib.core.image_metrics import psnr
from lessonlib.core.information import (
    code_perplexity,
    discrete_entropy,
    entropy,
    entropy_of_counts,
    perplexity_of_counts,
)
from lessonlib.core.results import record
from lessonlib.core.runmode import is_fast, is_grading, pick
from lessonlib.core.seeding import seed_everything
from lessonlib.core.training import History, eval_mode, to_device, train

__all__ = [
    "History", "code_perplexity", "describe", "discrete_entropy", "entropy",
    "entropy_of_counts", "eval_mode", "get_device", "is_fast", "is_grading", "minibatches",
    "model_device", "perplexity_of_counts", "pick", "psnr", "record", "seed_everything",
    "sends_gradient", "to_device", "train",
]
