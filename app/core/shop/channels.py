"""The channels a user may work in, as the Admin API's ``me`` query lists them."""

from __future__ import annotations

from dataclasses import dataclass

UPLOAD_PERMISSION = "UploadMlModel"


@dataclass(frozen=True)
class ChannelInfo:
    id: str
    code: str
    token: str
    permissions: list[str]

    @property
    def can_publish(self) -> bool:
        return UPLOAD_PERMISSION in self.permissions or "SuperAdmin" in self.permissions


def channels_from(user: dict) -> list[ChannelInfo]:
    """The ``channels`` of a ``CurrentUser`` (login) or ``me`` answer."""
    return [
        ChannelInfo(
            id=str(c["id"]), code=c["code"], token=c["token"], permissions=list(c["permissions"])
        )
        for c in user.get("channels") or []
    ]
