"""The one composition root: where the studio's folders are, its settings, presets, providers and
library come from. The CLI commands and the window both start here.

This is the only module that reads ``STUDIO_*`` environment variables (DESIGN.md): the folders
(``STUDIO_DATA_DIR``, ``STUDIO_CONFIG_DIR``, ``STUDIO_LOG_DIR``) and each provider's
``STUDIO_<ID>_API_KEY``, ``_BASE_URL``, ``_CONCURRENCY`` and ``_TIMEOUT`` (plus the few
provider-specific ones, passed on as they are). Everything below receives values, never the
environment.

Logging is set up here too (:meth:`Runtime.start_logging`, called by the CLI and the window):
every record goes to a rotating file in the log folder with every key redacted; the terminal
shows the user's sentences only, and the log lines as well with ``--verbose``.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from studio import APP_NAME
from studio.core.errors import StudioInputError
from studio.core.settings import ProviderEnv, env_name

if TYPE_CHECKING:
    from studio.core.presets import PresetCatalog
    from studio.core.references import ReferenceReader
    from studio.core.settings import Settings
    from studio.core.templates import TemplateCatalog
    from studio.identity import IdentityRules
    from studio.library import Library
    from studio.providers.errors import Secrets
    from studio.providers.registry import Providers

# Exit codes of every command (DESIGN.md).
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
#: The reader of stdout went away (``studio ... | head -1``): the shell's code for a command
#: ended by SIGPIPE, so a pipeline under ``pipefail`` still sees that output was cut short.
EXIT_CLOSED_PIPE = 141

DATA_DIR_ENV = "STUDIO_DATA_DIR"
CONFIG_DIR_ENV = "STUDIO_CONFIG_DIR"
LOG_DIR_ENV = "STUDIO_LOG_DIR"
LOG_FILE_NAME = "studio.log"
LOG_FILE_BYTES = 2 * 1024 * 1024
LOG_FILES_KEPT = 3


class RuntimeConfigError(StudioInputError):
    """An environment variable or the settings file holds a value the studio cannot use; the
    message is a sentence naming it."""


def provider_envs(environ: Mapping[str, str]) -> dict[str, ProviderEnv]:
    """:func:`provider_env` for every provider."""
    from studio.core.settings import PROVIDER_IDS

    return {pid: provider_env(environ, pid) for pid in PROVIDER_IDS}


def _number(environ: Mapping[str, str], name: str, kind: type[int] | type[float]) -> Any:
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number of seconds"
        raise RuntimeConfigError(f"{name} must be {what}, not {raw!r}.") from None
    if not value > 0 or value != value or value == float("inf"):
        raise RuntimeConfigError(f"{name} must be more than 0, not {raw!r}.")
    return value


def provider_env(environ: Mapping[str, str], provider_id: str) -> ProviderEnv:
    """What ``STUDIO_<ID>_*`` variables say about one provider."""
    prefix = env_name(provider_id, "")
    known = {"API_KEY", "BASE_URL", "CONCURRENCY", "TIMEOUT"}
    return ProviderEnv(
        api_key=environ.get(prefix + "API_KEY", "").strip() or None,
        base_url=environ.get(prefix + "BASE_URL", "").strip() or None,
        concurrency=_number(environ, prefix + "CONCURRENCY", int),
        timeout=_number(environ, prefix + "TIMEOUT", float),
        extra={name[len(prefix):]: value for name, value in environ.items()
               if name.startswith(prefix) and name[len(prefix):] not in known},
    )


class Runtime:
    """The studio's environment, resolved once per command or window."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    # ------------------------------------------------------------------ folders

    def _folder(self, env: str, platform_dir: str) -> Path:
        override = self.environ.get(env, "").strip()
        if override:
            return Path(override).expanduser()
        import platformdirs

        return Path(getattr(platformdirs, platform_dir)(APP_NAME, appauthor=False))

    @functools.cached_property
    def config_dir(self) -> Path:
        """Settings, user presets and templates: ``STUDIO_CONFIG_DIR`` or the platform's."""
        return self._folder(CONFIG_DIR_ENV, "user_config_dir")

    @functools.cached_property
    def log_dir(self) -> Path:
        """Log files: ``STUDIO_LOG_DIR`` or the platform's user log dir."""
        return self._folder(LOG_DIR_ENV, "user_log_dir")

    @property
    def data_dir(self) -> Path:
        """The library: ``STUDIO_DATA_DIR``, else the folder chosen in Settings, else the
        platform's user data dir."""
        if not self.environ.get(DATA_DIR_ENV, "").strip() and self.settings.data_dir:
            return Path(self.settings.data_dir).expanduser()
        return self._folder(DATA_DIR_ENV, "user_data_dir")

    def with_settings(self, settings: Settings) -> Runtime:
        """The same environment with other settings (the window after Settings is saved)."""
        other = Runtime(self.environ)
        other.__dict__["settings"] = settings
        return other

    # ------------------------------------------------------------------ settings and presets

    @functools.cached_property
    def settings(self) -> Settings:
        """``settings.toml`` from the config folder; ``RuntimeConfigError`` when unreadable."""
        from studio.core.settings import SettingsError, load_settings

        try:
            return load_settings(self.config_dir)
        except SettingsError as exc:
            raise RuntimeConfigError(str(exc)) from None

    def settings_or_defaults(self) -> tuple[Settings, str]:
        """The settings, or the defaults with the sentence saying why the file was not used
        (the window opens anyway)."""
        from studio.core.settings import Settings

        try:
            return self.settings, ""
        except RuntimeConfigError as exc:
            self.__dict__["settings"] = Settings()
            return self.settings, f"{exc} The default settings are used until it is fixed."

    def identity_rules(self) -> IdentityRules:
        """Identity scoring's rules with the threshold from the settings; RuntimeConfigError
        (naming the settings file) for a threshold no distance can be judged by."""
        from studio.core.settings import SETTINGS_FILE_NAME
        from studio.identity import IdentityRules

        try:
            return IdentityRules(threshold=self.settings.identity_threshold)
        except StudioInputError as exc:
            raise RuntimeConfigError(
                f"{self.config_dir / SETTINGS_FILE_NAME}: identity_threshold: {exc}.") from None

    @property
    def presets_file(self) -> Path:
        return self.config_dir / "presets.toml"

    @functools.cached_property
    def catalog(self) -> PresetCatalog:
        """The presets catalog with the user's presets merged over the built-in ones."""
        from studio.core.presets import load_catalog

        return load_catalog(user_file=self.presets_file)

    @property
    def templates_file(self) -> Path:
        """The user's sheet templates (``templates.toml`` beside ``presets.toml``)."""
        return self.config_dir / "templates.toml"

    @property
    def templates_dir(self) -> Path:
        """A folder of the user's template files (``templates/*.toml``)."""
        return self.config_dir / "templates"

    @functools.cached_property
    def templates(self) -> TemplateCatalog:
        """The sheet templates with the user's merged over the built-in ones."""
        from studio.core.templates import load_templates

        return load_templates(self.catalog, user_file=self.templates_file,
                              user_dir=self.templates_dir)

    # ------------------------------------------------------------------ logging

    @functools.cached_property
    def secrets(self) -> Secrets:
        """The API keys in use, learnt as providers look them up; every log line is redacted
        with them. The log is the process's, so every Runtime of the process shares the
        running log's secrets."""
        for handler in logging.getLogger().handlers:
            if isinstance(handler.formatter, _RedactingFormatter):
                return handler.formatter.secrets
        from studio.providers.errors import Secrets

        return Secrets()

    def start_logging(self, *, verbose: bool = False,
                      stream: TextIO | None = None) -> LoggingSession:
        """Send the studio's log to ``studio.log`` in :attr:`log_dir` (rotating, redacted),
        and with ``verbose`` to ``stream`` (stderr) as well; nothing else of it reaches the
        terminal. Close the returned session when the command or window ends."""
        return LoggingSession(self.log_dir, self.secrets, verbose=verbose,
                              stream=stream if stream is not None else sys.stderr)

    # ------------------------------------------------------------------ providers

    def provider_env(self, provider_id: str) -> ProviderEnv:
        return provider_env(self.environ, provider_id)

    def any_key_in_environment(self) -> bool:
        """Whether a remote provider's key is set in the environment (no keychain asked)."""
        from studio.core.settings import PROVIDER_IDS

        return any(self.provider_env(pid).api_key for pid in PROVIDER_IDS if pid != "offline")

    def providers(self, **options: Any) -> Providers:
        """Every provider, keyed by id, configured or not (``Provider.configured`` tells);
        ``options`` go to :func:`studio.providers.registry.build_providers` (tests: transports,
        clocks, keychains). They read reference images from the library's image store."""
        from studio.providers.registry import ProviderConfigError, build_providers

        try:
            options.setdefault("references", self.reference_reader())
            options.setdefault("secrets", self.secrets)
            return build_providers(provider_envs(self.environ), self.settings, self.config_dir,
                                   **options)
        except ProviderConfigError as exc:
            raise RuntimeConfigError(str(exc)) from None

    # ------------------------------------------------------------------ the library

    def reference_reader(self) -> ReferenceReader:
        """Reads reference images by hash from the library in :attr:`data_dir` (opens nothing
        until a read; a library that does not exist yet simply has none)."""
        from studio.library.references import ReferenceFiles

        return ReferenceFiles.in_data_dir(self.data_dir)

    def library_exists(self) -> bool:
        from studio.library.paths import DATABASE_NAME

        return (self.data_dir / DATABASE_NAME).is_file()

    def open_library(self, *, purpose: Literal["write", "read"] = "write",
                     if_busy: Literal["read-only", "wait", "fail"] = "wait",
                     wait_seconds: float = 10.0) -> Library:
        """The library in :attr:`data_dir`. ``purpose="read"`` opens it for viewing only and
        never creates one (the caller checks :meth:`library_exists` first). ``purpose="write"``
        creates it if needed and never returns it for viewing only: a library that cannot be
        written (a read-only folder or file) raises ``LibraryReadOnlyError`` saying so."""
        from studio.library import Library, LibraryReadOnlyError

        if purpose == "read":
            return Library.open(self.data_dir, read_only=True)
        library = Library.open(self.data_dir, if_busy=if_busy, wait_seconds=wait_seconds)
        if library.read_only:
            notice = library.notice
            library.close()
            raise LibraryReadOnlyError(notice)
        return library


class _RedactingFormatter(logging.Formatter):
    """Formats a record, then takes every known key out of the whole text (message, arguments,
    traceback); on a terminal, control characters are escaped too."""

    def __init__(self, fmt: str, secrets: Secrets, *, terminal: bool = False) -> None:
        super().__init__(fmt)
        self.secrets = secrets
        self._terminal = terminal

    def format(self, record: logging.LogRecord) -> str:
        text = self.secrets.text(super().format(record))
        if self._terminal:
            from studio.core.text import for_terminal

            text = for_terminal(text, keep_lines=True)
        return text


def _log_file(path: Path) -> logging.Handler:
    """The rotating log file, opened (folder included) on the first record; a folder that
    cannot be written (a read-only home) means no log file, never a noisy error."""
    import logging.handlers  # only when logging starts: commands start faster without it

    class LogFile(logging.handlers.RotatingFileHandler):
        broken = False

        def _open(self):  # type: ignore[no-untyped-def]
            Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
            return super()._open()

        def emit(self, record: logging.LogRecord) -> None:
            if self.broken:
                return
            try:
                super().emit(record)
            except Exception:  # OSError and the like: logging must never stop the studio
                self.broken = True

        def handleError(self, record: logging.LogRecord) -> None:
            # The default prints "--- Logging error ---" and a traceback on stderr.
            self.broken = True

    return LogFile(path, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILES_KEPT,
                   encoding="utf-8", delay=True)


class LoggingSession:
    """The handlers :meth:`Runtime.start_logging` installed; :meth:`close` removes them."""

    _QUIET = ("httpx", "httpcore", "PIL", "asyncio.selector_events")

    def __init__(self, log_dir: Path, secrets: Secrets, *, verbose: bool,
                 stream: TextIO) -> None:
        self.path: Path | None = None
        self._handlers: list[logging.Handler] = []
        self._levels: dict[str, int] = {}
        # The file (and its folder) appear with the first line logged: a command that logs
        # nothing creates nothing.
        self.path = log_dir / LOG_FILE_NAME
        handler = _log_file(self.path)
        handler.setFormatter(_RedactingFormatter(
            "%(asctime)s %(levelname)s %(name)s: %(message)s", secrets))
        self._handlers.append(handler)
        if verbose:
            echo = logging.StreamHandler(stream)
            echo.setFormatter(_RedactingFormatter("studio: [%(name)s] %(message)s", secrets,
                                                  terminal=True))
            self._handlers.append(echo)
        root = logging.getLogger()
        for item in self._handlers:
            root.addHandler(item)
        self._level("studio", logging.DEBUG if verbose else logging.INFO)
        for name in self._QUIET:
            self._level(name, logging.WARNING)

    def _level(self, name: str, level: int) -> None:
        logger = logging.getLogger(name)
        self._levels.setdefault(name, logger.level)
        logger.setLevel(level)

    def close(self) -> None:
        root = logging.getLogger()
        for handler in self._handlers:
            root.removeHandler(handler)
            handler.close()
        self._handlers.clear()
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)
        self._levels.clear()

    def __enter__(self) -> LoggingSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
