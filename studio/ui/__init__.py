"""The window: widgets, models and delegates, dialogs and view-models. The only Qt widgets."""
