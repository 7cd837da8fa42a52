"""The connection to one Vendure server: GraphQL POSTs, retries, login state.

Thread safety — the GUI runs the products download, the model status and a publish on
one client at once, each in its own worker thread: **one ``requests.Session`` per
thread** (a Session's pool and cookie jar are not documented as thread-safe, and a slow
upload must not hold the connection the status check needs) and **one lock around the
login state** (token, channel, channel list, username): a request takes a snapshot of
one moment, and a refreshed token from an answer only replaces the token it was sent
with, so a late answer never undoes a newer login.

Admin API requests never follow redirects: ``requests`` re-sends a POST body on a
307/308, which holds the password or the model. Every request has a deadline and a size
cap (:mod:`.deadlines`); ``stop_at`` (``sync``'s time limit) ends every request by then.
Addresses, failures, channels and the server's clock are modules beside it.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
import weakref
from typing import Any
from urllib.parse import urlsplit

import requests

from ..errors import (
    AnswerTooLarge,
    ChannelAccessError,
    InsecureServerUrl,
    InvalidCredentials,
    PermissionDenied,
    SessionExpired,
    ShopError,
)
from ..readers import parse_json
from . import latest, sessions
from .addresses import is_loopback, normalise_server_url
from .channels import UPLOAD_PERMISSION, ChannelInfo, channels_from, check_active_channel
from .deadlines import (
    MAX_ANSWER_BYTES,
    REQUEST_DEADLINE_S,
    TRANSFER_DEADLINE_S,
    USER_AGENT,
    Deadline,
    answered,
    new_http_session,
    read_capped,
)
from .failures import (
    STILL_SERVED,
    admin_api_payload,
    graphql_failure,
    redirect_failure,
    transfer_failure,
)
from .graphql import LOGIN, LOGOUT, ME
from .server_clock import ServerClock

log = logging.getLogger(__name__)

__all__ = [  # what other modules import from here (some from before the split)
    "MAX_ANSWER_BYTES",
    "REQUEST_DEADLINE_S",
    "STILL_SERVED",
    "TRANSFER_DEADLINE_S",
    "UPLOAD_PERMISSION",
    "USER_AGENT",
    "ChannelInfo",
    "Deadline",
    "ShopClient",
    "is_loopback",
    "new_http_session",
    "normalise_server_url",
    "read_capped",
]


class ShopClient:
    """A logged-in (or not yet) connection to one Vendure server; safe across threads."""

    def __init__(
        self,
        server_url: str,
        *,
        allow_insecure: bool = False,
        timeout: float = 15.0,
        deadline: float = REQUEST_DEADLINE_S,
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
        self._lock = threading.RLock()
        self._local = threading.local()
        self._all_http: weakref.WeakSet[requests.Session] = weakref.WeakSet()
        self._token: str | None = None
        self._channel: ChannelInfo | None = None
        self.page_size = 100  # products a list query takes: the server may allow fewer
        self._channels: list[ChannelInfo] = []
        self._username = ""
        self._remember = False
        self.clock = ServerClock()  # the server's time, from its answers: sync's debounce

    def pinned(self) -> ShopClient:
        """A copy that keeps the channel selected now, whatever this client selects next (a
        publish ran on while the owner switched channels and took the new one's token). It
        shares the login and the connections: never ``close`` it."""
        with self._lock:
            return copy.copy(self)

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
        """Public base URL of the served model, as the POS reads it (:mod:`.latest`)."""
        return latest.latest_url(self)

    # ----------------------------------------------------------------- transport

    def describe_failure(
        self, exc: requests.RequestException, what: str, deadline: Deadline | None = None
    ) -> ShopError:
        return transfer_failure(self.server_url, self.timeout, exc, what, deadline)

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
        with self.deadline_for(deadline) as d:
            resp = answered(
                http,
                method,
                url,
                timeout=self.timeout,
                deadline=d,
                cap=self.max_answer_bytes if max_bytes is None else max_bytes,
                retries=retries,
                failure=lambda exc, d: self.describe_failure(exc, what, d),
                too_large=lambda exc: AnswerTooLarge(
                    f"{self.server_url} sent {exc} ({what}), far more than it should; "
                    "check the server address."
                ),
                **kwargs,
            )
        self.clock.note(resp)
        return resp

    def parse(self, resp: requests.Response, what: str, sent_with: str | None) -> dict:
        """The ``data`` of an Admin API answer, or the matching :class:`ShopError`."""
        if 300 <= resp.status_code < 400:
            raise redirect_failure(resp, self.api_url)
        self._take_token(resp, sent_with)
        payload = admin_api_payload(resp, self.server_url, what, self.max_answer_bytes)
        errors = payload.get("errors") or []
        if errors:
            raise self._error_from(errors[0], what, sent_with)
        return payload["data"]

    def _error_from(self, err: Any, what: str, sent_with: str | None) -> ShopError:
        chan = self.channel
        return graphql_failure(
            self.server_url,
            err,
            what,
            channel_code=chan.code if chan else None,
            session_alive=lambda: not sent_with or self._session_alive(sent_with),
        )

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

    def login(
        self, username: str, password: str, remember: bool | None = False
    ) -> list[ChannelInfo]:
        """Logs in; the password is only sent, never stored. Returns the user's channels.

        ``remember``: keep this session for later runs (True), forget any kept for the
        server (False: the app's login without "Keep me logged in"), or leave what is
        kept as it is (None: a command's one-off login, which deleted the session a
        scheduled ``sync`` relies on)."""
        with self._lock:
            self._token = None
            self._channel = None
            self._remember = False
        data = self.gql(
            LOGIN,
            {"username": username, "password": password, "rememberMe": bool(remember)},
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
                    f"{self.server_url} sent no session token: its Vendure must allow bearer "
                    "tokens (authOptions.tokenMethod includes 'bearer') in the header "
                    "vendure-auth-token (authOptions.authTokenHeaderKey)."
                )
            self._username = username
            self._channels = channels_from(result)
            self._remember = bool(remember)
            channels = list(self._channels)
        if remember:
            where = self._save_session(token, username)
            log.info("Session for %s remembered in the %s", self.server_url, where)
        elif remember is not None:
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
            client._channels = channels_from(me)
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
        fresh = channels_from(me)
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
        check_active_channel(self, found[0])
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
