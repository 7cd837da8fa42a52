"""Log in to a Vendure shop channel, pick a channel, or train from a local folder."""

from __future__ import annotations

import logging
from html import escape
from pathlib import Path
from threading import Event
from typing import TYPE_CHECKING

from PySide6.QtCore import QStandardPaths, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core import paths
from app.core.errors import InsecureServerUrl, SessionExpired, ShopError, TrainerError
from app.core.progress import ProgressHook

from ..accessible import named
from ..page_stack import PageStack
from ..session import Session
from ..tasks import Task, TaskError
from ..widgets import Banner, ProgressPanel

if TYPE_CHECKING:
    from app.core.flows.login import ChannelInfo, Login, ShopClient

log = logging.getLogger(__name__)


# the card's title per page: the form, the channel list, connected to a shop, and a
# folder or the sample shop open
PAGE_TITLES = ("Connect to your shop", "Choose a channel", "Your shop", "Your photos")


class LoginScreen(QWidget):
    """Three pages: the login form, the channel picker, and "connected"."""

    source_chosen = Signal()  # a channel or folder is ready: go to Products

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._channels: list[ChannelInfo] = []
        self._pending_client: ShopClient | None = None  # logged in, no channel chosen yet

        self.title = QLabel(PAGE_TITLES[0])  # the card's; it follows the page (_fit_page)
        self.title.setObjectName("title")
        self.pages = PageStack()  # as tall as the page shown (the card has no gap)
        self.pages.addWidget(self._build_form())
        self.pages.addWidget(self._build_channels())
        self.pages.addWidget(self._build_connected())
        self.pages.currentChanged.connect(self._fit_page)
        self._fit_page(0)

        card = QFrame()
        card.setObjectName("card")
        card.setMaximumWidth(520)
        card_lay = QVBoxLayout(card)
        card_lay.addWidget(self.title)
        card_lay.addWidget(self.pages)
        self.progress = ProgressPanel(show_delay_ms=150)
        card_lay.addWidget(self.progress)
        self.banner = Banner()
        card_lay.addWidget(self.banner)

        outer = QVBoxLayout(self)
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(card, 3)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)

        session.source_changed.connect(self._sync)
        self._sync()

    # -- pages ----------------------------------------------------------------------
    def _build_form(self) -> QWidget:
        w = QWidget()
        self.server = QComboBox()
        self.server.setEditable(True)
        self.server.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.server.lineEdit().setPlaceholderText("https://shop.example.com")
        self.server.addItems(self.session.settings.recent_servers)
        self.username = QLineEdit(self.session.settings.last_username)
        self.username.setPlaceholderText("Admin username or e-mail")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember = QCheckBox("Keep me logged in on this computer")
        self.remember.setToolTip(
            "Keeps the session token (never the password), readable only by you. "
            "Log out to forget it."
        )
        self.login_button = QPushButton("Log in")
        self.login_button.setDefault(True)
        self.login_button.clicked.connect(self.log_in)
        self.password.returnPressed.connect(self.log_in)
        self.username.returnPressed.connect(self.password.setFocus)

        form = QFormLayout()
        form.addRow("Shop server", self.server)
        form.addRow("Username", self.username)
        form.addRow("Password", self.password)
        form.addRow("", self.remember)

        self.folder_button = QPushButton("Use a local folder…")
        self.folder_button.setToolTip(
            "Train from a folder with one sub-folder of photos per product. "
            "Exporting works; publishing needs a login."
        )
        self.folder_button.clicked.connect(self.choose_folder)
        buttons = QHBoxLayout()
        buttons.addWidget(self.folder_button)
        buttons.addStretch(1)
        buttons.addWidget(self.login_button)

        self.sample_button = QPushButton("Try the sample shop")
        self.sample_button.setToolTip(
            "Six fruits with a few photos each, shipped with the app: train, test and "
            "publish to a folder without a shop server or photos of your own"
        )
        self.sample_button.clicked.connect(self.use_sample_shop)
        buttons.insertWidget(1, self.sample_button)
        hint = QLabel("No shop server? Train from a folder of product photos instead.")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        lay = QVBoxLayout(w)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addWidget(hint)
        return w

    def _build_channels(self) -> QWidget:
        w = QWidget()
        self.channel_list = named(QListWidget(), "Channels")
        self.channel_list.setObjectName("channels")
        self.channel_list.itemActivated.connect(lambda _item: self.choose_channel())
        ok = QPushButton("Continue")
        ok.setDefault(True)
        ok.clicked.connect(self.choose_channel)
        back = QPushButton("Back")
        back.clicked.connect(self._back_from_channels)
        row = QHBoxLayout()
        row.addWidget(back)
        row.addStretch(1)
        row.addWidget(ok)
        lay = QVBoxLayout(w)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel("You have access to several channels. Which one is this camera for?"))
        lay.addWidget(self.channel_list)
        lay.addLayout(row)
        return w

    def _build_connected(self) -> QWidget:
        w = QWidget()
        self.connected_label = QLabel()
        self.connected_label.setWordWrap(True)
        self.switch_button = QPushButton("Switch channel")
        self.switch_button.clicked.connect(self._show_channels_again)
        self.logout_button = QPushButton("Log out")
        self.logout_button.clicked.connect(self.log_out)
        self.other_folder_button = QPushButton("Use a local folder…")
        self.other_folder_button.clicked.connect(self.choose_folder)
        self.continue_button = QPushButton("Go to products")
        self.continue_button.clicked.connect(self.source_chosen.emit)
        row = QHBoxLayout()
        row.addWidget(self.logout_button)
        row.addWidget(self.switch_button)
        row.addWidget(self.other_folder_button)
        row.addStretch(1)
        row.addWidget(self.continue_button)
        lay = QVBoxLayout(w)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.connected_label)
        lay.addLayout(row)
        return w

    def _fit_page(self, index: int) -> None:
        """The card's title follows the page ("Connect to your shop" over a shop already
        open read as a prompt); its height follows by itself (PageStack)."""
        src = self.session.source
        connected = PAGE_TITLES[2] if src is not None and src.server else PAGE_TITLES[3]
        self.title.setText(connected if index == 2 else PAGE_TITLES[index])

    def _back_from_channels(self) -> None:
        """Back to "Connected" while a channel is open (it showed an empty login form)."""
        src = self.session.source
        self.pages.setCurrentIndex(2 if src is not None and src.server else 0)

    def _sync(self) -> None:
        src = self.session.source
        self._fit_page(self.pages.currentIndex())  # the title follows the source too
        if src is None:
            if self.pages.currentIndex() == 2:
                self.pages.setCurrentIndex(0)
            return
        if src.server:  # escaped: the label is HTML, the names are the shop's
            server, code = escape(src.server), escape(src.channel_code)
            text = f"Connected to <b>{server}</b>, channel <b>{code}</b>."
        else:
            text = (
                (
                    "Training from the <b>Sample shop</b>: six fruits shipped with the app. "
                    if src.is_sample_shop
                    else f"Training from the folder <b>{escape(str(src.folder))}</b>. "
                )
                + "Publish to a folder on the Publish screen; publishing to a shop needs a "
                "shop login."
            )
        self.connected_label.setText(text)
        self.logout_button.setText("Log out" if src.server else "Log in to a shop")
        self.switch_button.setVisible(bool(src.server) and len(self._channels) > 1)
        self.pages.setCurrentIndex(2)

    # -- actions --------------------------------------------------------------------
    def _busy(self, busy: bool) -> None:
        for w in (
            self.login_button,
            self.folder_button,
            self.server,
            self.username,
            self.password,
            self.remember,
            self.sample_button,
        ):
            w.setEnabled(not busy)

    def log_in(self) -> None:
        from app.core.flows.login import connect, server_address, sign_in

        user = self.username.text().strip()
        password = self.password.text()
        if not self.server.currentText().strip() or not user or not password:
            self.banner.show_message("Enter the shop server, your username and password.", "warn")
            return
        try:
            server = server_address(self.server.currentText())
            try:
                client = connect(server)
            except InsecureServerUrl:
                answer = QMessageBox.warning(
                    self,
                    "Unencrypted connection",
                    f"{server} does not use HTTPS: your password would travel unencrypted."
                    "\n\nOnly continue on a network you trust.",
                    QMessageBox.StandardButton.Cancel | QMessageBox.StandardButton.Yes,
                    QMessageBox.StandardButton.Cancel,
                )
                if answer != QMessageBox.StandardButton.Yes:
                    return
                client = connect(server, insecure=True)
        except ShopError as exc:
            self.banner.show_message(str(exc), "error")
            return
        remember = self.remember.isChecked()
        self.password.clear()  # never kept beyond this call

        def work(on_progress: ProgressHook, cancel: Event) -> Login:
            return sign_in(client, user, password, remember=remember)

        self.banner.clear_message()
        self._busy(True)
        task = self.session.runner.start("login", work)
        self.progress.track(task, f"Connecting to {server}…", cancellable=False)
        task.succeeded.connect(lambda login: self._logged_in(server, user, login))
        task.failed.connect(self._login_failed)
        task.finished.connect(lambda: self._busy(False))

    def _login_failed(self, err: TaskError) -> None:
        self.banner.show_failure(err)
        self.password.setFocus()

    def _logged_in(self, server: str, user: str, login: Login) -> None:
        s = self.session.settings
        s.remember_server(server)
        s.last_username = user
        s.save()
        channels = self._channels = list(login.channels)
        self._pending_client = login.client
        if not channels:
            self.banner.show_message(
                "This user has no channel on the server. Ask the shop administrator for access.",
                "error",
            )
            return
        if len(channels) == 1:
            self._select(channels[0])
            return
        self._fill_channels(channels)
        self.pages.setCurrentIndex(1)

    def _fill_channels(self, channels: list[ChannelInfo]) -> None:
        self.channel_list.clear()
        for ch in channels:
            # The server's channel list holds code, id and permissions (no name, no count).
            note = "" if ch.can_publish else "; no permission to publish models"
            note += "; every channel's products" if ch.is_default and len(channels) > 1 else ""
            item = QListWidgetItem(f"{ch.code}   (channel id {ch.id}{note})")
            item.setData(Qt.ItemDataRole.UserRole, ch)
            item.setToolTip(
                f"Channel “{ch.code}”, id {ch.id}: its tills load the models published to "
                f"channel {ch.id}"
            )
            self.channel_list.addItem(item)
            if ch.code == self.session.settings.last_channel:
                self.channel_list.setCurrentItem(item)
        if self.channel_list.currentRow() < 0:  # a shop first, not the default channel
            shop = next((i for i, c in enumerate(channels) if not c.is_default), 0)
            self.channel_list.setCurrentRow(shop)

    def _show_channels_again(self) -> None:
        if self.session.client is not None:
            self._pending_client = self.session.client
        self._fill_channels(self._channels)
        self.pages.setCurrentIndex(1)

    def choose_channel(self) -> None:
        item = self.channel_list.currentItem()
        if item is not None:
            self._select(item.data(Qt.ItemDataRole.UserRole))

    def _select(self, channel: ChannelInfo) -> None:
        from app.core.flows.login import open_channel

        client = self._pending_client
        if client is None:
            return

        def work(on_progress: ProgressHook, cancel: Event) -> ChannelInfo:
            return open_channel(client, channel)

        task = self.session.runner.start("login", work)
        self.progress.track(task, f"Opening channel {channel.code}…")
        task.succeeded.connect(lambda ch: self._selected(client, ch))
        task.failed.connect(self.banner.show_failure)

    def _selected(self, client: ShopClient, channel: ChannelInfo) -> None:
        self.session.settings.last_channel = channel.code
        self.banner.clear_message()
        self.session.use_shop(client)
        self.session.settings.save()  # with the source's kind: a kill now reopens it
        self.source_chosen.emit()

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Folder with one sub-folder of photos per product", self.folder_dialog_start()
        )
        if folder:
            self.use_folder(Path(folder))

    def folder_dialog_start(self) -> str:
        """The folder *around* the last shop folder, so it is picked again with one click
        (opening inside it invites picking one product's sub-folder instead); else the
        owner's Pictures, else home — never the app's own data folder (the sample shop's
        copy lives there, beside channels/ and models/)."""
        last = self.session.settings.last_folder
        if last:
            parent = Path(last).expanduser().parent
            if parent.is_dir() and not paths.in_data_dir(parent):
                return str(parent)
        pictures = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
        if pictures and Path(pictures).is_dir():
            return pictures
        return str(Path.home())

    def use_sample_shop(self) -> None:
        """Six fruits shipped with the app: train → test → publish to a folder, no server."""
        from app.core.flows.open_source import sample_shop

        try:
            source = sample_shop()  # its copy is made on first use
        except TrainerError as exc:
            self.banner.show_message(str(exc), "error")
            return
        self.use_folder(Path(source.folder))

    def use_folder(self, folder: Path) -> None:
        self.session.settings.last_folder = str(folder)
        self.banner.clear_message()
        self.session.use_folder(folder)
        self.session.settings.save()  # with the kind use_folder sets (a kill now reopens it)
        self.source_chosen.emit()

    def log_out(self) -> None:
        self.session.logout()
        self._channels = []
        self.pages.setCurrentIndex(0)
        self.username.setFocus()

    # -- remembered session ---------------------------------------------------------
    def try_restore(self) -> Task | None:
        """Reuse a remembered session for the last server, quietly, in the background."""
        s = self.session.settings
        if not s.recent_servers:
            return None
        server = s.recent_servers[0]
        self.server.setCurrentText(server)

        def work(on_progress: ProgressHook, cancel: Event) -> Login | None:
            from app.core.flows.login import resume

            return resume(server)

        task = self.session.runner.start("login", work)
        self.progress.track(task, f"Reconnecting to {server}…")
        task.succeeded.connect(lambda login: login and self._restored(login))
        task.failed.connect(self._restore_failed)
        return task

    def _restore_failed(self, err: TaskError) -> None:
        msg = err.message
        if not isinstance(err.exception, SessionExpired):  # that one says to log in again
            msg += " Please log in again."
        self.banner.show_message(msg, "warn" if err.is_user_error else "error")

    def _restored(self, login: Login) -> None:
        channels = self._channels = list(login.channels)
        self._pending_client = login.client
        last = self.session.settings.last_channel
        match = [c for c in channels if c.code == last]
        if match:
            self._select(match[0])
        elif len(channels) == 1:
            self._select(channels[0])
        elif channels:
            self._fill_channels(channels)
            self.pages.setCurrentIndex(1)
