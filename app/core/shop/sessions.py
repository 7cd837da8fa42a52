"""Remembered sessions (*Keep me logged in*): a session token per server, never a password.

The token goes to the OS keyring (``keyring`` package: Secret Service, macOS Keychain,
Windows Credential Locker) when a usable backend exists, because on Windows ``chmod``
protects nothing and a keyring is what each OS offers for secrets. Without one (a
headless Linux box, a container) it goes to ``shop_sessions.json`` in the config folder,
mode 0600. That file always holds the non-secret index (server -> username, whether
plain http was confirmed), so a remembered server is found without asking the keyring.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import paths
from ..locks import LockBusy, exclusive_lock
from ..readers import expect, load_app_file

log = logging.getLogger(__name__)

SESSIONS_FILE = "shop_sessions.json"
KEYRING_SERVICE = "dukahub-trainer"
_lock = threading.Lock()  # the file is read-modified-written by several tasks


@dataclass(frozen=True)
class SavedSession:
    token: str
    username: str = ""
    allow_insecure: bool = False


def sessions_path() -> Path:
    return paths.config_dir() / SESSIONS_FILE


def _keyring() -> Any | None:
    """The OS keyring backend, or None when none is usable (fail/null backends, priority 0)."""
    try:
        import keyring
        from keyring.backends import fail, null

        backend = keyring.get_keyring()
        if isinstance(backend, (fail.Keyring, null.Keyring)):
            return None
        return backend if float(backend.priority) > 0 else None
    except Exception as exc:  # a broken backend must not break logging in
        log.info("No usable OS keyring: %s", exc)
        return None


def store_description() -> str:
    """Where a remembered token is kept, for the log and the About box."""
    backend = _keyring()
    if backend is not None:
        return f"system keyring ({getattr(backend, 'name', type(backend).__name__)})"
    return f"file {sessions_path()} (0600)"


def _read_index() -> dict[str, dict]:
    return load_app_file(
        sessions_path(), what="the remembered logins", check=_index_shape, default=dict
    )


def _index_shape(raw: Any) -> dict[str, dict]:
    """``{server: {"username", "allow_insecure", "store", "token"?}}``."""
    expect(isinstance(raw, dict), "not a JSON object")
    kinds = {"username": str, "allow_insecure": bool, "store": str, "token": str}
    for server, entry in raw.items():
        expect(isinstance(entry, dict), f"the entry of {server} is not an object")
        for key, kind in kinds.items():
            expect(
                key not in entry or isinstance(entry[key], kind),
                f"“{key}” of {server} is not a {kind.__name__}",
            )
    return raw


@contextmanager
def _editing() -> Iterator[None]:
    """The index read, changed and written by one task and one process at a time: the
    app and a ``login`` or ``sync`` on the command line saving at once lost one of the
    remembered logins (a data-loss audit). A lock held for long is passed by, logged:
    a login is not refused for it."""
    with _lock, ExitStack() as held:
        try:
            held.enter_context(exclusive_lock(sessions_path().with_suffix(".lock"), wait_s=5.0))
        except LockBusy:
            log.warning("%s stayed locked by another process; saved without it", sessions_path())
        yield


def _write_index(index: dict[str, dict]) -> None:
    path = sessions_path()
    paths.atomic_write_bytes(path, json.dumps(index, indent=1).encode("utf-8"))
    os.chmod(path, 0o600)


def load(server_url: str) -> SavedSession | None:
    """The remembered session for this server, or None."""
    with _lock:
        entry = _read_index().get(server_url)
    if not isinstance(entry, dict):
        return None
    token = entry.get("token")
    if not token and entry.get("store") == "keyring":
        backend = _keyring()
        try:
            token = backend.get_password(KEYRING_SERVICE, server_url) if backend else None
        except Exception as exc:
            log.warning("Reading the session token from the keyring failed: %s", exc)
            token = None
    if not isinstance(token, str) or not token:
        return None
    return SavedSession(
        token=token,
        username=str(entry.get("username") or ""),
        allow_insecure=bool(entry.get("allow_insecure")),
    )


def save(server_url: str, session: SavedSession) -> str:
    """Remembers the session; returns where the token went (see :func:`store_description`)."""
    entry: dict[str, Any] = {
        "username": session.username,
        "allow_insecure": session.allow_insecure,
    }
    backend = _keyring()
    stored = False
    if backend is not None:
        try:
            backend.set_password(KEYRING_SERVICE, server_url, session.token)
            entry["store"] = "keyring"
            stored = True
        except Exception as exc:  # locked or refusing keyring: fall back to the file
            log.warning("The keyring refused the session token (%s); using the file", exc)
    if not stored:
        entry["store"] = "file"
        entry["token"] = session.token
    with _editing():
        index = _read_index()
        index[server_url] = entry
        _write_index(index)
    return store_description() if stored else f"file {sessions_path()} (0600)"


def forget(server_url: str) -> None:
    """Forgets the session in the file and in the keyring (a token may be in either)."""
    with _editing():
        index = _read_index()
        entry = index.pop(server_url, None)
        if entry is not None:
            _write_index(index)
    if isinstance(entry, dict) and entry.get("store") == "keyring":
        backend = _keyring()
        if backend is not None:
            try:
                backend.delete_password(KEYRING_SERVICE, server_url)
            except Exception as exc:  # already gone, or the keyring is locked
                log.info("Removing the session token from the keyring: %s", exc)
