"""``tsunagu audit list`` and ``tsunagu outbox list``: reading the audit log and the local mail
outbox (both act as the local owner, like every local command)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from tsunagu.cli.context import ctx, out, parse_day, print_json, write_json_lines
from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import N_, _
from tsunagu.core.timeutil import InstantError, parse_instant
from tsunagu.identity import audit, mail

audit_app = typer.Typer(help="The security audit log.", no_args_is_help=True)
outbox_app = typer.Typer(help="E-mail waiting in the local outbox.", no_args_is_help=True)


def _since(value: str | None) -> datetime | None:
    """``YYYY-MM-DD`` (midnight UTC) or an ISO-8601 instant with an offset."""
    if value is None:
        return None
    if len(value) == 10:
        day = parse_day(value, "--since")
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    try:
        return parse_instant(value)
    except InstantError as exc:
        raise UsageError(
            N_("--since must be a date like 2026-11-25 or a time like 2026-11-25T09:00:00+09:00"),
            code="invalid_date",
            details={"field": "since", "value": value},
        ) from exc


@audit_app.command("list")
def audit_list_cmd(
    actor: Annotated[str | None, typer.Option("--actor", help="Only this actor.")] = None,
    action: Annotated[str | None, typer.Option("--action", help="Only this action.")] = None,
    target: Annotated[str | None, typer.Option("--target", help="Only this target.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="From this date (UTC) or ISO-8601 time.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many entries.")] = 100,
    json_lines: Annotated[
        bool, typer.Option("--json-lines", help="Every matching entry as JSON lines (no limit).")
    ] = False,
) -> None:
    """Show audit entries, oldest first."""
    filters: dict[str, Any] = {
        "actor": actor,
        "action": action,
        "target": target,
        "since": _since(since),
    }
    with ctx().read_factory() as session:
        if json_lines:
            write_json_lines(audit.export_jsonl(session, **filters))
            return
        entries = audit.list_entries(session, limit=limit, **filters)
    if not entries:
        out.print(_("No audit entries."))
        return
    table = Table(_("When"), _("Actor"), _("Action"), _("Target"), _("Outcome"), _("Details"))
    for e in entries:
        details = ", ".join(f"{k}={v}" for k, v in e.details.items())
        table.add_row(
            e.at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            escape(e.actor),
            escape(e.action),
            escape(e.target or "-"),
            e.outcome,
            escape(details),
        )
    out.print(table)


@outbox_app.command("list")
def outbox_list_cmd(
    to: Annotated[str | None, typer.Option("--to", help="Only messages to this address.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many messages.")] = 20,
    json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show queued e-mail, newest first (for local use: reset codes arrive here)."""
    with ctx().read_factory() as session:
        messages = mail.list_outbox(session, to=to.strip().casefold() if to else None, limit=limit)
    if json:
        print_json([m.model_dump(mode="json") for m in messages])
        return
    if not messages:
        out.print(_("The outbox is empty."))
        return
    for m in messages:
        out.print(
            f"[bold]{escape(m.subject)}[/bold]  ({m.id}, "
            f"{m.created_at.strftime('%Y-%m-%d %H:%M UTC')})"
        )
        out.print(_("To: {address}", address=escape(m.to_address)))
        out.print(escape(m.body))
        out.print()
