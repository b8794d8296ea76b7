"""lessonlib: the helper package of the course "Latent spaces, from VAE to FSQ".

Small modules, one concept each: data (offline data sets), models, training (a loop with a
progress bar and a history), plots, widgets (thin ipywidgets shells around pure render
functions in interactives/), checks (public self-checks), and the reference
implementations of what the learner builds (shapes, latent, gaussian, vq, codebook, ...).
"""

__version__ = "0.1.0"
