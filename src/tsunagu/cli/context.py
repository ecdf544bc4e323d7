"""What every command needs: settings, the database (upgraded on first use), the region table.

Local CLI use acts as the installation's owner: there is no sign-in on the embedded database
(the sign-in issue adds users for the API and the dashboard).

Nothing a command prints can drive the terminal (API-10): the consoles :data:`out` and
:data:`err` write every control character that comes from data (``ESC [2J`` in an order id
stored before ids were checked, a NUL in an error message) as ``\u001b`` and so on, whatever is
printed and however (strings, tables, error messages, progress bars); tab and line feed stay.
:func:`print_json` does the same for the control characters JSON would leave raw.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Any, NoReturn

import orjson
from rich.console import Console, ConsoleOptions, ConsoleRenderable, RenderHook, RenderResult
from rich.markup import escape
from rich.segment import Segment
from rich.text import Text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.core.clock import utcnow
from tsunagu.core.db import ensure_schema, make_engine, make_sessionmaker
from tsunagu.core.errors import TsunaguError, UsageError
from tsunagu.core.i18n import N_, _, current_language
from tsunagu.core.text import for_terminal, json_for_terminal
from tsunagu.core.timeutil import MAX_YEAR, MIN_YEAR, InstantError, parse_instant
from tsunagu.jobs.registry import JobKinds
from tsunagu.marketplaces.registry import Registry, SettingsSection, load_registry
from tsunagu.settings import Settings, load_settings


class _Escaped:
    """A renderable whose text segments have their control characters made visible and no
    hyperlink (OSC 8) attached; the segments Rich itself sends to move the cursor (``control``)
    pass as they are."""

    def __init__(self, renderable: ConsoleRenderable) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for segment in console.render(self.renderable, options):
            text, style, control = segment
            if control is not None:
                yield segment
                continue
            if style is not None and style.link:
                # tsunagu prints no hyperlinks: one can only come from ``[link=…]`` in data
                style = style.update_link(None)
            yield Segment(for_terminal(text), style)


class _EscapeEverything(RenderHook):
    """Catches what :meth:`TerminalSafeConsole.render_str` cannot see (``Text`` built directly,
    progress descriptions); the width a table measured may then be off, the terminal is safe."""

    def process_renderables(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        return [_Escaped(r) for r in renderables]


class TerminalSafeConsole(Console):
    """A Rich console that shows control characters instead of sending them (API-10).

    Strings are escaped before Rich lays them out (tables measure the escaped text), and a
    render hook escapes whatever else reaches the output.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.push_render_hook(_EscapeEverything())

    def render_str(self, text: str, **options: Any) -> Text:
        return super().render_str(for_terminal(text), **options)


out = TerminalSafeConsole(highlight=False, soft_wrap=True)
err = TerminalSafeConsole(stderr=True, highlight=False)


@dataclass(frozen=True)
class Wiring:
    """What the composition root (:mod:`tsunagu.slices`) hands the commands: the job kinds, the
    slices' sections of the config file, and the application ``serve`` runs. The CLI imports no
    slice list and no web code of its own (ADR 0019)."""

    job_kinds: JobKinds
    sections: tuple[SettingsSection, ...]
    application: Callable[[Settings], Any]
    #: the same application as an import path (``module:factory``), for ``serve --workers N``,
    #: whose processes each build their own from the environment
    application_ref: str = "tsunagu.slices:create_app"


@dataclass
class Context:
    settings: Settings
    wiring: Wiring

    @cached_property
    def engine(self) -> Engine:
        engine = make_engine(self.settings.database_url)
        if ensure_schema(engine):
            err.print(_("Database schema created or upgraded."), style="dim")
        return engine

    @cached_property
    def factory(self) -> sessionmaker[Session]:
        return make_sessionmaker(self.engine)

    @cached_property
    def read_factory(self) -> sessionmaker[Session]:
        """Sessions that only read: on SQLite they never take the write lock."""
        if self.engine.dialect.name != "sqlite":
            return self.factory
        return make_sessionmaker(make_engine(self.settings.database_url, read_only=True))

    @cached_property
    def registry(self) -> Registry:
        """The region table; each slice's section of the config file is checked once here."""
        registry = load_registry(self.settings.config_path)
        for section in self.wiring.sections:
            section.check(registry)
        return registry


_context: Context | None = None
_wiring: Wiring | None = None


def wire(wiring: Wiring) -> None:
    """Called once by :func:`tsunagu.slices.main` before any command runs."""
    global _wiring, _context
    _wiring, _context = wiring, None


def ctx() -> Context:
    global _context
    if _context is None:
        if _wiring is None:
            raise RuntimeError("the CLI is started through tsunagu.slices.main, which wires it")
        _context = Context(load_settings(), _wiring)
    return _context


def reset() -> None:
    """Forget the cached context (tests run several commands in one process)."""
    global _context
    _context = None


def parse_day(value: str, flag: str = "--as-of") -> date:
    """A ``YYYY-MM-DD`` option value in the years 1970–2999 (as for event instants: health
    windows reach months back and ahead), or a usage error (``invalid_date``) naming the option."""
    try:
        day = date.fromisoformat(value)
        if len(value) != 10 or not MIN_YEAR <= day.year <= MAX_YEAR:
            raise ValueError(value)
        return day
    except ValueError:
        raise UsageError(
            N_("{flag} must be a date like 2026-11-25, not {value}"),
            code="invalid_date",
            flag=flag,
            value=value,
            details={"field": flag.lstrip("-").replace("-", "_"), "value": value},
        ) from None


def as_of_instant(value: str | None) -> datetime:
    """An ``--as-of`` instant (ISO-8601 with an offset), or now; ``invalid_as_of`` otherwise."""
    if value is None:
        return utcnow()
    try:
        return parse_instant(value)
    except InstantError as exc:
        raise UsageError(
            N_("--as-of must be an ISO-8601 time with an offset, e.g. 2026-11-25T09:00:00+09:00"),
            code="invalid_as_of",
        ) from exc


def optional_day(value: str | None, flag: str = "--as-of") -> date | None:
    return None if value is None else parse_day(value, flag)


def print_json(value: Any) -> None:
    """``value`` as indented JSON; control characters are escaped (``\u001b``), all of them."""
    write_json_lines([orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()])


def write_json_lines(lines: Iterable[str]) -> None:
    """JSON texts, one per line, on standard output with :func:`json_for_terminal` applied."""
    for line in lines:
        sys.stdout.write(json_for_terminal(line) + "\n")


def exit_code(error: TsunaguError) -> int:
    """2 for bad input (a usage error, or an error the API answers with 400 or 422), else 1."""
    return 2 if isinstance(error, UsageError) or error.status in (400, 422) else 1


def fail(error: TsunaguError, *, as_json: bool = False, exit_with: int | None = None) -> NoReturn:
    """Print an expected error (never a traceback) and exit (:func:`exit_code`, or
    ``exit_with`` where a command's contract pins another).

    With ``as_json`` (the command was given ``--json``) the error is the API's one envelope,
    ``{"error": {"code", "message", "details"}}``, on standard output, so a script reads one
    JSON document whatever happened."""
    if as_json:
        print_json(error.envelope(current_language()))
        raise SystemExit(exit_with if exit_with is not None else exit_code(error))
    label = _("Error")
    text = escape(error.message(current_language()))  # "[marketplaces.UK]" is text, not markup
    err.print(f"[red]{label}[/red] ({error.code}): {text}")
    raise SystemExit(exit_with if exit_with is not None else exit_code(error))
