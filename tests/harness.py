"""One test harness for every Keras object the project ships (layers, models, losses, schedules).

Each custom object must survive what users and the exporters do with it, so
every test of one goes through the same checks instead of hand-written round
trips:

* ``get_config`` → JSON text → ``from_config`` gives the same config (and, for
  layers and models, the same outputs once the weights are copied);
* ``.keras`` save → ``load_model`` gives the same outputs (``assert_allclose``);
* ``predict`` on arrays and on a ``tf.data`` pipeline agree with a direct call;
* the ``mixed_float16`` policy: float16 compute, float32 variables, outputs
  within a half-precision tolerance of float32.

Usage::

    run_layer_test(GroupedConv2D, {"filters": 8, "kernel_size": 3, "groups": 4, "padding": "same"},
                   inputs, tmp_path, expected_output_shape=(2, 6, 6, 8))
    run_model_test(lambda dtype=None: MLFN.from_preset("mlfn_tiny", dtype=dtype), inputs, tmp_path)
    run_serialization_test(IdentityCrossEntropy(label_smoothing=0.1))
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

import mlfn_keras

mlfn_keras.register_keras_objects()

#: Half precision keeps ~3 decimal digits; relative to the output's scale.
MIXED_TOLERANCE = 2e-2


def _as_list(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _flat(outputs) -> dict[str, np.ndarray]:
    """Outputs (tensor, list or dict) as ``{key: float32 array}``."""
    if isinstance(outputs, Mapping):
        return {str(k): np.asarray(keras.ops.convert_to_numpy(v), np.float32) for k, v in outputs.items()}
    if isinstance(outputs, (list, tuple)):
        return {str(i): np.asarray(keras.ops.convert_to_numpy(v), np.float32) for i, v in enumerate(outputs)}
    return {"output": np.asarray(keras.ops.convert_to_numpy(outputs), np.float32)}


def assert_outputs_close(actual, expected, rtol: float = 1e-5, atol: float = 1e-6, what: str = "") -> None:
    """``assert_allclose`` over every output of two model/layer results."""
    a, b = _flat(actual), _flat(expected)
    assert set(a) == set(b), f"{what}: outputs {sorted(a)} != {sorted(b)}"
    for key in b:
        assert a[key].shape == b[key].shape, f"{what}: output {key} shape {a[key].shape} != {b[key].shape}"
        np.testing.assert_allclose(a[key], b[key], rtol=rtol, atol=atol, err_msg=f"{what}: output {key}")


def json_round_trip(config: dict[str, Any]) -> dict[str, Any]:
    """The config as it comes back from JSON text (what ``.keras`` files store)."""
    return json.loads(json.dumps(config))


def run_serialization_test(obj: Any) -> Any:
    """``serialize_keras_object`` → JSON → ``deserialize_keras_object``: same class, same config.

    For losses, metrics, schedules and other config-only objects. Returns the clone.
    """
    text = json.dumps(keras.saving.serialize_keras_object(obj))
    clone = keras.saving.deserialize_keras_object(json.loads(text))
    assert type(clone) is type(obj)
    assert json_round_trip(clone.get_config()) == json_round_trip(obj.get_config())
    return clone


def _dataset(inputs: list[np.ndarray], batch_size: int) -> tf.data.Dataset:
    data = tuple(inputs) if len(inputs) > 1 else inputs[0]
    # `predict` unpacks a tuple element as (x, y, w): nest multi-input x once more.
    ds = tf.data.Dataset.from_tensor_slices(data).batch(batch_size)
    return ds.map(lambda *x: (x,)) if len(inputs) > 1 else ds


def _check_model(model: keras.Model, inputs: list[np.ndarray], tmp_path: Path, rtol: float, atol: float,
                 name: str) -> dict[str, np.ndarray]:
    """predict (arrays and tf.data) and .keras save/load of a built model."""
    x = inputs if len(inputs) > 1 else inputs[0]
    direct = model(x, training=False)
    predicted = model.predict(x, verbose=0)
    assert_outputs_close(predicted, direct, rtol, atol, f"{name}: predict vs call")
    batch = max(1, len(inputs[0]) // 2)  # two batches: the pipeline is really iterated
    assert_outputs_close(model.predict(_dataset(inputs, batch), verbose=0), predicted, rtol, atol,
                         f"{name}: predict on tf.data")

    path = Path(tmp_path) / f"{name}.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    assert type(restored) is type(model), f"{name}: loaded a {type(restored).__name__}"
    assert_outputs_close(restored.predict(x, verbose=0), predicted, rtol, atol, f"{name}: .keras save/load")
    return _flat(predicted)


def _check_mixed(mixed, reference: dict[str, np.ndarray], inputs: list[np.ndarray], name: str,
                 float32_layers: Sequence[str] = ()) -> None:
    x = inputs if len(inputs) > 1 else inputs[0]
    compute = {layer.name: layer.compute_dtype for layer in _layers(mixed)
               if not isinstance(layer, keras.layers.InputLayer)}
    wrong = {n: d for n, d in compute.items() if d != ("float32" if n in float32_layers else "float16")}
    assert not wrong, f"{name}: under mixed_float16 these layers compute in the wrong dtype: {wrong}"
    assert {v.dtype for v in mixed.weights} <= {"float32"}, f"{name}: mixed_float16 variables must stay float32"
    out = _flat(mixed(x, training=False))
    for key, ref in reference.items():
        scale = float(np.max(np.abs(ref))) or 1.0
        np.testing.assert_allclose(out[key], ref, rtol=MIXED_TOLERANCE, atol=MIXED_TOLERANCE * scale,
                                   err_msg=f"{name}: mixed_float16 output {key}")


def _layers(obj) -> list:
    return obj._flatten_layers(include_self=False) if isinstance(obj, keras.Model) else [obj]


def run_layer_test(
    layer_cls: type[keras.layers.Layer],
    init_kwargs: dict[str, Any],
    input_data: np.ndarray | Sequence[np.ndarray],
    tmp_path: str | Path,
    expected_output_shape: tuple | None = None,
    expected_num_weights: int | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    mixed_precision: bool = True,
) -> keras.Model:
    """Checks a custom layer: config JSON round trip, in a model, save/load, tf.data, mixed_float16.

    Args:
        layer_cls: the layer class.
        init_kwargs: its constructor arguments (JSON-serialisable).
        input_data: one array or a list of arrays (a multi-input layer), batch first.
        tmp_path: folder for the ``.keras`` file.
        expected_output_shape: the output shape for ``input_data``.
        expected_num_weights: number of weight tensors once built.
        rtol, atol: tolerance of float32 comparisons.
        mixed_precision: also check the ``mixed_float16`` policy.

    Returns:
        The functional model wrapping the layer.
    """
    inputs = [np.asarray(a) for a in _as_list(input_data)]
    name = layer_cls.__name__

    layer = layer_cls(**init_kwargs)
    config = json_round_trip(layer.get_config())
    restored = layer_cls.from_config(config)
    assert json_round_trip(restored.get_config()) == config, f"{name}: config changed through JSON"

    symbolic = [keras.Input(a.shape[1:], dtype=str(a.dtype)) for a in inputs]
    output = layer(symbolic if len(symbolic) > 1 else symbolic[0])
    model = keras.Model(symbolic if len(symbolic) > 1 else symbolic[0], output)
    if expected_num_weights is not None:
        assert len(layer.weights) == expected_num_weights, f"{name}: {len(layer.weights)} weight tensors"
    reference = _check_model(model, inputs, tmp_path, rtol, atol, name)
    if expected_output_shape is not None:
        assert next(iter(reference.values())).shape == tuple(expected_output_shape)

    # The JSON-restored layer computes the same function once given the weights.
    restored(inputs if len(inputs) > 1 else inputs[0])
    restored.set_weights(layer.get_weights())
    assert_outputs_close(restored(inputs if len(inputs) > 1 else inputs[0]), reference, rtol, atol,
                         f"{name}: from_config")

    if mixed_precision:
        mixed = layer_cls(**{**init_kwargs, "dtype": "mixed_float16"})
        mixed(inputs if len(inputs) > 1 else inputs[0])
        mixed.set_weights(layer.get_weights())
        _check_mixed(mixed, reference, inputs, name)
        mixed_config = json_round_trip(mixed.get_config())
        assert layer_cls.from_config(mixed_config).dtype_policy.name == "mixed_float16"
    return model


def run_model_test(
    build: Callable[..., keras.Model],
    input_data: np.ndarray | Sequence[np.ndarray],
    tmp_path: str | Path,
    expected_output_shape: dict[str, tuple] | tuple | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    mixed_precision: bool = True,
    float32_layers: Sequence[str] = (),
) -> keras.Model:
    """Checks a custom model: config JSON round trip, save/load, predict on tf.data, mixed_float16.

    Args:
        build: ``build(dtype=None) -> model``; called again with
            ``dtype="mixed_float16"`` for the mixed-precision check, so the
            model must pass ``dtype`` to its layers.
        input_data: one array or a list of arrays, batch first.
        tmp_path: folder for the ``.keras`` file.
        expected_output_shape: ``{output: shape}`` (dict outputs) or a shape.
        rtol, atol: tolerance of float32 comparisons.
        mixed_precision: also check the ``mixed_float16`` policy.
        float32_layers: layers meant to compute in float32 under it (e.g. logits).

    Returns:
        The model.
    """
    inputs = [np.asarray(a) for a in _as_list(input_data)]
    model = build()
    name = type(model).__name__
    reference = _check_model(model, inputs, tmp_path, rtol, atol, name)
    if expected_output_shape is not None:
        shapes = {k: v.shape for k, v in reference.items()}
        if isinstance(expected_output_shape, Mapping):
            for key, shape in expected_output_shape.items():
                assert shapes[key] == tuple(shape), f"{name}: output {key} is {shapes[key]}"
        else:
            assert next(iter(shapes.values())) == tuple(expected_output_shape)

    # Config as JSON text (as a .keras file stores it) rebuilds the same model.
    config = json_round_trip(keras.saving.serialize_keras_object(model))
    restored = keras.saving.deserialize_keras_object(config)
    assert type(restored) is type(model)
    assert json_round_trip(restored.get_config()) == json_round_trip(model.get_config()), f"{name}: config changed"
    restored.set_weights(model.get_weights())
    assert_outputs_close(restored.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0), reference,
                         rtol, atol, f"{name}: from_config")

    if mixed_precision:
        mixed = build(dtype="mixed_float16")
        assert mixed.dtype_policy.name == "mixed_float16", f"{name}: dtype not recorded on the model"
        mixed.set_weights(model.get_weights())
        _check_mixed(mixed, reference, inputs, name, float32_layers)
        mixed_config = json_round_trip(keras.saving.serialize_keras_object(mixed))
        assert keras.saving.deserialize_keras_object(mixed_config).dtype_policy.name == "mixed_float16"
    return model
