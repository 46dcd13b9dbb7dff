"""Every public name of the package before the three layers (commit 38aa792) still
imports from its old module path, and names the object that now lives in its new
module."""

from __future__ import annotations

import importlib

import pytest

OLD = {
    "advsub": [
        "Subspace",
        "make_dataset",
        "EnsembleNet",
        "TwoLayerReLU",
        "init_beta",
        "train",
        "train_sweep",
        "TrainingHistory",
        "logistic_loss",
        "orthogonal_gradient",
        "flip_along",
        "universal_direction",
        "universal_perturbation",
        "orthogonal_attack",
        "unconstrained_attack",
        "orthogonal_lipschitz_constant",
        "certified_orthogonal_radius",
        "self_term_agreement",
        "AttackSample",
        "attack_sample",
        "attack_experiment",
        "attack_sweep",
        "theory",
        "GradientSample",
        "orthogonal_gradient_sample",
        "gradient_law_experiment",
        "gradient_law_sweep",
        "invariance_deviation",
        "expected_orthogonal_gradient_norm",
        "DeepReLU",
        "train_deep",
        "Manifold",
        "make_manifold_dataset",
        "digits_dataset",
        "beyond",
        "boundary",
        "regularisation",
        "toydata",
        "library_attack",
    ],
    "advsub._validation": [
        "check_int",
        "check_float",
        "check_choice",
        "check_tensor",
        "check_labels",
        "check_points_in_subspace",
        "check_net_points",
        "check_seed",
        "check_dtype_device",
        "check_real_array",
    ],
    "advsub.attacks": [
        "orthogonal_gradient",
        "flip_along",
        "universal_direction",
        "universal_perturbation",
        "self_term_agreement",
        "orthogonal_attack",
        "unconstrained_attack",
        "orthogonal_lipschitz_constant",
        "certified_orthogonal_radius",
        "AttackSample",
        "attack_sample",
        "attack_experiment",
        "attack_sweep",
    ],
    "advsub.beyond": [
        "restricted_attack",
        "orthogonal_l1_attack",
        "normal_attack",
        "predicted_norm_ratio",
        "norm_equivalence_bounds",
        "deep_orthogonal_gradient_law",
        "deep_orthogonal_lipschitz_bound",
        "deep_certified_orthogonal_radius",
    ],
    "advsub.boundary": [
        "boundary_distance",
        "line_zeros",
        "boundary_angle",
        "crossing_angles",
    ],
    "advsub.crosscheck": [
        "library_attack",
    ],
    "advsub.deep": [
        "DeepReLU",
        "train_deep",
    ],
    "advsub.digits": [
        "digits_dataset",
    ],
    "advsub.geometry": [
        "Subspace",
        "make_dataset",
    ],
    "advsub.manifolds": [
        "Manifold",
        "make_manifold_dataset",
        "manifold_labels",
    ],
    "advsub.measure": [
        "GradientSample",
        "orthogonal_gradient_sample",
        "gradient_law_experiment",
        "invariance_deviation",
        "expected_orthogonal_gradient_norm",
    ],
    "advsub.network": [
        "EnsembleNet",
        "TwoLayerReLU",
        "init_beta",
    ],
    "advsub.plotting": [
        "text_table",
        "plot_gradient_components",
        "plot_statistic_histogram",
        "plot_lower_bound_success",
        "plot_gradient_sweep",
        "plot_gradient_explorer",
        "plot_size_vs_ell",
        "plot_size_vs_output",
        "plot_sandwich",
        "plot_regime_sweep",
        "plot_beta_sweep",
        "plot_price",
        "plot_decision_boundary",
        "plot_plane_flip_map",
        "plot_quantile_curves",
        "plot_norm_ratios",
        "plot_ratio_histogram",
        "plot_digits",
        "plot_decay_curve",
        "plot_weight_decay_tradeoff",
    ],
    "advsub.regularisation": [
        "orthogonal_weight_ratio",
        "orthogonal_decay_curve",
        "SweepPoint",
        "weight_decay_sweep",
    ],
    "advsub.theory": [
        "gradient_lower_bound",
        "lower_bound_failure_probability",
        "orthogonal_gradient_law",
        "expected_orthogonal_gradient_sq",
        "small_init_upper_bound",
        "upper_bound_failure_probability",
        "predicted_universal_size",
        "weight_decay_factor",
        "expected_orthogonal_operator_norm",
        "self_term_agreement",
    ],
    "advsub.toydata": [
        "line_dataset",
        "grid_plane_dataset",
        "toy_network",
        "PICTURES",
        "train_picture",
        "plane_normal_derivative",
        "line_picture_stats",
    ],
    "advsub.training": [
        "train",
        "train_sweep",
        "TrainingHistory",
        "logistic_loss",
        "data_coordinates",
    ],
    "advsub.widgets": [
        "gradient_explorer",
        "universal_explorer",
        "small_init_explorer",
        "pictures_explorer",
        "draw_depth_explorer",
        "depth_explorer",
        "draw_digits_explorer",
        "digits_explorer",
        "draw_weight_decay_explorer",
        "weight_decay_explorer",
    ],
}


@pytest.mark.parametrize("module", sorted(OLD))
def test_old_public_names_import_from_their_old_paths(module):
    mod = importlib.import_module(module)
    missing = [name for name in OLD[module] if not hasattr(mod, name)]
    assert not missing, f"{module} lost {missing}"


def test_from_imports_of_old_paths():
    # moved up to the experiments: served by a shim
    from advsub.attacks import AttackSample, attack_sample  # noqa: F401
    from advsub.beyond import normal_attack, predicted_norm_ratio  # noqa: F401
    from advsub.deep import DeepReLU, train_deep  # noqa: F401
    from advsub.measure import GradientSample  # noqa: F401
    from advsub.measure import expected_orthogonal_gradient_norm  # noqa: F401
    from advsub.plotting import text_table  # noqa: F401
    from advsub.widgets import BATCH_ENV, gradient_explorer  # noqa: F401
    import advsub

    assert advsub.beyond.restricted_attack is advsub.attacks.restricted_attack
    assert (
        advsub.measure.expected_orthogonal_gradient_norm
        is advsub.theory.expected_orthogonal_gradient_norm
    )
