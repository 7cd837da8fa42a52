"""The feature model as a TensorFlow Lite file, run by its XNNPACK CPU kernels.

On two cores it computes a photo's features in 1.35 ms where TensorFlow's graph takes
2.6 ms, and features are most of a training's work (6,000 photo variations at 1,000
products). Converting takes about 12 s, so only the base weights the app ships have a
fast file, shipped beside them (``bench/make_fast_features.py`` makes it; a test checks
it against the Keras model); other weights use TensorFlow's graph.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .tf_runtime import quiet_native, tf_modules

FAST_SUFFIX = ".tflite"


def convert(features_of: Any, size: int) -> bytes:
    """A TensorFlow Lite file of ``features_of`` (a ``tf.function`` of uint8 photos,
    (None, size, size, 3), scaling in its graph): what :func:`lite_features` runs."""
    tf, _ = tf_modules()
    spec = tf.TensorSpec([None, size, size, 3], tf.uint8)
    with quiet_native():
        return tf.lite.TFLiteConverter.from_concrete_functions(
            [features_of.get_concrete_function(spec)]
        ).convert()


def lite_features(model_file: Path, threads: int) -> tuple[Callable[[np.ndarray], np.ndarray], int]:
    """Features (n, dim) float32 of uint8 photos (n, size, size, 3) by the file's
    interpreter, and ``dim``. One interpreter is not safe across threads: calls take
    turns."""
    tf, _ = tf_modules()
    with warnings.catch_warnings(), quiet_native():
        # "tf.lite.Interpreter is deprecated" (for ai-edge-litert): it is in the pinned
        # TensorFlow 2.19 and works; the notice is not the owner's business
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_path=str(model_file), num_threads=threads)
    source = interpreter.get_input_details()[0]["index"]
    sink = interpreter.get_output_details()[0]["index"]
    lock = threading.Lock()
    shape: list[int] = []

    def run(images: np.ndarray) -> np.ndarray:
        with lock:
            if shape != list(images.shape):
                interpreter.resize_tensor_input(source, list(images.shape))
                with quiet_native():  # "Created TensorFlow Lite XNNPACK delegate"
                    interpreter.allocate_tensors()
                shape[:] = images.shape
            interpreter.set_tensor(source, np.ascontiguousarray(images))
            interpreter.invoke()
            return np.array(interpreter.get_tensor(sink), dtype=np.float32)

    return run, int(interpreter.get_output_details()[0]["shape"][-1])
