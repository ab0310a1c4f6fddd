import numpy as np
import tensorflow as tf

import mlfn_keras
from mlfn_keras.export.calibration import calibration_images
from mlfn_keras.runtime.metadata import metadata_from_model
from mlfn_keras.export.saved_model import export_saved_model, read_saved_model_metadata


def test_saved_model_serves_uint8_and_carries_metadata(tmp_path):
    model = mlfn_keras.MLFN.from_preset("mlfn_tiny")
    crops = calibration_images(model.image_shape, max_images=16)
    meta = metadata_from_model(model, include_factor_signature=True)
    result = export_saved_model(model, meta, tmp_path / "sm", crops.images, crops.labels)
    assert result.parity.passed and result.parity.max_abs_diff < 1e-4

    loaded = tf.saved_model.load(str(tmp_path / "sm"))
    signature = loaded.signatures["serving_default"]
    spec = signature.structured_input_signature[1]["images"]
    assert spec.dtype == tf.uint8 and spec.shape.as_list() == [None, 64, 32, 3]
    out = signature(images=tf.constant(crops.images[:4]))
    assert set(out) == {"embedding", "factor_signature"}
    expected = model(crops.images[:4].astype(np.float32))
    np.testing.assert_allclose(out["embedding"], expected["embedding"], atol=1e-5)

    stored = read_saved_model_metadata(tmp_path / "sm")
    assert stored.format == "saved_model"
    assert stored.outputs == ["embedding", "factor_signature"]
    assert stored.parity["passed"]
