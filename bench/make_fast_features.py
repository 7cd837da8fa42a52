"""Build the TensorFlow Lite feature model the app ships beside its base weights
(``app.core.fast_features``): MobileNetV2 0.35 at 224 with Teachable Machine's scaling
in its graph, converted from the shipped weights (about 12 s, so it is made once, here).

    python bench/make_fast_features.py   # writes resources/weights/...no_top.tflite
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.core import features, resources  # noqa: E402
from app.core.fast_features import FAST_SUFFIX, convert  # noqa: E402
from app.core.tf_runtime import tf_modules  # noqa: E402


def main() -> int:
    tf, _ = tf_modules()
    for alpha, size in features.BUNDLED_WEIGHTS:
        name = features.weights_filename(alpha, size)
        weights = resources.path(f"{resources.BASE_WEIGHTS_DIR}/{name}")
        model = features.base_model(weights, alpha, size)

        @tf.function
        def scaled(pixels, model=model):  # noqa: ANN001, ANN202
            return model(tf.cast(pixels, tf.float32) / features.TM_SCALE - 1.0, training=False)

        out = weights.with_suffix(FAST_SUFFIX)
        out.write_bytes(convert(scaled, size))
        print(f"{out}: {out.stat().st_size / 1e6:.2f} MB from {weights.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
