"""Reading back a published file as the POS does, compared with ours as it arrives.

After a publish every file is downloaded from the channel's ``latest/`` address and
compared byte for byte. A 5,000-product model's weights.bin is 28 MB: it is compared
chunk by chunk against the bytes uploaded (never held a second time, and a longer
answer is cut off one chunk past ours), with progress as it comes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from .transport import TRANSFER_DEADLINE_S, ShopClient

_CHUNK = 64 * 1024
_REPORT_EVERY = 1 << 20  # bytes between progress reports
_RETRIES = 2  # a 502/503/504 or a dropped connection is tried again, within the deadline


@dataclass(frozen=True)
class ServedFile:
    """What the address answered, compared with the local bytes."""

    status: int
    version: str | None  # the plugin's X-Ml-Model-Version header
    size: int  # bytes read (a longer answer: at most one chunk past ours)
    same: bool  # 200 and exactly our bytes
    longer: bool  # more bytes than ours


def compare_served(
    client: ShopClient,
    session: requests.Session,
    url: str,
    local: bytes,
    on_bytes: Callable[[int], None] | None = None,
) -> ServedFile:
    """GET ``url`` (no cache) and compare it with ``local`` as it arrives;
    ``on_bytes(bytes so far)`` about every MB."""
    what = "check the published files"
    with client.deadline_for(max(client.deadline, TRANSFER_DEADLINE_S)) as deadline:
        for attempt in range(_RETRIES + 1):
            try:
                headers = {"Cache-Control": "no-cache"}
                with session.get(url, headers=headers, timeout=client.timeout, stream=True) as r:
                    if r.status_code in (502, 503, 504) and attempt < _RETRIES:
                        time.sleep(0.4 * 2**attempt)
                        continue
                    return _compare(r, local, on_bytes)
            except requests.RequestException as exc:
                if attempt < _RETRIES and not deadline.expired:
                    time.sleep(0.4 * 2**attempt)
                    continue
                raise client.describe_failure(exc, what, deadline) from exc
    raise AssertionError("unreachable")


def _compare(
    resp: requests.Response, local: bytes, on_bytes: Callable[[int], None] | None
) -> ServedFile:
    version = resp.headers.get("X-Ml-Model-Version")
    if resp.status_code != 200:
        return ServedFile(resp.status_code, version, 0, False, False)
    declared = resp.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > len(local):
        return ServedFile(200, version, int(declared), False, True)
    ours = memoryview(local)
    size, same, said = 0, True, 0
    for chunk in resp.iter_content(_CHUNK):
        end = size + len(chunk)
        same = same and end <= len(local) and ours[size:end] == chunk
        size = end
        if size > len(local):
            return ServedFile(200, version, size, False, True)
        if on_bytes is not None and (size - said >= _REPORT_EVERY or size == len(local)):
            said = size
            on_bytes(size)
    return ServedFile(200, version, size, same and size == len(local), False)
