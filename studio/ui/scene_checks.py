"""The prompt checks where the problem is: in the Scene panel, the findings about the scene
shown, and a coloured edge and tooltip on the field each one is about (the setting, the
framing, the seed). The cards show the same findings as a marker."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QBoxLayout, QLabel, QWidget

from studio.core.checks import Finding, Severity
from studio.core.lifecycle import JobState
from studio.ui import theme
from studio.ui.scene_editor import SceneEditor
from studio.ui.viewmodels.scenes import SceneListModel
from studio.ui.viewmodels.selection import SceneSelection

#: The field of the Scene panel each scene rule is about.
FIELD_OF_RULE = {"style-conflict": "setting", "overloaded-prompt": "setting",
                 "vague-quality": "setting", "size-multiple": "framing",
                 "size-limit": "framing", "seed-replaced": "seed", "seed-range": "seed"}


class SceneFindings(QLabel):
    """Shown under the Scene panel's fields while the scene has warnings or errors."""

    def __init__(self, editor: SceneEditor, model: SceneListModel,
                 selection: SceneSelection) -> None:
        body = editor.form_box.parentWidget()
        assert body is not None
        super().__init__(body)
        self._body = body
        self.setObjectName("sceneFindings")
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setContentsMargins(4, 4, 4, 4)
        self._model = model
        self._selection = selection
        self.fields: dict[str, QWidget] = {"setting": editor.setting_edit,
                                           "framing": editor.framing_combo,
                                           "seed": editor.seed_edit}
        self._tips = {key: widget.toolTip() for key, widget in self.fields.items()}
        layout = body.layout()
        if isinstance(layout, QBoxLayout):
            layout.insertWidget(layout.indexOf(editor.form_box) + 1, self)
        self.findings: tuple[Finding, ...] = ()
        model.dataChanged.connect(self.refresh)
        model.modelReset.connect(self.refresh)
        selection.changed.connect(self.refresh)
        self.refresh()

    def refresh(self, *_args: object) -> None:
        name = self._selection.current
        findings = self._model.findings(name) if name else ()
        if findings == self.findings and self.isVisibleTo(self._body) == bool(findings):
            return
        self.findings = findings
        self.setText("\n".join(f"{_mark(f)} {f.message}\n   → {f.suggestion}"
                               for f in findings))
        self.setVisible(bool(findings))
        about: dict[str, list[Finding]] = {}
        for finding in findings:
            key = FIELD_OF_RULE.get(finding.id)
            if key is not None:
                about.setdefault(key, []).append(finding)
        for key, widget in self.fields.items():
            found = about.get(key)
            widget.setProperty("finding", _worst(found) if found else "")
            if found:
                colour = _colour(_worst(found)).name()
                widget.setStyleSheet(f"{type(widget).__name__} {{ border: 2px solid {colour}; "
                                     "border-radius: 3px; }")
                widget.setToolTip("\n".join(f"{f.message}\n→ {f.suggestion}" for f in found))
            else:
                widget.setStyleSheet("")
                widget.setToolTip(self._tips[key])


def _worst(findings: list[Finding]) -> str:
    errors = any(f.severity is Severity.ERROR for f in findings)
    return Severity.ERROR.value if errors else Severity.WARNING.value


def _colour(severity: str) -> QColor:
    state = JobState.FAILED if severity == Severity.ERROR.value else JobState.UNCERTAIN
    return theme.status_colour(state)


def _mark(finding: Finding) -> str:
    return "⛔" if finding.severity is Severity.ERROR else "⚠"
