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
