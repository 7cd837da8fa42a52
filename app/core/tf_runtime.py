"""Loading TensorFlow, Keras 2 and the TF.js converter: lazily, quietly, and narrowly.

Everything heavy is imported on first use only, so the GUI window appears before
TensorFlow loads. The converter is loaded through its Keras path alone:
``import tensorflowjs`` runs package ``__init__`` files that import the SavedModel
and JAX converters, which pull in jax, tensorflow_decision_forests (+ pandas),
tensorflow_hub — hundreds of MB the app never uses, and with ``tensorflow-cpu``
tensorflow_decision_forests even aborts the process. The desktop bundle leaves
them out, so nothing here may import them.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.util
import os
import sys
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any

# The converter modules the Keras export (save) and the Test screen (load) need; they
# import only tensorflow, tf_keras, h5py, six and numpy (+ write_weights, quantization,
# read_weights, converters.common, tf_module_mapper of the same package).
TFJS_KERAS_MODULES = (
    "tensorflowjs.version",
    "tensorflowjs.converters.keras_h5_conversion",
    "tensorflowjs.converters.keras_tfjs_loader",
)
# What the full converter package would import and the narrow path must not.
HEAVY_MODULES = ("jax", "tensorflow_decision_forests", "tensorflow_hub", "pandas", "ydf")

_TFJS_LOCK = threading.Lock()


def tf_modules() -> tuple[Any, Any]:
    """Import TensorFlow and Keras 2 (tf_keras) on first use only."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # not even "E … oneDNN … DT_HALF"
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    if "tensorflow" not in sys.modules:
        # TensorFlow's C++ start-up prints CUDA/absl noise straight to fd 2.
        with quiet_native():
            import tensorflow

            tensorflow.config.list_physical_devices()  # cuInit's complaint, when no GPU
            import tf_keras  # noqa: F401
        # TensorFlow leaves ~10^6 long-lived objects; full GC passes over them took
        # 100-300 ms in the worker and stalled the GUI thread. Exempt them for good
        # (no collect first: that would be one more such pause).
        gc.freeze()
    import tensorflow as tf
    import tf_keras

    tf.get_logger().setLevel("ERROR")  # retracing chatter is not the owner's business
    return tf, tf_keras


def compute_device() -> str:
    """Which device TensorFlow trains on: ``GPU (…)`` when one is visible, else ``CPU``.

    The container's GPU variant installs TensorFlow's CUDA build; TensorFlow then uses
    the GPU by itself, and the log says so.
    """
    tf, _ = tf_modules()
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return f"GPU ({', '.join(g.name for g in gpus)})"
    return "CPU"


@contextlib.contextmanager
def _noop() -> Iterator[None]:
    yield


def quiet_native() -> contextlib.AbstractContextManager[None]:
    """Hide what TensorFlow's native code prints straight to fd 2 (unless
    ``DUKAHUB_TRAINER_TF_VERBOSE`` is set): start-up noise, TensorFlow Lite's notices."""
    return _quiet_fd2() if not os.environ.get("DUKAHUB_TRAINER_TF_VERBOSE") else _noop()


@contextlib.contextmanager
def _quiet_fd2() -> Iterator[None]:
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tfjs() -> ModuleType:
    """The ``tensorflowjs`` package with only its Keras converter loaded.

    Offers what the app uses: ``__version__``, ``converters.save_keras_model`` and
    ``converters.load_keras_model`` — the very functions the full package exports,
    so the files written are the same. If something else already imported the full
    package, that one is returned.
    """
    with _TFJS_LOCK:
        pkg = sys.modules.get("tensorflowjs")
        conv = getattr(pkg, "converters", None)
        if pkg is not None and hasattr(conv, "save_keras_model"):
            return pkg
        tf_modules()
        with _quiet_fd2():
            pkg = _package_shell("tensorflowjs")
            conv = _package_shell("tensorflowjs.converters")
            loaded = {name: importlib.import_module(name) for name in TFJS_KERAS_MODULES}
        h5, loader = (
            loaded[f"tensorflowjs.converters.{m}"]
            for m in ("keras_h5_conversion", "keras_tfjs_loader")
        )
        pkg.__version__ = loaded["tensorflowjs.version"].version
        conv.save_keras_model = h5.save_keras_model
        conv.load_keras_model = loader.load_keras_model
        return pkg


def _package_shell(name: str) -> ModuleType:
    """Register package ``name`` in sys.modules with its real ``__path__``, unexecuted.

    Its submodules then import normally (from files, or from a PyInstaller
    bundle's archive) while its ``__init__`` — the heavy imports — never runs.
    """
    existing = sys.modules.get(name)
    if existing is not None:
        return existing
    spec = importlib.util.find_spec(name)
    if spec is None or spec.submodule_search_locations is None:
        raise ImportError(f"{name} is not installed (the TF.js converter is needed to export)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)
    return module
