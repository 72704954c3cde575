"""The scene grid's controls beside the cards: the preset menus of a card's chips, the Scene
menu's patterns, and the status line's card-size slider.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QSizePolicy, QSlider, QWidget

from studio.core.presets import PresetKind
from studio.ui.card_geometry import CARD_SIZES, CHIPS
from studio.ui.viewmodels.document import SheetDocument
from studio.ui.viewmodels.scenes import SceneListModel

if TYPE_CHECKING:
    from studio.ui.scene_grid import SceneGridView


def pattern_menu(parent: QMenu, document: SheetDocument,
                 add_scene: Callable[[str], object]) -> QMenu:
    """Scene › Add scene from pattern: one entry per pattern preset (its effect as tip)."""
    menu = parent.addMenu("Add scene from &pattern")
    menu.setToolTipsVisible(True)
    for preset in document.catalog.of_kind(PresetKind.PATTERN):
        action = menu.addAction(preset.label)
        action.setToolTip(preset.tooltip)
        action.triggered.connect(lambda _=False, pid=preset.id: add_scene(pid))
    return menu


def chip_menu(parent: QWidget, model: SceneListModel, scene_name: str, key: str
              ) -> QMenu | None:
    """The menu of presets for one chip of a card (the catalog's labels, effect as tip)."""
    row = model.row_of(scene_name)
    if row is None:
        return None
    kind: PresetKind = dict(CHIPS)[key]
    scene = model.scene_at(row)
    current = getattr(scene, key)
    doc = model.document
    menu = QMenu(parent)
    menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    menu.setToolTipsVisible(True)
    menu.setObjectName(f"chipMenu-{key}")
    for preset in doc.catalog.of_kind(kind):
        action = menu.addAction(preset.label)
        action.setCheckable(True)
        action.setChecked(preset.id == current)
        action.setToolTip(preset.tooltip)
        action.setData(preset.id)
        action.triggered.connect(
            lambda _=False, pid=preset.id: doc.update_scene(
                scene_name, f"Set {key} of \"{scene_name}\"", merge=False, **{key: pid}))
    if key != "framing":
        menu.addSeparator()
        none = menu.addAction(f"No {key}")
        none.triggered.connect(lambda _=False: doc.update_scene(
            scene_name, f"Clear {key} of \"{scene_name}\"", merge=False, **{key: ""}))
    return menu


class CardSizeSlider(QWidget):
    """The status bar's card-size control: a slider over :data:`CARD_SIZES`, following the
    grid (the View menu's steps move it too)."""

    def __init__(self, grid: SceneGridView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cardSize")
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 6, 0)
        self.label = QLabel("Cards", self)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setObjectName("cardSizeSlider")
        self.slider.setRange(0, len(CARD_SIZES) - 1)
        self.slider.setPageStep(1)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setFixedWidth(120)
        self.slider.setAccessibleName("Card size")
        row.addWidget(self.label)
        row.addWidget(self.slider)
        self._grid = grid
        self._show(grid.card_size_step)
        self.slider.valueChanged.connect(grid.set_card_size)
        grid.cardSizeChanged.connect(self._show)

    def _show(self, step: int) -> None:
        if self.slider.value() != step:
            self.slider.setValue(step)
        tip = f"Card size: {CARD_SIZES[step][0]} (View › Larger cards Ctrl+=, Smaller cards Ctrl+-)"
        self.slider.setToolTip(tip)
        self.label.setToolTip(tip)
