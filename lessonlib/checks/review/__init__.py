"""Public checks of the review chapter's pitfall clinic: one buggy function per concept, fixed.

Each check first names the mistake that is still there (the original bug, or a fix of its
symptom that leaves the bug in place), then runs the course's own check of the concept, so
a fixed function is held to the same standard as the one written in its chapter.

gaussian  fix_kl_per_example    the KL summed over the batch (reference: kl_standard_normal)
vq        fix_vq_stop_gradient  the straight-through detach on the wrong side
lfq       fix_lfq_entropy_sign  LFQ's entropies with the minus sign missing
fsq       fix_fsq_even_levels   FSQ without the half shift for an even number of levels
gumbel    fix_gumbel_max        Gumbel-max on the log of the logits
masks     fix_causal_mask       a causal mask that shows each position the next token
"""

from lessonlib.checks.review.fsq import check_fix_fsq_even_levels
from lessonlib.checks.review.gaussian import check_fix_kl_per_example
from lessonlib.checks.review.gumbel import check_fix_gumbel_max
from lessonlib.checks.review.lfq import check_fix_lfq_entropy_sign
from lessonlib.checks.review.masks import check_fix_causal_mask
from lessonlib.checks.review.vq import check_fix_vq_stop_gradient

__all__ = ["check_fix_causal_mask", "check_fix_fsq_even_levels", "check_fix_gumbel_max",
           "check_fix_kl_per_example", "check_fix_lfq_entropy_sign",
           "check_fix_vq_stop_gradient"]
