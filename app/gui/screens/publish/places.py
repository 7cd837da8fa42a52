"""Where a model is published, as the Publish screen says it: a shop channel or a folder.

Both are the same :class:`~app.core.flows.publish.PublishTarget` underneath (one
:class:`~.panel.PublishPanel` serves both); what differs is only how the owner is told
— "channel “fruit”" or "channel 1 in the folder /srv/assets" — and, for a shop, that
reading what it serves is a request over the network, made in the background.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.errors import PublishError
from app.core.wording import describe_model, two_models

if TYPE_CHECKING:  # the publish task loads with the first read of a place
    from app.core.flows.login import ShopClient
    from app.core.flows.publish import ModelVersion, Published, PublishTarget, TargetStatus


def describe_version(version: ModelVersion | None) -> str:
    """ "the model trained 2 days ago (3 Dec 2026, 14:05) with 6 products…"."""
    return describe_model(version.model_metadata) if version is not None else "nothing"


def two_versions(chosen: ModelVersion, current: ModelVersion | None) -> tuple[str, str]:
    """Two versions as a question names them: to the second where the minutes clash."""
    if current is None:
        return describe_version(chosen), "nothing"
    return two_models(dict(chosen.model_metadata), dict(current.model_metadata))


@dataclass(frozen=True)
class ShopPlace:
    """The channel ``client`` has selected, named ``code``."""

    client: ShopClient
    code: str

    remote = True  # what it serves is read over the network: in the background
    status_resource = "publish-status"
    max_rows = 10
    checking = "Checking what the shop serves now…"
    sending = "Uploading…"

    @property
    def key(self) -> Any:
        """Who the served files were read from: a new login reads them again."""
        return self.client

    def target(self) -> PublishTarget:
        from app.core.flows.publish import ShopTarget

        return ShopTarget(self.client)

    def status_failed(self, message: str) -> str:
        return escape(f"Could not read the server's models: {message}")

    def served_text(self, status: TargetStatus) -> str:
        current = status.current
        if current is None:
            return f"Channel <b>{escape(self.code)}</b> has no published model yet."
        return (
            f"Channel <b>{escape(self.code)}</b> serves {escape(describe_version(current))}, "
            f"version <b>{escape(current.version)}</b>. Versions kept on the server (choose one "
            "to serve it again):"
        )

    def publish_question(self, local: str, current: str | None) -> tuple[str, str]:
        """``local`` and ``current`` (the served model; None: nothing) as named."""
        if current is None:
            text = f"Publish {local} to channel “{self.code}”? No model is published there yet."
            return text, "The tills load the new model on their next start."
        return (
            f"Replace {current} on channel “{self.code}” with {local}?",
            "The tills load the new model on their next start. The old one is kept on the "
            "server and can be restored.",
        )

    def published_text(self, local: str, result: Published) -> str:
        first = "Already published" if result.reused else "Published and verified"
        again = " Nothing was uploaded again." if result.reused else ""
        return (
            f"{first}: the shop now serves version {result.version}, "
            f"byte for byte the files on this computer.{again}"
        )

    def still_served(self, exc: BaseException) -> str:
        """What a failed publish leaves served, where the error does not say it itself:
        a PublishError says what the server serves (the previous model, ours after a lost
        answer, or another publish's); the others all fail before a swap."""
        return "" if isinstance(exc, PublishError) else "The previous model is still being served."

    cancelled = "Publishing cancelled. The previous model is still being served."

    def rollback_question(
        self, chosen: ModelVersion, current: ModelVersion | None
    ) -> tuple[str, str]:
        again, now = two_versions(chosen, current)
        return (
            f"Serve {again} on channel “{self.code}” again, instead of {now}?",
            "The tills load it on their next start. The model served now is kept on the "
            "server and can be served again.",
        )

    def rolled_back_text(self, version: str) -> str:
        return f"Channel {self.code} serves version {version} again."


@dataclass(frozen=True)
class FolderPlace:
    """``root/<channel>/``: the plugin's layout in a folder the shop serves."""

    root: Path
    channel: str

    remote = False  # a folder on this computer: read at once
    status_resource = "folder-status"
    max_rows = 6
    checking = "Checking what the folder serves now…"
    sending = "Publishing to the folder…"
    cancelled = ""

    @property
    def key(self) -> Any:
        return (str(self.root), self.channel)

    def target(self) -> PublishTarget:
        from app.core.flows.publish import FolderTarget

        return FolderTarget(self.root, self.channel)

    def status_failed(self, message: str) -> str:
        return escape(message)

    def served_text(self, status: TargetStatus) -> str:
        current = status.current
        warning = f" Warning: {status.served_problem}." if status.served_problem else ""
        if current is None:
            return escape(f"Nothing published for channel {self.channel} here yet.{warning}")
        text = (
            f"Channel {self.channel} in this folder serves {describe_version(current)}, "
            f"version {current.version}.{warning}"
        )
        if len(status.versions) > 1:
            text += " Choose an earlier one to serve it again:"
        return escape(text)

    def publish_question(self, local: str, current: str | None) -> tuple[str, str]:
        where = f"channel {self.channel} in the folder {self.root}"
        if current is None:
            return (
                f"Publish {local} to {where}? Nothing is published there yet.",
                "The tills that read this folder load it on their next start.",
            )
        return (
            f"Replace {current} on {where} with {local}?",
            "The tills that read this folder load the new model on their next start. The "
            "old one is kept in the folder and can be served again.",
        )

    def published_text(self, local: str, result: Published) -> str:
        again = " It was already the served version: nothing was copied." if result.reused else ""
        return (
            f"Published {local} for channel {self.channel} (version {result.version}). The "
            f"tills load {Path(result.location) / 'model.json'}.{again}"
        )

    def still_served(self, exc: BaseException) -> str:
        return ""  # a folder's errors say what is served themselves

    def rollback_question(
        self, chosen: ModelVersion, current: ModelVersion | None
    ) -> tuple[str, str]:
        again, now = two_versions(chosen, current)
        return (
            f"Serve {again} on channel {self.channel} in the folder {self.root} again, "
            f"instead of {now}?",
            "The tills that read this folder load it on their next start. The model served "
            "now stays in the folder and can be served again.",
        )

    def rolled_back_text(self, version: str) -> str:
        return f"The folder serves version {version} again for channel {self.channel}."


Place = ShopPlace | FolderPlace
