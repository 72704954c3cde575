"""Errors of the domain layer: every one carries a sentence a user can act on."""

from __future__ import annotations


class StudioInputError(ValueError):
    """Bad input from a file or a user: reported as one clear message, never a traceback."""


class FileInputError(StudioInputError):
    """A file the user wrote cannot be used. The message names the file, the key or line, and
    the fix, in one sentence."""

    def __init__(
        self,
        path: str,
        problem: str,
        *,
        key: str | None = None,
        line: int | None = None,
        hint: str = "",
    ) -> None:
        self.path = path
        self.problem = problem
        self.key = key
        self.line = line
        self.hint = hint
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
        text = f"{where}: "
        if self.key:
            text += f"'{self.key}' "
        text += self.problem
        if self.hint:
            text += f"; {self.hint}"
        return text


class SheetError(FileInputError):
    """A sheet file cannot be used."""


class TemplateError(FileInputError):
    """A sheet template (built-in or the user's) cannot be read, or names something unknown."""


class PresetError(StudioInputError):
    """The presets catalog (built-in or the user's file) cannot be read."""
