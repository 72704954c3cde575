"""Character sheets, storyboards and bundles, with full metadata."""
