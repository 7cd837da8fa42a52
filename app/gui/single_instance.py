"""One copy of the app per profile (issue 19).

Two windows on one profile would both write the settings, the photo store and the
models. The first copy holds a lock file in the profile's data folder (QLockFile: a
copy that crashed leaves a lock that the next start sees is stale, by process id) and
listens on a local socket named after that folder. A second copy that finds the lock
taken asks the first, over the socket, to come to the front, then quits; when the
first does not answer (frozen, or running on another computer that shares the
folder) the second says so, with the process id and computer, and quits.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import sys
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, Qt, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from app.core import paths

log = logging.getLogger(__name__)

LOCK_NAME = "app.lock"
ASK = b"show\n"
ANSWER_TIMEOUT_MS = 3000
ALREADY_OPEN_EXIT = 0  # the owner's window came to the front: nothing went wrong
CANNOT_START_EXIT = 3


def profile_folder() -> Path:
    """The folder that defines a profile: the app's data folder (DUKAHUB_TRAINER_HOME)."""
    return paths.data_dir().resolve()


def server_name(folder: Path | None = None) -> str:
    """A local-socket name for this profile (one per data folder and user)."""
    folder = folder or profile_folder()
    user = str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "")
    digest = hashlib.sha256(f"{user}\0{folder}".encode()).hexdigest()[:20]
    return f"dukahub-trainer-{digest}"


class InstanceGuard(QObject):
    """Held by the first copy for as long as it runs; emits ``show_requested`` when a
    second copy on the same profile starts."""

    show_requested = Signal()

    def __init__(self, lock: QLockFile, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.lock = lock
        self.name = server_name()
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        QLocalServer.removeServer(self.name)  # a crashed copy's socket file (we hold the lock)
        if not self.server.listen(self.name):
            # Still one copy (the lock says so); a second copy will say it got no answer.
            log.warning(
                "one copy per profile: cannot listen on %s: %s",
                self.name,
                self.server.errorString(),
            )
        else:
            log.info("one copy per profile: listening for a second copy on %s", self.name)
        self.server.newConnection.connect(self._connection)
        self.window: QWidget | None = None
        self._pending = False

    def attach(self, window: QWidget) -> None:
        """The window a second copy brings to the front (one asked before it existed:
        raised now)."""
        self.window = window
        if self._pending:
            self._pending = False
            bring_to_front(window)

    def _connection(self) -> None:
        while self.server.hasPendingConnections():
            conn = self.server.nextPendingConnection()
            conn.readyRead.connect(lambda c=conn: self._read(c))
            conn.disconnected.connect(conn.deleteLater)
            if conn.bytesAvailable():
                self._read(conn)

    def _read(self, conn: QLocalSocket) -> None:
        data = bytes(conn.readAll())
        if ASK.strip() not in data:
            return
        log.info(
            "a second copy of the app started on this profile: bringing this window to the front"
        )
        if self.window is not None:
            bring_to_front(self.window)
        else:
            self._pending = True
        self.show_requested.emit()
        conn.write(f"shown {os.getpid()}\n".encode())
        conn.flush()

    def release(self) -> None:
        self.server.close()
        self.lock.unlock()


def bring_to_front(window: QWidget) -> None:
    """Un-minimise, raise and activate; where the desktop refuses focus (Wayland, focus
    stealing prevention) the taskbar entry asks for attention instead."""
    if window.isMinimized():
        window.showNormal()
    window.show()
    window.raise_()
    window.activateWindow()
    QApplication.alert(window)


def ask_first_copy(name: str, timeout_ms: int = ANSWER_TIMEOUT_MS) -> str | None:
    """Ask the copy listening on ``name`` to come to the front; its answer, or None."""
    sock = QLocalSocket()
    sock.connectToServer(name)
    if not sock.waitForConnected(timeout_ms):
        return None
    sock.write(ASK)
    if not sock.waitForBytesWritten(timeout_ms):
        return None
    answer = b""
    while b"\n" not in answer:
        if not sock.waitForReadyRead(timeout_ms):
            break
        answer += bytes(sock.readAll())
    sock.disconnectFromServer()
    text = answer.decode("utf-8", "replace").strip()
    return text or None


def holder_description(lock: QLockFile) -> str:
    """“process 1234 on this computer” / “process 1234 on the computer “till-2””."""
    info = lock.getLockInfo()  # PySide6: (pid, hostname, appname); pid 0 when unreadable
    pid, host = (info[0], info[1]) if isinstance(info, tuple) and len(info) >= 2 else (0, "")
    if not pid:
        return "another copy"
    where = "this computer" if host in ("", socket.gethostname()) else f"the computer “{host}”"
    return f"process {pid} on {where}"


def refusal_text(folder: Path, holder: str) -> str:
    return (
        f"Dukahub Model Trainer is already open on this profile ({holder}), "
        "but it did not answer when asked to come to the front.\n\n"
        "Two copies on one profile would overwrite each other's settings, photos and "
        "models, so this copy will close. Switch to the open window, or close it "
        "(if it is stuck, end that process) and start the app again.\n\n"
        f"Profile folder: {folder}"
    )


def claim(parent: QWidget | None = None) -> InstanceGuard | int:
    """The first copy on this profile gets the guard; a second one gets an exit code,
    after bringing the first to the front or saying why it could not."""
    folder = profile_folder()
    paths.drop_unreadable_lock(folder / LOCK_NAME)
    lock = QLockFile(str(folder / LOCK_NAME))
    lock.setStaleLockTime(0)  # stale only when the holder's process is gone
    if lock.tryLock(200):
        return InstanceGuard(lock)
    if lock.error() != QLockFile.LockError.LockFailedError:
        # No permission or no such folder: running twice is the lesser risk than not at all.
        log.warning("one copy per profile: cannot take %s (%s)", lock.fileName(), lock.error())
        return InstanceGuard(lock)
    answer = ask_first_copy(server_name(folder))
    if answer is not None and answer.startswith("shown"):
        msg = (
            "Dukahub Model Trainer is already open on this profile: "
            "its window was brought to the front."
        )
        log.info("second copy: %s (%s)", msg, answer)
        print(msg, file=sys.stderr)
        return ALREADY_OPEN_EXIT
    text = refusal_text(folder, holder_description(lock))
    log.warning("second copy refused: %s", text.replace("\n\n", " "))
    print(text, file=sys.stderr)
    box = QMessageBox(
        QMessageBox.Icon.Warning, "Already open", text, QMessageBox.StandardButton.Ok, parent
    )
    box.setObjectName("already-open")
    box.setTextFormat(Qt.TextFormat.PlainText)  # a folder's name may hold "<"
    box.exec()
    return CANNOT_START_EXIT
