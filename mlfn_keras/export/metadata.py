"""The metadata that travels inside every exported file.

An exported embedder is useless without its input contract: a runtime on an
edge box has no Keras and no preset table, so the file itself says what it
expects (size, layout, dtype, colour order, where normalisation happens) and
what it returns. Every format stores the same JSON document:

* ONNX: ``metadata_props`` (key ``mlfn_keras``, plus flat keys for humans);
* SavedModel: ``assets/mlfn_keras_metadata.json``;
* TFLite: a ``Metadata`` entry named ``mlfn_keras`` in the flatbuffer;
* TensorRT: engines have no free-form metadata, so a sidecar
  ``<engine>.json`` next to the engine.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

METADATA_KEY = "mlfn_keras"
SAVED_MODEL_ASSET = "mlfn_keras_metadata.json"
SCHEMA_VERSION = 1


@dataclasses.dataclass
class ExportMetadata:
    """Self-description of an exported MLFN embedder.

    Attributes:
        preset: the preset the model was built from, or ``None``.
        image_shape: ``(H, W, 3)`` the model takes.
        embedding_dim: d, the size of the ``"embedding"`` output.
        outputs: output names, ``"embedding"`` first.
        mean: per-channel mean (RGB, [0, 255] units) subtracted inside the graph.
        std: per-channel std (RGB, [0, 255] units) divided inside the graph.
        project_version: ``mlfn_keras.__version__`` of the exporter.
        source: where the weights came from (a path or ``"preset:NAME"``).
        source_sha256: sha256 of the source weights file, ``None`` for a
            randomly initialised preset.
        factor_signature_dim: K when ``"factor_signature"`` is an output.
        format: ``"keras"``, ``"saved_model"``, ``"onnx"``, ``"tflite"`` or
            ``"tensorrt"``.
        precision: ``"fp32"``, ``"fp16"``, ``"dynamic_int8"`` or ``"int8"``.
        input_dtype: always ``"uint8"`` for exported files.
        input_layout: always ``"NHWC"``.
        color_order: always ``"RGB"``.
        normalization_in_graph: always ``True``: callers never normalise.
        embedding_l2_normalized: whether the file's output is already L2
            normalised (it is not; runtimes normalise).
        parity: the parity report of the exporter's gate, when it ran.
        schema_version: version of this document.
    """

    preset: str | None
    image_shape: tuple[int, int, int]
    embedding_dim: int
    outputs: list[str]
    mean: list[float]
    std: list[float]
    project_version: str
    source: str | None = None
    source_sha256: str | None = None
    factor_signature_dim: int | None = None
    format: str = "keras"
    precision: str = "fp32"
    input_dtype: str = "uint8"
    input_layout: str = "NHWC"
    color_order: str = "RGB"
    normalization_in_graph: bool = True
    embedding_l2_normalized: bool = False
    parity: dict[str, Any] | None = None
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["image_shape"] = list(self.image_shape)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ExportMetadata":
        """Builds metadata from a dict, ignoring keys this version does not know."""
        if not isinstance(data, dict) or "image_shape" not in data:
            raise ValueError(
                "Expected an mlfn_keras metadata document with at least "
                f"'image_shape'; received {str(data)[:200]!r}."
            )
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["image_shape"] = tuple(int(v) for v in data["image_shape"])
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str | bytes) -> "ExportMetadata":
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return cls.from_dict(json.loads(text))

    def replace(self, **changes) -> "ExportMetadata":
        return dataclasses.replace(self, **changes)

    def flat_properties(self) -> dict[str, str]:
        """String key/values for stores like ONNX ``metadata_props``.

        The full document is under ``mlfn_keras``; the rest duplicates the
        fields a person inspecting the file (e.g. in Netron) wants first.
        """
        return {
            METADATA_KEY: self.to_json(),
            "preset": str(self.preset),
            "input": f"images: {self.input_dtype} {self.input_layout} "
            f"[N,{self.image_shape[0]},{self.image_shape[1]},{self.image_shape[2]}] "
            f"{self.color_order} 0-255",
            "mean": json.dumps(self.mean),
            "std": json.dumps(self.std),
            "embedding_dim": str(self.embedding_dim),
            "project_version": self.project_version,
            "source_sha256": str(self.source_sha256),
            "precision": self.precision,
        }


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file (or of every file of a directory, in name order)."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        with open(file, "rb") as handle:
            while chunk := handle.read(chunk_size):
                digest.update(chunk)
    return digest.hexdigest()


def metadata_from_model(
    model,
    source: str | None = None,
    source_sha256: str | None = None,
    include_factor_signature: bool = False,
) -> ExportMetadata:
    """Describes a Keras MLFN backbone (or any model with the same contract).

    Args:
        model: an `mlfn_keras.MLFN`, or a Keras model taking ``(B, H, W, 3)``
            pixels in [0, 255] and returning a dict with ``"embedding"``.
        source: where its weights came from.
        source_sha256: sha256 of the weights file.
        include_factor_signature: whether the export also returns Ŝ.

    Raises:
        ValueError: if the model does not follow the contract.
    """
    import mlfn_keras
    from mlfn_keras import preprocessing

    image_shape = getattr(model, "image_shape", None) or tuple(model.input_shape[1:])
    if len(image_shape) != 3 or image_shape[-1] != 3 or None in image_shape:
        raise ValueError(
            f"Expected a model taking (B, H, W, 3) images with fixed H, W; "
            f"its input shape is {model.input_shape}."
        )
    output_shapes = _output_shapes(model)
    if "embedding" not in output_shapes:
        raise ValueError(
            "Expected a model returning a dict with an 'embedding' output; it "
            f"returns {sorted(output_shapes)}."
        )
    outputs = ["embedding"]
    factor_dim = None
    if include_factor_signature:
        if "factor_signature" not in output_shapes:
            raise ValueError(
                "include_factor_signature=True, but the model has no "
                f"'factor_signature' output (outputs: {sorted(output_shapes)}); "
                "presets without factor selection have no Ŝ."
            )
        outputs.append("factor_signature")
        factor_dim = int(output_shapes["factor_signature"][-1])
    return ExportMetadata(
        preset=getattr(model, "preset", None),
        image_shape=tuple(int(v) for v in image_shape),
        embedding_dim=int(output_shapes["embedding"][-1]),
        outputs=outputs,
        mean=[float(v) for v in preprocessing.IMAGENET_MEAN],
        std=[float(v) for v in preprocessing.IMAGENET_STD],
        project_version=mlfn_keras.__version__,
        source=source,
        source_sha256=source_sha256,
        factor_signature_dim=factor_dim,
    )


def _output_shapes(model) -> dict[str, tuple]:
    output = model.output
    if isinstance(output, dict):
        return {name: tuple(t.shape) for name, t in output.items()}
    return {}


def write_sidecar(path: str | Path, metadata: ExportMetadata) -> Path:
    """Writes ``<path>.json`` for formats that cannot hold metadata."""
    from mlfn_keras.fileio import write_text

    sidecar = Path(str(path) + ".json")
    write_text(sidecar, json.dumps(metadata.to_dict(), indent=2, sort_keys=True))  # atomic
    return sidecar


def read_sidecar(path: str | Path) -> ExportMetadata | None:
    sidecar = Path(str(path) + ".json")
    if not sidecar.exists():
        return None
    return ExportMetadata.from_json(sidecar.read_text())
