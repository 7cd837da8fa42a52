"""The connection to one Vendure server: address checks, GraphQL POSTs, login state.

Thread safety — the GUI runs the products download, the model status and a publish
on one client at the same time, each in its own worker thread:

* **one ``requests.Session`` per thread** (``threading.local``): a Session's connection
  pool and cookie jar are not documented as thread-safe, and a per-thread Session
  also keeps a slow upload from holding the connection the status check needs;
* **one lock around the login state** (token, channel, channel list, username): each
  request takes a consistent snapshot (token *and* channel of the same moment), and a
  refreshed token from a response only replaces the token that request was sent with,
  so an old request finishing late can never undo a newer login.

The alternative, one client per task, would still have to share the login (a
refreshed token, a channel switch, a logout) between tasks: the same lock, elsewhere.

Admin API requests never follow redirects: ``requests`` re-sends a POST body on a
307/308, and that body holds the password or the model.

**Every request has a deadline and a size cap** (:meth:`ShopClient.request`): the
per-read ``timeout`` alone lets a server that trickles one byte a second hold a call
forever, so each request also has a total time (``deadline``, answer included; at least
``TRANSFER_DEADLINE_S`` for photos and the upload). When it passes, :class:`Deadline`
shuts the request's socket down — our sessions' connections register their socket
with the deadline of the thread using them — which ends any blocked read at once, and
the request fails as :class:`ServerTimeout`. An answer over ``max_answer_bytes`` is
refused without reading the rest. ``stop_at`` (``sync``'s time limit) ends every
request by that moment too. Answers are parsed by the one JSON reader
(:func:`app.core.readers.parse_json`: size and depth limits).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
import urllib3.connection
import urllib3.connectionpool
import urllib3.poolmanager

from ..errors import (
    AnswerTooLarge,
    ChannelAccessError,
    InsecureServerUrl,
    InvalidCredentials,
    NotAVendureServer,
    PermissionDenied,
    PublishError,
    ServerRedirect,
    ServerTimeout,
    ServerUnreachable,
    SessionExpired,
    ShopError,
    TlsError,
)
from ..readers import parse_json
from . import sessions
from .graphql import LOGIN, LOGOUT, ME

log = logging.getLogger(__name__)

UPLOAD_PERMISSION = "UploadMlModel"
STILL_SERVED = "The previous model is still being served."
USER_AGENT = "DukahubModelTrainer/0.1"
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
REQUEST_DEADLINE_S = 60.0  # one request, its whole answer included
TRANSFER_DEADLINE_S = 600.0  # the least a photo download or the model upload gets
MAX_ANSWER_BYTES = 32 * 1024 * 1024  # an Admin API page or a metadata.json is far smaller
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class ChannelInfo:
    id: str
    code: str
    token: str
    permissions: list[str]

    @property
    def can_publish(self) -> bool:
        return UPLOAD_PERMISSION in self.permissions or "SuperAdmin" in self.permissions


def normalise_server_url(url: str) -> str:
    """``shop.example.com`` -> ``https://shop.example.com``; drops a pasted ``/admin-api``.

    Refuses ``user:password@host``: such an address would end up in messages, the log,
    the settings and the sessions file.
    """
    url = url.strip()
    if not url:
        raise ShopError("Enter the address of the shop's server.")
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ShopError(f"“{url}” is not a web address (expected https://your-shop.example).")
    if parts.username is not None or parts.password is not None:
        bare = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))
        raise ShopError(
            f"The server address contains a user name or password (before “@”). Enter "
            f"the address alone ({bare}) and your user name and password in their own fields."
        )
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


# -- deadlines ------------------------------------------------------------------------
_active = threading.local()  # the Deadline of the request this thread is making


class Deadline:
    """The total time one request may take: when it passes, the sockets the request
    uses are shut down, which ends a read blocked on a trickling server at once.

    Used as ``with Deadline(seconds):`` around one request (its retries included) in
    the thread that makes it; connections of :func:`new_http_session` register their
    socket with it (:func:`_watch`).
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = max(0.0, seconds)
        self.expired = False
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._outer: Deadline | None = None
        self._ends = time.monotonic() + self.seconds

    def remaining(self) -> float:
        return max(0.0, self._ends - time.monotonic())

    def __enter__(self) -> Deadline:
        self._outer = getattr(_active, "deadline", None)
        _active.deadline = self
        self._timer = threading.Timer(self.remaining(), self._expire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._timer is not None
        self._timer.cancel()
        _active.deadline = self._outer
        with self._lock:
            self._socks.clear()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            if not self.expired:
                self._socks.append(sock)
                return
        _shut(sock)

    def unwatch(self, sock: socket.socket) -> None:
        with self._lock:
            self._socks = [s for s in self._socks if s is not sock]

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            socks, self._socks = self._socks, []
        for sock in socks:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    # the plain socket's shutdown, also under TLS: it wakes a blocked read at once
    with contextlib.suppress(OSError):  # already closed
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _claim(conn: Any) -> None:
    """The connection's socket now serves this thread's request: watched by its
    deadline, and no longer by the deadline of whichever request used it before (a
    pooled connection moves between requests, and between threads)."""
    sock = conn.sock
    deadline = getattr(_active, "deadline", None)
    before = getattr(conn, "_dukahub_deadline", None)
    if before is not None and before is not deadline and sock is not None:
        before.unwatch(sock)
    conn._dukahub_deadline = deadline
    if deadline is not None and sock is not None:
        deadline.watch(sock)


class _WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    """Registers its socket with the running request's :class:`Deadline`."""

    def connect(self) -> None:
        super().connect()
        _claim(self)

    def request(self, *args: Any, **kwargs: Any) -> None:  # a reused connection
        _claim(self)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _claim(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _claim(self)
        super().request(*args, **kwargs)


class _WatchedHTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _DeadlineAdapter(requests.adapters.HTTPAdapter):
    """An adapter whose connections :class:`Deadline` can shut (directly or through an
    HTTP proxy; a SOCKS proxy keeps its own connections and only the per-read timeout)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if manager.pool_classes_by_scheme is urllib3.poolmanager.pool_classes_by_scheme:
            manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager


def read_capped(resp: requests.Response, limit: int) -> bytes:
    """A streamed response's body, refused past ``limit`` bytes (:class:`AnswerTooLarge`,
    without reading the rest); afterwards ``resp.content`` holds it."""
    declared = resp.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise AnswerTooLarge(f"an answer larger than {limit / 1e6:g} MB")
    body = bytearray()
    for chunk in resp.iter_content(_CHUNK):
        body += chunk
        if len(body) > limit:
            raise AnswerTooLarge(f"an answer larger than {limit / 1e6:g} MB")
    resp._content = bytes(body)  # what ``requests`` itself sets when it reads the body
    return resp._content


def new_http_session(pool: int = 4) -> requests.Session:
    s = requests.Session()
    adapter = _DeadlineAdapter(pool_connections=2, pool_maxsize=max(4, pool))
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    s.headers["User-Agent"] = USER_AGENT
    return s


class ShopClient:
    """A logged-in (or not yet) connection to one Vendure server; safe across threads."""

    def __init__(
        self,
        server_url: str,
        *,
        allow_insecure: bool = False,
        timeout: float = 15.0,
        deadline: float = REQUEST_DEADLINE_S,
        assets_route: str = "assets",
        admin_api_path: str = "admin-api",
        max_image_bytes: int = 25 * 1024 * 1024,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        stop_at: float | None = None,
    ) -> None:
        self.server_url = normalise_server_url(server_url)
        parts = urlsplit(self.server_url)
        if parts.scheme == "http" and not allow_insecure and not is_loopback(parts.hostname or ""):
            raise InsecureServerUrl(
                f"{self.server_url} uses plain http://, so your password would travel "
                "unencrypted. Use https://, or confirm that you trust this network."
            )
        self.timeout = min(timeout, deadline)  # per read (and connect)
        self.deadline = deadline  # per request, its whole answer included
        self.max_image_bytes = max_image_bytes  # per catalogue photo
        self.max_answer_bytes = max_answer_bytes  # per Admin API answer or metadata.json
        self.stop_at = stop_at  # time.monotonic() by which every request ends (sync's limit)
        self.api_url = f"{self.server_url}/{admin_api_path.strip('/')}"
        self.assets_url = f"{self.server_url}/{assets_route.strip('/')}"
        self._lock = threading.RLock()
        self._local = threading.local()
        self._all_http: weakref.WeakSet[requests.Session] = weakref.WeakSet()
        self._token: str | None = None
        self._channel: ChannelInfo | None = None
        self._channels: list[ChannelInfo] = []
        self._username = ""
        self._remember = False

    # ----------------------------------------------------------------- state

    @property
    def channel(self) -> ChannelInfo | None:
        with self._lock:
            return self._channel

    @channel.setter
    def channel(self, value: ChannelInfo | None) -> None:
        with self._lock:
            self._channel = value

    @property
    def username(self) -> str:
        with self._lock:
            return self._username

    @property
    def logged_in(self) -> bool:
        with self._lock:
            return self._token is not None

    def http(self) -> requests.Session:
        """This thread's Session (created on first use)."""
        s = getattr(self._local, "session", None)
        if s is None:
            s = new_http_session()
            self._local.session = s
            with self._lock:
                self._all_http.add(s)
        return s

    def close(self) -> None:
        """Closes every thread's connections (the client stays usable: they reopen)."""
        with self._lock:
            live = list(self._all_http)
        for s in live:
            s.close()

    def latest_url(self) -> str:
        """Public base URL of the served model, as the POS reads it (ends with ``/latest/``)."""
        return f"{self.assets_url}/ml-models/{self.require_channel().id}/latest/"

    # ----------------------------------------------------------------- transport

    def describe_failure(
        self, exc: requests.RequestException, what: str, deadline: Deadline | None = None
    ) -> ShopError:
        host = self.server_url
        if deadline is not None and deadline.expired:  # we shut the connection ourselves
            return ServerTimeout(
                f"{host} did not finish answering within {deadline.seconds:g} s ({what})."
            )
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

    def auth_headers(self, channel: bool = True) -> tuple[dict[str, str], str | None]:
        """Headers of this moment's login, and the token they carry (see :meth:`parse`)."""
        with self._lock:
            token, chan = self._token, self._channel
        h: dict[str, str] = {}
        if token:
            h["Authorization"] = f"Bearer {token}"
        if channel and chan is not None:
            h["vendure-token"] = chan.token
        return h, token

    def _take_token(self, resp: requests.Response, sent_with: str | None) -> None:
        """Vendure sends a (possibly refreshed) session token in this header."""
        token = resp.headers.get("vendure-auth-token")
        if not token:
            return
        with self._lock:
            if self._token != sent_with or token == self._token:
                return  # logged out or in again meanwhile: that answer's token is stale
            self._token = token
            remember, username = self._remember, self._username
        if remember:
            self._save_session(token, username)

    def gql(
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
        headers, token = self.auth_headers(channel)
        resp = self.request(
            "POST",
            self.api_url,
            json=body,
            headers=headers,
            allow_redirects=False,
            retries=retries,
            what=what,
        )
        return self.parse(resp, what, token)

    def time_for(self, seconds: float) -> float:
        """``seconds``, or less when ``stop_at`` comes first."""
        if self.stop_at is None:
            return seconds
        return max(0.0, min(seconds, self.stop_at - time.monotonic()))

    def deadline_for(self, seconds: float | None = None) -> Deadline:
        """A :class:`Deadline` of ``seconds`` (default: ``self.deadline``), ending by
        ``stop_at``; for requests made outside :meth:`request` (photos, the upload)."""
        return Deadline(self.time_for(self.deadline if seconds is None else seconds))

    def request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        retries: int = 0,
        session: requests.Session | None = None,
        max_bytes: int | None = None,
        deadline: float | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """One HTTP request with its whole answer read, bounded in time and size.

        ``deadline`` seconds (default ``self.deadline``) cover every attempt, their
        back-off and the answer; ``max_bytes`` (default ``max_answer_bytes``) caps the
        answer. Connection failures and 502/503/504 are retried ``retries`` times while
        time is left. Failures are :class:`ShopError` subclasses (``ServerTimeout`` when
        the deadline passed).
        """
        http = session if session is not None else self.http()
        cap = self.max_answer_bytes if max_bytes is None else max_bytes
        with self.deadline_for(deadline) as d:
            for attempt in range(retries + 1):
                if d.remaining() <= 0:
                    d.expired = True
                    raise self.describe_failure(requests.exceptions.Timeout(), what, d)
                try:
                    resp = http.request(method, url, timeout=self.timeout, stream=True, **kwargs)
                    with resp:
                        read_capped(resp, cap)
                except AnswerTooLarge as exc:
                    raise AnswerTooLarge(
                        f"{self.server_url} sent {exc} ({what}), far more than it should; "
                        "check the server address."
                    ) from None
                except requests.exceptions.SSLError as exc:
                    raise self.describe_failure(exc, what, d) from exc
                except requests.RequestException as exc:
                    pause = 0.4 * 2**attempt
                    if (
                        attempt < retries
                        and not d.expired
                        and d.remaining() > pause
                        and not isinstance(exc, requests.exceptions.InvalidURL)
                    ):
                        time.sleep(pause)
                        continue
                    raise self.describe_failure(exc, what, d) from exc
                pause = 0.4 * 2**attempt
                busy = resp.status_code in (502, 503, 504)
                if busy and attempt < retries and d.remaining() > pause:
                    time.sleep(pause)
                    continue
                return resp
        raise AssertionError("unreachable")

    def parse(self, resp: requests.Response, what: str, sent_with: str | None) -> dict:
        """The ``data`` of an Admin API answer, or the matching :class:`ShopError`."""
        if 300 <= resp.status_code < 400:
            target = urljoin(resp.url or self.api_url, resp.headers.get("Location", ""))
            raise ServerRedirect(
                f"The server answered with a redirect to {_without_credentials(target)}; "
                "use that address (requests are not sent on to another address, as they "
                "carry your password)."
            )
        self._take_token(resp, sent_with)
        try:
            payload = parse_json(resp.content, max_bytes=self.max_answer_bytes)
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or ("data" not in payload and "errors" not in payload):
            raise NotAVendureServer(
                f"{self.server_url} answered HTTP {resp.status_code} with something that is not "
                f"a Vendure Admin API ({what}). Check the server address."
            )
        errors = payload.get("errors") or []
        if errors:
            raise self._error_from(errors[0], what, sent_with)
        data = payload.get("data") or {}
        if not isinstance(data, dict):
            raise NotAVendureServer(
                f"{self.server_url} answered with something that is not a Vendure Admin API "
                f"({what}). Check the server address."
            )
        return data

    def _error_from(self, err: Any, what: str, sent_with: str | None) -> ShopError:
        err = err if isinstance(err, dict) else {"message": str(err)}
        extensions = err.get("extensions")
        code = str((extensions if isinstance(extensions, dict) else {}).get("code", ""))
        message = str(err.get("message") or code or "unknown error")
        if code == "FORBIDDEN":
            if sent_with and not self._session_alive(sent_with):
                return SessionExpired(
                    f"Your session on {self.server_url} has expired. Please log in again."
                )
            chan = self.channel
            where = f" in channel “{chan.code}”" if chan else ""
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

    def _session_alive(self, token: str) -> bool:
        try:
            resp = self.request(
                "POST",
                self.api_url,
                json={"query": ME},
                headers={"Authorization": f"Bearer {token}"},
                allow_redirects=False,
                what="check the session",
            )
            payload = parse_json(resp.content, max_bytes=self.max_answer_bytes)
            data = payload.get("data") if isinstance(payload, dict) else None
            return bool(data.get("me")) if isinstance(data, dict) else True
        except (ShopError, ValueError):
            return True  # cannot tell; report the original error

    # ----------------------------------------------------------------- login

    def login(self, username: str, password: str, remember: bool = False) -> list[ChannelInfo]:
        """Logs in; the password is only sent, never stored. Returns the user's channels."""
        with self._lock:
            self._token = None
            self._channel = None
            self._remember = False
        data = self.gql(
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
        with self._lock:
            token = self._token
            if not token:
                raise ShopError(
                    f"{self.server_url} did not return a session token: its Vendure must allow "
                    "bearer tokens (authOptions.tokenMethod includes 'bearer')."
                )
            self._username = username
            self._channels = _channels_from(result)
            self._remember = remember
            channels = list(self._channels)
        if remember:
            where = self._save_session(token, username)
            log.info("Session for %s remembered in the %s", self.server_url, where)
        else:
            sessions.forget(self.server_url)
        return channels

    def _save_session(self, token: str, username: str) -> str:
        return sessions.save(
            self.server_url,
            sessions.SavedSession(
                token=token,
                username=username,
                allow_insecure=urlsplit(self.server_url).scheme == "http",
            ),
        )

    @classmethod
    def restore(cls, server_url: str, **kwargs: Any) -> ShopClient | None:
        """A client logged in with the remembered token, or None when none is remembered.

        Raises SessionExpired (and forgets the token) when the server no longer accepts it.
        """
        url = normalise_server_url(server_url)
        saved = sessions.load(url)
        if saved is None:
            return None
        client = cls(url, allow_insecure=saved.allow_insecure, **kwargs)
        with client._lock:
            client._token = saved.token
            client._remember = True
            client._username = saved.username
        try:
            me = client.gql(ME, channel=False, what="restore the session").get("me")
        except (SessionExpired, PermissionDenied):  # Vendure answers FORBIDDEN to a dead token
            me = None
        if not me:
            sessions.forget(url)
            raise SessionExpired(f"Your saved session on {url} has expired. Please log in again.")
        with client._lock:
            client._channels = _channels_from(me)
        return client

    def logout(self) -> None:
        """Ends the session on the server (best effort) and forgets the remembered token."""
        if self.logged_in:
            try:
                self.gql(LOGOUT, channel=False, retries=0, what="log out")
            except ShopError as exc:
                log.info("Server-side logout failed: %s", exc)
        with self._lock:
            self._token = None
            self._channel = None
            self._channels = []
            self._remember = False
        sessions.forget(self.server_url)

    # ----------------------------------------------------------------- channels

    def channels(self) -> list[ChannelInfo]:
        """The user's channels, fresh from the server."""
        self.require_login()
        me = self.gql(ME, channel=False, what="list your channels").get("me")
        if not me:
            raise SessionExpired(
                f"Your session on {self.server_url} has expired. Please log in again."
            )
        fresh = _channels_from(me)
        with self._lock:
            self._channels = fresh
        return list(fresh)

    def select_channel(self, code: str) -> ChannelInfo:
        self.require_login()
        with self._lock:
            known = list(self._channels)
        found = [c for c in known if c.code == code] or [
            c for c in self.channels() if c.code == code
        ]
        if not found:
            with self._lock:
                available = ", ".join(c.code for c in self._channels) or "none"
            raise ChannelAccessError(
                f"User “{self.username}” has no access to channel “{code}” on "
                f"{self.server_url} (accessible: {available})."
            )
        self.channel = found[0]
        return found[0]

    def require_login(self) -> None:
        if not self.logged_in:
            raise SessionExpired(f"Not logged in to {self.server_url}. Please log in.")

    def require_channel(self) -> ChannelInfo:
        self.require_login()
        chan = self.channel
        if chan is None:
            raise ChannelAccessError("Choose one of your channels first.")
        return chan


def _channels_from(user: dict) -> list[ChannelInfo]:
    return [
        ChannelInfo(
            id=str(c["id"]), code=c["code"], token=c["token"], permissions=list(c["permissions"])
        )
        for c in user.get("channels") or []
    ]


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


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
