"""The main window's other windows: Settings, Compare, the library browser, the consistency grid,
Export and Import.

Each one is deleted when it closes (and freed with it: nothing here keeps a closed window); the
next opening builds a fresh one bound to the same view-models.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from studio.ui.widgets import bring_to_front
from studio.ui.window_part import WindowPart

if TYPE_CHECKING:  # each is imported when first opened (a fast start-up)
    from studio.ui.compare import CompareView
    from studio.ui.consistency import ConsistencyView
    from studio.ui.export_dialog import ExportDialog
    from studio.ui.library_browser import LibraryBrowser
    from studio.ui.main_window import MainWindow
    from studio.ui.settings_dialog import SettingsDialog
    from studio.ui.viewmodels.importing import ImportOutcome


class ToolWindows(WindowPart):
    """Opens (and re-opens) the window's other windows."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window, "toolWindows")
        self.compare: CompareView | None = None
        self.consistency: ConsistencyView | None = None
        self.library_browser: LibraryBrowser | None = None
        self.settings_dialog: SettingsDialog | None = None
        self.shortcuts: QWidget | None = None

    def _own(self, widget: QWidget, attribute: str) -> None:
        """A tool window of ours, deleted when closed; forgotten when deleted."""
        widget.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        widget.destroyed.connect(lambda *_: setattr(self, attribute, None))

    # ------------------------------------------------------------------ settings
    def open_settings(self) -> SettingsDialog:
        from studio.core.settings import Settings
        from studio.ui.settings_dialog import SettingsDialog
        from studio.ui.viewmodels.settings import SettingsModel, SystemKeyStore

        w = self.window
        services = w.services
        if self.settings_dialog is not None:
            self.settings_dialog.close()
        settings = w.rendering.settings or services.settings or Settings()
        model = SettingsModel(settings, services.config_dir, services.provider_envs,
                              services.keys or SystemKeyStore(), w.background)
        providers = w.renderer.providers if w.renderer is not None else {}
        dialog = SettingsDialog(model, providers, w)
        model.setParent(dialog)
        model.saved.connect(w.apply_settings)
        self._own(dialog, "settings_dialog")
        self.settings_dialog = dialog
        dialog.open()
        return dialog

    # ------------------------------------------------------------------ compare
    def compare_current(self) -> None:
        name = self.window.grid.current_name()
        if name:
            self.open_compare(name)

    def open_compare(self, name: str) -> CompareView | None:
        w = self.window
        cell = w.model.cell(name)
        preview, final = cell.preview.image, cell.final.image
        if preview is None and final is None:
            w.show_message(f"\u201c{name}\u201d has no render to compare yet: preview it "
                           "first.", "info")
            return None
        compare = self.compare_view()
        info = []
        for label, slot in (("Preview", cell.preview), ("Final", cell.final)):
            if slot.image is not None:
                info.append(f"{label}: {slot.provider} · {slot.model}")
        compare.show_pair(name, preview, final, "   ·   ".join(info))
        bring_to_front(compare)
        return compare

    def compare_view(self) -> CompareView:
        """The compare window (built when first asked for)."""
        from studio.ui.compare import CompareView

        if self.compare is None:
            self.compare = CompareView(self.window.background, self.window)
            self.compare.setWindowFlag(Qt.WindowType.Window)
            self._own(self.compare, "compare")
        return self.compare

    # ------------------------------------------------------------------ library and grid
    def open_library(self) -> LibraryBrowser | None:
        from studio.ui.library_browser import LibraryBrowser
        from studio.ui.viewmodels.library_browser import LibraryBrowserModel

        w = self.window
        changes = w.rendering.changes
        if w.library is None or changes is None:
            w.show_message("The library is not open, so there is nothing to browse.", "error")
            return None
        if self.library_browser is None:
            model = LibraryBrowserModel(w.library, changes, w.background)
            browser = LibraryBrowser(model, w)
            model.setParent(browser)
            browser.setWindowFlag(Qt.WindowType.Window)
            browser.openSheetRequested.connect(w.session.open_path)
            browser.importRequested.connect(w.importer.run)
            w.image_windows.attach_library_browser(browser)
            self._own(browser, "library_browser")
            self.library_browser = browser
        bring_to_front(self.library_browser)
        return self.library_browser

    def open_consistency(self) -> ConsistencyView:
        from studio.ui.consistency import ConsistencyView
        from studio.ui.viewmodels.consistency import ConsistencyModel

        w = self.window
        if self.consistency is None:
            tiles = ConsistencyModel(w.model, w.render_facts)
            view = ConsistencyView(tiles, w.images, w)
            tiles.setParent(view)
            view.setWindowFlag(Qt.WindowType.Window)
            w.image_windows.attach_consistency(view)
            self._own(view, "consistency")
            self.consistency = view
        bring_to_front(self.consistency)
        return self.consistency

    def open_shortcuts(self) -> QWidget:
        """Help › Keyboard shortcuts."""
        from studio.ui.shortcuts_window import ShortcutsWindow

        if self.shortcuts is None:
            self.shortcuts = ShortcutsWindow(self.window)
            self.shortcuts.setWindowFlag(Qt.WindowType.Window)
            self._own(self.shortcuts, "shortcuts")
        bring_to_front(self.shortcuts)
        return self.shortcuts

    def close_all(self) -> None:
        for extra in (self.compare, self.consistency, self.library_browser,
                      self.settings_dialog, self.shortcuts, self.window.image_windows.viewer):
            if extra is not None:
                extra.close()

    # ------------------------------------------------------------------ export and import
    def export_dialog(self) -> ExportDialog | None:
        """Export the sheet's latest renders; the dialog reads and writes off the GUI thread."""
        w = self.window
        if w.library is None or w.rendering.sheet_library is None:
            w.show_message("Exports need the library, which is not open; see the message "
                           "above.", "error")
            return None
        from studio.export.gather import gather_sheet
        from studio.ui.export_dialog import ExportDialog

        library, catalog = w.library, w.services.catalog
        sheet, path = w.document.sheet, w.rendering.sheet_library.library_path()
        start = w.document.path.parent if w.document.path else Path.home()
        dialog = ExportDialog(lambda: gather_sheet(library, sheet, path, catalog),
                              library=library, start_dir=start, parent=w)
        dialog.exported.connect(
            lambda out: w.statusBar().showMessage(f"Exported {out}", 8000))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def import_dialog(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        w = self.window
        names, _ = QFileDialog.getOpenFileNames(w, "Import images", str(Path.home()),
                                                "Images (*.png *.jpg *.jpeg *.webp)")
        if names:
            w.importer.run([Path(n) for n in names])

    def imported(self, outcome: ImportOutcome) -> None:
        """Say what an import did; offer the first image's settings as a new scene."""
        w = self.window
        if outcome.errors:
            w.show_message(" ".join(outcome.errors), "error")
        if not outcome.records:
            return
        found = outcome.suggestion
        what = (f"its settings (seed {found.seed}, {found.width}x{found.height})"
                if found.prompt else "no settings in it")
        text = (f"Imported {len(outcome.records)} image(s) into “{outcome.project}”; "
                f"{outcome.first.name} has {what}.")
        if found.prompt:
            importer, grid, stem = w.importer, w.grid, outcome.first.stem
            w.show_message(text, "ok", "Add as a scene",
                           lambda: grid.select_name(importer.add_scene(stem, found)))
        else:
            w.show_message(text, "ok")
        w.imported.emit(outcome.records)
