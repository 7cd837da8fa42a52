"""Exception hierarchy whose messages are written for the shop owner.

The GUI shows ``str(exc)`` of any :class:`TrainerError` inline; anything else is a
bug and goes to the details dialog and the log.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """How a command ends (README, "Command line" and "Keeping the model current")."""

    OK = 0  # done: trained, published, or already up to date
    FAILED = 1  # one ``Error: …`` line; what was served before stays served
    WAITING = 3  # ``sync``: the changes are younger than ``--debounce``; the next run trains
    BUSY = 4  # another sync or publish of the channel holds it; nothing was changed
    INTERRUPTED = 130  # Ctrl-C or ``kill``: nothing half-written remains
    BROKEN_PIPE = 141  # the reader of stdout left (``| head -1``): said nothing, as git does

    @staticmethod
    def worst(*codes: int) -> ExitCode:
        """The outcome that wins when several channels end differently: a failure
        outranks a busy channel, which outranks waiting, which outranks success."""
        order = (ExitCode.OK, ExitCode.WAITING, ExitCode.BUSY, ExitCode.FAILED)
        known = [ExitCode(c) if c in order else ExitCode.FAILED for c in codes]
        return max(known, key=order.index, default=ExitCode.OK)


class TrainerError(Exception):
    """Base of every error the user can act on; ``str()`` is the message to show."""


class Cancelled(TrainerError):
    """The user asked to stop; callers treat it as an outcome, not a failure."""


class DatasetError(TrainerError):
    """The images cannot make a training set (too few products, unreadable folder...)."""


class TooFewProducts(DatasetError):
    """Fewer than two products have usable photos: there is nothing to train yet.

    ``report``: what the photo check found on its way (a ``dataset.DatasetReport``: the
    photos it cannot use, and why), so the Products screen still marks them; typed
    loosely because the dataset module imports this one
    (``flows.check_photos.check_or_refusal`` reads it)."""

    def __init__(self, message: str, report: object = None) -> None:
        super().__init__(message)
        self.report = report


class ImageError(TrainerError):
    """One image cannot be used; datasets skip it and report it by name."""


class BaseWeightsError(TrainerError):
    """The pretrained MobileNetV2 weights are missing or unreadable."""


class WeightsUnavailable(BaseWeightsError):
    """A model size's pretrained weights are not on this computer and could not be
    downloaded. ``str()`` says so without naming a way to give a file: the CLI adds its
    option (``--base-weights``), the app its button; both match this type."""

    def __init__(self, message: str, *, alpha: float, filename: str, why: str) -> None:
        super().__init__(message)
        self.alpha = alpha
        self.filename = filename
        self.why = why  # "download disabled", or the download's exception type


class AlreadyNamed(TrainerError):
    """Teaching changes nothing: the model already names the product on the photos."""


class ModelFilesError(TrainerError):
    """An exported model folder is incomplete or inconsistent."""


class ExportError(TrainerError):
    """Writing the three model files failed; the previous export is untouched."""


class InvalidOptions(TrainerError):
    """A training option is out of range; caught before any photo is read."""


class ShopError(TrainerError):
    """Base of errors talking to the shop's Vendure server."""


class ServerUnreachable(ShopError):
    """No answer from the server (DNS, refused connection, timeout, TLS)."""


class InvalidCredentials(ShopError):
    """Wrong username or password."""


class SessionExpired(ShopError):
    """The remembered session is no longer valid; log in again."""


class ChannelAccessError(ShopError):
    """The user has no access to that channel, or it does not exist."""


class PermissionDenied(ShopError):
    """The server refused the operation for lack of a permission."""


class PublishError(ShopError):
    """A publish failed; the previously published model is still being served."""


class InsecureServerUrl(ShopError):
    """Plain http:// to a non-local server: the password would cross the network in clear."""


class ServerTimeout(ServerUnreachable):
    """The server accepted the connection but did not answer in time."""


class TlsError(ServerUnreachable):
    """The server's HTTPS certificate could not be verified."""


class AnswerTooLarge(ShopError):
    """The server's answer was larger than the client takes for it; the rest was not read."""


class NotAVendureServer(ShopError):
    """Something answers at that address, but not a Vendure Admin API."""


class InputRefused(ShopError):
    """The Admin API refused a request's values (``USER_INPUT_ERROR``): among them a
    list query taking more than the server's ``adminListQueryLimit`` allows."""


class ServerRedirect(ShopError):
    """The Admin API answered with a redirect; never followed, as it would resend the body
    (the password, the model) to wherever the redirect points."""


class PublishSuperseded(PublishError):
    """Our upload was stored, but a concurrent publish became the served version."""


class FeedbackUnsupported(ShopError):
    """The shop's plugin predates photos from the till (no feedback API)."""


class FeedbackRefused(ShopError):
    """The plugin refused the arguments (``reason`` is its machine-readable cause)."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


class FeedbackImageGone(ShopError):
    """A frame from the till is no longer on the server (dropped by its quota, or deleted)."""


class FeedbackImageDamaged(ShopError):
    """A frame from the till came down twice as bytes that do not match the checksum the
    till sent: damaged on the server, so it can never become a photo (drop it)."""
