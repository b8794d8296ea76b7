"""What the learner sees: static plots, interactive render functions and the widget shell.

plots (to_grid, show_grid, image_rows, latent_scatter, loss_curves), token_plots (token
grids, the codebook in 2-D), usage_plots (code-usage histograms), widgets (IntSlider,
FloatSlider, Choice, Toggle, Regenerate, interactive: thin ipywidgets shells), and one module
per interactive, each a pure `render_x(**params) -> Figure`: linear_bottleneck,
latent_space, reparameterization, elbo_tradeoff, beta_tradeoff, loss_ablation, voronoi,
token_grid, codebook_usage, fsq_grid, patch_view, training_progress, perception_tradeoff,
gumbel_simplex, maskgit_steps, class_samples. Static figures: tokenizer_pipeline,
family_tree. Feedback: model_answer (show_model_answer: the reveal after an attempt) and
score_card (the per-chapter table of every check's latest outcome).
"""

from lessonlib.views.plots import image_rows, latent_scatter, loss_curves, show_grid, to_grid
from lessonlib.views.widgets import (
    Choice,
    FloatSlider,
    IntSlider,
    Regenerate,
    Toggle,
    interactive,
)

__all__ = ["Choice", "FloatSlider", "IntSlider", "Regenerate", "Toggle", "image_rows",
           "interactive", "latent_scatter", "loss_curves", "show_grid", "to_grid"]
