"""The window's view-models: QObjects with properties and change signals that hold what the
window shows and do what it asks, with no widget of their own (no QtWidgets import, checked by
the import-linter contracts in pyproject.toml). The widgets in ``studio.ui`` bind to them.

All work off the GUI thread goes through :class:`~studio.ui.viewmodels.background.Background`;
the library's announcements reach them through
:class:`~studio.ui.viewmodels.changes.LibraryChanges`.
"""
