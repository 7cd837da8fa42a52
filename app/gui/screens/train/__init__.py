"""Train: one button, live progress, then what the training found (:class:`TrainScreen`).

* :mod:`.screen`  — the screen: start, cancel, progress, the curve's note
* :mod:`.options` — Advanced: model size, passes, photos, file size
* :mod:`.results` — the verdict, per product, mix-ups, products to photograph
* :mod:`.chart`   — the training pass by pass
"""

from .options import DOWNLOAD_MARK, MODEL_SIZES
from .screen import TrainScreen

__all__ = ["DOWNLOAD_MARK", "MODEL_SIZES", "TrainScreen"]
