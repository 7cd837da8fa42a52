"""The screens the first window does not show: each built on first show or first use.

The first window builds only the screen it shows: the others, and their packages (the
Train screen's chart and, through its model sizes, NumPy), load when the owner opens
them or the app first needs them, so the window appears as fast as it did when it
was one module. The Test screen has a host of its own (it also keeps QtMultimedia out).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from PySide6.QtCore import QObject
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from .changes import ChangesBanner, ChangesWatcher
from .session import Session

if TYPE_CHECKING:
    from .screens.model import ModelScreen
    from .screens.products import ProductsScreen
    from .screens.publish import PublishScreen
    from .screens.train import TrainScreen

S = TypeVar("S", bound=QWidget)


class ScreenHost(QWidget, Generic[S]):
    """Holds ``make(host)``'s screen once something asks for it (:meth:`screen`) or it shows.

    The screen is made with the host as its parent: a screen made parentless is a
    top-level window for a moment, and the window system then takes the focus from the
    main window (Ctrl+F and the other window shortcuts stop working).
    """

    def __init__(self, make: Callable[[QWidget], S], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._make = make
        self._screen: S | None = None
        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(0, 0, 0, 0)

    def screen(self) -> S:
        """The screen, built now if it was not yet."""
        if self._screen is None:
            self._screen = self._make(self)
            self._lay.addWidget(self._screen)
            # shown now: a layout shows a child added to a visible host only later, queued
            self._screen.show()
        return self._screen

    @property
    def built(self) -> S | None:
        """The screen if it was built, else None (asking builds nothing)."""
        return self._screen

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        self.screen()
        super().showEvent(event)


class Navigator(Protocol):
    """What a screen asks of the window (the main window is one)."""

    def show_screen(self, key: str) -> None: ...

    def show_product(self, pid: str, name: str = "") -> None: ...

    def start_training(self) -> None: ...


class LazyScreens(QObject):
    """Products, Train, Model and Publish in their hosts, each wired as it is built.

    Products is built as soon as a shop or folder is open, shown or not: it reads the
    catalogue every other screen uses.
    """

    def __init__(
        self, session: Session, changes: ChangesWatcher, nav: Navigator, parent: QObject
    ) -> None:
        super().__init__(parent)
        self.session, self.changes, self.nav = session, changes, nav
        self.banners: dict[str, ChangesBanner] = {}  # "products", "publish": as built
        self.products: ScreenHost[ProductsScreen] = ScreenHost(self._make_products)
        session.source_changed.connect(self._source_opened)
        self.train: ScreenHost[TrainScreen] = ScreenHost(self._make_train)
        self.model: ScreenHost[ModelScreen] = ScreenHost(self._make_model)
        self.publish: ScreenHost[PublishScreen] = ScreenHost(self._make_publish)

    def _source_opened(self) -> None:
        if self.session.source is not None:
            self.products.screen()  # loads the source's catalogue as it is built

    def reload_products(self) -> None:
        """F5: Products is built once a source is open; without one there is nothing to read."""
        if self.products.built is not None:
            self.products.built.load()

    def _changes_banner(self, key: str, screen: ProductsScreen | PublishScreen) -> None:
        """ "3 new products … since the model your shop serves", atop Products and Publish."""
        banner = ChangesBanner(self.changes, screen)
        banner.train_requested.connect(self.nav.start_training)
        screen.changes_slot.addWidget(banner)
        self.banners[key] = banner

    def _make_products(self, host: QWidget) -> ProductsScreen:
        from .screens.products import ProductsScreen

        screen = ProductsScreen(self.session, host)
        self._changes_banner("products", screen)
        return screen

    def _make_train(self, host: QWidget) -> TrainScreen:
        from .screens.train import TrainScreen

        screen = TrainScreen(self.session, host)
        for button, key in ((screen.inspect_button, "model"), (screen.publish_button, "publish")):
            button.clicked.connect(screen.open_result)  # this training's model, first
            button.clicked.connect(lambda _c=False, k=key: self.nav.show_screen(k))
        screen.product_requested.connect(self.nav.show_product)
        return screen

    def _make_model(self, host: QWidget) -> ModelScreen:
        from .screens.model import ModelScreen

        screen = ModelScreen(self.session, host)
        screen.publish_requested.connect(lambda: self.nav.show_screen("publish"))
        screen.load()  # the model and earlier ones opened before it was built
        screen.load_earlier()
        return screen

    def _make_publish(self, host: QWidget) -> PublishScreen:
        from .screens.publish import PublishScreen

        screen = PublishScreen(self.session, host)
        screen.login_requested.connect(lambda: self.nav.show_screen("login"))
        screen.published.connect(self._published)
        screen.rolled_back.connect(lambda: self._published(None))  # as much a change
        self._changes_banner("publish", screen)
        return screen

    def _published(self, _result: object) -> None:
        """The shop serves another model (published, or rolled back to): what the Model
        screen and the banners say of it (after a rollback both still described the
        version rolled back from)."""
        if self.model.built is not None:  # else it reads what is served as it is built
            self.model.built.load_published()
        self.changes.check(refresh_served=True)
