"""``tsunagu`` — the command line. Thin: parse, call a service, render."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape
from sqlalchemy.exc import OperationalError

from tsunagu import __version__
from tsunagu.cli import audit as audit_cli
from tsunagu.cli import db as db_cli
from tsunagu.cli import demo as demo_cli
from tsunagu.cli import events as events_cli
from tsunagu.cli import health as health_cli
from tsunagu.cli import imports as imports_cli
from tsunagu.cli import jobs as jobs_cli
from tsunagu.cli import marketplaces as marketplaces_cli
from tsunagu.cli import orders as orders_cli
from tsunagu.cli import sellers as sellers_cli
from tsunagu.cli import snapshots as snapshots_cli
from tsunagu.cli import users as users_cli
from tsunagu.cli.context import err, fail
from tsunagu.core.errors import TsunaguError, UsageError
from tsunagu.core.i18n import N_, _, set_language
from tsunagu.core.runtime import tune_gc_for_batch_work
from tsunagu.core.text import control_character

app = typer.Typer(
    name="tsunagu",
    help="tsunagu: one place for your Amazon stores across regions (JP, US, ...).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db_cli.app, name="db")
app.add_typer(marketplaces_cli.app, name="marketplaces")
app.add_typer(sellers_cli.app, name="sellers")
app.add_typer(events_cli.app, name="events")
app.add_typer(orders_cli.app, name="orders")
app.add_typer(health_cli.app, name="health")
app.add_typer(imports_cli.app, name="import")
health_cli.app.command("compare")(snapshots_cli.compare)
imports_cli.app.command("amazon-health")(snapshots_cli.import_amazon_health)
app.add_typer(jobs_cli.app, name="jobs")
app.add_typer(demo_cli.app, name="demo")
app.add_typer(users_cli.app, name="users")
app.add_typer(users_cli.tokens_app, name="tokens")
app.add_typer(audit_cli.outbox_app, name="outbox")
app.add_typer(audit_cli.audit_app, name="audit")
app.command("worker")(jobs_cli.worker)
app.command("serve")(demo_cli.serve)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tsunagu {__version__}")
        raise typer.Exit()


@app.callback()
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


def run() -> None:
    tune_gc_for_batch_work()
    try:
        check_arguments(sys.argv[1:])
        app()
    except TsunaguError as error:
        fail(error)
    except OperationalError as error:
        label = _("Error")
        err.print(f"[red]{label}[/red] (database_unavailable): {escape(str(error.orig))}")
        raise SystemExit(1) from None
