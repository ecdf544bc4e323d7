"""``tsunagu`` — the command line. Thin: parse, call a service, render."""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable, Iterable
from typing import Annotated, Any

import typer
from rich.markup import escape
from sqlalchemy.exc import OperationalError
from typer.core import TyperGroup

from tsunagu import __version__
from tsunagu.cli.context import err, fail, wire
from tsunagu.core.errors import TsunaguError, UsageError
from tsunagu.core.i18n import N_, _, set_language
from tsunagu.core.runtime import tune_gc_for_batch_work
from tsunagu.core.text import control_character


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tsunagu {__version__}")
        raise typer.Exit()


def _language_option(_context: Any, _parameter: Any, value: str | None) -> None:
    if value:
        set_language(value)


def _lang_after_subcommand(command: Any, option: Any) -> None:
    """Give every command that has no ``--lang`` of its own the global one, so
    ``tsunagu health show --seller X --lang ja`` reads like ``tsunagu --lang ja health show``.
    Not passed to the command's function; a command with its own ``--lang`` (``appeals draft``:
    the draft's language) keeps it."""
    commands = getattr(command, "commands", None)
    if isinstance(commands, dict):
        for sub in commands.values():
            _lang_after_subcommand(sub, option)
        return
    if any("--lang" in p.opts for p in command.params):
        return
    command.params.append(option)


_LANG_HELP = "Language of messages: en or ja (default: TSUNAGU_LANG, LANG)."


class _Root(TyperGroup):
    """The ``tsunagu`` group: its commands all take ``--lang`` (see
    :func:`_lang_after_subcommand`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        (root,) = [p for p in self.params if "--lang" in p.opts]
        option = copy.copy(root)
        option.expose_value = False
        option.is_eager = True
        option.callback = _language_option
        for sub in self.commands.values():
            _lang_after_subcommand(sub, option)


def assemble(
    *, groups: Iterable[tuple[str, typer.Typer]], commands: Iterable[tuple[str, Callable[..., Any]]]
) -> typer.Typer:
    """The ``tsunagu`` command with the groups and commands the composition root lists."""
    app = typer.Typer(
        name="tsunagu",
        help="tsunagu: one place for your Amazon stores across regions (JP, US, ...).",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
        cls=_Root,
    )
    app.callback()(main)
    for name, group in groups:
        app.add_typer(group, name=name)
    for name, command in commands:
        app.command(name)(command)
    return app


def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    lang: Annotated[
        str | None,
        typer.Option("--lang", help=_LANG_HELP),
    ] = None,
) -> None:
    set_language(lang)


def check_arguments(arguments: list[str]) -> None:
    """API-10 for the command line: no argument holds a control character (an ``ESC`` in a
    seller's name or id would be stored, logged and shown). ``invalid_value`` names the option,
    or the argument's position; the CLI exits 2."""
    for index, argument in enumerate(arguments):
        if control_character(argument) is None:
            continue
        option, has_value, _value = argument.partition("=")
        if argument.startswith("--") and has_value:
            shown = option
        elif index > 0 and arguments[index - 1].startswith("-"):
            shown = arguments[index - 1]
        else:
            shown = f"argument {index + 1}"
        raise UsageError(
            N_("{option} must not hold control characters"),
            code="invalid_value",
            option=shown,
            details={"field": shown.lstrip("-").replace("-", "_"), "value": argument},
        )


def run(app: typer.Typer) -> None:
    tune_gc_for_batch_work()
    try:
        check_arguments(sys.argv[1:])
        app()
    except TsunaguError as error:
        fail(error, as_json="--json" in sys.argv[1:])
    except OperationalError as error:
        label = _("Error")
        err.print(f"[red]{label}[/red] (database_unavailable): {escape(str(error.orig))}")
        raise SystemExit(1) from None


__all__ = ["assemble", "check_arguments", "run", "wire"]
