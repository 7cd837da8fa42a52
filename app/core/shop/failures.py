"""What went wrong talking to the shop, as the :class:`ShopError` the owner reads.

Chosen by the exception's type (``requests``' timeouts, TLS, connection errors) or the
Admin API's error ``code``; the library's own words are only quoted, shortened.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from ..errors import (
    ChannelAccessError,
    InputRefused,
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
from .addresses import without_credentials
from .deadlines import Deadline

STILL_SERVED = "The previous model is still being served."


def transfer_failure(
    host: str,
    timeout: float,
    exc: requests.RequestException,
    what: str,
    deadline: Deadline | None = None,
) -> ShopError:
    """A request to ``host`` that got no (whole) answer; ``what`` names the step."""
    if deadline is not None and deadline.expired:  # we shut the connection ourselves
        return ServerTimeout(
            f"{host} did not finish answering within {deadline.seconds:g} s ({what})."
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return TlsError(
            f"No secure (HTTPS) connection to {host}: {short(exc)}. Check the address; "
            "if the shop uses a certificate of its own (self-signed), set the environment "
            "variable REQUESTS_CA_BUNDLE to that certificate's file (.pem) before starting "
            "the trainer."
        )
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return ServerTimeout(f"{host} did not accept a connection within {timeout:g} s.")
    if isinstance(exc, requests.exceptions.Timeout):
        return ServerTimeout(f"{host} did not answer within {timeout:g} s ({what}).")
    if isinstance(exc, requests.exceptions.ConnectionError):
        return ServerUnreachable(
            f"Cannot reach {host}: {short(exc)}. Check the address and your connection."
        )
    return ServerUnreachable(f"Talking to {host} failed ({what}): {short(exc)}")


def redirect_failure(resp: requests.Response, api_url: str) -> ServerRedirect:
    """Never "use that address" for an https address sent to plain http: the owner
    would then log in unencrypted (a security audit found the advice led there)."""
    target = urljoin(resp.url or api_url, resp.headers.get("Location", ""))
    if urlsplit(resp.url or api_url).scheme == "https" and urlsplit(target).scheme == "http":
        return ServerRedirect(
            f"The server sends its secure (HTTPS) address on to an unencrypted one, "
            f"{without_credentials(target)}; the trainer does not follow it, as your password "
            "would travel unencrypted. Ask whoever runs the shop's server to serve it over "
            "HTTPS."
        )
    return ServerRedirect(
        f"The server answered with a redirect to {without_credentials(target)}; "
        "use that address (requests are not sent on to another address, as they "
        "carry your password)."
    )


def admin_api_payload(resp: requests.Response, host: str, what: str, max_bytes: int) -> dict:
    """An Admin API answer: ``data`` (a JSON object, ``{}`` when missing) and ``errors``;
    :class:`NotAVendureServer` for anything else."""
    try:
        payload = parse_json(resp.content, max_bytes=max_bytes)
    except ValueError:
        payload = None
    if not isinstance(payload, dict) or ("data" not in payload and "errors" not in payload):
        # a Vendure whose Admin API has another path (``apiOptions.adminApiPath``) answers
        # 404 here; the address alone did not say what to look at (an audit of deployments)
        path = " (the trainer asks for it at /admin-api)" if resp.status_code == 404 else ""
        raise NotAVendureServer(
            f"{host} answered HTTP {resp.status_code} with something that is not "
            f"a Vendure Admin API{path} ({what}). Check the server address."
        )
    data = payload.get("data") or {}
    if not payload.get("errors") and not isinstance(data, dict):
        raise NotAVendureServer(
            f"{host} answered with something that is not a Vendure Admin API "
            f"({what}). Check the server address."
        )
    return {"data": data, "errors": payload.get("errors") or []}


def graphql_failure(
    host: str,
    err: Any,
    what: str,
    *,
    channel_code: str | None,
    session_alive: Callable[[], bool],
) -> ShopError:
    """The Admin API's first error: by its ``code`` (``FORBIDDEN`` from a dead session is
    told apart by ``session_alive``, asked only then)."""
    err = err if isinstance(err, dict) else {"message": str(err)}
    extensions = err.get("extensions")
    code = str((extensions if isinstance(extensions, dict) else {}).get("code", ""))
    message = str(err.get("message") or code or "unknown error")
    if code == "FORBIDDEN":
        if not session_alive():
            return SessionExpired(f"Your session on {host} has expired. Please log in again.")
        where = f" in channel “{channel_code}”" if channel_code else ""
        return PermissionDenied(
            f"Your user is not allowed to {what}{where} on {host}. "
            "Ask the shop's administrator for the permission."
        )
    if code == "CHANNEL_NOT_FOUND":
        return ChannelAccessError(f"The channel no longer exists on {host}.")
    if code == "ML_MODEL_REJECTED":
        return PublishError(f"The server refused the model: {message} {STILL_SERVED}")
    if code == "USER_INPUT_ERROR":
        return InputRefused(f"The server refused the request ({what}): {message}")
    if "Cannot query field" in message and ("mlModel" in message or "MlModel" in message):
        return ShopError(
            f"{host} does not have the Dukahub ML model plugin installed "
            "(see packaging/vendure-plugin/README.md)."
        )
    return ShopError(f"The server reported an error ({what}): {message}")


def short(exc: BaseException) -> str:
    """The library's words for a connection failure, cut to what an owner can look up."""
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
