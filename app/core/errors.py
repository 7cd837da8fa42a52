"""Exception hierarchy whose messages are written for the shop owner.

The GUI shows ``str(exc)`` of any :class:`TrainerError` inline; anything else is a
bug and goes to the details dialog and the log.
"""

from __future__ import annotations


class TrainerError(Exception):
    """Base of every error the user can act on; ``str()`` is the message to show."""


class Cancelled(TrainerError):  # noqa: N818 - an outcome, not a failure
    """The user asked to stop; callers treat it as an outcome, not a failure."""


class DatasetError(TrainerError):
    """The images cannot make a training set (too few products, unreadable folder...)."""


class ImageError(TrainerError):
    """One image cannot be used; datasets skip it and report it by name."""


class BaseWeightsError(TrainerError):
    """The pretrained MobileNetV2 weights are missing or unreadable."""


class WeightsUnavailable(BaseWeightsError):  # noqa: N818 - reads as the situation
    """A model size's pretrained weights are not on this computer and could not be
    downloaded. ``str()`` says so without naming a way to give a file: the CLI adds its
    option (``--base-weights``), the app its button; both match this type."""

    def __init__(self, message: str, *, alpha: float, filename: str, why: str) -> None:
        super().__init__(message)
        self.alpha = alpha
        self.filename = filename
        self.why = why  # "download disabled", or the download's exception type


class ModelFilesError(TrainerError):
    """An exported model folder is incomplete or inconsistent."""


class ExportError(TrainerError):
    """Writing the three model files failed; the previous export is untouched."""


class InvalidOptions(TrainerError):  # noqa: N818
    """A training option is out of range; caught before any photo is read."""


class ShopError(TrainerError):
    """Base of errors talking to the shop's Vendure server."""


class ServerUnreachable(ShopError):  # noqa: N818
    """No answer from the server (DNS, refused connection, timeout, TLS)."""


class InvalidCredentials(ShopError):  # noqa: N818
    """Wrong username or password."""


class SessionExpired(ShopError):  # noqa: N818
    """The remembered session is no longer valid; log in again."""


class ChannelAccessError(ShopError):
    """The user has no access to that channel, or it does not exist."""


class PermissionDenied(ShopError):  # noqa: N818
    """The server refused the operation for lack of a permission."""


class PublishError(ShopError):
    """A publish failed; the previously published model is still being served."""


class InsecureServerUrl(ShopError):  # noqa: N818
    """Plain http:// to a non-local server: the password would cross the network in clear."""


class ServerTimeout(ServerUnreachable):
    """The server accepted the connection but did not answer in time."""


class TlsError(ServerUnreachable):
    """The server's HTTPS certificate could not be verified."""


class AnswerTooLarge(ShopError):  # noqa: N818
    """The server's answer was larger than the client takes for it; the rest was not read."""


class NotAVendureServer(ShopError):  # noqa: N818
    """Something answers at that address, but not a Vendure Admin API."""


class ServerRedirect(ShopError):  # noqa: N818
    """The Admin API answered with a redirect; never followed, as it would resend the body
    (the password, the model) to wherever the redirect points."""


class PublishSuperseded(PublishError):  # noqa: N818
    """Our upload was stored, but a concurrent publish became the served version."""
