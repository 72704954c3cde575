"""Help › Keyboard shortcuts (F1): every key of the studio, read from the tables that make the
keys (the window's actions, the viewer's and the compare's keys), so it can never disagree with
them."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.ui.window_actions import ACTIONS

NATIVE = QKeySequence.SequenceFormat.NativeText


def _keys(shortcuts: Iterable[object]) -> str:
    out = []
    for shortcut in shortcuts:
        text = QKeySequence(shortcut).toString(NATIVE)  # type: ignore[call-overload]
        if text and text not in out:
            out.append(text)
    return " or ".join(out)


def shortcut_sections() -> list[tuple[str, list[tuple[str, str, str]]]]:
    """(section, [(what, keys, tip)]) for every key the studio has."""
    from studio.ui.compare import COMPARE_KEYS
    from studio.ui.viewer import VIEWER_KEYS

    window: list[tuple[str, str, str]] = []
    grid: list[tuple[str, str, str]] = []
    for spec in ACTIONS:
        keys = _keys([spec.shortcut]) if spec.shortcut is not None else ""
        if not keys:
            continue
        row = (spec.text.replace("&", ""), keys, spec.tip)
        (grid if spec.grid_only else window).append(row)
    return [
        ("Window", window),
        ("Scene grid (while it has the focus)", grid),
        ("Viewer", [(k.text, _keys(k.keys), "") for k in VIEWER_KEYS]),
        ("Compare", [(k.text, _keys(k.keys), "") for k in COMPARE_KEYS]),
    ]


class ShortcutsWindow(QWidget):
    """The keys, grouped by where they work."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutsWindow")
        self.setWindowTitle("Keyboard shortcuts")
        layout = QVBoxLayout(self)
        intro = QLabel("Double-click any image to open it in the viewer; right-click it for "
                       "everything else you can do with it.", self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("shortcutsTree")
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Action", "Keys", "What it does"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        for section, rows in shortcut_sections():
            head = QTreeWidgetItem([section])
            font = head.font(0)
            font.setBold(True)
            head.setFont(0, font)
            head.setFirstColumnSpanned(False)
            self.tree.addTopLevelItem(head)
            for what, keys, tip in rows:
                row = QTreeWidgetItem([what, keys, tip])
                row.setToolTip(2, tip)  # the column may cut a long one short
                head.addChild(row)
            head.setExpanded(True)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.tree.setRootIsDecorated(True)
        layout.addWidget(self.tree, 1)
        self.resize(780, 760)

    def rows(self) -> list[tuple[str, str, str]]:
        """(section, action, keys) of every row shown."""
        out = []
        for i in range(self.tree.topLevelItemCount()):
            head = self.tree.topLevelItem(i)
            assert head is not None
            for j in range(head.childCount()):
                child = head.child(j)
                assert child is not None
                out.append((head.text(0), child.text(0), child.text(1)))
        return out
