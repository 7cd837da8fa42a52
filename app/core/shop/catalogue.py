"""A channel's products: the cheap listing, and the download into the local image cache.

:func:`list_catalogue` pages through the products without reading any image: ids,
names, photo identities (``asset:<id>:file-<digest>``) and change stamps, enough for
``sync``/``status`` to tell whether anything changed. :func:`fetch_catalogue` builds on
the very same listing and then downloads the photos it does not have yet (one photo's
download: :mod:`.photos`).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from .. import paths
from ..catalogue import FROM_SHOP, Catalogue, ImageRef, Product
from ..errors import InputRefused, ServerUnreachable, ShopError
from ..names import readable_name
from ..progress import Phase, ProgressHook, Reporter, check_cancel
from ..timestamps import parse_utc
from .graphql import PRODUCT_IDS, PRODUCT_NAMES, PRODUCTS, VARIANT_PHOTOS
from .photos import ListedAsset, cached_image, image_session
from .transport import ShopClient


@dataclass(frozen=True, slots=True)
class ListedProduct:
    id: str
    name: str
    assets: tuple[ListedAsset, ...]  # images only, featured first, each asset once
    updated_at: str  # the newest change stamp of the product and its photos (ISO 8601)
    others: tuple[str, ...] = ()  # the media types of its assets that are not images

    @property
    def display_name(self) -> str:
        return readable_name(self.name, self.id)

    @property
    def photo_keys(self) -> list[str]:
        return [a.key for a in self.assets]


@dataclass(frozen=True)
class CatalogueListing:
    channel_id: str
    products: list[ListedProduct]  # the ones enabled in the shop: the others are not sold
    disabled: list[tuple[str, str]] = field(default_factory=list)  # (id, name)

    @property
    def newest_update(self) -> str:
        """The newest change stamp in the channel ("" for an empty channel)."""
        return max((p.updated_at for p in self.products), key=_instant, default="")


@dataclass(frozen=True)
class PhotoFailure:
    """A photo that could not be used, naming its product for the owner."""

    product_id: str
    product_name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.product_name}: {self.reason}"


@dataclass
class FetchStats:
    """What one :func:`fetch_catalogue` did, for messages and tests."""

    products: int = 0
    images: int = 0  # image references; a photo shared by products counts for each
    downloaded: int = 0  # distinct assets fetched over HTTP
    cached: int = 0  # distinct assets reused from the image cache without a request
    failed: list[PhotoFailure] = field(default_factory=list)


@dataclass(frozen=True)
class FetchResult:
    catalogue: Catalogue
    stats: FetchStats
    listing: CatalogueListing  # every listed photo, downloaded or not (for fingerprints)


def _instant(stamp: str) -> dt.datetime:
    """For ordering change stamps: an unreadable one sorts first."""
    return parse_utc(stamp) or dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def _paged(
    client: ShopClient,
    query: str,
    what: str,
    on_page: Callable[[int, int], None] | None = None,
) -> Iterator[dict]:
    """Every product, a page at a time (only one page's answer is held);
    ``on_page(products read, total)`` before each page (total 0 until known)."""
    skip, total = 0, None
    while total is None or skip < total:
        if on_page is not None:
            on_page(skip, total or 0)
        data, _ = _page(client, query, lambda take, at=skip: {"skip": at, "take": take}, what)
        data = data["products"]
        total = int(data["totalItems"])
        items = data["items"]
        yield from items
        if not items:
            break
        skip += len(items)


def product_ids(client: ShopClient, on_page: Callable[[int, int], None] | None = None) -> set[str]:
    """The channel's product ids (``on_page`` as :func:`_paged`'s: 5,000 are 50 pages)."""
    client.require_channel()
    return {str(p["id"]) for p in _paged(client, PRODUCT_IDS, "read the products", on_page)}


def product_names(client: ShopClient, ids: Iterable[str]) -> dict[str, str]:
    """The names of these products of the channel, a page of ids a request (one deleted,
    or of another channel, is left out)."""
    client.require_channel()
    return {str(p["id"]): str(p["name"]) for p in _by_ids(client, PRODUCT_NAMES, sorted(set(ids)))}


def _by_ids(client: ShopClient, query: str, ids: list[str]) -> Iterator[dict]:
    """The products with these ids, through ``query`` (``$ids``, ``$take``), a page of
    ids a request."""
    s = 0
    while s < len(ids):
        data, take = _page(
            client,
            query,
            lambda take, at=s: {"ids": ids[at : at + take], "take": len(ids[at : at + take])},
            "read products",
        )
        yield from data["products"]["items"]
        s += take


def _page(
    client: ShopClient, query: str, variables: Callable[[int], dict], what: str
) -> tuple[dict, int]:
    """One list query of ``client.page_size`` products, and the size it took. A server
    whose ``adminListQueryLimit`` is lower (50) refuses 100 ("Cannot take more than 50
    results"), and every command failed on it (an audit of deployments): the page is
    halved until the server takes it, and the client keeps that size."""
    while True:
        take = client.page_size
        try:
            return client.gql(query, variables(take), what=what), take
        except InputRefused:
            if take <= 1:
                raise
            client.page_size = max(1, take // 2)


def _listed(item: dict) -> ListedProduct:
    """A product as listed: its own photos, or where it has none, its variants' (a shop
    that keeps photos on the variants was "not trained: it has no photos"; a product
    with photos of its own is listed as before, so its fingerprint does not change)."""
    raws = _own_assets(item)
    if not any(_is_image(raw) for raw in raws):
        for variant in item.get("variants") or []:
            if isinstance(variant, dict):
                raws += [variant.get("featuredAsset")] + list(variant.get("assets") or [])
    assets: list[ListedAsset] = []
    others: list[str] = []
    seen: set[str] = set()
    for raw in raws:
        if not raw or str(raw["id"]) in seen:
            continue
        seen.add(str(raw["id"]))
        mime = str(raw.get("mimeType") or "image/")
        if not mime.startswith("image/"):
            others.append(mime)
            continue
        size = raw.get("fileSize")
        assets.append(
            ListedAsset(
                id=str(raw["id"]),
                source=str(raw.get("source") or raw.get("preview") or ""),
                file_size=int(size) if size is not None else None,
                updated_at=str(raw.get("updatedAt") or ""),
            )
        )
    stamps = [str(item.get("updatedAt") or "")] + [a.updated_at for a in assets]
    return ListedProduct(
        id=str(item["id"]),
        name=str(item.get("name") or ""),
        assets=tuple(assets),
        updated_at=max(stamps, key=_instant),
        others=tuple(others),
    )


def _own_assets(item: dict) -> list[dict | None]:
    """A listed product's own assets, featured first (its variants' are apart)."""
    return [item.get("featuredAsset")] + list(item.get("assets") or [])


def _is_image(raw: object) -> bool:
    return isinstance(raw, dict) and str(raw.get("mimeType") or "image/").startswith("image/")


def list_catalogue(
    client: ShopClient,
    *,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> CatalogueListing:
    """Every product of the channel with its photo identities, without any image request."""
    return _list(client, Reporter(on_progress, cancel))


def _list(client: ShopClient, rep: Reporter) -> CatalogueListing:
    """The one listing path, for :func:`list_catalogue` and :func:`fetch_catalogue`."""
    channel = client.require_channel()

    def on_page(read: int, total: int) -> None:
        said = f"Reading the product list… {read:,} of {total:,}" if total else ""
        rep(Phase.DOWNLOADING, read / total if total else 0.0, said or "Reading the product list…")

    products: list[ListedProduct | None] = []
    bare: dict[str, tuple[int, dict]] = {}  # products without a photo of their own
    disabled: list[tuple[str, str]] = []
    for item in _paged(client, PRODUCTS, "read the products", on_page):
        if item.get("enabled") is False:  # the till cannot sell it: never named by the model
            disabled.append((str(item["id"]), str(item.get("name") or "")))
        elif any(_is_image(raw) for raw in _own_assets(item)):
            products.append(_listed(item))
        else:
            bare[str(item["id"])] = (len(products), item)
            products.append(None)
    for pid, variants in _variant_photos(client, list(bare)).items():
        bare[pid][1]["variants"] = variants
    for i, item in bare.values():
        products[i] = _listed(item)
    return CatalogueListing(channel.id, [p for p in products if p], disabled)


def _variant_photos(client: ShopClient, ids: list[str]) -> dict[str, list[dict]]:
    """The variants (with their photos) of these products: asked only for products with
    no photo of their own, so the listing of every other product costs what it did."""
    return {
        str(p["id"]): list(p.get("variants") or []) for p in _by_ids(client, VARIANT_PHOTOS, ids)
    }


def fetch_catalogue(
    client: ShopClient,
    *,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
    workers: int = 4,
) -> FetchResult:
    """All products of the channel with their images in the local image cache.

    A cached image is reused without any request when the asset's id, source and
    size are unchanged (Vendure never rewrites an asset's file in place: a new file
    means a new source or a new asset), so only new or changed images are fetched.
    A photo that cannot be used (HTTP 404, not an image, over ``client.max_image_bytes``)
    is left out and named, with each product that shows it, in ``stats.failed``. A photo
    the server did not deliver (no connection, a timeout, HTTP 5xx after the retries)
    stops the whole read with :class:`ServerUnreachable` once every photo was tried:
    trained without them, the model recorded them as trained on, so no later ``sync``
    brought the products back (and ``sync`` published the smaller model). The photos
    fetched are kept in the cache, so the next try asks only for the rest.
    """
    rep = Reporter(on_progress, cancel)
    paths.sweep_stale_writes(paths.image_cache_dir())  # downloads a killed run left half-done
    listing = _list(client, rep.sub(0.0, 0.1))
    stats = FetchStats(products=len(listing.products))
    jobs: dict[str, tuple[ListedProduct, ListedAsset]] = {}  # one download per asset
    shown_in: dict[str, list[ListedProduct]] = {}  # an asset shared by products: each
    for lp in listing.products:
        for asset in lp.assets:
            jobs.setdefault(asset.id, (lp, asset))
            shown_in.setdefault(asset.id, []).append(lp)
        stats.images += len(lp.assets)
    undelivered: list[str] = []  # the server's fault, not the photo's
    results: dict[str, Path] = {}
    downloads = rep.sub(0.1, 1.0)
    img_session = image_session(workers)
    done = 0

    def one(job: tuple[ListedProduct, ListedAsset]) -> tuple[str, Path | None, bool, str]:
        lp, asset = job
        check_cancel(cancel)
        try:
            path, fetched = cached_image(client, img_session, asset, cancel)
            return asset.id, path, fetched, ""
        except ServerUnreachable as exc:
            undelivered.append(str(exc))
            return asset.id, None, False, str(exc)
        except ShopError as exc:
            return asset.id, None, False, str(exc)

    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            pending: set[Future] = {pool.submit(one, j) for j in jobs.values()}
            try:
                while pending:
                    finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                    check_cancel(cancel)
                    for fut in finished:
                        idx, path, fetched, problem = fut.result()
                        done += 1
                        if path is None:
                            stats.failed += [
                                PhotoFailure(lp.id, lp.display_name, problem)
                                for lp in shown_in[idx]
                            ]
                        else:
                            results[idx] = path
                            stats.downloaded += int(fetched)
                            stats.cached += int(not fetched)
                    if finished:
                        downloads(
                            Phase.DOWNLOADING,
                            done / max(1, len(jobs)),
                            f"Product photos: {done} of {len(jobs)}",
                        )
            except BaseException:
                for fut in pending:
                    fut.cancel()
                raise
    finally:
        img_session.close()
    stats.failed += [  # a manual or a video among the product's files: said, not silent
        PhotoFailure(lp.id, lp.display_name, f"{mime}, not a photo")
        for lp in listing.products
        for mime in lp.others
    ]
    failed_assets = len(jobs) - len(results)
    if jobs and failed_assets == len(jobs):
        raise ServerUnreachable(
            f"None of the {len(jobs)} product photos could be downloaded from "
            f"{client.server_url}; first problem: {stats.failed[0]}"
        )
    if undelivered:
        raise ServerUnreachable(
            f"{len(undelivered)} of the {len(jobs)} product photos could not be downloaded "
            f"from {client.server_url} ({undelivered[0]}), so the catalogue is not used: a "
            "model trained without them would pass for up to date. The photos downloaded are "
            "kept; try again when the shop answers."
        )
    products = [
        Product(
            id=lp.id,
            name=lp.name,
            images=[
                ImageRef(
                    results[a.id],
                    origin=FROM_SHOP,
                    key=a.key,
                    label=a.file_name,
                    stamp=a.updated_at,
                )
                for a in lp.assets
                if a.id in results
            ],
        )
        for lp in listing.products
    ]
    downloads(Phase.DOWNLOADING, 1.0, f"{stats.images} photos of {stats.products} products")
    fetched = Catalogue(
        products=products,
        channel_id=listing.channel_id,
        source=client.server_url,
        not_downloaded=[(f.product_id, f.reason) for f in stats.failed],
        disabled=list(listing.disabled),
    )
    return FetchResult(catalogue=fetched, stats=stats, listing=listing)
