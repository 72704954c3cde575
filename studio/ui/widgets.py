"""Small widgets shared by the panels: a flow layout, a message bar, section headers, and the
rule every editor follows when the model changes under it: a field being typed in keeps what
the user typed when it already says what the model holds (an edit never rewrites its own
editor), and a rewritten field keeps its cursor."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QSignalBlocker, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QHelpEvent, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLayoutItem,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
    QWidgetItem,
)

from studio.core.lifecycle import Approval, JobState
from studio.ui import theme
from studio.ui.viewmodels.progress import GridProgress


class FlowLayout(QLayout):
    """Lays widgets left to right and wraps them, like words in a paragraph."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def add(self, widget: QWidget) -> None:
        self.addChildWidget(widget)
        self.addItem(QWidgetItem(widget))
        self.invalidate()

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._do_layout(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._do_layout(rect, apply=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _do_layout(self, rect: QRect, apply: bool) -> int:
        x, y, line = rect.x(), rect.y(), 0
        for item in self._items:
            hint = item.sizeHint()
            if x + hint.width() > rect.right() + 1 and line > 0:
                x = rect.x()
                y += line + self._spacing
                line = 0
            if apply:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self._spacing
            line = max(line, hint.height())
        return y + line - rect.y()


class MessageBar(QFrame):
    """An in-window notice (information, warning or error) with an optional action button.

    Not modal: the window stays usable, and tests can read it.
    """

    actionTriggered = Signal()
    closed = Signal()

    LEVELS: ClassVar[dict[str, str]] = {
        "info": "#2f6fd6", "warning": "#b7791f", "error": "#c62828", "ok": "#2e7d32"}

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.button = QPushButton(self)
        self.button.clicked.connect(self._action_clicked)
        self._on_action: Callable[[], object] | None = None
        #: A second action for the same notice ("Open Settings" beside "Retry failed").
        self.second_button = QPushButton(self)
        self.second_button.setObjectName("secondAction")
        self.second_button.clicked.connect(self._second_clicked)
        self.second_button.hide()
        self._on_second: Callable[[], object] | None = None
        self.close_button = QToolButton(self)
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Dismiss")
        self.close_button.clicked.connect(self.dismiss)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.second_button)
        layout.addWidget(self.button)
        layout.addWidget(self.close_button)
        self.level = "info"
        self.hide()

    def show_message(self, text: str, level: str = "info", action: str = "",
                     closable: bool = True, on_action: Callable[[], object] | None = None,
                     second: tuple[str, Callable[[], object]] | None = None) -> None:
        """Show ``text``; with ``on_action``, a button labelled ``action`` runs it once (and
        the bar closes); ``second`` is another (label, action) shown before it."""
        self._on_action = on_action
        self._on_second = second[1] if second else None
        self.second_button.setText(second[0] if second else "")
        self.second_button.setVisible(second is not None)
        self.level = level
        self.label.setText(text)
        self.button.setText(action)
        self.button.setVisible(bool(action))
        self.close_button.setVisible(closable)
        colour = QColor(self.LEVELS.get(level, self.LEVELS["info"]))
        pal = self.palette()
        base = pal.color(QPalette.ColorRole.Window)
        pal.setColor(QPalette.ColorRole.Window, theme.blend(base, colour, 0.16))
        self.setPalette(pal)
        self.setStyleSheet(f"#messageBar {{ border: 1px solid {colour.name()}; "
                           "border-radius: 4px; }")
        self.show()

    def _action_clicked(self) -> None:
        action, self._on_action = self._on_action, None
        self.actionTriggered.emit()
        if action is not None:
            self.dismiss()
            action()

    def _second_clicked(self) -> None:
        action, self._on_second = self._on_second, None
        self.dismiss()
        if action is not None:
            action()

    @property
    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

    def dismiss(self) -> None:
        self.hide()
        self.closed.emit()


def bring_to_front(widget: QWidget) -> None:
    """Show a tool window and raise it (where the platform can; offscreen cannot)."""
    from PySide6.QtGui import QGuiApplication

    widget.show()
    if QGuiApplication.platformName() != "offscreen":
        widget.raise_()
        widget.activateWindow()


def section_label(text: str, parent: QWidget | None = None) -> QLabel:
    label = QLabel(text, parent)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    label.setContentsMargins(0, 8, 0, 2)
    return label


def scrolling_column(panel: QWidget) -> tuple[QWidget, QVBoxLayout]:
    """Give a dock panel a frameless vertical scroll area; returns the body widget inside it
    and the column layout to fill."""
    outer = QVBoxLayout(panel)
    outer.setContentsMargins(0, 0, 0, 0)
    scroll = QScrollArea(panel)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    outer.addWidget(scroll)
    body = QWidget(scroll)
    scroll.setWidget(body)
    layout = QVBoxLayout(body)
    layout.setContentsMargins(10, 6, 10, 10)
    return body, layout


def show_plain_text(edit: QPlainTextEdit, text: str,
                    same: Callable[[str], bool] | None = None) -> None:
    """Show ``text`` in ``edit`` unless it already shows it, or (while it has the focus) says
    the same thing by ``same`` (what it holds is what was stored, normalised)."""
    typed = edit.toPlainText()
    if typed == text or (edit.hasFocus() and same is not None and same(typed)):
        return
    pos = edit.textCursor().position()
    with QSignalBlocker(edit):
        edit.setPlainText(text)
    cursor = edit.textCursor()
    cursor.setPosition(min(pos, len(text)))
    edit.setTextCursor(cursor)


def show_line_text(edit: QLineEdit, text: str,
                   same: Callable[[str], bool] | None = None) -> None:
    """:func:`show_plain_text` for a one-line field."""
    typed = edit.text()
    if typed == text or (edit.hasFocus() and same is not None and same(typed)):
        return
    pos = edit.cursorPosition()
    with QSignalBlocker(edit):
        edit.setText(text)
    edit.setCursorPosition(min(pos, len(text)))


def keep_typed_number(edit: QLineEdit, value: int) -> None:
    """Show ``value`` in a number field; "007" being typed stays while the model holds 7."""

    def same(typed: str) -> bool:
        return typed.strip().isdigit() and int(typed) == value

    show_line_text(edit, str(value), same)


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def image_paths(mime: Any) -> list[Path]:
    """Image files in a drop (PNG, JPEG, WebP)."""
    if mime is None or not mime.hasUrls():
        return []
    out = []
    for url in mime.urls():
        if url.isLocalFile():
            path = Path(url.toLocalFile())
            if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
                out.append(path)
    return out


class BatchStatus(QWidget):
    """The toolbar's line about the sheet's renders: what a batch would cost; and ``progress``
    (for the status line, where a batch's counts per stage have room): how many are done,
    rendering, failed or cancelled, and a bar."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 0, 6, 0)
        self.cost_label = QLabel(self)
        self.cost_label.setObjectName("costLabel")
        row.addWidget(self.cost_label)
        self.progress = QWidget(self)
        self.progress.setObjectName("batchProgress")
        line = QHBoxLayout(self.progress)
        line.setContentsMargins(6, 0, 6, 0)
        self.progress_label = QLabel(self.progress)
        self.progress_label.setObjectName("progressLabel")
        self.progress_bar = QProgressBar(self.progress)
        self.progress_bar.setObjectName("progressBar")
        self.progress_bar.setFixedWidth(140)
        self.progress_bar.setTextVisible(False)
        line.addWidget(self.progress_label)
        line.addWidget(self.progress_bar)
        # As tall with the bar hidden as shown: the bar coming and going with a batch never
        # changes the status line's height, which would lay out and repaint the whole window.
        self.progress.setMinimumHeight(self.progress_bar.sizeHint().height())
        self._shown: GridProgress | None = None
        # The bar repaints itself at once on every change: a few times a second will do.
        self._bar_timer = QTimer(self)
        self._bar_timer.setSingleShot(True)
        self._bar_timer.setInterval(150)
        self._bar_timer.timeout.connect(self._update_bar)

    @property
    def pending(self) -> bool:
        return self._bar_timer.isActive()

    def show_cost(self, text: str, tip: str) -> None:
        self.cost_label.setText(text + "   " if text else "")
        self.cost_label.setToolTip(tip)

    def show_progress(self, progress: GridProgress) -> None:
        self._shown = progress
        self.progress_label.setText(progress.text)
        self.progress_label.setToolTip(progress.tip)
        self.progress_bar.setToolTip(progress.tip)
        self.progress_bar.setVisible(progress.running)
        if progress.running and not self._bar_timer.isActive():
            self._bar_timer.start()

    def _update_bar(self) -> None:
        """What came out done over everything in the batch: failed, cancelled and uncertain
        renders leave the bar short of full, in the failure colour once the batch is over."""
        progress = self._shown
        if progress is None:
            return
        bar = self.progress_bar
        bar.setRange(0, max(1, progress.total))
        bar.setValue(progress.done)
        outcome = progress.outcome
        if outcome != bar.property("outcome"):
            bar.setProperty("outcome", outcome)
            pal = QApplication.palette(bar)
            if outcome == "incomplete":
                failed = JobState.FAILED if progress.failed else JobState.CANCELLED
                pal.setColor(QPalette.ColorRole.Highlight,
                             theme.status_colour(failed, palette=pal))
            bar.setPalette(pal)


def cut_text(edit: QLineEdit) -> str | None:
    """The field's whole text when it is too long to be seen at once, else None."""
    text = edit.text()
    if not text or edit.echoMode() is not QLineEdit.EchoMode.Normal:
        return None
    room = edit.contentsRect().width() - 8  # the frame's and the text's own margins
    return text if edit.fontMetrics().horizontalAdvance(text) > room else None


class CutTextTips(QObject):
    """Shows a one-line field's whole text as its tooltip while the field cuts it (a field
    with its own tooltip keeps it when the text fits)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(watched, QLineEdit):
            text = cut_text(watched)
            if text is not None and isinstance(event, QHelpEvent):
                tip = watched.toolTip()
                QToolTip.showText(event.globalPos(), f"{text}\n\n{tip}" if tip else text,
                                  watched)
                return True
        return False

    def watch(self, root: QWidget) -> None:
        """Every one-line field under ``root`` (those there now)."""
        for edit in root.findChildren(QLineEdit):
            edit.installEventFilter(self)


def takes_box(parent: QWidget | None = None) -> QSpinBox:
    """The toolbar's "Takes: N": how many takes of each scene a batch renders. Off until the
    rendering side is ready (:func:`allow_takes`; its module is not loaded at start-up)."""
    box = QSpinBox(parent)
    box.setObjectName("takesBox")
    box.setRange(1, 1)
    box.setEnabled(False)
    box.setPrefix("Takes: ")
    box.setAccessibleName("Takes per scene")
    box.setToolTip("How many takes of each scene Preview and Finalize render (seeds seed, "
                   "seed+1, …); each card keeps them all and shows the one you pick")
    return box


def allow_takes(box: QSpinBox) -> None:
    """Up to the render layer's most takes per scene, now that it is loaded."""
    from studio.render.plan import TAKES_MAX

    box.setRange(1, TAKES_MAX)
    box.setEnabled(True)


def show_verdicts(buttons: dict[str, QPushButton], chosen: list[Any]) -> None:
    """Word the ``approve``, ``reject`` and ``star`` buttons by what every one of the ``chosen``
    renders has (records with ``approval`` and ``star``): pressing the same verdict again takes
    it back, as on the cards, so a verdict they all have shows pressed and ticked (pressed alone
    looks much like not in a dark palette) and a star they all have offers "Unstar"."""
    for key, verdict, word, done in (("approve", Approval.APPROVED, "Approve", "✓ Approved"),
                                     ("reject", Approval.REJECTED, "Reject", "✓ Rejected")):
        has = bool(chosen) and all(r.approval is verdict for r in chosen)
        buttons[key].setCheckable(True)
        buttons[key].setChecked(has)
        buttons[key].setText(done if has else word)
    starred = bool(chosen) and all(r.star for r in chosen)
    buttons["star"].setText("Unstar" if starred else "Star")
