"""Every request to the shop ends in time: a total deadline that shuts its socket.

The per-read ``timeout`` alone lets a server that trickles one byte a second hold a
call forever, so each request also has a total time (``deadline``, answer included;
at least ``TRANSFER_DEADLINE_S`` for photos and the upload). When it passes,
:class:`Deadline` shuts the request's socket down — our sessions' connections register
their socket with the deadline of the thread using them — which ends any blocked read
at once, and the request fails as ``ServerTimeout``. An answer over a cap is refused
without reading the rest (:func:`read_capped`).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
import urllib3.connection
import urllib3.connectionpool
import urllib3.poolmanager

from ..errors import AnswerTooLarge

USER_AGENT = "DukahubModelTrainer/0.1"
REQUEST_DEADLINE_S = 60.0  # one request, its whole answer included
TRANSFER_DEADLINE_S = 600.0  # the least a photo download or the model upload gets
MAX_ANSWER_BYTES = 32 * 1024 * 1024  # an Admin API page or a metadata.json is far smaller
_CHUNK = 64 * 1024

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


def answered(
    http: requests.Session,
    method: str,
    url: str,
    *,
    timeout: float,
    deadline: Deadline,
    cap: int,
    retries: int,
    failure: Callable[[requests.RequestException, Deadline], Exception],
    too_large: Callable[[AnswerTooLarge], Exception],
    **kwargs: Any,
) -> requests.Response:
    """One request with its whole answer read (at most ``cap`` bytes) within
    ``deadline``: connection failures and 502/503/504 are retried ``retries`` times,
    with back-off, while time is left (:meth:`ShopClient.request` words the failures)."""
    for attempt in range(retries + 1):
        if deadline.remaining() <= 0:
            deadline.expired = True
            raise failure(requests.exceptions.Timeout(), deadline)
        try:
            resp = http.request(method, url, timeout=timeout, stream=True, **kwargs)
            with resp:
                read_capped(resp, cap)
        except AnswerTooLarge as exc:
            raise too_large(exc) from None
        except requests.exceptions.SSLError as exc:
            raise failure(exc, deadline) from exc
        except requests.RequestException as exc:
            pause = 0.4 * 2**attempt
            if (
                attempt < retries
                and not deadline.expired
                and deadline.remaining() > pause
                and not isinstance(exc, requests.exceptions.InvalidURL)
            ):
                time.sleep(pause)
                continue
            raise failure(exc, deadline) from exc
        pause = 0.4 * 2**attempt
        if (
            resp.status_code in (502, 503, 504)
            and attempt < retries
            and deadline.remaining() > pause
        ):
            time.sleep(pause)
            continue
        return resp
    raise AssertionError("unreachable")
