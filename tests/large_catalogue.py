"""A supermarket's catalogue on the test Vendure, and a model for it without a training.

For the scale tests and ``bench/sync_noop.py``: the served model of a 5,000-product
channel is a real export (the real converter, validator and atomic swap) of an
untrained head with every product as a label, so its weights.bin has the size of a
real one (27 MB at 5,000), its metadata as much per product as a training writes
(accuracy and standing), and its catalogue fingerprint is the channel's as ``sync``
computes it, so a sync of the unchanged channel has nothing to do.
"""

from __future__ import annotations

from pathlib import Path

from app.core import fingerprint
from app.core.export import export_model
from app.core.shop import ShopClient

# A 5,000-product model's weights.bin is 27 MB: over the test server's usual caps.
LARGE_UPLOADS = {
    "ML_MODEL_MAX_WEIGHTS_BYTES": str(64 * 1024 * 1024),
    "VENDURE_UPLOAD_MAX_BYTES": str(64 * 1024 * 1024),
}


def untrained_export(client: ShopClient, base_weights: Path, out: Path) -> Path:
    """The channel's model, exported from an untrained head (see above)."""
    from app.core.head import build_head
    from app.core.model import TrainedModel, TrainOptions, TrainResult
    from app.core.photo_advice import ProductStanding
    from app.core.sync import catalogue_state

    state = catalogue_state(client)
    labels = sorted(state.current, key=int)
    result = TrainResult(
        labels=labels,
        names={p: state.product_names[p] for p in labels},
        val_accuracy=None,
        per_product=dict.fromkeys(labels, 0.5),
        confusions=[],
        history=[],
        needs_more_photos=[],
        image_count=sum(len(v) for v in state.current.values()),
        product_count=len(labels),
        duration_s=0.0,
        validation="none (an untrained head: a model of the right size, not a training)",
        standings=[ProductStanding(p, "catalogue", 0, 0.61, False, 0.123, 0.5) for p in labels],
    )
    options = TrainOptions(base_weights=base_weights)
    head = build_head(1280, len(labels))
    model = TrainedModel(head, base_weights, options, result, client.require_channel().id)
    return export_model(
        model,
        out,
        extra_metadata={fingerprint.METADATA_KEY: fingerprint.to_metadata(state.current)},
    )
