"""Which model on this computer ``sync`` and ``status`` take as the channel's own."""

from __future__ import annotations

from pathlib import Path

from model_standins import fake_model

from app.core.sources import Source
from app.core.sync import local_metadata

LABELS = ["1", "2", "3", "4", "5"]  # the Teachable Machine export has five outputs


def test_a_model_trained_for_another_channel_id_is_not_this_channels(
    isolated_home: Path, tm_export: Path
) -> None:
    """A channel deleted and made again under its code has a new id: its old model was
    taken as current, published, refused by the plugin, and so on every sync."""
    again = Source.shop("https://shop.example", "kiosk", "10")
    fake_model(again.model_dir(), tm_export, LABELS, channelId="9")
    assert local_metadata(again) is None
    assert local_metadata(Source.shop("https://shop.example", "kiosk", "9"))["channelId"] == "9"
    fake_model(again.model_dir(), tm_export, LABELS, channelId="10")
    assert local_metadata(again)["channelId"] == "10"


def test_status_says_when_the_local_model_is_not_the_served_one() -> None:
    """After a `teach`, `status` said "up to date" of both models, as if the shop served
    the corrections."""
    from app.core import fingerprint
    from app.core.sync import CatalogueState

    fp = {"1": ["file:a"], "2": ["file:b"]}
    served = {
        "trainedAt": "2026-12-07T05:19:36Z",
        "catalogFingerprint": fingerprint.to_metadata(fp),
        "weightsSha256": "a",
    }
    local = {**served, "weightsSha256": "b", "taught": {"photos": 2, "products": {"2": 2}}}

    def state(local_meta: dict) -> CatalogueState:
        return CatalogueState(
            Source.shop("https://shop.example", "kiosk", "3"),
            fp,
            {},
            None,
            served,
            fingerprint.compare_with(fp, None, served),
            local_meta,
            fingerprint.compare_with(fp, None, local_meta),
        )

    said = state(local).describe_local()
    assert said.endswith(
        "is up to date. It is not the model your shop serves (with corrections of 1 product "
        "taught at the counter): `publish` serves it."
    ), said
    assert state(dict(served)).describe_local().endswith("is up to date.")


def test_a_model_made_at_224_pixels_is_trained_again_at_256() -> None:
    """Models this trainer made before 0.2.0 (224-pixel input) stayed "up to date" for
    ever: `sync` never retrained them, so an upgraded shop never got the larger input's
    accuracy, and nothing said so. They are out of date, with the reason; a model of
    today's size, and one that names no base (Teachable Machine's), are as before."""
    from app.core import fingerprint

    fp = {"1": ["file:a"], "2": ["file:b"]}
    meta = {"catalogFingerprint": fingerprint.to_metadata(fp)}
    older = fingerprint.compare_with(fp, None, {**meta, "baseModel": "mobilenet_v2_0.35_224"})
    assert not older.up_to_date
    assert older.summary() == (
        "a more accurate way to train (photos at 256 px, this model's at 224 px)"
    )
    now = fingerprint.compare_with(fp, None, {**meta, "baseModel": "mobilenet_v2_0.35_256"})
    assert now.up_to_date
    assert fingerprint.compare_with(fp, None, meta).up_to_date
    # corrections taught since (``teach`` keeps no photos) are not dropped for the size
    taught = {**meta, "baseModel": "mobilenet_v2_0.35_224", "taught": {"photos": 1}}
    assert fingerprint.compare_with(fp, None, taught).up_to_date
