"""One product photo shown large (double-click on Products), with its name and date."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QGuiApplication, QImageReader, QPixmap
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from app.core.wording import local_time

MIN_SIDE = 640  # pixels: what "large" means for a small photo

ORIGINS = {
    "added": "Added by you",
    "catalog": "From the shop's catalogue",
    "folder": "From the folder",
}


def photo_date(path: Path | str, stamp: str = "") -> datetime | None:
    """When the photo was made as far as the app can tell: a shop photo's asset
    ``updatedAt`` (:attr:`ImageRef.stamp`), else the file's time."""
    if stamp:
        try:
            when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            when = None
        if when is not None:
            return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    try:
        return datetime.fromtimestamp(Path(path).stat().st_mtime, tz=timezone.utc)
    except OSError:
        return None


def format_date(when: datetime | None) -> str:
    return local_time(when) if when else "date unknown"


def photo_description(path: Path | str, origin: str, stamp: str = "") -> str:
    """“IMG_0012.jpg · added by you, 03 Dec 2026, 14:05”: what a caption cannot hold."""
    where = ORIGINS.get(origin, origin)
    return f"{Path(path).name} · {where.lower()}, {format_date(photo_date(path, stamp))}"


class PhotoDialog(QDialog):
    """The photo as large as the screen allows (EXIF orientation applied), and below it
    its file name, where it came from, when, and its size in pixels."""

    def __init__(
        self, path: Path | str, origin: str = "", stamp: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        path = Path(path)
        self.setWindowTitle(path.name)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(200, 150)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        reader = QImageReader(str(path))
        reader.setAutoTransform(True)
        full = reader.size()
        screen = QGuiApplication.primaryScreen()
        room = screen.availableGeometry().size() * 0.8 if screen else QSize(1000, 700)
        room = QSize(max(320, room.width()), max(240, room.height() - 80))
        if full.isValid() and (full.width() > room.width() or full.height() > room.height()):
            reader.setScaledSize(full.scaled(room, Qt.AspectRatioMode.KeepAspectRatio))
        picture = reader.read()
        # a small photo (a shop's 350-pixel catalogue image) is drawn larger than its
        # thumbnail would be anyway: at least MIN_SIDE on its longer side, within the room
        longest = max(picture.width(), picture.height())
        if not picture.isNull() and longest < MIN_SIDE:
            target = QSize(MIN_SIDE, MIN_SIDE).boundedTo(room)
            picture = picture.scaled(
                target,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        lines = [photo_description(path, origin, stamp)]
        if picture.isNull():
            self.image.setText(f"This photo cannot be shown: {reader.errorString()}.")
        else:
            self.image.setPixmap(QPixmap.fromImage(picture))
            if full.isValid():
                lines.append(f"{full.width()} × {full.height()} pixels")
        lines.append(str(path))
        self.caption.setText("\n".join(lines))

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.close_button = buttons.button(QDialogButtonBox.StandardButton.Close)
        lay = QVBoxLayout(self)
        lay.addWidget(self.image, 1)
        lay.addWidget(self.caption)
        lay.addWidget(buttons)
