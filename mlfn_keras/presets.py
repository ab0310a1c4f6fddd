"""Architecture presets: every MLFN variant is a row of data, not a copy of code.

Each preset is the keyword arguments of `mlfn_keras.MLFN`. The paper's Re-ID
model (Sec. 4.1, "MLFN Architecture Details") is ``mlfn``: N = 16 blocks laid
out like ResNeXt-50 (3/4/6/3 blocks over widths 256/512/1024/2048), 32 factor
modules per block, so K = 512, and d = 1024. It is layer-for-layer the model
of torchreid's ``mlfn`` so that its weights convert exactly.

The ablations of Table 6 change one field each:

====================  ===============  ====================  =========
preset                block_type       factor selection      fusion
====================  ===============  ====================  =========
``mlfn``              ``"mlfn"``       yes (Eq. 2, 4)        yes (Eq. 6)
``mlfn_no_fusion``    ``"mlfn"``       yes                   no
``resnext50``         ``"resnext"``    no (all factors on)   no
``resnet50``          ``"resnet"``     no (one holistic FM)  no
====================  ===============  ====================  =========

``mlfn_cifar`` is the N = 9, K = 288 model of Sec. 4.1 for 32×32 inputs;
``mlfn_small`` is a CPU/edge model (used by the demo) and ``mlfn_tiny`` exists
for unit tests. Both have the same three ablations as the paper's model
(``mlfn_small_no_fusion``, ``mlfn_small_resnext``, ``mlfn_small_resnet``, ...),
so Table 6 can be reproduced on a CPU.
"""

from __future__ import annotations

import copy
from typing import Any

_RESNEXT50_STAGES = {
    "stage_filters": (256, 512, 1024, 2048),
    "stage_blocks": (3, 4, 6, 3),
    "stage_strides": (1, 2, 2, 2),
    # FSM hidden widths per stage, as in torchreid's reference implementation.
    "stage_fsm_filters": ((128, 64), (256, 128), (512, 128), (512, 128)),
}

PRESETS: dict[str, dict[str, Any]] = {
    "mlfn": {
        **_RESNEXT50_STAGES,
        "block_type": "mlfn",
        "num_factors": 32,
        "fusion": True,
        "embedding_dim": 1024,
        "stem": "imagenet",
        "stem_filters": 64,
        "image_shape": (256, 128, 3),
    },
    "mlfn_cifar": {
        # Sec. 4.1: "The number of blocks is reduced to 9 which results in
        # K = 288". A CIFAR stem (3x3/1, no pooling) keeps 32x32 inputs
        # from collapsing to 1x1 before the last stage.
        "stage_filters": (256, 512, 1024),
        "stage_blocks": (3, 3, 3),
        "stage_strides": (1, 2, 2),
        "stage_fsm_filters": ((128, 64), (256, 128), (512, 128)),
        "block_type": "mlfn",
        "num_factors": 32,
        "fusion": True,
        "embedding_dim": 1024,
        "stem": "cifar",
        "stem_filters": 64,
        "image_shape": (32, 32, 3),
    },
    "mlfn_small": {
        "stage_filters": (64, 128, 256, 512),
        "stage_blocks": (1, 2, 2, 1),
        "stage_strides": (1, 2, 2, 2),
        "stage_fsm_filters": ((32, 16), (64, 32), (128, 32), (128, 32)),
        "block_type": "mlfn",
        "num_factors": 16,
        "fusion": True,
        "embedding_dim": 256,
        "stem": "imagenet",
        "stem_filters": 32,
        "image_shape": (128, 64, 3),
    },
    "mlfn_tiny": {
        "stage_filters": (16, 32),
        "stage_blocks": (1, 1),
        "stage_strides": (1, 2),
        "stage_fsm_filters": ((8, 4), (8, 4)),
        "block_type": "mlfn",
        "num_factors": 4,
        "fusion": True,
        "embedding_dim": 32,
        "stem": "imagenet",
        "stem_filters": 8,
        "image_shape": (64, 32, 3),
    },
}


#: What each ablation of Table 6 changes in an MLFN preset.
TABLE6_ABLATIONS: dict[str, dict[str, Any]] = {
    # Factor selection kept, Ŝ dropped from R (Eq. 6).
    "no_fusion": {"fusion": False},
    # No FSMs: all factors always on.
    "resnext": {"block_type": "resnext", "fusion": False},
    # One holistic bottleneck instead of the factor modules.
    "resnet": {"block_type": "resnet", "num_factors": 1, "fusion": False},
}

#: The paper's names of the full-size model's ablations (torchreid's too).
_PAPER_NAMES = {"no_fusion": "mlfn_no_fusion", "resnext": "resnext50", "resnet": "resnet50"}


def table6_variants(base: str, names: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """The ablations of Table 6 derived from an MLFN preset, as ``mlfn`` → the rest.

    Args:
        base: An MLFN preset.
        names: Preset name per ablation (keys of :data:`TABLE6_ABLATIONS`);
            default ``<base>_no_fusion``, ``<base>_resnext``, ``<base>_resnet``.

    Returns:
        ``{name: keyword arguments}`` of the three ablations.
    """
    names = names or {key: f"{base}_{key}" for key in TABLE6_ABLATIONS}
    return {names[key]: {**PRESETS[base], **change} for key, change in TABLE6_ABLATIONS.items()}


for _base, _names in (("mlfn", _PAPER_NAMES), ("mlfn_small", None), ("mlfn_tiny", None)):
    PRESETS.update(table6_variants(_base, _names))


def get_preset(name: str) -> dict[str, Any]:
    """Returns a copy of the keyword arguments of preset ``name``.

    Raises:
        ValueError: if ``name`` is not a known preset; the message lists them.
    """
    if name not in PRESETS:
        raise ValueError(
            f"Unknown preset {name!r}. Expected one of: {', '.join(sorted(PRESETS))}."
        )
    return copy.deepcopy(PRESETS[name])
