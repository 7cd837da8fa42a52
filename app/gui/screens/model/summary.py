"""The Model screen's words: the summary first, and how the served model compares.

All read from metadata.json, so they read the same after a restart.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from app.core.wording import (
    FEW_PHOTOS,
    NONE_WEAK,
    ago,
    format_when,
    headline,
    mixed_shop_words,
    standing_sources,
    weak_products,
)

if TYPE_CHECKING:
    from app.core.flows.open_source import Source


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


def summary_html(meta: dict, names: dict[str, str]) -> str:
    """What the owner wants to know first: what it recognises, from how many photos,
    when, how sure, which products are weak (all from metadata.json, so it reads the
    same after a restart)."""
    from app.core.flows.inspect import photo_counts

    labels = [str(x) for x in meta.get("labels", [])]
    saved = meta.get("labelNames")
    saved = saved if isinstance(saved, list) and len(saved) == len(labels) else labels
    # escaped: names are the shop's (or a hand-edited file's) text, shown as HTML here
    shown = [escape(names.get(lab) or str(saved[i])) for i, lab in enumerate(labels)]
    name_of = dict(zip(labels, shown, strict=True))
    listed = ", ".join(shown[:12]) + (f" and {len(shown) - 12} more" if len(shown) > 12 else "")
    photos = escape(str(meta.get("imageCount") or ""))
    when = ago(meta)
    lines = [
        f"<b>Recognises {len(labels)} products</b>: {listed}.",
        (f"Learned from <b>{photos} photos</b>" if photos else "Learned from your photos")
        + (f", trained <b>{when}</b> ({format_when(meta)})." if when else "."),
    ]
    if "validationAccuracy" in meta or "validation" in meta:
        lines.append(headline(meta.get("validationAccuracy"), meta.get("heldBackPhotos")).text)
        sources = standing_sources(meta.get("productStandings"))
        if meta.get("validationAccuracy") is not None and (mixed := mixed_shop_words(sources)):
            lines.append(escape(mixed))
    weak: list[str] = []
    per_product = meta.get("perProductAccuracy")
    accs = per_product if isinstance(per_product, dict) else {}
    counts = photo_counts(meta)
    # the one verdict decides which; the training's "photograph these first", the order
    first = meta.get("photographFirst")
    rank = {p: i for i, p in enumerate(first)} if isinstance(first, list) else {}
    weak_ones = weak_products(labels, accs, counts)
    for pid in sorted(weak_ones, key=lambda p: rank.get(p, len(rank))):
        acc, n = accs.get(pid), counts.get(pid)
        if n is not None and n < FEW_PHOTOS:
            weak.append(f"{name_of.get(pid, escape(pid))} ({n} photo{'s' if n != 1 else ''})")
        else:
            weak.append(f"{name_of.get(pid, escape(pid))} (recognised {100 * acc:.0f} %)")
    if weak:
        lines.append("<b>Weak</b> — add photos taken at the counter: " + ", ".join(weak[:10]))
    elif counts or isinstance(per_product, dict):
        lines.append(NONE_WEAK)
    return "<br>".join(lines)


def no_server_text(source: Source | None) -> str:
    """The "Publishing" box without a shop login: what fits the sample shop or a folder."""
    if source is not None and source.is_sample_shop:
        first = "This is the sample shop: it has no shop server to check."  # a folder may serve it
    else:
        first = "Training from a local folder: there is no shop server to check."
    return (
        f"{first} Publishing to a shop needs a shop login (Log in screen); publishing to "
        "a folder your shop serves, or saving a copy of the three files, is available on "
        "the Publish screen."
    )
