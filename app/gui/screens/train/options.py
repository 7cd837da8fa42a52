"""Advanced, folded away on the Train screen: model size, passes, photos, file size.

Every field offers only what :class:`app.core.flows.train.TrainOptions` and the command
line accept, and each change is kept in the settings at once. Model sizes whose
pretrained weights are not on this computer say so: offline, those are the ones that
fail.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QWidget,
)

from app.core.flows.train import EPOCHS_MAX, EPOCHS_MIN, SEED_MAX

from ...accessible import named
from ...session import Session

MODEL_SIZES = [
    (0.35, "Small — fast, about 2 MB (recommended)"),
    (0.5, "Medium — about 3.5 MB"),
    (0.75, "Large — about 6 MB"),
    (1.0, "Largest — about 9 MB, slowest on the till"),
]
QUANTIZE = [  # (key, what the owner reads, what an engineer reads in the tooltip)
    ("none", "Full size, most exact", "float32 weights"),
    ("float16", "Half the size, as good", "float16 weights: probabilities within ~0.005"),
    ("uint8", "Quarter size, less exact", "uint8 weights: probabilities move up to ~0.1"),
]
DOWNLOAD_MARK = " · needs a one-time download"


def size_name(alpha: float) -> str:
    """ "Small", "Large": a model size as the form names it."""
    return next((t.split(" — ")[0] for a, t in MODEL_SIZES if a == alpha), f"{alpha:g}")


class AdvancedOptions(QGroupBox):
    """The form; :attr:`changed` after a value was kept in the settings."""

    changed = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        s = session.settings
        # a form, not a banner: fields at their own width, the box no wider than they are
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        # a field under its label where both do not fit side by side (large text at 800 px)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.model_size = QComboBox()
        # as wide as "Large — about 6 MB · needs a one-time download"; the list opens wider
        self.model_size.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model_size.setMinimumContentsLength(36)
        for alpha, text in MODEL_SIZES:
            self.model_size.addItem(text, alpha)
        self.model_size.setCurrentIndex(
            max(0, next((i for i, (a, _) in enumerate(MODEL_SIZES) if a == s.alpha), 0))
        )
        self.model_size.setToolTip(
            "MobileNetV2 width (alpha). Sizes marked 'needs a one-time download' get their "
            "pretrained weights from the internet at the first training; all larger sizes "
            "run slower on the till."
        )
        # the ranges TrainOptions.check() and the CLI accept: only valid values on offer
        # named here: inside with_hint's row the form cannot give them their labels
        self.epochs = named(
            QSpinBox(minimum=EPOCHS_MIN, maximum=EPOCHS_MAX, value=s.epochs),
            "Passes over the photos",
        )
        self.epochs.setToolTip("Epochs: passes over the photos. More is slower, rarely better.")
        self.augment = QCheckBox("Vary the photos (crops, rotation, lighting, blur)")
        self.augment.setChecked(s.augment)
        self.augment.setToolTip("Augmentation: about 24 varied views per product")
        self.seed = named(
            QSpinBox(minimum=0, maximum=SEED_MAX, value=session.seed), "Repeat a run exactly"
        )
        self.seed.setToolTip(
            "Random seed: the same number and the same photos give the same model."
        )
        self.accept = named(
            QSpinBox(minimum=50, maximum=99, value=round(100 * s.accept_target)),
            "Right when it adds by itself",
        )
        self.accept.setSuffix(" %")
        self.accept.setToolTip(
            "How often the till must be right when it adds a product without asking the "
            "cashier (measured on held-back photos). Higher: fewer mistakes, more questions."
        )
        self.quantize = QComboBox()
        for i, (key, text, tip) in enumerate(QUANTIZE):
            self.quantize.addItem(text, key)
            self.quantize.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
        self.quantize.setCurrentIndex(max(0, self.quantize.findData(s.quantize)))
        self.quantize.setToolTip("Weight quantisation of weights.bin")
        self.weights = named(QLineEdit(str(session.base_weights() or "")), "Base model file")
        self.weights.setPlaceholderText("Shipped (Small) or downloaded once")
        self.weights.setToolTip(
            "Pretrained MobileNetV2 ImageNet weights (.h5) for the chosen model size, "
            "instead of a download; kept for the next start"
        )
        self.weights.setMinimumWidth(260)
        self.browse_weights = QPushButton("Choose…")
        self.browse_weights.clicked.connect(self._choose_weights)
        wrow = QHBoxLayout()
        wrow.addWidget(self.weights, 1)
        wrow.addWidget(self.browse_weights)

        def with_hint(field: QWidget, hint: str) -> QHBoxLayout:
            row = QHBoxLayout()
            row.addWidget(field)
            label = QLabel(hint)
            label.setObjectName("hint")
            row.addWidget(label)
            row.addStretch(1)
            return row

        form.addRow("Model size", self.model_size)
        form.addRow(
            "Passes over the photos", with_hint(self.epochs, "more is slower, rarely better")
        )
        form.addRow("Photos", self.augment)
        form.addRow(
            "Repeat a run exactly", with_hint(self.seed, "same number + same photos = same model")
        )
        # the rate it must be right, not the confidence it adds at: that is measured and
        # shown after training ("adds by itself at 97 %"), and two bare percentages
        # side by side read as one number that changed
        form.addRow(
            "Right when it adds by itself",
            with_hint(self.accept, "of the time; training sets the confidence it adds at"),
        )
        form.addRow("File size", self.quantize)
        form.addRow("Base model file", wrow)
        for w in (self.model_size, self.quantize):
            w.currentIndexChanged.connect(self.save)
        for w in (self.epochs, self.seed, self.accept):
            w.valueChanged.connect(self.save)
        self.augment.toggled.connect(self.save)
        self.weights.editingFinished.connect(self.save)

    def _choose_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Pretrained MobileNetV2 weights", self.weights.text(), "Keras weights (*.h5)"
        )
        if path:
            self.weights.setText(path)
            self.save()

    def save(self) -> None:
        """The form's values into the settings (kept for the next start)."""
        s = self.session.settings
        s.alpha = float(self.model_size.currentData())
        s.epochs = self.epochs.value()
        s.augment = self.augment.isChecked()
        s.quantize = str(self.quantize.currentData())
        s.accept_target = self.accept.value() / 100
        self.session.seed = s.seed = self.seed.value()
        self.session.choose_base_weights(self.weights.text().strip())
        s.save()
        self.mark_sizes()
        self.changed.emit()

    def mark_sizes(self) -> None:
        """Say which model sizes would download their weights first (none on this
        computer): offline, those are the ones that fail."""
        from app.core.flows.train import weights_to_download

        chosen = self.session.base_weights()
        for i, (alpha, text) in enumerate(MODEL_SIZES):
            download = weights_to_download(alpha, chosen)
            self.model_size.setItemText(i, text + (DOWNLOAD_MARK if download else ""))
            tip = (
                f"Its pretrained weights ({download}) are not on this "
                "computer: the first training downloads them once, which needs the internet."
                if download
                else ""
            )
            self.model_size.setItemData(i, tip or None, Qt.ItemDataRole.ToolTipRole)
        view = self.model_size.view()
        view.setMinimumWidth(view.sizeHintForColumn(0) + 24)  # whole names in the list
