"""The domain: character anchor, presets, scenes, sheets, prompts and checks. Pure Python."""
