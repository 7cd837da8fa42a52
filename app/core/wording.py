"""The owner's words for training results, shared by the Train and Model screens.

A percentage alone overstates: "100 %" from four held-back photos says little. So the
headline names the count ("Recognised 23 of 25 held-back photos (92 %)"), adds the
range a new photo's chance plausibly lies in, and says plainly when there were too
few photos to judge at all. Plain Python: no Qt.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .names import one_line
from .timestamps import age_words, parse_utc

WEAK_BELOW = 0.8  # a product recognised less often than this needs counter photos
FEW_PHOTOS = 3  # a product with fewer photos than this needs more, whatever it scored
MIN_TO_JUDGE = 10  # fewer held-back photos than this cannot tell a good model from a lucky one


@dataclass(frozen=True)
class Headline:
    text: str  # rich text for a label
    kind: str  # "judged" | "too-few" | "unmeasured"
    hits: int | None = None
    held: int | None = None


def is_weak(accuracy: float | None, photos: int | None = None) -> bool:
    """The one verdict "needs more photos", for the Train and Model screens and the CLI:
    recognised less often than ``WEAK_BELOW`` on held-back photos, or fewer than
    ``FEW_PHOTOS`` photos. Unmeasured accuracy (None) alone is not weak."""
    if photos is not None and photos < FEW_PHOTOS:
        return True
    return accuracy is not None and accuracy < WEAK_BELOW


def weak_products(
    labels: list[str], per_product: dict, counts: dict[str, int] | None = None
) -> list[str]:
    """The products (in ``labels`` order) that need more photos, by :func:`is_weak`."""
    counts = counts or {}
    out = []
    for p in labels:
        acc = per_product.get(p) if isinstance(per_product, dict) else None
        acc = acc if isinstance(acc, (int, float)) else None
        if is_weak(acc, counts.get(p)):
            out.append(p)
    return out


def breakable(text: str, run: int = 16) -> str:
    """``text`` with a zero-width space every ``run`` characters of a word longer than
    that, so a wrapping label can break it: one long product name with no spaces
    (``Organic_Fairtrade_Cavendish_…``) made the window wider than the screen."""
    return " ".join(
        "\u200b".join(word[i : i + run] for i in range(0, len(word), run))
        if len(word) > run
        else word
        for word in text.split(" ")
    )


def upper_first(text: str) -> str:
    """A sentence made of a summary ("1 new product, …"): its first letter upper case."""
    return text[:1].upper() + text[1:]


NONE_WEAK = "No product stands out as weak."


def weak_line(weak: list[str], names: dict[str, str], most: int = 8) -> str:
    """The verdict as one plain line (the CLI's words; the screens add links and reasons)."""
    if not weak:
        return NONE_WEAK
    shown = ", ".join(names.get(p, p) for p in weak[:most])
    return f"Weak — add photos of: {shown}" + (" …" if len(weak) > most else ".")


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % range of the true recognition rate given ``hits`` of ``n`` (Wilson score)."""
    if n <= 0:
        return 0.0, 1.0
    p = hits / n
    d = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / d
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, centre - half), min(1.0, centre + half)


def headline(accuracy: float | None, held_back: int | None) -> Headline:
    """What the owner reads first after training (and on the Model screen).

    ``held_back``: how many photos the accuracy was measured on (``heldBackPhotos`` in
    metadata.json); None for models that did not record it.
    """
    if accuracy is None:
        return Headline(
            "Trained, but <b>not enough photos to judge</b> how well it recognises your "
            "products: every product needs at least two photos so one can be held back "
            "to test on.",
            "unmeasured",
        )
    n = held_back
    if n is None or n <= 0:  # an older model that recorded only the percentage
        return Headline(
            f"Recognised <b>{100 * accuracy:.0f} %</b> of the photos held back from training.",
            "judged",
        )
    hits = round(accuracy * n)
    if n < MIN_TO_JUDGE:
        return Headline(
            f"<b>Not enough photos to judge yet</b>: it recognised {hits} of {n} held-back "
            f"photos, too few to tell. A few more photos per product give a reliable figure.",
            "too-few",
            hits,
            n,
        )
    lo, hi = wilson(hits, n)
    # "near the low end": the range is the count's uncertainty only, and photos taken on
    # other days than the ones trained on scored 6-14 points under the held-back figure,
    # at or under the range's low end in most seeds (both domains, ``bench/claims.py``)
    return Headline(
        f"Recognised <b>{hits} of {n}</b> held-back photos (<b>{100 * accuracy:.0f} %</b>) — "
        f"on new photos, likely between {100 * lo:.0f} % and {100 * hi:.0f} %, most often "
        "near the low end.",
        "judged",
        hits,
        n,
    )


def plain_error(reason: str) -> str:
    """An unreadable photo in the owner's words; the decoder's own words go to a tooltip.

    For a reason given as text alone (the Products screen's list); a
    :class:`~app.core.dataset.SkippedPhoto` carries these words as ``plain``.
    """
    from .photo_check import OWNER_READABLE_REASONS, decoder_words  # numpy: not at start-up

    if reason.startswith(OWNER_READABLE_REASONS):  # the photo check's own words
        return reason
    return decoder_words(reason)


# -- what an owner chooses a model by: served versions and earlier local models alike --
FACT_HEADERS = ["Trained", "Products", "Photos", "Held back"]


def trained_at(meta: dict | None) -> datetime | None:
    """When a model was trained (UTC): ours write trainedAt, Teachable Machine timeStamp."""
    if not meta:
        return None
    return parse_utc(meta.get("trainedAt") or meta.get("timeStamp"))


def ago(meta: dict | None, now: datetime | None = None) -> str:
    """ "2 days ago", "3 hours ago", "just now" since the model's training ("" unknown)."""
    t = trained_at(meta)
    return "" if t is None else age_words(t, now)


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def month_abbr(month: int) -> str:
    """ "Dec" for 12, in English whatever the computer's language: ``%b`` follows the C
    library's locale, which Qt sets to the system's, so the app wrote "07 Dez 2026"
    inside English sentences, and an Arabic month name reordered the whole date."""
    return _MONTHS[month - 1]


def local_time(t: datetime, seconds: bool = False) -> str:
    """``t`` in the computer's own time zone, "27 Nov 2026, 10:00" (with ``seconds``,
    "10:00:42"), the month as :func:`month_abbr` writes it."""
    local = t.astimezone()
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    return f"{local.day:02d} {month_abbr(local.month)} {local.year}, {clock}"


def format_when(meta: dict | None, seconds: bool = False) -> str:
    """The training time in the computer's own time zone (:func:`local_time`; with
    ``seconds``: two trainings a minute apart read the same without)."""
    t = trained_at(meta)
    return "unknown time" if t is None else local_time(t, seconds)


def held_back_text(meta: dict) -> str:
    """“92 % (11 of 12)”: how the model did on photos held back from its training."""
    acc = meta.get("validationAccuracy")
    if not isinstance(acc, (int, float)) or isinstance(acc, bool):
        return "not measured"
    n = meta.get("heldBackPhotos")
    if isinstance(n, int) and not isinstance(n, bool) and n > 0:
        return f"{100 * acc:.0f} % ({round(acc * n)} of {n})"
    return f"{100 * acc:.0f} %"


def model_facts(meta: dict, seconds: bool = False) -> list[str]:
    """The :data:`FACT_HEADERS` cells of one model from its metadata.json: the Publish
    screen's versions and the Model screen's earlier local models read the same."""
    labels = meta.get("labels")
    products = meta.get("productCount", len(labels) if isinstance(labels, list) else None)
    photos = meta.get("imageCount")
    return [
        format_when(meta, seconds),
        "?" if products is None else str(products),
        "?" if photos is None else str(photos),
        held_back_text(meta),
    ]


def describe_model(meta: dict | None, seconds: bool = False) -> str:
    """“the model trained 27 Nov 2026, 10:00 (5 products; 1 product taught at the
    counter since)”: what a question names (the taught count inside the brackets: after
    them, "… since again as the local model" read badly)."""
    if not meta:
        return "nothing"
    labels = meta.get("labels")
    n = meta.get("productCount", len(labels) if isinstance(labels, list) else "?")
    k = taught_products(meta)
    taught = f"; {count_words(k, 'product')} taught at the counter since" if k else ""
    return f"the model trained {format_when(meta, seconds)} ({n} products{taught})"


def two_models(a: dict | None, b: dict | None) -> tuple[str, str]:
    """Two models as a question names them, to the second where their minutes are the
    same ("Use the model trained …, 02:37 again, instead of the model trained …, 02:37?")."""
    same = describe_model(a) == describe_model(b) or format_when(a) == format_when(b)
    return describe_model(a, same), describe_model(b, same)


def taught_products(meta: dict) -> int:
    """How many products were taught at the counter (the Test screen, ``teach``) since
    the model's full training: its metadata's ``taught`` record."""
    taught = meta.get("taught")
    products = taught.get("products") if isinstance(taught, dict) else None
    return len(products) if isinstance(products, dict) else 0


# -- photos from the till (issue 18) ----------------------------------------------------
def some_names(names: Sequence[str], most: int = 3, sep: str = ", ") -> str:
    """ "a, b, c …": a few of ``names``, and whether there are more."""
    return sep.join(names[:most]) + (" …" if len(names) > most else "")


def count_words(n: int, thing: str) -> str:
    """ "1 photo", "3 photos"."""
    return f"{n} {thing}{'' if n == 1 else 's'}"


def period_words(days: int | None) -> str:
    """How the Model screen names the span of the till's statistics (this computer's days)."""
    if days is None:
        return "since the till began sending photos"
    return {1: "today", 7: "this week"}.get(days, f"in the last {days} days")


def till_accuracy_text(right: int, sales: int, period: str, which: str = "the served model") -> str:
    """ "The served model was right on 412 of 480 sales this week, 86 %." — from the
    cashiers' choices at the till; too few sales are said to be too few."""
    if sales <= 0:
        return upper_first(f"{which} has no sales from the till {period}.")
    text = f"{which} was right on {right} of {count_words(sales, 'sale')} {period}"
    if sales < MIN_TO_JUDGE:
        return upper_first(f"{text}: too few to judge yet.")
    return upper_first(f"{text}, {100 * right / sales:.0f} %.")


def till_pending_text(n: int) -> str:
    """The Products screen's line: "37 new photos from the till to review"."""
    if n <= 0:
        return "No new photos from the till to review."
    return f"{count_words(n, 'new photo')} from the till to review."


def unreadable_files(bad: int, total: int) -> str:
    """The Test screen's line when photos it was given cannot be read ("1 of 1 files"
    read oddly for a single photo)."""
    if total == 1:
        return "The file could not be read (its row says why)."
    return f"{bad} of {total} files could not be read (their rows say why)."


def never_sure(target: str) -> str:
    """Why the till always asks (``acceptThreshold`` above any probability): the CLI's
    and the Train screen's words, ``target`` as each writes a percentage."""
    return (
        "The till always asks the cashier: on the held-back photos no level of confidence "
        f"was right {target} of the time and also safe from products it does not know."
    )


def nested_line(product: str, subs: list[str]) -> str:
    """A product whose photos all sit in sub-folders, said where the owner looks."""
    return (
        f"{product}: its photos are in {len(subs)} sub-folders ({some_names(subs, 4)}), "
        f"trained as one product — if each is a product, open {product} itself as the "
        "photo folder"
    )


def orphaned_line(product: str, photos: int, folder: Path | str) -> str:
    """Photos the owner added of a product the catalogue no longer has, said where the
    owner looks: they were kept, never trained and never mentioned (a data-loss audit)."""
    what = "photo you added is" if photos == 1 else "photos you added are"
    return (
        f"{photos} {what} not used: product {product} is no longer in the catalogue "
        f"(deleted, renamed or given a new id); they stay in {folder}"
    )


def percent(p: float) -> str:
    """86 %; 99.9 % rather than a rounded 100 % that is not quite reached."""
    text = f"{100 * p:.0f}"
    if text == "100" and p < 1.0:
        text = f"{min(99.9, 100 * p):.1f}"
    return f"{text} %"


def mixed_shop_words(sources: list[tuple[str, float | None]]) -> str:
    """In a mixed shop, what the held-back figure covers and what the products with only
    their catalogue photo may expect (``sources``: each product's ``trained_from`` and
    ``expected``, as ``productStandings`` keeps them); "" in any other shop. The figure
    is measured on the products with counter photos only: shown alone, an owner read a
    whole shop at about 70 % that was right on about 42 % of its photos (an audit of
    the figures shown, fruit mixed shop). The check of the catalogue-only products came
    out about 11 points above what new photos gave, hence "usually less"."""
    counter = sum(1 for kind, _ in sources if kind == "counter")
    only = [e for kind, e in sources if kind == "catalogue"]
    if not counter or not only:
        return ""
    measured = [e for e in only if e is not None]
    about = (
        f"about {percent(measured[0])} in a check where products with counter photos "
        "pretended to have none, and usually less"
        if measured
        else "not measured"
    )
    return (
        f"That figure is for the {counter} products with counter photos. The {len(only)} "
        f"with only their catalogue photo: {about} — add 2–3 counter photos of each."
    )


def standing_sources(kept: object) -> list[tuple[str, float | None]]:
    """``productStandings`` of a metadata.json (a hand-edited one too) as
    :func:`mixed_shop_words` reads them: each product's source and expected share."""
    out: list[tuple[str, float | None]] = []
    for s in kept.values() if isinstance(kept, dict) else []:
        if isinstance(s, dict):
            e = s.get("expected")
            ok = isinstance(e, (int, float)) and not isinstance(e, bool) and 0 <= e <= 1
            out.append((str(s.get("from")), float(e) if ok else None))
    return out


def percent_beside(p: float, threshold: float) -> str:
    """``p`` as a percentage that never reads like the threshold when it is below it:
    96.9 % (not sure), not 97 % beside "adds by itself at 97 % or more"."""
    if p < threshold and percent(p) == percent(threshold):
        return f"{math.floor(1000 * p) / 10:.1f} %"
    return percent(p)


def share_beside(p: float, threshold: float) -> str:
    """``p`` to three decimals as ``predict`` prints it, never reading as the accept
    threshold (:func:`threshold_words`) or more while below it: 0.969, not 0.970."""
    text = f"{p:.3f}"
    if p < threshold and float(text) >= math.ceil(1000 * threshold) / 1000:
        text = f"{math.floor(1000 * p) / 1000:.3f}"
    return text


def threshold_words(threshold: float) -> str:
    """ "accept at 0.970" (rounded up, as :func:`share_beside` reads against it), or
    that the till never adds by itself when no probability reaches the threshold."""
    if threshold > 1.0:
        return "the till never adds by itself"
    return f"accept at {math.ceil(1000 * threshold) / 1000:.3f}"


def compare_published(local: dict, published: dict | None) -> tuple[str, str]:
    """(message, banner kind) saying whether the local model is the served one, newer or
    older. Our exports name their weights' hash: by trained time and products alone, a
    model taught at the counter since it was published read "the one currently
    published"."""
    from .model_format import WEIGHTS_SHA256

    if published is None:
        return "No model is published for this channel yet.", "info"
    lt, pt = trained_at(local), trained_at(published)
    ours, theirs = local.get(WEIGHTS_SHA256), published.get(WEIGHTS_SHA256)
    if ours and theirs:
        if ours == theirs:
            return "This model is the one currently published.", "ok"
        if lt is not None and lt == pt:
            return (
                "This model and the published one come from the same training, but differ: "
                "corrections taught at the counter since are not in both.",
                "info",
            )
    same_labels = list(local.get("labels", [])) == list(published.get("labels", []))
    if lt is not None and lt == pt and same_labels and not (ours and theirs):
        return "This model is the one currently published.", "ok"
    if lt is not None and pt is not None:
        if lt > pt:
            return "This model is newer than the published one.", "info"
        if lt < pt:
            return "The published model is newer than this one.", "warn"
    return "This model differs from the published one.", "info"


def renamed_channel(earlier: str, now: str) -> str:
    """What moved when a channel's code changed on the server (``channel_renames``);
    "" when it did not."""
    if not earlier:
        return ""
    return (
        f"Channel “{now}” was called “{earlier}” before: the photos you added, your ticks, "
        "counter photos and the model on this computer moved with it."
    )


def file_shown(path: object) -> str:
    """A file or path as a printed line names it: on one line of text, whatever its
    name holds (a newline made a second ``Error:`` line of a photo's name)."""
    return one_line(str(path))
