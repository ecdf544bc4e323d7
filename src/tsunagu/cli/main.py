"""``tsunagu`` — the command line. Thin: parse, call a service, render."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Annotated, Any

import typer
from rich.markup import escape
from sqlalchemy.exc import OperationalError

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
        typer.Option(
            "--lang", help="Language of messages: en or ja (default: TSUNAGU_LANG, LANG)."
        ),
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
