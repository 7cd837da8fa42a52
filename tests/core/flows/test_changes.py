"""The app's "what changed" banner, from an opened source: the owner's edits count, the
model on this computer that has it all says nothing."""

from __future__ import annotations

import json
from pathlib import Path

from app.core import fingerprint
from app.core.flows.changes import news_since_models
from app.core.flows.inspect import local_metadata
from app.core.flows.open_source import folder_source, open_source


def test_an_untick_after_training_is_news(isolated_home: Path, tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    for pid in ("apple", "lime", "kiwi"):
        (shop / pid).mkdir(parents=True)
        (shop / pid / "1.jpg").write_bytes(pid.encode())  # hashed, never decoded here
    source = folder_source(shop)
    opened = open_source(source)
    model = tmp_path / "model"
    model.mkdir()
    trained = fingerprint.of_catalogue(opened.trained_on)
    meta = {"catalogFingerprint": fingerprint.to_metadata(trained)}
    (model / "metadata.json").write_text(json.dumps(meta))
    assert local_metadata(model) == meta and local_metadata(tmp_path / "none") is None
    assert news_since_models(opened.trained_on, model_dir=model) == ""

    opened.store.set_product_included("kiwi", False)  # the app edits the opened store
    now = opened.with_current_edits()
    assert [p.id for p in now.catalogue.active()] == ["apple", "lime"]
    assert [p.id for p in now.trained_on.active()] == ["apple", "lime"]
    assert opened.base is now.base and opened.listed is now.listed  # not read again
    said = news_since_models(now.trained_on, model_dir=model)
    assert said.startswith("1 removed since the model on this computer"), said
    # the shop serves exactly this catalogue: no banner, whatever the local model says
    current = fingerprint.of_catalogue(now.trained_on)
    served = {"catalogFingerprint": fingerprint.to_metadata(current)}
    assert news_since_models(now.trained_on, model_dir=model, served_metadata=served) == ""


def test_counter_frames_and_empty_counter_photos_taken_since_the_model_are_news(
    isolated_home: Path, tmp_path: Path
) -> None:
    """Frames taken in the app change the model as a photo does: ``sync`` and the banner
    said "up to date" and the served model never got them. A model that does not record
    its look (trained before) is not retrained for it."""
    shop = tmp_path / "shop"
    for pid in ("apple", "lime"):
        (shop / pid).mkdir(parents=True)
        (shop / pid / "1.jpg").write_bytes(pid.encode())
    opened = open_source(folder_source(shop))
    store = opened.store
    model = tmp_path / "model"
    model.mkdir()
    trained = fingerprint.of_catalogue(opened.trained_on)
    look = fingerprint.of_look(store.counter_frames.paths(), store.not_product_photos())
    meta = {"catalogFingerprint": fingerprint.to_metadata(trained, look)}
    (model / "metadata.json").write_text(json.dumps(meta))
    assert news_since_models(opened.trained_on, model_dir=model, store=store) == ""

    frame = tmp_path / "frame.jpg"
    frame.write_bytes(b"a frame")
    store.counter_frames.add_files([frame])
    said = news_since_models(opened.trained_on, model_dir=model, store=store)
    assert said.startswith("New counter frames since the model on this computer"), said
    served = {"catalogFingerprint": fingerprint.to_metadata(trained, look)}
    said = news_since_models(opened.trained_on, served_metadata=served, store=store)
    assert said.startswith("New counter frames since the model your shop serves"), said

    store.counter_frames.clear()
    (store.root / "not-products").mkdir()
    (store.root / "not-products" / "empty-1.jpg").write_bytes(b"the empty counter")
    said = news_since_models(opened.trained_on, model_dir=model, store=store)
    assert said.startswith("New photos of the empty counter since"), said

    before = {"catalogFingerprint": fingerprint.to_metadata(trained)}  # no look recorded
    (model / "metadata.json").write_text(json.dumps(before))
    assert news_since_models(opened.trained_on, model_dir=model, store=store) == ""


def test_a_waiting_sync_never_rounds_the_age_up_to_its_limit() -> None:
    from app.core.flows.keep_current import waiting_line

    said = waiting_line("1 new product since the served model", 2.6, 3)
    assert said == (
        "1 new product since the served model; the newest change is 2 min old, "
        "so training waits until it is 3 min old."
    )
    assert "is less than a minute old" in waiting_line("1 removed", 0.4, 30)


def test_a_deletion_is_debounced_from_when_sync_first_saw_it(isolated_home: Path) -> None:
    """A deleted product leaves no change stamp: ``--debounce`` trained at once, once per
    tick of a burst of deletions."""
    import datetime as dt

    from app.core.sources import Source
    from app.core.sync import first_seen

    shop = Source.shop("https://shop.example", "fruit")
    t0 = dt.datetime(2026, 12, 7, 10, tzinfo=dt.timezone.utc)
    minutes = dt.timedelta(minutes=1)
    assert first_seen(shop, {"1": ["a"], "2": ["b"]}, t0) == t0
    assert first_seen(shop, {"2": ["b"], "1": ["a"]}, t0 + 15 * minutes) == t0  # the same
    assert first_seen(shop, {"2": ["b"]}, t0 + 20 * minutes) == t0 + 20 * minutes  # another
    other = Source.shop("https://shop.example", "veg")
    assert first_seen(other, {"2": ["b"]}, t0 + 30 * minutes) == t0 + 30 * minutes


def test_a_deletion_seen_while_the_clock_was_ahead_is_seen_again_now(
    isolated_home: Path,
) -> None:
    """``since`` recorded with the clock a year ahead: after the clock was put right the
    sync said "waiting" (exit 3, a success to systemd) for a year, and the tills kept a
    model with the deleted product."""
    import datetime as dt

    from app.core.sources import Source
    from app.core.sync import first_seen

    shop = Source.shop("https://shop.example", "fruit")
    t0 = dt.datetime(2026, 12, 7, 10, tzinfo=dt.timezone.utc)
    year = dt.timedelta(days=365)
    assert first_seen(shop, {"2": ["b"]}, t0 + year) == t0 + year  # the clock ahead
    assert first_seen(shop, {"2": ["b"]}, t0) == t0  # put right: counted from now
    assert first_seen(shop, {"2": ["b"]}, t0 + dt.timedelta(minutes=5)) == t0  # and kept
