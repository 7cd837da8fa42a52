"""Everything between the trainer and a shop's Vendure server (Admin API + public assets).

One :class:`ShopClient` per server: one ``requests.Session``, explicit timeouts, retries
with back-off for idempotent reads, progress/cancel hooks for the long operations
(catalogue download, model upload). No Qt here: the GUI runs these in its task runner.

Server-side counterpart: ``packaging/vendure-plugin`` (the ``uploadMlModel`` mutation,
``mlModel`` query, ``rollbackMlModel`` mutation and the ``/assets/ml-models/`` route).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests

from . import paths
from .catalog import Catalog, ImageRef, Product
from .errors import (
    Cancelled,
    ChannelAccessError,
    InvalidCredentials,
    PermissionDenied,
    PublishError,
    ServerUnreachable,
    SessionExpired,
    ShopError,
)
from .modelfiles import FILES as MODEL_FILES
from .progress import ProgressHook, Reporter, check_cancel

log = logging.getLogger(__name__)

UPLOAD_PERMISSION = "UploadMlModel"
SESSIONS_FILE = "shop_sessions.json"
PAGE_SIZE = 100
STILL_SERVED = "The previous model is still being served."
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
_BYTES_PER_ELEMENT = {"float32": 4, "int32": 4, "bool": 1, "uint8": 1, "uint16": 2, "float16": 2}


class InsecureServerUrl(ShopError):
    """Plain http:// to a non-local server: the password would cross the network in clear."""


class ServerTimeout(ServerUnreachable):
    """The server accepted the connection but did not answer in time."""


class TlsError(ServerUnreachable):
    """The server's HTTPS certificate could not be verified."""


class NotAVendureServer(ShopError):
    """Something answers at that address, but not a Vendure Admin API."""


class PublishSuperseded(PublishError):
    """Our upload was stored, but a concurrent publish became the served version."""


@dataclass(frozen=True)
class ChannelInfo:
    id: str
    code: str
    token: str
    permissions: list[str]

    @property
    def can_publish(self) -> bool:
        return UPLOAD_PERMISSION in self.permissions or "SuperAdmin" in self.permissions


@dataclass(frozen=True)
class PublishResult:
    url: str  # public base URL of the served model, ending in /latest/
    metadata: dict
    version: str


@dataclass
class FetchStats:
    """What the last :meth:`ShopClient.fetch_catalog` did, for messages and tests."""

    products: int = 0
    images: int = 0  # image references; a photo shared by products counts for each
    downloaded: int = 0  # distinct assets fetched over HTTP
    cached: int = 0  # distinct assets reused from the image cache without a request
    failed: list[str] = field(default_factory=list)  # "product name: reason"


# --------------------------------------------------------------------------- GraphQL

_CHANNELS = "channels { id code token permissions }"
LOGIN = f"""
mutation($username: String!, $password: String!, $rememberMe: Boolean) {{
  login(username: $username, password: $password, rememberMe: $rememberMe) {{
    __typename
    ... on CurrentUser {{ id identifier {_CHANNELS} }}
    ... on ErrorResult {{ errorCode message }}
  }}
}}"""
ME = f"query {{ me {{ id identifier {_CHANNELS} }} }}"
LOGOUT = "mutation { logout { success } }"
PRODUCTS = """
query($skip: Int!, $take: Int!) {
  products(options: {skip: $skip, take: $take, sort: {id: ASC}}) {
    totalItems
    items {
      id name
      featuredAsset { id source preview mimeType fileSize }
      assets { id source preview mimeType fileSize }
    }
  }
}"""
PRODUCT_IDS = """
query($skip: Int!, $take: Int!) {
  products(options: {skip: $skip, take: $take, sort: {id: ASC}}) { totalItems items { id } }
}"""
_VERSION_FIELDS = "version trainedAt createdAt current files { name size sha256 } metadata"
ML_MODEL = f"""
query {{ mlModel {{ channelId latestPath current {{ {_VERSION_FIELDS} }}
  versions {{ {_VERSION_FIELDS} }} }} }}"""
UPLOAD = f"""
mutation($modelJson: Upload!, $weights: Upload!, $metadata: Upload!) {{
  uploadMlModel(modelJson: $modelJson, weights: $weights, metadata: $metadata) {{
    {_VERSION_FIELDS}
  }}
}}"""
ROLLBACK = f"""
mutation($version: String!) {{ rollbackMlModel(version: $version) {{ {_VERSION_FIELDS} }} }}"""


def normalise_server_url(url: str) -> str:
    """``shop.example.com`` -> ``https://shop.example.com``; drops a pasted ``/admin-api``."""
    url = url.strip()
    if not url:
        raise ShopError("Enter the address of the shop's server.")
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ShopError(f"“{url}” is not a web address (expected https://your-shop.example).")
    path = parts.path.rstrip("/")
    for suffix in ("/admin-api", "/shop-api"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# --------------------------------------------------------------------------- client


class ShopClient:
    """A logged-in (or not yet) connection to one Vendure server."""

    def __init__(
        self,
        server_url: str,
        *,
        allow_insecure: bool = False,
        timeout: float = 15.0,
        assets_route: str = "assets",
        admin_api_path: str = "admin-api",
    ) -> None:
        self.server_url = normalise_server_url(server_url)
        parts = urlsplit(self.server_url)
        if parts.scheme == "http" and not allow_insecure and not is_loopback(parts.hostname or ""):
            raise InsecureServerUrl(
                f"{self.server_url} uses plain http://, so your password would travel "
                "unencrypted. Use https://, or confirm that you trust this network."
            )
        self.timeout = timeout
        self.api_url = f"{self.server_url}/{admin_api_path.strip('/')}"
        self.assets_url = f"{self.server_url}/{assets_route.strip('/')}"
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "DukahubModelTrainer/0.1"
        self.channel: ChannelInfo | None = None
        self.username: str = ""
        self.last_fetch: FetchStats = FetchStats()
        self._token: str | None = None
        self._channels: list[ChannelInfo] = []
        self._remember = False

    # ----------------------------------------------------------------- transport

    def _describe_failure(self, exc: requests.RequestException, what: str) -> ShopError:
        host = self.server_url
        if isinstance(exc, requests.exceptions.SSLError):
            return TlsError(
                f"No secure (HTTPS) connection to {host}: {_short(exc)}. Check the address; "
                "if the shop uses a self-signed certificate, install it in your system's "
                "trust store."
            )
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return ServerTimeout(f"{host} did not accept a connection within {self.timeout:g} s.")
        if isinstance(exc, requests.exceptions.Timeout):
            return ServerTimeout(f"{host} did not answer within {self.timeout:g} s ({what}).")
        if isinstance(exc, requests.exceptions.ConnectionError):
            return ServerUnreachable(
                f"Cannot reach {host}: {_short(exc)}. Check the address and your connection."
            )
        return ServerUnreachable(f"Talking to {host} failed ({what}): {_short(exc)}")

    def _headers(self, channel: bool) -> dict[str, str]:
        h = {}
        if self._token:
            h["Authorization"] = f"Bearer {self._token}"
        if channel and self.channel is not None:
            h["vendure-token"] = self.channel.token
        return h

    def _take_token(self, resp: requests.Response) -> None:
        """Vendure sends a (possibly refreshed) session token in this header."""
        token = resp.headers.get("vendure-auth-token")
        if token and token != self._token:
            self._token = token
            if self._remember:
                self._save_token()

    def _gql(
        self,
        query: str,
        variables: dict | None = None,
        *,
        channel: bool = True,
        retries: int = 2,
        what: str = "request",
    ) -> dict:
        """POST a GraphQL document; read-only documents are retried with back-off."""
        body = {"query": query, "variables": variables or {}}
        resp = self._send(
            lambda: self.session.post(
                self.api_url, json=body, headers=self._headers(channel), timeout=self.timeout
            ),
            retries=retries,
            what=what,
        )
        return self._parse(resp, what)

    def _send(
        self, do: Callable[[], requests.Response], *, retries: int, what: str
    ) -> requests.Response:
        for attempt in range(retries + 1):
            try:
                resp = do()
            except requests.exceptions.SSLError as exc:
                raise self._describe_failure(exc, what) from exc
            except requests.RequestException as exc:
                if attempt < retries and not isinstance(exc, requests.exceptions.InvalidURL):
                    time.sleep(0.4 * 2**attempt)
                    continue
                raise self._describe_failure(exc, what) from exc
            if resp.status_code in (502, 503, 504) and attempt < retries:
                time.sleep(0.4 * 2**attempt)
                continue
            return resp
        raise AssertionError("unreachable")

    def _parse(self, resp: requests.Response, what: str) -> dict:
        self._take_token(resp)
        try:
            payload = resp.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or ("data" not in payload and "errors" not in payload):
            raise NotAVendureServer(
                f"{self.server_url} answered HTTP {resp.status_code} with something that is not "
                f"a Vendure Admin API ({what}). Check the server address."
            )
        errors = payload.get("errors") or []
        if errors:
            raise self._error_from(errors[0], what)
        return payload["data"] or {}

    def _error_from(self, err: dict, what: str) -> ShopError:
        code = (err.get("extensions") or {}).get("code", "")
        message = str(err.get("message") or code or "unknown error")
        if code == "FORBIDDEN":
            if self._token and not self._session_alive():
                return SessionExpired(
                    f"Your session on {self.server_url} has expired. Please log in again."
                )
            where = f" in channel “{self.channel.code}”" if self.channel else ""
            return PermissionDenied(
                f"Your user is not allowed to {what}{where} on {self.server_url}. "
                "Ask the shop's administrator for the permission."
            )
        if code == "CHANNEL_NOT_FOUND":
            return ChannelAccessError(f"The channel no longer exists on {self.server_url}.")
        if code == "ML_MODEL_REJECTED":
            return PublishError(f"The server refused the model: {message} {STILL_SERVED}")
        if "Cannot query field" in message and ("mlModel" in message or "MlModel" in message):
            return ShopError(
                f"{self.server_url} does not have the Dukahub ML model plugin installed "
                "(see packaging/vendure-plugin/README.md)."
            )
        return ShopError(f"The server reported an error ({what}): {message}")

    def _session_alive(self) -> bool:
        try:
            resp = self.session.post(
                self.api_url, json={"query": ME}, headers=self._headers(False), timeout=self.timeout
            )
            return bool((resp.json().get("data") or {}).get("me"))
        except (requests.RequestException, ValueError, AttributeError):
            return True  # cannot tell; report the original error

    # ----------------------------------------------------------------- login

    def login(self, username: str, password: str, remember: bool = False) -> list[ChannelInfo]:
        """Logs in; the password is only sent, never stored. Returns the user's channels."""
        self._token = None
        self.channel = None
        data = self._gql(
            LOGIN,
            {"username": username, "password": password, "rememberMe": remember},
            channel=False,
            retries=0,
            what="log in",
        )
        result = data.get("login") or {}
        if result.get("__typename") != "CurrentUser":
            if result.get("errorCode") == "INVALID_CREDENTIALS_ERROR":
                raise InvalidCredentials(f"Wrong username or password for {self.server_url}.")
            raise ShopError(f"Login refused by {self.server_url}: {result.get('message', result)}")
        if not self._token:
            raise ShopError(
                f"{self.server_url} did not return a session token: its Vendure must allow "
                "bearer tokens (authOptions.tokenMethod includes 'bearer')."
            )
        self.username = username
        self._channels = _channels_from(result)
        self._remember = remember
        if remember:
            self._save_token()
        else:
            _forget_token(self.server_url)
        return list(self._channels)

    @classmethod
    def restore(cls, server_url: str, **kwargs: Any) -> ShopClient | None:
        """A client logged in with the remembered token, or None when none is remembered.

        Raises SessionExpired (and forgets the token) when the server no longer accepts it.
        """
        url = normalise_server_url(server_url)
        saved = _load_sessions().get(url)
        if not saved or not saved.get("token"):
            return None
        client = cls(url, allow_insecure=bool(saved.get("allow_insecure")), **kwargs)
        client._token = saved["token"]
        client._remember = True
        client.username = saved.get("username", "")
        try:
            me = client._gql(ME, channel=False, what="restore the session").get("me")
        except (SessionExpired, PermissionDenied):  # Vendure answers FORBIDDEN to a dead token
            me = None
        if not me:
            _forget_token(url)
            raise SessionExpired(f"Your saved session on {url} has expired. Please log in again.")
        client._channels = _channels_from(me)
        return client

    def logout(self) -> None:
        """Ends the session on the server (best effort) and forgets the remembered token."""
        if self._token:
            try:
                self._gql(LOGOUT, channel=False, retries=0, what="log out")
            except ShopError as exc:
                log.info("Server-side logout failed: %s", exc)
        self._token = None
        self.channel = None
        self._channels = []
        _forget_token(self.server_url)

    @property
    def logged_in(self) -> bool:
        return self._token is not None

    def _save_token(self) -> None:
        sessions = _load_sessions()
        sessions[self.server_url] = {
            "token": self._token,
            "username": self.username,
            "allow_insecure": urlsplit(self.server_url).scheme == "http",
        }
        _store_sessions(sessions)

    # ----------------------------------------------------------------- channels

    def channels(self) -> list[ChannelInfo]:
        """The user's channels, fresh from the server."""
        self._require_login()
        me = self._gql(ME, channel=False, what="list your channels").get("me")
        if not me:
            raise SessionExpired(
                f"Your session on {self.server_url} has expired. Please log in again."
            )
        self._channels = _channels_from(me)
        return list(self._channels)

    def select_channel(self, code: str) -> ChannelInfo:
        self._require_login()
        found = [c for c in self._channels if c.code == code] or [
            c for c in self.channels() if c.code == code
        ]
        if not found:
            available = ", ".join(c.code for c in self._channels) or "none"
            raise ChannelAccessError(
                f"User “{self.username}” has no access to channel “{code}” on "
                f"{self.server_url} (accessible: {available})."
            )
        self.channel = found[0]
        return self.channel

    def _require_login(self) -> None:
        if not self._token:
            raise SessionExpired(f"Not logged in to {self.server_url}. Please log in.")

    def _require_channel(self) -> ChannelInfo:
        self._require_login()
        if self.channel is None:
            raise ChannelAccessError("Choose one of your channels first.")
        return self.channel

    # ----------------------------------------------------------------- catalogue

    def _paged(self, query: str, what: str, rep: Reporter | None = None) -> Iterator[dict]:
        skip, total = 0, None
        while total is None or skip < total:
            if rep is not None:
                rep("downloading", skip / total if total else 0.0, "Reading the product list…")
            data = self._gql(query, {"skip": skip, "take": PAGE_SIZE}, what=what)["products"]
            total = int(data["totalItems"])
            items = data["items"]
            yield from items
            if not items:
                break
            skip += len(items)

    def product_ids(self) -> set[str]:
        self._require_channel()
        return {str(p["id"]) for p in self._paged(PRODUCT_IDS, "read the products")}

    def fetch_catalog(
        self,
        *,
        on_progress: ProgressHook | None = None,
        cancel: threading.Event | None = None,
        workers: int = 4,
    ) -> Catalog:
        """All products of the channel with their images in the local image cache.

        A cached image is reused without any request when the asset's id, source and
        size are unchanged (Vendure never rewrites an asset's file in place: a new file
        means a new source or a new asset), so only new or changed images are fetched.
        """
        channel = self._require_channel()
        rep = Reporter(on_progress, cancel)
        listing = rep.sub(0.0, 0.1)
        raw = list(self._paged(PRODUCTS, "read the products", listing))
        stats = FetchStats(products=len(raw))
        products: list[Product] = []
        wanted: list[tuple[Product, str]] = []  # (product, asset id) in display order
        jobs: dict[str, tuple[Product, dict]] = {}  # one download per asset, even if shared
        for item in raw:
            product = Product(id=str(item["id"]), name=item.get("name") or "")
            seen: set[str] = set()
            for asset in [item.get("featuredAsset")] + list(item.get("assets") or []):
                if not asset or asset["id"] in seen:
                    continue
                seen.add(asset["id"])
                if not str(asset.get("mimeType") or "image/").startswith("image/"):
                    continue
                wanted.append((product, asset["id"]))
                jobs.setdefault(asset["id"], (product, asset))
            products.append(product)
        stats.images = len(wanted)
        results: dict[str, Path] = {}
        downloads = rep.sub(0.1, 1.0)
        img_session = _image_session(workers)
        done = 0

        def one(job: tuple[Product, dict]) -> tuple[str, Path | None, bool, str]:
            product, asset = job
            idx = asset["id"]
            check_cancel(cancel)
            try:
                path, fetched = self._cached_image(img_session, asset, cancel)
                return idx, path, fetched, ""
            except ShopError as exc:
                return idx, None, False, f"{product.display_name}: {exc}"

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
                                stats.failed.append(problem)
                            else:
                                results[idx] = path
                                stats.downloaded += int(fetched)
                                stats.cached += int(not fetched)
                        if finished:
                            downloads(
                                "downloading",
                                done / max(1, len(jobs)),
                                f"Product photos: {done} of {len(jobs)}",
                            )
                except BaseException:
                    for fut in pending:
                        fut.cancel()
                    raise
        finally:
            img_session.close()
        if jobs and len(stats.failed) == len(jobs):
            raise ServerUnreachable(
                f"None of the {len(jobs)} product photos could be downloaded from "
                f"{self.server_url}; first problem: {stats.failed[0]}"
            )
        for product, asset_id in wanted:
            if asset_id in results:
                product.images.append(ImageRef(results[asset_id], origin="catalog"))
        self.last_fetch = stats
        downloads("downloading", 1.0, f"{stats.images} photos of {stats.products} products")
        return Catalog(products=products, channel_id=channel.id, source=self.server_url)

    def _cached_image(
        self, session: requests.Session, asset: dict, cancel: threading.Event | None
    ) -> tuple[Path, bool]:
        source = str(asset.get("source") or asset.get("preview") or "")
        if not source:
            raise ShopError("the asset has no file")
        key_src = "|".join(
            [
                self.server_url,
                str(asset["id"]),
                urlsplit(source).path,
                str(asset.get("fileSize") or ""),
            ]
        )
        key = hashlib.sha256(key_src.encode()).hexdigest()
        ext = Path(urlsplit(source).path).suffix.lower() or ".img"
        if ext not in {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}:
            ext = ".img"
        dest = paths.image_cache_dir() / key[:2] / f"{key}{ext}"
        if dest.is_file() and dest.stat().st_size > 0:
            return dest, False
        url = urljoin(self.server_url + "/", source)
        for attempt in range(4):
            check_cancel(cancel)
            try:
                resp = session.get(url, timeout=self.timeout)
            except requests.RequestException as exc:
                if attempt < 3:
                    time.sleep(0.5 * 2**attempt)
                    continue
                raise self._describe_failure(exc, "download a photo") from exc
            if resp.status_code >= 500 and attempt < 3:
                time.sleep(0.5 * 2**attempt)
                continue
            if resp.status_code != 200:
                raise ShopError(f"HTTP {resp.status_code} for {url}")
            ctype = resp.headers.get("Content-Type", "")
            if ctype and not ctype.startswith(("image/", "application/octet-stream")):
                raise ShopError(f"{url} is not an image ({ctype})")
            if not resp.content:
                raise ShopError(f"{url} is empty")
            paths.atomic_write_bytes(dest, resp.content)
            return dest, True
        raise AssertionError("unreachable")

    # ----------------------------------------------------------------- published model

    def latest_url(self) -> str:
        return f"{self.assets_url}/ml-models/{self._require_channel().id}/latest/"

    def published_metadata(self) -> dict | None:
        """metadata.json of the served model, read like the POS reads it; None if none yet."""
        url = self.latest_url() + "metadata.json"
        resp = self._send(
            lambda: self.session.get(
                url, timeout=self.timeout, headers={"Cache-Control": "no-cache"}
            ),
            retries=2,
            what="read the published model",
        )
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise ShopError(f"Reading {url} failed: HTTP {resp.status_code}.")
        try:
            return resp.json()
        except ValueError as exc:
            raise ShopError(f"The published metadata.json at {url} is not valid JSON.") from exc

    def model_status(self) -> dict:
        """The plugin's view: ``{"current": {...} | None, "versions": [...]}``."""
        self._require_channel()
        return self._gql(ML_MODEL, what="read the published models")["mlModel"]

    def list_versions(self) -> list[dict]:
        """Stored versions, newest first; each has version, trainedAt, createdAt, current."""
        return list(self.model_status()["versions"])

    def rollback(self, version: str) -> dict:
        """Serves an earlier stored version again."""
        self._require_channel()
        try:
            data = self._gql(ROLLBACK, {"version": version}, retries=0, what="roll back the model")
        except PublishError as exc:
            raise PublishError(
                str(exc).replace("refused the model", "refused the rollback")
            ) from exc
        return data["rollbackMlModel"]

    def publish(
        self,
        model_dir: Path | str,
        *,
        on_progress: ProgressHook | None = None,
        cancel: threading.Event | None = None,
    ) -> PublishResult:
        """Uploads model.json, weights.bin and metadata.json in one call and verifies them.

        Checks locally first (files valid, trained for this channel, every label still a
        product here), then uploads, then downloads the served files over plain HTTP and
        compares bytes. The server swaps the model in atomically, so any failure before
        the swap leaves the previous model served.
        """
        channel = self._require_channel()
        rep = Reporter(on_progress, cancel)
        model_dir = Path(model_dir)
        rep("uploading", 0.0, "Checking the model files…")
        files, metadata = check_model_dir(model_dir)
        if str(metadata.get("channelId", "")) != channel.id:
            raise PublishError(
                f"This model was trained for channel id “{metadata.get('channelId')}”, not "
                f"“{channel.code}” (id {channel.id}). {STILL_SERVED}"
            )
        rep("uploading", 0.02, "Checking the labels against the catalogue…")
        known = self.product_ids()
        missing = [str(x) for x in metadata["labels"] if str(x) not in known]
        if missing:
            shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
            raise PublishError(
                f"{len(missing)} of the model's products are no longer products of channel "
                f"“{channel.code}” (ids {shown}). Retrain with the current catalogue. "
                + STILL_SERVED
            )
        upload_rep = rep.sub(0.05, 0.9)
        body = _MultipartBody(
            UPLOAD,
            [
                ("modelJson", "model.json", files["model.json"], "application/json"),
                ("weights", "weights.bin", files["weights.bin"], "application/octet-stream"),
                ("metadata", "metadata.json", files["metadata.json"], "application/json"),
            ],
            upload_rep,
        )
        headers = self._headers(True)
        headers["Content-Type"] = body.content_type
        headers["apollo-require-preflight"] = "true"  # CSRF guard of Apollo for multipart
        try:
            resp = self.session.post(
                self.api_url,
                data=body,
                headers=headers,
                timeout=(self.timeout, max(self.timeout, 120.0)),
            )
        except Cancelled as exc:
            raise Cancelled(f"Publishing cancelled. {STILL_SERVED}") from exc
        except requests.RequestException as exc:
            if isinstance(exc.__context__, Cancelled) or (cancel is not None and cancel.is_set()):
                raise Cancelled(f"Publishing cancelled. {STILL_SERVED}") from exc
            failure = self._describe_failure(exc, "upload the model")
            raise PublishError(f"The upload was interrupted: {failure} {STILL_SERVED}") from exc
        try:
            data = self._parse(resp, "publish models")
        except (PublishError, PermissionDenied, SessionExpired, ChannelAccessError):
            raise
        except ShopError as exc:
            raise PublishError(f"{exc} {STILL_SERVED}") from exc
        version = data["uploadMlModel"]
        rep("uploading", 0.92, "Checking what the server now serves…")
        self._verify_served(files, version["version"])
        rep("uploading", 1.0, f"Published version {version['version']}")
        return PublishResult(url=self.latest_url(), metadata=metadata, version=version["version"])

    def _verify_served(self, files: dict[str, bytes], version: str) -> None:
        """Downloads the three files like the POS does and compares them byte for byte."""
        base = self.latest_url()
        plain = requests.Session()
        try:
            for name, local in files.items():
                resp = self._send(
                    lambda name=name: plain.get(
                        base + name, timeout=self.timeout, headers={"Cache-Control": "no-cache"}
                    ),
                    retries=2,
                    what="check the published files",
                )
                served_version = resp.headers.get("X-Ml-Model-Version", version)
                if resp.status_code == 200 and resp.content == local:
                    continue
                if served_version != version:
                    raise PublishSuperseded(
                        f"Your model was stored as version {version}, but another publish "
                        f"replaced it moments later: version {served_version} is served instead. "
                        f"Roll back to {version} if yours should be the one in use."
                    )
                why = (
                    f"HTTP {resp.status_code}"
                    if resp.status_code != 200
                    else f"{len(resp.content)} bytes that differ from the {len(local)} uploaded"
                )
                raise PublishError(
                    f"The server accepted version {version}, but {base}{name} answers with "
                    f"{why}. A cache or proxy in front of the server may be holding an old copy."
                )
        finally:
            plain.close()


# --------------------------------------------------------------------------- helpers


def check_model_dir(model_dir: Path) -> tuple[dict[str, bytes], dict]:
    """Reads and validates the three files the way the server plugin will.

    Returns their bytes and the parsed metadata. Raises PublishError with what is wrong.
    """
    from .errors import ModelFilesError
    from .modelfiles import validate_model_dir

    try:  # the trainer's own checks (also: output units match the labels)
        validate_model_dir(model_dir)
    except ModelFilesError as exc:
        raise PublishError(f"{exc}. {STILL_SERVED}") from exc
    files: dict[str, bytes] = {}
    for name in MODEL_FILES:
        p = model_dir / name
        try:
            files[name] = p.read_bytes()
        except OSError as exc:
            raise PublishError(f"{p} cannot be read ({exc.strerror}). {STILL_SERVED}") from exc
        if not files[name]:
            raise PublishError(f"{p} is empty. {STILL_SERVED}")
    try:
        model = json.loads(files["model.json"])
        metadata = json.loads(files["metadata.json"])
    except ValueError as exc:
        raise PublishError(
            f"A model file in {model_dir} is not valid JSON: {exc}. {STILL_SERVED}"
        ) from exc
    if not isinstance(model, dict) or not isinstance(model.get("modelTopology"), dict):
        raise PublishError(f"{model_dir / 'model.json'} is not a TensorFlow.js layers model.")
    manifest = model.get("weightsManifest")
    if not isinstance(manifest, list):
        raise PublishError(f"{model_dir / 'model.json'} has no weightsManifest.")
    shards = [p for g in manifest for p in (g.get("paths") or [])]
    if shards != ["weights.bin"]:
        raise PublishError(f"model.json must use one weights file “weights.bin”, not {shards}.")
    expected = 0
    for group in manifest:
        for w in group.get("weights", []):
            dtype = (w.get("quantization") or {}).get("dtype") or w.get("dtype")
            if dtype not in _BYTES_PER_ELEMENT:
                raise PublishError(
                    f"model.json weight {w.get('name')} has unsupported dtype {dtype}."
                )
            n = 1
            for d in w.get("shape", []):
                n *= int(d)
            expected += n * _BYTES_PER_ELEMENT[dtype]
    if expected != len(files["weights.bin"]):
        raise PublishError(
            f"weights.bin has {len(files['weights.bin'])} bytes but model.json describes "
            f"{expected}: the export is incomplete. {STILL_SERVED}"
        )
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    if (
        not isinstance(labels, list)
        or not labels
        or not all(isinstance(x, str) and x for x in labels)
    ):
        raise PublishError("metadata.json must list the model's product ids in “labels”.")
    return files, metadata


class _MultipartBody:
    """A GraphQL multipart request body that reports upload progress as it is read.

    ``requests`` sends an object with ``read`` and ``__len__`` in blocks with a
    Content-Length, calling ``read`` for each block: the place to report and to cancel.
    """

    def __init__(
        self, query: str, uploads: list[tuple[str, str, bytes, str]], rep: Reporter
    ) -> None:
        self.boundary = f"----dukahub-{uuid.uuid4().hex}"
        variables = {var: None for var, *_ in uploads}
        ops = json.dumps({"query": query, "variables": variables}).encode()
        mapping = json.dumps(
            {str(i): [f"variables.{u[0]}"] for i, u in enumerate(uploads)}
        ).encode()
        parts = [self._field("operations", ops), self._field("map", mapping)]
        for i, (_var, filename, data, ctype) in enumerate(uploads):
            head = (
                f'--{self.boundary}\r\nContent-Disposition: form-data; name="{i}"; '
                f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'
            ).encode()
            parts.append(head + data + b"\r\n")
        parts.append(f"--{self.boundary}--\r\n".encode())
        self._data = b"".join(parts)
        self._pos = 0
        self._rep = rep

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def _field(self, name: str, value: bytes) -> bytes:
        return (
            (f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n').encode()
            + value
            + b"\r\n"
        )

    def __len__(self) -> int:
        return len(self._data)

    def read(self, size: int = -1) -> bytes:
        if self._pos == 0 or size < 0 or self._pos % (256 * 1024) < size:
            mib = len(self._data) / 1e6
            self._rep("uploading", self._pos / len(self._data), f"Uploading {mib:.1f} MB…")
        end = len(self._data) if size < 0 else min(len(self._data), self._pos + size)
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk


def _image_session(workers: int) -> requests.Session:
    s = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=2, pool_maxsize=max(4, workers))
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    s.headers["User-Agent"] = "DukahubModelTrainer/0.1"
    return s


def _channels_from(user: dict) -> list[ChannelInfo]:
    return [
        ChannelInfo(
            id=str(c["id"]), code=c["code"], token=c["token"], permissions=list(c["permissions"])
        )
        for c in user.get("channels") or []
    ]


def _short(exc: BaseException) -> str:
    text = str(exc)
    for marker in (
        "Connection refused",
        "Name or service not known",
        "timed out",
        "certificate verify failed",
        "No route to host",
        "Temporary failure in name resolution",
    ):
        if marker in text:
            return marker.lower() if marker != "Connection refused" else "connection refused"
    return text[:200]


def _sessions_path() -> Path:
    return paths.config_dir() / SESSIONS_FILE


def _load_sessions() -> dict[str, dict]:
    try:
        data = json.loads(_sessions_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _store_sessions(sessions: dict[str, dict]) -> None:
    """Session tokens (never passwords), readable by the user only (0600)."""
    path = _sessions_path()
    paths.atomic_write_bytes(path, json.dumps(sessions, indent=1).encode("utf-8"))
    os.chmod(path, 0o600)


def _forget_token(server_url: str) -> None:
    sessions = _load_sessions()
    if sessions.pop(server_url, None) is not None:
        _store_sessions(sessions)
