"""The model-file backends: one `ModelEmbedder` per format, picked from the file.

================================  =============================================
``*.keras``                       Keras (compiled `tf.function`, not ``predict``)
SavedModel directory              TensorFlow ``serving_default`` signature
``*.onnx``                        onnxruntime (CPU, CUDA or TensorRT providers)
``*.tflite``                      ai-edge-litert interpreter (XNNPACK on CPU)
``*.engine`` / ``*.plan``         TensorRT (needs a GPU and ``tensorrt``)
================================  =============================================

Every backend receives the same uint8 batch (crops resized by
`mlfn_keras.preprocessing.resize_crops`, bilinear) so embeddings agree across
backends within the export's parity bound. Each imports its framework only
when a file of its format is opened. Users open files through
:func:`mlfn_keras.runtime.load_embedder`, which also takes ``hist``,
``untrained[:PRESET]`` and fusions.
"""

from __future__ import annotations

import abc
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mlfn_keras.errors import UserError
from mlfn_keras.preprocessing import resize_crops, to_uint8
from mlfn_keras.runtime.contract import Embedder
from mlfn_keras.runtime.metadata import ExportMetadata
from mlfn_keras.vectors import l2_normalize


class ModelFormatError(UserError, ValueError):
    """A file no backend reads (a `ValueError` too)."""


_PROVIDER_ALIASES = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider",
}


class ModelEmbedder(Embedder):
    """Embeds person crops with one exported (or Keras) MLFN model.

    Call it with a list of uint8 RGB crops of any size, or an array
    ``(B, h, w, 3)``; it resizes them to the model's contract, runs them in
    batches of ``batch_size`` and returns float32 ``(B, d)`` embeddings with
    unit L2 norm (compare them with a dot product or L2 distance).

    Attributes:
        backend: ``"keras"``, ``"saved_model"``, ``"onnx"``, ``"tflite"`` or
            ``"tensorrt"``.
        metadata: the `ExportMetadata` read from the file.
        batch_size: crops per inference call.
    """

    backend: str = ""

    def __init__(self, metadata: ExportMetadata, batch_size: int = 32):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1; received {batch_size}.")
        self.metadata = metadata
        self.batch_size = int(batch_size)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(H, W, 3)`` the model takes; crops are resized to it."""
        return tuple(self.metadata.image_shape)

    @property
    def embedding_dim(self) -> int:
        """d, the size of the returned embeddings."""
        return int(self.metadata.embedding_dim)

    def prepare(self, crops: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """Resizes crops to one uint8 ``(B, H, W, 3)`` batch of the contract.

        Raises:
            ValueError: if a crop is not an RGB ``(h, w, 3)`` image.
        """
        height, width, _ = self.image_shape
        if isinstance(crops, np.ndarray):
            if crops.ndim == 3:
                crops = crops[None]
            if crops.ndim != 4 or crops.shape[-1] != 3:
                raise ValueError(
                    "Expected crops as a list of (h, w, 3) RGB images or an array "
                    f"(B, h, w, 3); received an array of shape {crops.shape}."
                )
            if crops.dtype == np.uint8 and crops.shape[1:3] == (height, width):
                return np.ascontiguousarray(crops)
        if len(crops) == 0:
            return np.zeros((0, height, width, 3), np.uint8)
        return to_uint8(resize_crops(crops, (height, width)))

    def raw_embeddings(self, crops: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """Embeddings R exactly as the model outputs them (not normalised)."""
        batch = self.prepare(crops)
        if len(batch) == 0:
            return np.zeros((0, self.embedding_dim), np.float32)
        outputs = [
            np.asarray(self._run(batch[start : start + self.batch_size]), dtype=np.float32)
            for start in range(0, len(batch), self.batch_size)
        ]
        result = np.concatenate(outputs, axis=0)
        if result.shape != (len(batch), self.embedding_dim):
            raise RuntimeError(
                f"The {self.backend} model returned embeddings of shape {result.shape}; "
                f"expected {(len(batch), self.embedding_dim)} from its metadata."
            )
        return result

    def __call__(self, crops: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """L2-normalised float32 embeddings ``(B, d)`` of the crops."""
        return l2_normalize(self.raw_embeddings(crops))

    @abc.abstractmethod
    def _run(self, batch: np.ndarray) -> np.ndarray:
        """Runs one uint8 ``(b, H, W, 3)`` batch; returns raw ``(b, d)``."""

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(backend={self.backend!r}, preset={self.metadata.preset!r}, "
            f"image_shape={self.image_shape}, embedding_dim={self.embedding_dim}, "
            f"precision={self.metadata.precision!r})"
        )


def _configure_tf_threads(num_threads: int | None) -> None:
    if num_threads is None:
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(num_threads))
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        # TF fixes its thread pools at first use; say so rather than lie.
        current = tf.config.threading.get_intra_op_parallelism_threads()
        if current != num_threads:
            warnings.warn(
                f"num_threads={num_threads} ignored: TensorFlow was already initialised "
                f"with intra-op threads={current}. Load the embedder before running "
                "any TensorFlow op to set it.",
                stacklevel=3,
            )


class KerasEmbedder(ModelEmbedder):
    """A ``.keras`` MLFN backbone run through a compiled `tf.function`.

    ``model.predict`` costs ~100 ms of per-call overhead at batch 1 on CPU; the
    serving `tf.function` (the same one the exporters trace) does not, and
    frozen (`mlfn_keras.runtime.serving.inference_function`) its BatchNorms
    fold into the convolutions.
    """

    backend = "keras"

    def __init__(self, path: str | Path | None = None, model=None, num_threads=None, batch_size=32):
        from mlfn_keras.runtime.metadata import metadata_from_model, sha256_file
        from mlfn_keras.runtime.serving import inference_function, load_keras_backbone

        _configure_tf_threads(num_threads)
        if model is None:
            model, metadata = load_keras_backbone(path)
        else:
            metadata = metadata_from_model(model, source=None if path is None else str(path))
            if path is not None:
                metadata.source_sha256 = sha256_file(path)
        super().__init__(metadata.replace(format="keras"), batch_size)
        self.model = model
        self._serve = inference_function(model, self.metadata)

    def _run(self, batch):
        return self._serve(batch)["embedding"].numpy()


class SavedModelEmbedder(ModelEmbedder):
    """A SavedModel directory's ``serving_default`` signature."""

    backend = "saved_model"

    def __init__(self, path, num_threads=None, batch_size=32):
        import tensorflow as tf

        from mlfn_keras.runtime.formats import read_saved_model_metadata

        _configure_tf_threads(num_threads)
        super().__init__(read_saved_model_metadata(path), batch_size)
        self._loaded = tf.saved_model.load(str(path))
        self._signature = self._loaded.signatures["serving_default"]

    def _run(self, batch):
        return self._signature(images=batch)["embedding"].numpy()


def _resolve_providers(providers) -> list:
    import onnxruntime as ort

    available = ort.get_available_providers()
    if providers is None:
        # TensorRT provider builds engines on first run (minutes): opt-in only.
        preferred = ["CUDAExecutionProvider", "CPUExecutionProvider"]
        return [p for p in preferred if p in available] or available
    resolved = []
    for provider in providers:
        name = provider[0] if isinstance(provider, tuple) else provider
        full = _PROVIDER_ALIASES.get(str(name).lower(), name)
        if full not in available:
            raise ValueError(
                f"onnxruntime provider {name!r} is not available here; available: {available}."
            )
        resolved.append((full, provider[1]) if isinstance(provider, tuple) else full)
    return resolved


class OnnxEmbedder(ModelEmbedder):
    """An ONNX file in onnxruntime with all graph optimisations on."""

    backend = "onnx"

    def __init__(self, path, providers=None, num_threads=None, batch_size=32):
        import onnxruntime as ort

        from mlfn_keras.runtime.formats import read_onnx_metadata

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.inter_op_num_threads = 1
        if num_threads is not None:
            options.intra_op_num_threads = int(num_threads)
        self.session = ort.InferenceSession(
            str(path), sess_options=options, providers=_resolve_providers(providers)
        )
        super().__init__(read_onnx_metadata(self.session), batch_size)
        self._input = self.session.get_inputs()[0].name
        self._outputs = ["embedding"]

    @property
    def providers(self) -> list[str]:
        return self.session.get_providers()

    def _run(self, batch):
        return self.session.run(self._outputs, {self._input: batch})[0]


class TFLiteEmbedder(ModelEmbedder):
    """A ``.tflite`` file in ai-edge-litert's interpreter (XNNPACK on CPU)."""

    backend = "tflite"

    def __init__(self, path, num_threads=None, batch_size=32):
        from ai_edge_litert.interpreter import Interpreter

        from mlfn_keras.runtime.formats import read_tflite_metadata

        super().__init__(read_tflite_metadata(path), batch_size)
        from mlfn_keras.console import quiet_native_start

        # The default op resolver applies the XNNPACK delegate on CPU (and announces it once, on stderr).
        with quiet_native_start():
            self.interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
            self.interpreter.allocate_tensors()  # applies the delegate now, inside the quiet block
            self._runner = self.interpreter.get_signature_runner()

    def _run(self, batch):
        return self._runner(images=batch)["embedding"]


class TensorRTEmbedder(ModelEmbedder):
    """A serialised TensorRT engine (needs a CUDA GPU, ``tensorrt`` and torch)."""

    backend = "tensorrt"

    def __init__(self, path, batch_size=32, **_):
        from mlfn_keras.runtime.formats import read_engine_metadata, require_tensorrt

        trt = require_tensorrt()
        import torch

        metadata = read_engine_metadata(path)
        logger = trt.Logger(trt.Logger.WARNING)
        with open(path, "rb") as handle:
            self.engine = trt.Runtime(logger).deserialize_cuda_engine(handle.read())
        if self.engine is None:
            raise RuntimeError(f"TensorRT could not deserialise {path} on this GPU/version.")
        max_batch = int(self.engine.get_tensor_profile_shape("images", 0)[2][0])
        super().__init__(metadata, min(batch_size, max_batch))
        self.context = self.engine.create_execution_context()
        self._torch = torch
        self._stream = torch.cuda.Stream()

    def _run(self, batch):
        torch = self._torch
        images = torch.from_numpy(batch).cuda()
        self.context.set_input_shape("images", tuple(batch.shape))
        output = torch.empty((len(batch), self.embedding_dim), dtype=torch.float32, device="cuda")
        self.context.set_tensor_address("images", images.data_ptr())
        self.context.set_tensor_address("embedding", output.data_ptr())
        for i in range(self.engine.num_io_tensors):
            name = self.engine.get_tensor_name(i)
            if name not in ("images", "embedding"):
                extra = torch.empty(
                    tuple(self.context.get_tensor_shape(name)), dtype=torch.float32, device="cuda"
                )
                self.context.set_tensor_address(name, extra.data_ptr())
        self.context.execute_async_v3(self._stream.cuda_stream)
        self._stream.synchronize()
        return output.cpu().numpy()


def open_model_file(
    path: str | os.PathLike,
    providers: Sequence[str] | None = None,
    num_threads: int | None = None,
    batch_size: int = 32,
) -> Embedder:
    """Opens an existing MLFN model file, picking the backend from the file (see the module docstring).

    Callers name embedders through :func:`mlfn_keras.runtime.load_embedder`,
    which checks that the file exists (one check, one message) and calls this.

    Args:
        path: a ``.keras`` file, a SavedModel directory, a ``.onnx``,
            ``.tflite`` or TensorRT ``.engine`` / ``.plan`` file.
        providers, num_threads, batch_size: as for `load_embedder`.

    Returns:
        A `ModelEmbedder`.

    Raises:
        ModelFormatError: if the file type is not one of the above (a `ValueError` too).
        ValueError: ``providers`` for a file that is not ``.onnx``.
        DamagedFileError: (a `UserError`) if the file is empty, damaged or not
            the format its name says; the message names it and what it should be.
    """
    from mlfn_keras.modelfile import model_file_errors

    path = Path(path)
    if providers is not None and path.suffix != ".onnx":
        raise ValueError(f"providers apply to .onnx files only; received them for {path}.")
    if path.is_dir():
        if not (path / "saved_model.pb").exists():
            raise ModelFormatError(
                f"{path} is a directory without saved_model.pb; expected a SavedModel "
                "directory written by export/to_saved_model.py."
            )
        with model_file_errors(path, "saved_model"):  # damaged files: one line naming the file
            return SavedModelEmbedder(path, num_threads=num_threads, batch_size=batch_size)
    suffix = path.suffix.lower()
    if suffix == ".keras":
        return KerasEmbedder(path, num_threads=num_threads, batch_size=batch_size)
    if suffix == ".onnx":
        _resolve_providers(providers)  # a wrong provider is not a damaged file
        with model_file_errors(path, "onnx"):
            return OnnxEmbedder(path, providers=providers, num_threads=num_threads, batch_size=batch_size)
    if suffix == ".tflite":
        with model_file_errors(path, "tflite"):
            return TFLiteEmbedder(path, num_threads=num_threads, batch_size=batch_size)
    if suffix in (".engine", ".plan", ".trt"):
        with model_file_errors(path, "tensorrt"):
            return TensorRTEmbedder(path, batch_size=batch_size)
    raise ModelFormatError(
        f"Cannot tell the backend of {path}: expected a .keras, .onnx, .tflite, "
        ".engine/.plan file or a SavedModel directory."
    )
