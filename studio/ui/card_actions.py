"""What the user does to a scene card in the grid: a double-click edits the scene, a card's
buttons (a job's "Send again", render, retry, open an image) and its context menu, and an image
the inspector offers as a reference."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint

from studio.core.request import Stage
from studio.ui.scene_delegate import card_layout
from studio.ui.viewmodels.scenes import Role
from studio.ui.window_part import WindowPart


class CardActions(WindowPart):
    """Answers the grid's and the inspector's requests about a card."""

    def scene_activated(self, name: str) -> None:
        """A card double-clicked (or Return on it): its scene, ready to type in."""
        window = self.window
        window.scene_dock.show()
        window.scene_dock.raise_()
        window.grid.select_name(name)
        window.scene_editor.setting_edit.setFocus()

    def card_action(self, name: str, action: str) -> None:
        """A button on a card: a waiting job's, the renderer's, else an image to open."""
        window = self.window
        if window.attention.card_action(name, action):
            return
        if not window.rendering.card_action(name, action) and action.startswith("open:"):
            window.image_windows.open_card(name, Stage(action.partition(":")[2]))

    def use_as_reference(self, record: Any) -> None:
        from studio.ui.image_windows import record_item

        item = record_item(record) if record is not None else None
        if item is not None:
            self.window.image_windows.image_actions.use_as_reference(item)

    def card_menu(self, pos: QPoint) -> None:
        """A card's context menu, for the image under the pointer (else the card's final)."""
        window = self.window
        grid = window.grid
        index = grid.indexAt(pos)
        if not index.isValid():
            return
        name = window.model.scene_at(index.row()).name
        if name not in grid.selected_names():
            grid.select_name(name)
        hit = card_layout(grid.visualRect(index), index.data(Role.CELL),
                          window.delegate.takes_by_likeness).hit(pos) or ""
        kind, _, what = hit.partition(":")
        menu = window.image_windows.card_menu(name, Stage(what) if kind == "slot" else None, grid)
        if menu is not None:
            menu.popup(grid.viewport().mapToGlobal(pos))
