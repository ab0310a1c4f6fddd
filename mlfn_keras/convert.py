"""Weight interop: torchreid MLFN checkpoints and ImageNet ResNeXt-50 → Keras.

Two conversions, one CLI::

    # A torchreid MLFN checkpoint (.pth / .pth.tar; with or without a
    # "state_dict" key or "module." prefixes) -> our `mlfn` preset.
    mlfn convert torchreid model.pth.tar --output mlfn_market.keras

    # ImageNet ResNeXt-50 32x4d weights (torchvision or timm naming, .pth or
    # .safetensors) -> stem and Factor Modules of `mlfn`, as the paper
    # fine-tunes from ImageNet (Sec. 4.1, "Optimisation Settings").
    mlfn convert resnext50 resnext50_32x4d.safetensors --output init.keras

Reading ``.pth`` needs torch (``pip install mlfn-keras[torch]``);
``.safetensors`` needs only the ``safetensors`` package.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import pickletools
import re
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from mlfn_keras.errors import InputPathError, UserError, cli_entry

_BN_PARTS = ("weight", "bias", "running_mean", "running_var")


class CheckpointError(UserError, ValueError):
    """A weights file that cannot be read or does not fit the model (a ``ValueError`` too)."""


def _unreadable_reason(path: str) -> str | None:
    """Why ``path`` is not a well-formed PyTorch checkpoint, or ``None`` if it is one.

    Looks at the bytes only (zip directory, pickle opcodes via `pickletools`,
    which never executes anything), so a damaged file is told apart from a
    complete one holding objects beyond tensors, the only case where
    ``--trust-pickle`` can help.
    """
    if os.path.getsize(path) == 0:
        return "is empty (0 bytes)"
    with open(path, "rb") as f:
        head = f.read(4)
    if head == b"PK\x03\x04":  # the zip format torch.save has written since 1.6
        try:
            with zipfile.ZipFile(path) as archive:
                pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
                if not pickles:
                    return "is a zip archive without data.pkl, so not a PyTorch checkpoint"
                data = archive.read(pickles[0])
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            return f"is truncated or damaged (its zip archive cannot be read: {exc})"
    else:  # the legacy format: pickles one after another
        with open(path, "rb") as f:
            data = f.read(1 << 20)
    try:
        for _ in pickletools.genops(io.BytesIO(data)):
            pass
    except Exception as exc:  # genops raises ValueError, EOFError, KeyError... on bad bytes
        return f"is truncated, damaged or not a PyTorch checkpoint (its pickle data does not parse: {exc})"
    return None


@dataclasses.dataclass
class ConversionReport:
    """What a conversion loaded and what it left at its initialisation.

    Attributes:
        loaded: Keras weight paths that received a source tensor.
        left_at_init: Keras weight paths that kept their initial value.
        unused: source tensor names that were not used.
    """

    loaded: list[str]
    left_at_init: list[str]
    unused: list[str]

    def summary(self) -> str:
        lines = [
            f"loaded {len(self.loaded)} tensors, left {len(self.left_at_init)} at "
            f"initialisation, {len(self.unused)} source tensors unused"
        ]
        if self.left_at_init:
            lines.append("left at initialisation: " + _abbreviate(self.left_at_init))
        if self.unused:
            lines.append("unused source tensors: " + _abbreviate(self.unused))
        return "\n".join(lines)


def _abbreviate(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... (+{len(names) - limit} more)" if len(names) > limit else "")


def load_state_dict(path: str, trust_pickle: bool = False) -> dict[str, np.ndarray]:
    """Reads a PyTorch checkpoint or a safetensors file into numpy arrays.

    Accepts a bare state dict, a torchreid checkpoint dict with a
    ``"state_dict"`` (or ``"model"``) key, and ``module.`` prefixes left by
    ``DataParallel``.

    Args:
        path: ``.pth``, ``.pth.tar``, ``.pt`` or ``.safetensors`` file.
        trust_pickle: allow full unpickling of ``.pth`` files whose contents
            are not plain tensors (older torchreid checkpoints store numpy
            scalars). Only for files you trust.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ImportError: if a ``.pth`` file is given and torch is not installed.
        CheckpointError: (a `ValueError`) if the file is empty, damaged or
            holds no tensors, or holds objects and ``trust_pickle`` is off.
    """
    if not os.path.isfile(path):
        if os.path.isdir(path):
            raise InputPathError(f"Checkpoint {path!r} is a folder; expected a .pth, .pth.tar or .safetensors file.")
        raise FileNotFoundError(
            f"Checkpoint not found: {path!r}. Expected a .pth, .pth.tar or .safetensors file."
        )
    if path.endswith(".safetensors"):
        from safetensors.numpy import load_file

        try:
            raw: Mapping[str, Any] = load_file(path)
        except Exception as exc:  # SafetensorError, OSError for a damaged header
            raise CheckpointError(
                f"{path!r} could not be read as safetensors ({exc}); expected a complete .safetensors file."
            ) from None
    else:
        try:
            import torch
        except ImportError as e:
            raise ImportError(
                f"Reading {path!r} needs PyTorch: pip install 'mlfn-keras[torch]' "
                "(or convert it to .safetensors, which needs no torch)."
            ) from e
        reason = _unreadable_reason(path)
        if reason is not None:
            raise CheckpointError(
                f"{path!r} {reason}; expected a PyTorch checkpoint (.pth / .pth.tar) written by "
                "torch.save: download or copy it again."
            )
        try:
            raw = torch.load(path, map_location="cpu", weights_only=not trust_pickle)
        except Exception as e:  # torch raises UnpicklingError subclasses
            if trust_pickle:
                raise CheckpointError(f"{path!r} could not be loaded even with --trust-pickle: {e}") from e
            raise CheckpointError(
                f"{path!r} holds more than plain tensors and was not unpickled. If you "
                "trust the file, pass --trust-pickle (trust_pickle=True)."
            ) from e
        for key in ("state_dict", "model"):
            if isinstance(raw, Mapping) and isinstance(raw.get(key), Mapping):
                raw = raw[key]
                break
    tensors = {}
    for name, value in raw.items():
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        if not isinstance(value, np.ndarray):
            continue
        tensors[re.sub(r"^module\.", "", name)] = value
    if not tensors:
        raise CheckpointError(f"No tensors found in {path!r}; expected a model state dict.")
    return tensors


def _conv_kernel(w: np.ndarray) -> np.ndarray:
    """torch (out, in, kh, kw) → Keras (kh, kw, in, out); grouped layouts agree."""
    return np.transpose(w, (2, 3, 1, 0))


def _dense_kernel(w: np.ndarray) -> np.ndarray:
    """torch Linear (out, in) or 1×1 conv (out, in, 1, 1) → Keras Dense (in, out)."""
    return w.reshape(w.shape[0], -1).T


def _assign(model, mapping: dict[str, tuple[str, str]], tensors: dict[str, np.ndarray]):
    """Sets Keras layer weights from ``tensors``.

    Args:
        mapping: source prefix → (Keras layer name, kind), kind in
            ``conv``/``dense``/``bn``.
    """
    loaded: list[str] = []
    used: set[str] = set()
    for prefix, (layer_name, kind) in mapping.items():
        try:
            layer = model.get_layer(layer_name)
        except ValueError:
            continue
        if kind == "bn":
            names = [f"{prefix}.{p}" for p in _BN_PARTS]
            if not all(n in tensors for n in names):
                continue
            values = [tensors[n] for n in names]
        else:
            if f"{prefix}.weight" not in tensors:
                continue
            w = tensors[f"{prefix}.weight"]
            values = [_conv_kernel(w) if kind == "conv" else _dense_kernel(w)]
            names = [f"{prefix}.weight"]
            if len(layer.weights) == 2 and f"{prefix}.bias" in tensors:
                values.append(tensors[f"{prefix}.bias"])
                names.append(f"{prefix}.bias")
        targets = layer.weights[: len(values)]
        for target, value, source in zip(targets, values, names):
            if tuple(target.shape) != value.shape:
                raise CheckpointError(
                    f"Shape mismatch for {source}: source {value.shape}, Keras "
                    f"{target.path} expects {tuple(target.shape)}. Is the checkpoint "
                    "of the same architecture as the Keras preset?"
                )
            target.assign(value.astype(np.float32))
            loaded.append(target.path)
            used.add(source)
    return loaded, used


def _report(model, loaded, used, tensors) -> ConversionReport:
    loaded_set = set(loaded)
    left = [w.path for w in model.weights if w.path not in loaded_set]
    unused = [n for n in tensors if n not in used and not n.endswith("num_batches_tracked")]
    return ConversionReport(loaded=loaded, left_at_init=left, unused=unused)


def _block_names(stage_blocks) -> list[tuple[int, int, int]]:
    """(stage index, block index within stage, global 1-based block number)."""
    out, n = [], 0
    for s, count in enumerate(stage_blocks):
        for b in range(count):
            n += 1
            out.append((s, b, n))
    return out


def torchreid_mapping(num_blocks: int, fsm_layers: int = 3) -> dict[str, tuple[str, str]]:
    """Source-prefix → Keras-layer map for torchreid's ``MLFN`` module."""
    mapping = {"conv1": ("conv1", "conv"), "bn1": ("bn1", "bn")}
    for i in range(num_blocks):
        n, src = i + 1, f"feature.{i}"
        for j in (1, 2, 3):
            mapping[f"{src}.fm_conv{j}"] = (f"block{n}_fm_conv{j}", "conv")
            mapping[f"{src}.fm_bn{j}"] = (f"block{n}_fm_bn{j}", "bn")
        # torchreid's fsm Sequential: pool, (conv, bn, relu) x2, conv, bn, sigmoid.
        for j in range(fsm_layers):
            mapping[f"{src}.fsm.{1 + 3 * j}"] = (f"block{n}_fsm_fc{j + 1}", "dense")
            mapping[f"{src}.fsm.{2 + 3 * j}"] = (f"block{n}_fsm_bn{j + 1}", "bn")
        mapping[f"{src}.downsample.0"] = (f"block{n}_downsample_conv", "conv")
        mapping[f"{src}.downsample.1"] = (f"block{n}_downsample_bn", "bn")
    for head in ("fc_x", "fc_s"):
        mapping[f"{head}.0"] = (head, "dense")
        mapping[f"{head}.1"] = (f"{head}_bn", "bn")
    return mapping


def resnext_mapping(stage_blocks) -> dict[str, tuple[str, str]]:
    """Source-prefix → Keras-layer map for torchvision/timm ResNet(X) naming."""
    mapping = {"conv1": ("conv1", "conv"), "bn1": ("bn1", "bn")}
    for s, b, n in _block_names(stage_blocks):
        src = f"layer{s + 1}.{b}"
        for j in (1, 2, 3):
            mapping[f"{src}.conv{j}"] = (f"block{n}_fm_conv{j}", "conv")
            mapping[f"{src}.bn{j}"] = (f"block{n}_fm_bn{j}", "bn")
        mapping[f"{src}.downsample.0"] = (f"block{n}_downsample_conv", "conv")
        mapping[f"{src}.downsample.1"] = (f"block{n}_downsample_bn", "bn")
    return mapping


def convert_torchreid(
    tensors: dict[str, np.ndarray], preset: str = "mlfn"
) -> tuple[Any, Any, ConversionReport]:
    """Builds ``preset`` and loads a torchreid MLFN state dict into it.

    Returns:
        ``(backbone, classifier_model_or_None, report)``. The classifier model
        (an `MLFNClassifier` sharing the backbone) is built when the state dict
        has ``classifier.weight``.

    Raises:
        ValueError: if the state dict is not an MLFN of the preset's shape.
    """
    from mlfn_keras.backbone import MLFN
    from mlfn_keras.classifier import MLFNClassifier

    if "feature.0.fm_conv1.weight" not in tensors:
        raise CheckpointError(
            "This does not look like a torchreid MLFN state dict: expected keys "
            f"such as 'feature.0.fm_conv1.weight'; found e.g. {list(tensors)[:5]}."
        )
    backbone = MLFN.from_preset(preset)
    mapping = torchreid_mapping(backbone.num_blocks, len(backbone.stage_fsm_filters[0]) + 1)
    loaded, used = _assign(backbone, mapping, tensors)
    report = _report(backbone, loaded, used, tensors)
    if report.left_at_init:
        raise CheckpointError(
            "The checkpoint did not cover the whole model; missing: "
            + _abbreviate(report.left_at_init)
        )
    classifier = None
    if "classifier.weight" in tensors:
        classifier = MLFNClassifier(backbone, num_classes=tensors["classifier.weight"].shape[0])
        more, more_used = _assign(classifier, {"classifier": ("classifier", "dense")}, tensors)
        report.loaded.extend(more)
        report.unused = [n for n in report.unused if n not in more_used]
    return backbone, classifier, report


def convert_resnext50(
    tensors: dict[str, np.ndarray], preset: str = "mlfn"
) -> tuple[Any, ConversionReport]:
    """Initialises ``preset``'s stem and Factor Modules from ImageNet ResNeXt-50.

    ResNeXt-50 32x4d's bottlenecks have exactly the shapes of MLFN's Factor
    Modules (mid width = out / 2, 32 groups), so they load one-to-one; the
    FSMs, the projections T of Eq. 6 and the stem conv bias keep their
    initialisation.
    """
    from mlfn_keras.backbone import MLFN

    if "layer1.0.conv1.weight" not in tensors:
        raise CheckpointError(
            "This does not look like a torchvision/timm ResNeXt-50 state dict: "
            f"expected keys such as 'layer1.0.conv1.weight'; found e.g. {list(tensors)[:5]}."
        )
    backbone = MLFN.from_preset(preset)
    loaded, used = _assign(backbone, resnext_mapping(backbone.stage_blocks), tensors)
    return backbone, _report(backbone, loaded, used, tensors)


def build_parser() -> argparse.ArgumentParser:
    from mlfn_keras import cli_args

    parser = cli_args.make_parser(
        "mlfn-convert",
        description="Convert PyTorch weights (torchreid MLFN, ImageNet ResNeXt-50) to Keras.",
        epilog=(
            "examples:\n"
            "  %(prog)s torchreid mlfn_market.pth.tar --output mlfn_market.keras\n"
            "  %(prog)s resnext50 resnext50_32x4d.safetensors --output init.keras\n"
            "  %(prog)s resnext50 resnext50_32x4d-7cdf4587.pth --output init.keras\n"
            "\n"
            "torchreid: a checkpoint with a 751-way classifier also writes\n"
            "  <output>.classifier.keras (backbone + classifier) next to --output."
        ),
    )
    parser.add_argument("source", choices=["torchreid", "resnext50"], help="kind of weights")
    parser.add_argument("weights", help="path to .pth / .pth.tar / .safetensors")
    cli_args.add_output(parser, required=True, dest="out", metavar="FILE", help="output .keras file (the MLFN backbone)")
    parser.add_argument(
        "--preset", default=None, help="Keras preset to build (default: mlfn)"
    )
    parser.add_argument(
        "--trust-pickle",
        action="store_true",
        help="fully unpickle .pth files that hold non-tensor objects (trusted files only)",
    )
    return parser


def _save(model, path: str) -> None:
    """Saves under a temporary name and renames, so a failure never leaves half a file at ``path``."""
    from mlfn_keras.fileio import atomic_output

    with atomic_output(path) as tmp:
        model.save(str(tmp))


@cli_entry
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.out.endswith(".keras"):
        raise UserError(f"--output must end with .keras; received {args.out!r}")
    preset = args.preset or "mlfn"
    from mlfn_keras.presets import get_preset

    try:
        get_preset(preset)
    except (ValueError, KeyError) as exc:
        raise UserError(f"--preset {preset!r}: {exc}") from None
    tensors = load_state_dict(args.weights, trust_pickle=args.trust_pickle)
    if args.source == "torchreid":
        backbone, classifier, report = convert_torchreid(tensors, preset)
        _save(backbone, args.out)
        print(f"wrote {args.out} ({backbone.count_params():,} weights)")
        if classifier is not None:
            path = args.out[: -len(".keras")] + ".classifier.keras"
            _save(classifier, path)
            print(f"wrote {path} ({classifier.num_classes}-way classifier kept)")
    else:
        backbone, report = convert_resnext50(tensors, preset)
        _save(backbone, args.out)
        print(f"wrote {args.out}")
    print(report.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
