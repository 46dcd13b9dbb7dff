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


# --- Chapter 02: the universal direction (Theorem B) ---------------------------------------------


def universal_explorer(d: int = 100, ell: int = 60, m: int = 50, *, ensemble: int = 4, n: int = 40, n_test: int = 100,
                       seed: int = 0):
    """Sliders ℓ, m, d: each move trains ``ensemble`` networks (< 1 s) and redraws the universal step
    against |N(x0)| (:func:`advsub.plotting.plot_size_vs_output`) with the flip rate. Returns the box."""
    import ipywidgets as W
    import matplotlib.pyplot as plt

    from .attacks import attack_experiment
    from .plotting import plot_size_vs_output

    style = {"description_width": "initial"}
    s_ell = W.IntSlider(value=ell, min=1, max=d - 1, description="ℓ = dim P⊥", continuous_update=False, style=style)
    s_m = W.IntSlider(value=m, min=2, max=400, description="m (width)", continuous_update=False, style=style)
    s_d = W.IntSlider(value=d, min=10, max=200, description="d", continuous_update=False, style=style)
    out = W.Output()

    def redraw(*_):
        s_ell.max = s_d.value - 1
        dd, ll, mm = s_d.value, min(s_ell.value, s_d.value - 1), s_m.value
        sample = attack_experiment(dd, ll, mm, ensemble=ensemble, n=n, n_test=n_test, attack=False, max_steps=500,
                                   seed=seed)
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(6.5, 4))
            plot_size_vs_output(sample.output, sample.universal, sample.k, mm, dd, ll, ax)
            ax.set_title(f"d={dd}, ℓ={ll}, m={mm}: {sample.flip_rate(dd ** 0.5):.0%} flipped with ‖z‖ ≤ ‖x0‖; "
                         f"{int(sample.reached.sum())}/{ensemble} nets trained", fontsize="small")
            fig.tight_layout()
            plt.show()

    for s in (s_ell, s_m, s_d):
        s.observe(redraw, names="value")
    redraw()
    return W.VBox([W.HBox([s_ell, s_m, s_d]), out])


# --- Chapter 03: small initialisation (Theorem C) -------------------------------------------------


def small_init_explorer(beta_exponent: float = 0.5, ell: int = 60, m: int = 50, *, d: int = 100, ensemble: int = 4,
                        n: int = 40, n_test: int = 100, seed: int = 0):
    """Sliders β = d^(−a), ℓ, m: each move trains ``ensemble`` networks on linearly labelled data and shows
    the certified radius, the orthogonal attack and the universal step per held-out point
    (:func:`advsub.plotting.plot_sandwich`), with the accuracy and the steps needed. Returns the box."""
    import ipywidgets as W
    import matplotlib.pyplot as plt

    from .attacks import attack_experiment
    from .plotting import plot_sandwich

    style = {"description_width": "initial"}
    s_a = W.FloatSlider(value=beta_exponent, min=0.5, max=1.5, step=0.125, description="β = d^(−a), a",
                        continuous_update=False, style=style)
    s_ell = W.IntSlider(value=ell, min=1, max=d - 1, description="ℓ = dim P⊥", continuous_update=False, style=style)
    s_m = W.IntSlider(value=m, min=2, max=300, description="m (width)", continuous_update=False, style=style)
    out = W.Output()

    def redraw(*_):
        beta = d ** -s_a.value
        sample = attack_experiment(d, s_ell.value, s_m.value, ensemble=ensemble, n=n, n_test=n_test, init_scale=beta,
                                   labels="linear", max_steps=1000, seed=seed)
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(6.5, 4))
            plot_sandwich(sample.certified, sample.orthogonal, sample.universal, ax)
            ax.set_title(f"β = d^(−{s_a.value:g}) = {beta:.2g}: accuracy {sample.accuracy.mean():.0%}, "
                         f"steps {int(sample.steps.max())}, reached {int(sample.reached.sum())}/{ensemble}",
                         fontsize="small")
            fig.tight_layout()
            plt.show()

    for s in (s_a, s_ell, s_m):
        s.observe(redraw, names="value")
    redraw()
    return W.VBox([W.HBox([s_a, s_ell, s_m]), out])
