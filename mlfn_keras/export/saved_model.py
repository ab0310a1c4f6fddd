"""Export to a TensorFlow SavedModel (TF Serving, TF-TRT, TFLite's input).

The directory holds one signature, ``serving_default``: ``images`` uint8
``(N, H, W, 3)`` RGB → ``embedding`` (and optionally ``factor_signature``),
and the metadata as ``assets/mlfn_keras_metadata.json``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from mlfn_keras.export.formats import read_saved_model_metadata  # noqa: F401  (re-exported)
from mlfn_keras.export.metadata import SAVED_MODEL_ASSET, ExportMetadata, sha256_file
from mlfn_keras.export.parity import ExportResult, run_parity_gate


def save_serving_model(model, metadata: ExportMetadata, out_dir: str | Path) -> Path:
    """Writes the uint8 serving SavedModel with its metadata asset, no checks.

    Args:
        model: the Keras backbone.
        metadata: metadata to embed (its ``outputs`` choose the signature's).
        out_dir: the SavedModel directory to (over)write.
    """
    import tensorflow as tf

    from mlfn_keras.export.serving import serving_function

    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    metadata = metadata.replace(format="saved_model", precision="fp32")
    with tempfile.TemporaryDirectory() as tmp:
        asset_file = Path(tmp) / SAVED_MODEL_ASSET
        asset_file.write_text(json.dumps(metadata.to_dict(), indent=2, sort_keys=True))
        module = tf.Module()
        module.model = model
        module.serve = serving_function(model, metadata)
        # A tracked Asset is copied into assets/ and survives re-saving.
        module.metadata_asset = tf.saved_model.Asset(str(asset_file))
        tf.saved_model.save(module, str(out_dir), signatures={"serving_default": module.serve})
    return out_dir


def export_saved_model(
    model,
    metadata: ExportMetadata,
    out_dir: str | Path,
    images: np.ndarray,
    labels: np.ndarray | None = None,
) -> ExportResult:
    """Exports a SavedModel and gates it on parity with Keras.

    Args:
        model: the Keras backbone.
        metadata: from `mlfn_keras.export.serving.load_export_source`.
        out_dir: the SavedModel directory to write.
        images: uint8 crops ``(N, H, W, 3)`` for the parity check.
        labels: their identities, for the retrieval check.

    Raises:
        ParityError: if the SavedModel does not reproduce Keras (fp32 bound).
    """
    out_dir = save_serving_model(model, metadata, out_dir)
    report = run_parity_gate(model, str(out_dir), images, labels, "fp32")
    asset = out_dir / "assets" / SAVED_MODEL_ASSET
    stored = read_saved_model_metadata(out_dir).replace(parity=report.to_dict())
    asset.write_text(json.dumps(stored.to_dict(), indent=2, sort_keys=True))
    size = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file())
    return ExportResult(
        path=str(out_dir),
        format="saved_model",
        precision="fp32",
        parity=report,
        details={"size_bytes": size, "sha256": sha256_file(out_dir)[:16]},
    )
