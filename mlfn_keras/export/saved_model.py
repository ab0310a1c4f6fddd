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

from mlfn_keras.runtime.formats import read_saved_model_metadata  # noqa: F401  (re-exported)
from mlfn_keras.runtime.metadata import SAVED_MODEL_ASSET, ExportMetadata, sha256_file
from mlfn_keras.export.parity import ExportResult, run_parity_gate
from mlfn_keras.fileio import atomic_output, check_output_dir

#: What a SavedModel folder holds: a folder with only these is ours to replace.
SAVED_MODEL_ENTRIES = ("saved_model.pb", "variables", "assets", "fingerprint.pb", "keras_metadata.pb")


def save_serving_model(model, metadata: ExportMetadata, out_dir: str | Path) -> Path:
    """Writes the uint8 serving SavedModel with its metadata asset, no checks.

    Args:
        model: the Keras backbone.
        metadata: metadata to embed (its ``outputs`` choose the signature's).
        out_dir: the SavedModel directory to (over)write.
    """
    import tensorflow as tf

    from mlfn_keras.runtime.serving import serving_function

    out_dir = Path(out_dir)
    if out_dir.exists():
        check_output_dir(out_dir, ours=SAVED_MODEL_ENTRIES, what="SavedModel folder")  # never a foreign folder
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
        metadata: from `mlfn_keras.export.source.load_export_source`.
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
    the previous one untouched. A folder holding other files is refused
    unless ``force``; then only the SavedModel's own entries are replaced.
    """
    out_dir = Path(out_dir)
    foreign = out_dir.is_dir() and any(
        p.name not in SAVED_MODEL_ENTRIES and not p.name.startswith(".") for p in out_dir.iterdir()
    )
    check_output_dir(out_dir, ours=SAVED_MODEL_ENTRIES, force=force, what="--output folder")
    if not foreign:
        # Nothing but a SavedModel (or nothing) there: build beside it, swap in after the gate.
        with atomic_output(out_dir, is_dir=True) as staged:
            report = _save_and_gate(model, metadata, staged, images, labels)
    else:
        # --force into a folder with other files: stage beside it, then replace only
        # the SavedModel's own entries once the gate has passed.
        with tempfile.TemporaryDirectory(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent) as tmp:
            staged = Path(tmp) / "saved_model"
            report = _save_and_gate(model, metadata, staged, images, labels)
            for entry in SAVED_MODEL_ENTRIES:
                old = out_dir / entry
                if old.is_dir():
                    shutil.rmtree(old)
                elif old.exists():
                    old.unlink()
            for entry in staged.iterdir():
                shutil.move(str(entry), str(out_dir / entry.name))
    size = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file())
    return ExportResult(
        path=str(out_dir),
        format="saved_model",
        precision="fp32",
        parity=report,
        details={"size_bytes": size, "sha256": sha256_file(out_dir)[:16]},
    )
