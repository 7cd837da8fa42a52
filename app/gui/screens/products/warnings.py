"""What the last photo check found, above the product list: one line, and the details.

"2 products have no usable photo …; 1 photo can't be used." with *Show details* for a
line per photo, in the owner's words (each record's ``plain``); the decoder's own words
are the details' tooltip.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QLabel, QToolButton, QWidget

from app.core.flows.check_photos import NotUsed
from app.core.flows.open_source import Catalogue, Product
from app.core.wording import nested_line, orphaned_line

from ...widgets import Banner, wrap_within
from .table import usable_count

if TYPE_CHECKING:
    from app.core.flows.check_photos import DatasetReport


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _listed(ps: list[Product]) -> str:
    return ", ".join(p.display_name for p in ps[:10]) + (" …" if len(ps) > 10 else "")


class CheckWarnings(QObject):
    """The warning line (:attr:`warnings`), *Show details* and the details; the screen
    lays the three widgets out."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.warnings = Banner()
        self.details_button = QToolButton()
        self.details_button.setText("Show details")
        self.details_button.setCheckable(True)
        self.details_button.toggled.connect(self._show_details)
        self.details_button.hide()
        self.details = QLabel()
        wrap_within(self.details)  # a line per photo names its product
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.hide()

    def show(
        self,
        catalogue: Catalogue | None,
        found: NotUsed,
        report: DatasetReport | None,
        names: dict[str, str],
        problem: str,
    ) -> None:
        """``problem``: why training cannot start at all (too few products), else ""."""
        if catalogue is None:
            self.warnings.clear_message()
            self.details_button.hide()
            self.details.hide()
            return
        active = catalogue.active()
        none = [p for p in active if usable_count(p, found) == 0]
        single = [p for p in active if usable_count(p, found) == 1]
        parts, lines = [], []
        if none:
            parts.append(
                _count(len(none), "product has", "products have")
                + " no usable photo and will not be trained (greyed out)"
            )
            lines.append(f"Not trained, add photos: {_listed(none)}")
        if single:
            parts.append(_count(len(single), "product has", "products have") + " only one photo")
            lines.append(f"Only one photo (counter photos help most): {_listed(single)}")
        if found.unreadable:
            parts.append(_count(len(found.unreadable), "photo", "photos") + " can't be used")
            for s in found.unreadable.values():
                name = names.get(s.product, s.product)
                lines.append(f"Can't use {s.shown} ({name}): {s.plain}")  # a blank one opens
        if found.duplicates:
            parts.append(_count(len(found.duplicates), "photo is", "photos are") + " twice")
            for s in found.duplicates.values():
                kept = s.same_as_shown or "another"
                lines.append(f"{s.shown} is the same photo as {kept}: used once")
        if catalogue.unusable_folders:
            n = len(catalogue.unusable_folders)
            parts.append(_count(n, "folder is", "folders are") + " not a product")
            for name, why in catalogue.unusable_folders:
                lines.append(f"Folder {name} is not used: {why}")
        if catalogue.nested:  # perhaps a folder of product folders, opened one level up
            parts.append(
                _count(len(catalogue.nested), "product has", "products have")
                + " its photos in sub-folders only"
            )
            lines += [nested_line(pid, subs) for pid, subs in catalogue.nested]
        if catalogue.loose:  # beside the product folders: in no product, never trained
            parts.append(
                _count(len(catalogue.loose), "photo is", "photos are")
                + " not in a product's folder and not used"
            )
            for path in catalogue.loose[:10]:
                lines.append(f"{path.name}: not in a product's folder (one folder per product)")
        if catalogue.disabled:  # not in the list at all: said here, or never
            parts.append(
                _count(len(catalogue.disabled), "product is", "products are")
                + " disabled in the shop and not trained"
            )
            for pid, name in catalogue.disabled:
                lines.append(f"{name or pid}: disabled in the shop (enable it there to train it)")
        if catalogue.orphaned:  # the owner's photos of a product the catalogue lost
            n = sum(count for _pid, count, _folder in catalogue.orphaned)
            parts.append(
                _count(n, "photo you added is", "photos you added are")
                + " of a product no longer in the catalogue, and not used"
            )
            lines += [orphaned_line(pid, k, folder) for pid, k, folder in catalogue.orphaned]
        if found.conflicts:
            parts.append(
                _count(len(found.conflicts), "photo is", "photos are") + " filed under two products"
            )
            if report is not None and report.conflicts == found.conflicts:
                lines += report.conflict_lines(names)
            else:
                for a, b in found.conflicts:
                    lines.append(f"The same photo is filed under two products: {a} and {b}")
        if problem:
            self.warnings.show_message(problem, "error")
        elif parts:
            text = "; ".join(parts) + "."
            text = text[0].upper() + text[1:]
            if single and not none:
                text += " One photo still trains; photos taken at the counter make it much better."
            self.warnings.show_message(text, "warn")
        else:
            self.warnings.clear_message()
        self.details.setText("\n".join(f"• {line}" for line in lines))
        # isHidden, not isVisible: the latter is False while another screen is shown
        shown = bool(lines) and not self.warnings.isHidden()
        self.details_button.setVisible(shown)
        self.details.setVisible(shown and self.details_button.isChecked())
        if report is not None:  # the decoder's own words, for whoever needs them
            self.details.setToolTip("\n".join(report.summary_lines(names)))

    def _show_details(self, on: bool) -> None:
        self.details_button.setText("Hide details" if on else "Show details")
        self.details.setVisible(on and bool(self.details.text()))
