"""Publishing a model to the channel, checking what is served, rolling back.

The server swaps a new version in atomically, so any failure before the swap leaves
the previous model served. What the client must get right is *saying* what happened:

* the served version is compared with ours (sha256 of the three files, from the
  plugin's ``mlModel`` query) — a publish that another one overtook says so
  (:class:`PublishSuperseded`), and one whose files are already served is not uploaded
  again (a retry never publishes twice);
* a response lost after the body was sent (read timeout, dropped connection) is not
  reported as "nothing changed": the server is asked which version it serves.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from ..errors import (
    AnswerTooLarge,
    Cancelled,
    ChannelAccessError,
    ModelFilesError,
    NotAVendureServer,
    PermissionDenied,
    PublishError,
    PublishSuperseded,
    SessionExpired,
    ShopError,
)
from ..heartbeat import Heartbeat
from ..progress import Phase, ProgressHook, Reporter
from ..readers import parse_json
from ..wording import some_names
from . import latest
from .catalogue import product_ids
from .graphql import ML_MODEL, ROLLBACK, UPLOAD
from .served import compare_served
from .transport import (
    STILL_SERVED,
    TRANSFER_DEADLINE_S,
    ShopClient,
    new_http_session,
    read_capped,
)

if TYPE_CHECKING:  # NumPy: loaded when a model is read, not with the shop client
    from ..modelfiles import ModelFiles


@dataclass(frozen=True)
class PublishResult:
    url: str  # public base URL of the served model, ending in /latest/
    metadata: dict
    version: str
    reused: bool = False  # our files were already the served version: nothing uploaded


def published_metadata(client: ShopClient) -> dict | None:
    """metadata.json of the served model, read like the POS reads it; None if none yet."""
    url = client.latest_url() + "metadata.json"
    resp = client.request(
        "GET",
        url,
        headers={"Cache-Control": "no-cache"},
        retries=2,
        what="read the published model",
    )
    if resp.status_code == 404:
        return None
    if resp.status_code != 200:
        raise ShopError(f"Reading {url} failed: HTTP {resp.status_code}.")
    try:
        meta = parse_json(resp.content, max_bytes=client.max_answer_bytes)
    except ValueError as exc:
        raise ShopError(
            f"The published metadata.json at {url} is not valid JSON ({exc})."
        ) from None
    labels = meta.get("labels", []) if isinstance(meta, dict) else None
    if not isinstance(labels, list):
        raise ShopError(f"The published metadata.json at {url} is damaged (no list of labels).")
    return meta


def model_status(client: ShopClient, *, what: str = "read the published models") -> dict:
    """The plugin's view: ``{"current": {...} | None, "versions": [...]}``."""
    channel = client.require_channel()
    status = client.gql(ML_MODEL, what=what)["mlModel"]
    latest.remember(client, channel.id, status.get("latestPath"))
    return status


def list_versions(client: ShopClient) -> list[dict]:
    """Stored versions, newest first; each has version, trainedAt, createdAt, current."""
    return list(model_status(client)["versions"])


def rollback(client: ShopClient, version: str) -> dict:
    """Serves an earlier stored version again."""
    client = client.pinned()
    client.require_channel()
    try:
        data = client.gql(ROLLBACK, {"version": version}, retries=0, what="roll back the model")
    except PublishError as exc:
        raise PublishError(str(exc).replace("refused the model", "refused the rollback")) from exc
    return data["rollbackMlModel"]


def file_hashes(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def _hashes_of(version: dict | None) -> dict[str, str]:
    return {f["name"]: f["sha256"] for f in (version or {}).get("files") or []}


def publish(
    client: ShopClient,
    model_dir: Path | str,
    *,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> PublishResult:
    """Uploads model.json, weights.bin and metadata.json in one call and verifies them.

    Checks locally first (files valid, trained for this channel, every label still a
    product here, a finite prediction), then uploads, then compares what the server
    serves with ours.
    """
    from ..modelfiles import ExportedModel, read_model_files

    client = client.pinned()  # this channel to the end, even if the app switches meanwhile
    channel = client.require_channel()
    rep = Reporter(on_progress, cancel)
    rep(Phase.UPLOADING, 0.0, "Checking the model files…")
    try:
        model = read_model_files(model_dir)
    except ModelFilesError as exc:
        raise PublishError(f"{exc}. {STILL_SERVED}") from exc
    metadata = model.metadata
    if str(metadata.get("channelId", "")) != channel.id:
        raise PublishError(
            f"This model was trained for channel id “{metadata.get('channelId')}”, not "
            f"“{channel.code}” (id {channel.id}). {STILL_SERVED}"
        )
    labels = "Checking the labels against the catalogue…"
    rep(Phase.UPLOADING, 0.02, labels)

    def page(read: int, total: int) -> None:  # a supermarket's 5,000 products: 50 pages
        if total:
            rep(Phase.UPLOADING, 0.02 + 0.01 * read / total, f"{labels} {read:,} of {total:,}")

    known = product_ids(client, page)
    missing = [str(x) for x in metadata["labels"] if str(x) not in known]
    if missing:
        shown = some_names(missing, 10)
        raise PublishError(
            f"{len(missing)} of the model's products are no longer products of channel "
            f"“{channel.code}” (ids {shown}). Retrain with the current catalogue. " + STILL_SERVED
        )
    testing = "Testing the model on a grey image…"
    rep(Phase.UPLOADING, 0.03, testing)
    try:  # loads TensorFlow: after the cheap checks (seconds without a word otherwise)
        with Heartbeat(lambda secs: rep(Phase.UPLOADING, 0.03, f"{testing} {secs:.0f} s")):
            ExportedModel(model.dir, metadata).check_prediction()
    except ModelFilesError as exc:
        raise PublishError(f"{exc}. {STILL_SERVED}") from exc
    ours = file_hashes(model.files)
    before = model_status(client, what="publish models")["current"]
    if before is not None and _hashes_of(before) == ours:  # a retry of a publish that worked
        rep(Phase.UPLOADING, 0.92, "This model is already served; checking…")
        version = _verify_served(client, model.files, before["version"], rep.sub(0.92, 0.99))
        rep(Phase.UPLOADING, 1.0, f"Already published as version {version}")
        return PublishResult(client.latest_url(), metadata, version, reused=True)
    version = _upload(client, model, ours, before, rep, cancel)
    rep(Phase.UPLOADING, 0.92, "Checking what the server now serves…")
    served = _verify_served(client, model.files, version, rep.sub(0.92, 0.99))
    rep(Phase.UPLOADING, 1.0, f"Published version {served}")
    return PublishResult(url=client.latest_url(), metadata=metadata, version=served)


def _upload(
    client: ShopClient,
    model: ModelFiles,
    ours: dict[str, str],
    before: dict | None,
    rep: Reporter,
    cancel: threading.Event | None,
) -> str:
    """The upload mutation; returns the version the server stored."""
    body = _MultipartBody(
        UPLOAD,
        [
            ("modelJson", "model.json", model.files["model.json"], "application/json"),
            ("weights", "weights.bin", model.files["weights.bin"], "application/octet-stream"),
            ("metadata", "metadata.json", model.files["metadata.json"], "application/json"),
        ],
        rep.sub(0.05, 0.9),
    )
    headers, token = client.auth_headers(True)
    headers["Content-Type"] = body.content_type
    headers["apollo-require-preflight"] = "true"  # CSRF guard of Apollo for multipart
    deadline = client.deadline_for(max(client.deadline, TRANSFER_DEADLINE_S))
    try:
        with deadline:
            resp = client.http().post(
                client.api_url,
                data=body,
                headers=headers,
                timeout=(client.timeout, max(client.timeout, 120.0)),
                allow_redirects=False,
                stream=True,
            )
            with resp:
                read_capped(resp, client.max_answer_bytes)
    except Cancelled as exc:
        raise Cancelled(f"Publishing cancelled. {STILL_SERVED}") from exc
    except AnswerTooLarge as exc:
        return _after_lost_answer(client, ours, before, f"the server sent {exc}", False)
    except requests.RequestException as exc:
        if isinstance(exc.__context__, Cancelled) or (cancel is not None and cancel.is_set()):
            raise Cancelled(f"Publishing cancelled. {STILL_SERVED}") from exc
        failure = client.describe_failure(exc, "upload the model", deadline)
        if not body.started:  # nothing left this computer
            raise PublishError(f"The upload failed: {failure} {STILL_SERVED}") from exc
        # all of it sent: the server may still be storing it when the connection breaks
        # (a proxy that gave up on the answer); it served the model 2 s later
        still_working = (
            deadline.expired or isinstance(exc, requests.exceptions.ReadTimeout) or body.finished
        )
        return _after_lost_answer(client, ours, before, f"{failure}", still_working)
    if resp.status_code == 413:  # a proxy's (or the server's) limit on a request's size
        raise PublishError(
            f"Something in front of the shop's server refused the upload of "
            f"{len(body) / 1e6:.1f} MB as too large (HTTP 413): raise its limit on a "
            "request's size above the model's (nginx: client_max_body_size; the plugin "
            f"README, step 2). {STILL_SERVED}"
        )
    try:
        data = client.parse(resp, "publish models", token)
    except NotAVendureServer as exc:  # e.g. a proxy's 504 page: the server may have it
        return _after_lost_answer(client, ours, before, str(exc), True)
    except (PublishError, PermissionDenied, SessionExpired, ChannelAccessError):
        raise
    except ShopError as exc:
        raise PublishError(f"{exc} {STILL_SERVED}") from exc
    return str(data["uploadMlModel"]["version"])


# after a lost answer, how often the server is asked what it serves (4 times in all)
ASK_AGAIN_S = 2.0


def _after_lost_answer(
    client: ShopClient,
    ours: dict[str, str],
    before: dict | None,
    failure: str,
    still_working: bool,
) -> str:
    """The body was sent but no answer came: ask which version the server serves now.

    Returns that version when it is ours; otherwise raises PublishError saying what the
    server does serve. After a timeout, or a connection lost once the whole body was
    sent, the server may still be storing the model: it is asked a few times, and the
    error then says the model is not served *yet*, not that it was not published.
    """
    attempts = 4 if still_working else 1
    current: dict | None = None
    for attempt in range(attempts):
        if attempt:
            time.sleep(ASK_AGAIN_S)
        try:
            current = model_status(client, what="check what the server serves")["current"]
        except ShopError as exc:
            raise PublishError(
                f"The upload's answer was lost ({failure}), and asking the server what it "
                f"serves failed too ({exc}). Run “dukahub-trainer status” (or reopen the "
                "Publish screen) to see which model is served."
            ) from exc
        if current is not None and _hashes_of(current) == ours:
            return str(current["version"])
    if current is None:
        now = "The server serves no model."
    elif before is not None and current["version"] == before["version"]:
        now = STILL_SERVED
    else:
        now = f"The server serves version {current['version']}, which is not this model."
    if still_working:
        waited = ASK_AGAIN_S * (attempts - 1)
        raise PublishError(
            f"The upload's answer was lost ({failure}), and the server does not serve this "
            f"model {waited:.0f} s later. {now} If the server was still storing it, it will "
            "be served shortly: run “dukahub-trainer status” (or reopen the Publish screen) "
            "to see which model is served."
        )
    raise PublishError(f"The upload was interrupted ({failure}) and was not published. {now}")


def _verify_served(client: ShopClient, files: dict[str, bytes], version: str, rep: Reporter) -> str:
    """Checks the server serves our files; returns the served version.

    The plugin's ``mlModel`` says which version is current and its files' sha256; the
    three files are then downloaded like the POS does and compared byte for byte as
    they arrive (a 28 MB weights.bin is never held twice), with progress. A different
    served version with other files means another publish overtook ours.
    """
    current = model_status(client, what="check what the server serves")["current"]
    served = str(current["version"]) if current else None
    if current is None or _hashes_of(current) != file_hashes(files):
        _superseded(version, served)
    base = client.latest_url()
    plain = new_http_session()
    total, done = sum(len(b) for b in files.values()), 0
    try:
        for name, local in files.items():

            def seen(n: int, name: str = name, size: int = len(local), before: int = done) -> None:
                text = f"the published {name}, {n / 1e6:.0f} of {size / 1e6:.0f} MB"
                rep(Phase.VERIFYING, (before + n) / total, text)

            rep(Phase.VERIFYING, done / total, f"the published {name}")
            got = compare_served(client, plain, base + name, local, seen)
            done += len(local)
            if got.same:
                continue
            # another publish swapped in while we read: its files, not a stale cache
            if (got.version or served) != served:
                _superseded(version, got.version)
            if got.longer:
                raise PublishError(
                    f"The server accepted version {version}, but {base}{name} is larger than "
                    "the file uploaded. A cache or proxy in front of the server may be holding "
                    "an old copy."
                )
            why = (
                f"HTTP {got.status}"
                if got.status != 200
                else f"{got.size} bytes that differ from the {len(local)} uploaded"
            )
            raise PublishError(
                f"The server accepted version {version}, but {base}{name} answers with "
                f"{why}. A cache or proxy in front of the server may be holding an old copy."
            )
    finally:
        plain.close()
    assert served is not None
    return served


def _superseded(version: str, served: str | None) -> None:
    instead = f"version {served} is served instead" if served else "no model is served now"
    raise PublishSuperseded(
        f"Your model was stored as version {version}, but another publish or rollback "
        f"replaced it moments later: {instead}. Roll back to {version} if yours should "
        "be the one in use."
    )


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
            parts += [head, data, b"\r\n"]
        parts.append(f"--{self.boundary}--\r\n".encode())
        # the parts as they are, never joined: a 28 MB weights.bin is not copied again
        self._parts = [memoryview(p) for p in parts]
        self._size = sum(len(p) for p in parts)
        self._pos = 0
        self._rep = rep

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    @property
    def started(self) -> bool:
        """Whether any of the body was handed to the connection."""
        return self._pos > 0

    @property
    def finished(self) -> bool:
        """Whether all of the body was handed to the connection."""
        return self._pos >= self._size

    def _field(self, name: str, value: bytes) -> bytes:
        return (
            (f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n').encode()
            + value
            + b"\r\n"
        )

    def __len__(self) -> int:
        return self._size

    def read(self, size: int = -1) -> bytes:
        if self._pos == 0 or size < 0 or self._pos % (256 * 1024) < size:
            mib = self._size / 1e6
            self._rep(Phase.UPLOADING, self._pos / self._size, f"Uploading {mib:.1f} MB…")
        want = self._size - self._pos if size < 0 else size
        out = bytearray()
        while self._parts and len(out) < want:
            part = self._parts[0]
            take = part[: want - len(out)]
            out += take
            if len(take) == len(part):
                self._parts.pop(0)
            else:
                self._parts[0] = part[len(take) :]
        self._pos += len(out)
        return bytes(out)
