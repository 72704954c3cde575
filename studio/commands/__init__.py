"""Command groups of the `studio` CLI, one module each.

Each module defines ``register(subparsers)`` adding its sub-commands; every sub-command's
handler is ``func(args, environ, out) -> int`` (an exit code). Importing a command module must
stay cheap: heavy imports happen inside the handlers. A command line naming a command imports
only that command's module (:data:`COMMANDS`); ``studio --help`` and an unknown command import
them all.
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

#: The module that registers each command.
COMMANDS = {
    "providers": "studio.commands.providers",
    "render": "studio.commands.render",
    "resume": "studio.commands.render",
    "library": "studio.commands.library",
    "export": "studio.commands.export",
    "import-bundle": "studio.commands.export",
    "status": "studio.commands.status",
    "templates": "studio.commands.templates",
    "new": "studio.commands.templates",
    "score": "studio.commands.score",
}
