"""Orchestration: the render queue, per-provider concurrency, cancel, resume, previews to finals."""
