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
from mlfn_keras.fileio import check_output_dir, legacy_listing, staged_folder

#: What a SavedModel folder holds.
SAVED_MODEL_ENTRIES = ("saved_model.pb", "variables", "assets", "fingerprint.pb", "keras_metadata.pb")
#: The manifest kind of an exported SavedModel folder (see `mlfn_keras.fileio`).
MANIFEST_KIND = "mlfn_keras.saved_model"
#: A SavedModel exported before manifests existed: only its own entries, with our metadata asset.
_LEGACY = legacy_listing(SAVED_MODEL_ENTRIES, f"assets/{SAVED_MODEL_ASSET}")


def check_saved_model_output(out_dir: str | Path, force: bool = False, what: str = "--output folder"):
    """Refuses an output folder that holds anything this exporter did not write (see `mlfn_keras.fileio`).

    Called by the command line before any work, and again by `export_saved_model`.

    Raises:
        OutputExistsError: foreign entries (dot-files included) and no ``force``,
            or foreign entries named like the SavedModel's own.
    """
    return check_output_dir(out_dir, MANIFEST_KIND, force=force, what=what, writes=SAVED_MODEL_ENTRIES,
                            legacy=_LEGACY, create=False)


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
        check_saved_model_output(out_dir, what="SavedModel folder")  # never a foreign folder
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


def _save_and_gate(model, metadata, staged: Path, images, labels):
    staged = save_serving_model(model, metadata, staged)
    report = run_parity_gate(model, str(staged), images, labels, "fp32")
    asset = staged / "assets" / SAVED_MODEL_ASSET
    stored = read_saved_model_metadata(staged).replace(parity=report.to_dict())
    asset.write_text(json.dumps(stored.to_dict(), indent=2, sort_keys=True))
    return report


def export_saved_model(
    model,
    metadata: ExportMetadata,
    out_dir: str | Path,
    images: np.ndarray,
    labels: np.ndarray | None = None,
    force: bool = False,
) -> ExportResult:
    """Exports a SavedModel and gates it on parity with Keras.

    Args:
        model: the Keras backbone.
        metadata: from `mlfn_keras.export.serving.load_export_source`.
        out_dir: the SavedModel directory to write.
        images: uint8 crops ``(N, H, W, 3)`` for the parity check.
        labels: their identities, for the retrieval check.
        force: write into a folder holding files that are not a SavedModel
            (they are kept).

    Raises:
        ParityError: if the SavedModel does not reproduce Keras (fp32 bound).
        OutputExistsError: if ``out_dir`` holds files that are not a SavedModel
            and ``force`` is off.

    The SavedModel is written to a temporary folder beside ``out_dir`` and
    moved into place only after the gate passes, so a failed export leaves
    the previous one untouched. A folder holding anything else (dot-files
    included) is refused unless ``force``; then only the SavedModel's own
    entries are replaced and the others are kept. The folder gets a
    ``manifest.json`` listing its entries.
    """
    out_dir = Path(out_dir)
    with staged_folder(out_dir, MANIFEST_KIND, force=force, what="--output folder", writes=SAVED_MODEL_ENTRIES,
                       legacy=_LEGACY) as staged:
        report = _save_and_gate(model, metadata, staged, images, labels)
    size = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file())
    return ExportResult(
        path=str(out_dir),
        format="saved_model",
        precision="fp32",
        parity=report,
        details={"size_bytes": size, "sha256": sha256_file(out_dir)[:16]},
    )
