"""Command groups of the `studio` CLI, one module each.

Each module defines ``register(subparsers)`` adding its sub-commands; every sub-command's
handler is ``func(args, environ, out) -> int`` (an exit code). Importing a command module must
stay cheap: heavy imports happen inside the handlers.
"""

COMMAND_MODULES = (
    "studio.commands.providers",
    "studio.commands.render",
    "studio.commands.library",
    "studio.commands.export",
    "studio.commands.status",
    "studio.commands.templates",
    "studio.commands.score",
)
