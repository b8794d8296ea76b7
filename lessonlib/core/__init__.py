"""Core: what every chapter uses, whatever its model.

seeding (seed_everything), runmode (is_fast, pick, is_grading), device (get_device,
describe), results (record), batching (minibatches), training (train, History, eval_mode),
information (entropy, perplexity), gradient_flow (sends_gradient), image_metrics (psnr),
flops (count_flops: a network's cost counted on the meta device), model_cache (cached_model:
trained models kept in the course folder, keyed by their configuration).
"""

from lessonlib.core.batching import minibatches
from lessonlib.core.device import describe, get_device, model_device
from lessonlib.core.flops import count_flops
from lessonlib.core.gradient_flow import sends_gradient
from lessonlib.core.image_metrics import psnr
from lessonlib.core.information import (
    code_perplexity,
    discrete_entropy,
    entropy,
    entropy_of_counts,
    perplexity_of_counts,
)
from lessonlib.core.model_cache import cache_dir, cached_model
from lessonlib.core.results import record
from lessonlib.core.runmode import is_fast, is_grading, pick
from lessonlib.core.seeding import seed_everything
from lessonlib.core.training import History, eval_mode, to_device, train

__all__ = [
    "History", "cache_dir", "cached_model", "code_perplexity", "count_flops", "describe",
    "discrete_entropy", "entropy", "entropy_of_counts", "eval_mode", "get_device", "is_fast",
    "is_grading", "minibatches", "model_device", "perplexity_of_counts", "pick", "psnr",
    "record", "seed_everything", "sends_gradient", "to_device", "train",
]
