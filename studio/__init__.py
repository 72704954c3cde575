"""Character Sheet Studio: consistent characters rendered as scene grids through FLUX image APIs."""

__version__ = "0.1.0"
APP_NAME = "character-sheet-studio"
APP_DISPLAY_NAME = "Character Sheet Studio"
