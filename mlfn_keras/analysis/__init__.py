"""The paper's analyses of the factor signature (Sec. 4.4).

* `fs_matching`: re-id with Ŝ alone, a linear SVM on |Ŝ_a − Ŝ_b| (Table 7);
* `attributes`: attribute prediction with SVMs on Ŝ and on R (Sec. 4.4.2);
* `factor_grid`: images with the highest / lowest S_{n,i} (Fig. 3);
* `ablation`: ResNet / ResNeXt / MLFN-Fusion / MLFN with one recipe (Table 6).

Each module has a command line: ``python -m mlfn_keras.analysis.<module> --help``.
"""

from mlfn_keras._lazy import lazy_exports

# Submodules load on first use: `python -m mlfn_keras.<pkg>.<module>` then
# runs a module that was not imported yet, and light users skip heavy ones.
_EXPORTS: dict[str, str] = {
    "FactorSignatureMatcher": "mlfn_keras.analysis.fs_matching",
    "PAPER_VARIANTS": "mlfn_keras.analysis.ablation",
    "attribute_accuracy": "mlfn_keras.analysis.attributes",
    "derived_variants": "mlfn_keras.analysis.ablation",
    "draw_factor_grid": "mlfn_keras.analysis.factor_grid",
    "load_attributes": "mlfn_keras.analysis.attributes",
    "most_variable_factors": "mlfn_keras.analysis.factor_grid",
    "run_ablation": "mlfn_keras.analysis.ablation",
    "run_attribute_analysis": "mlfn_keras.analysis.attributes",
    "run_fs_only": "mlfn_keras.analysis.fs_matching",
    "sample_pairs": "mlfn_keras.analysis.fs_matching",
    "top_bottom": "mlfn_keras.analysis.factor_grid",
}

__all__ = [
    "FactorSignatureMatcher",
    "PAPER_VARIANTS",
    "attribute_accuracy",
    "derived_variants",
    "draw_factor_grid",
    "load_attributes",
    "most_variable_factors",
    "run_ablation",
    "run_attribute_analysis",
    "run_fs_only",
    "sample_pairs",
    "top_bottom",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
