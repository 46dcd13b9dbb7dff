"""Interactive explorers (ipywidgets) for JupyterLab; each chapter also draws a static fallback figure."""
from __future__ import annotations


# --- Chapter 01: the orthogonal gradient (Theorem A) --------------------------------------------


def gradient_explorer(d: int = 40, ell: int = 20, m: int = 50, beta: float | None = None, *, ensemble: int = 300,
                      n: int = 20, seed: int = 0):
    """Sliders d, ℓ, m, β: each move trains up to ``ensemble`` networks (< 1 s) and redraws
    :func:`advsub.plotting.plot_gradient_explorer` (the χ²_ℓ law and the lower bound).

    β starts at the standard 1/√d; ℓ is capped at d − 1. Returns the ipywidgets box.
    """
    import ipywidgets as W
    import matplotlib.pyplot as plt

    from .measure import gradient_law_experiment
    from .plotting import plot_gradient_explorer

    beta = 1.0 / d**0.5 if beta is None else beta
    style = {"description_width": "initial"}
    s_d = W.IntSlider(value=d, min=4, max=200, step=1, description="d", continuous_update=False, style=style)
    s_ell = W.IntSlider(value=ell, min=1, max=d - 1, step=1, description="ℓ = dim P⊥", continuous_update=False, style=style)
    s_m = W.IntSlider(value=m, min=2, max=300, step=1, description="m (width)", continuous_update=False, style=style)
    s_beta = W.FloatLogSlider(value=beta, base=10, min=-3, max=0, step=0.05, description="β (init scale)",
                              continuous_update=False, readout_format=".3g", style=style)
    out = W.Output()

    def redraw(*_):
        s_ell.max = s_d.value - 1
        # Keep an update under a second: fewer networks for large m·d, and at most 60 GD steps
        # (Theorem A holds at every step, whether or not the margin is reached).
        E = int(min(ensemble, max(30, 6e5 // (s_m.value * max(s_d.value, 20)))))
        sample = gradient_law_experiment(s_d.value, min(s_ell.value, s_d.value - 1), s_m.value, ensemble=E,
                                         n=n, init_scale=float(s_beta.value), max_steps=60, seed=seed)
        with out:
            out.clear_output(wait=True)
            fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
            plot_gradient_explorer(sample, axes)
            fig.suptitle(f"{int(sample.reached.sum())}/{len(sample)} networks reached margin 0.3 within 60 steps",
                         fontsize="small")
            fig.tight_layout()
            plt.show()

    for s in (s_d, s_ell, s_m, s_beta):
        s.observe(redraw, names="value")
    redraw()
    return W.VBox([W.HBox([s_d, s_ell]), W.HBox([s_m, s_beta]), out])
