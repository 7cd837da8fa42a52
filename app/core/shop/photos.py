"""One listed photo of a shop's product, and its download into the local image cache:
bounded in time and size, retried while the shop is busy, written atomically, and kept
by the photo's identity so a later catalogue download reuses it."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests

from .. import paths
from ..catalogue import IMAGE_FORMATS, shop_photo_key
from ..errors import ServerUnreachable, ShopError
from ..progress import check_cancel
from .transport import TRANSFER_DEADLINE_S, ShopClient, new_http_session

_IMAGE_SUFFIXES = set(IMAGE_FORMATS)  # a HEIC keeps its name: the photo check reports it
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)  # slots: a supermarket lists 5,000 of each
class ListedAsset:
    """One photo of a product as the listing reports it."""

    id: str
    source: str
    file_size: int | None
    updated_at: str

    @property
    def key(self) -> str:
        """The photo's identity (:func:`app.core.catalogue.shop_photo_key`): its asset and
        its file. Vendure never replaces an asset's file (``updateAsset`` changes its name,
        focal point, tags and custom fields), so editing those is no change of the photo."""
        return shop_photo_key(self.id, urlsplit(self.source).path, self.file_size)

    @property
    def file_name(self) -> str:
        """Its file name on the server, as the shop's admin shows it (``banana__02.jpg``)."""
        return Path(urlsplit(self.source).path).name or f"asset {self.id}"


def image_session(workers: int) -> requests.Session:
    return new_http_session(workers)


def _whole(asset: ListedAsset) -> range:
    """The sizes a whole cached copy may have: the listing's ``fileSize`` when it gives
    one (a copy cut short passed as "cached" and failed to decode on every run)."""
    return range(asset.file_size, asset.file_size + 1) if asset.file_size else range(1, 1 << 62)


def photo_url(server_url: str, source: str) -> str:
    """Where to fetch a listed photo. A shop reached over https keeps its photos on
    https: one listed as ``http://`` on the shop's own host (Vendure behind a proxy that
    ends TLS lists them so) is fetched over https, and one on another host over plain
    http is refused: a security audit found such photos fetched unencrypted, where anyone
    on the way could swap the photos the model learns from."""
    url = urljoin(server_url + "/", source)
    shop, photo = urlsplit(server_url), urlsplit(url)
    if shop.scheme != "https" or photo.scheme != "http":
        return url
    if photo.hostname == shop.hostname and photo.port in (None, 80):
        return photo._replace(scheme="https", netloc=photo.netloc.removesuffix(":80")).geturl()
    raise ShopError(
        f"the photo at {url} is unencrypted (http://) while the shop is reached over "
        "https: not downloaded, as it could be changed on the way (the shop's photos "
        "should be served over https)"
    )


def cached_image(
    client: ShopClient,
    session: requests.Session,
    asset: ListedAsset,
    cancel: threading.Event | None,
) -> tuple[Path, bool]:
    """The asset's file in the image cache; (path, True) when it had to be downloaded."""
    if not asset.source:
        raise ShopError("the asset has no file")
    key_src = "|".join(
        [client.server_url, asset.id, urlsplit(asset.source).path, str(asset.file_size or "")]
    )
    key = hashlib.sha256(key_src.encode()).hexdigest()
    ext = Path(urlsplit(asset.source).path).suffix.lower()
    ext = ext if ext in _IMAGE_SUFFIXES else ".img"
    dest = paths.image_cache_dir() / key[:2] / f"{key}{ext}"
    if dest.is_file() and dest.stat().st_size in _whole(asset):
        paths.touch_used(dest)  # kept by the cache's sweep (paths.sweep_unused)
        return dest, False  # else damaged since (cut short, replaced): fetched again
    url = photo_url(client.server_url, asset.source)
    # one deadline for the photo, its retries included (a trickling server ends there)
    with client.deadline_for(max(client.deadline, TRANSFER_DEADLINE_S)) as deadline:
        for attempt in range(4):
            check_cancel(cancel)
            try:
                with session.get(url, timeout=client.timeout, stream=True) as resp:
                    if resp.status_code >= 500 and attempt < 3:
                        time.sleep(0.5 * 2**attempt)
                        continue
                    if resp.status_code >= 500 or resp.status_code == 429:  # not delivered
                        raise ServerUnreachable(f"HTTP {resp.status_code} for {url}")
                    if resp.status_code != 200:
                        raise ShopError(f"HTTP {resp.status_code} for {url}")
                    ctype = resp.headers.get("Content-Type", "")
                    if ctype and not ctype.startswith(("image/", "application/octet-stream")):
                        raise ShopError(f"{url} is not an image ({ctype})")
                    _stream_to(resp, dest, client.max_image_bytes, url, cancel)
                    return dest, True
            except requests.RequestException as exc:
                if attempt < 3 and not deadline.expired:
                    time.sleep(0.5 * 2**attempt)
                    continue
                raise client.describe_failure(exc, "download a photo", deadline) from exc
    raise AssertionError("unreachable")


def _stream_to(
    resp: requests.Response,
    dest: Path,
    limit: int,
    url: str,
    cancel: threading.Event | None,
) -> None:
    """Writes the body to ``dest`` via a temp file, refusing it past ``limit`` bytes."""
    too_big = ShopError(
        f"the photo at {url} is larger than {limit / 1e6:g} MB and was not downloaded"
    )
    declared = resp.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_big
    with paths.atomic_writer(dest) as fh:
        size = 0
        for chunk in resp.iter_content(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise too_big
            check_cancel(cancel)
            fh.write(chunk)
        if size == 0:
            raise ShopError(f"{url} is empty")
