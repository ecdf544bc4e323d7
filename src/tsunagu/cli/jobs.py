from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from tsunagu.cli.context import as_of_instant, ctx, out, print_json
from tsunagu.core.clock import utcnow
from tsunagu.core.i18n import _
from tsunagu.health import refresh
from tsunagu.jobs import service

app = typer.Typer(help="Scheduled work.", no_args_is_help=True)


@app.command("run-due")
def run_due_cmd(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Pretend it is this time.")] = None,
    json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Run every job that is due (each period runs once, however often this is called)."""
    summary = service.run_due(
        ctx().factory,
        as_of=as_of_instant(as_of),
        registry=ctx().registry,
        kinds=ctx().wiring.job_kinds,
    )
    if json:
        print_json(summary.as_dict())
        return
    if not summary.ran:
        out.print(_("Nothing was due."))
    for entry in summary.ran:
        out.print(f"{entry['kind']} [{entry['key']}]: {entry['status']}")


@app.command("list")
def list_cmd(json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show recent and pending jobs, and the kinds that exist."""
    with ctx().read_factory() as session:
        jobs = service.list_jobs(session)
        rows = [
            {
                "kind": j.kind,
                "key": j.key,
                "status": j.status,
                "attempts": j.attempts,
                "due_at": j.due_at.isoformat(),
                "last_error": j.last_error,
            }
            for j in jobs
        ]
    if json:
        print_json({"kinds": sorted(ctx().wiring.job_kinds), "jobs": rows})
        return
    table = Table(_("Kind"), _("Key"), _("Status"), _("Attempts"), _("Due"))
    for r in rows:
        table.add_row(
            str(r["kind"]), str(r["key"]), str(r["status"]), str(r["attempts"]), str(r["due_at"])
        )
    out.print(table)
    out.print(_("Job kinds: {kinds}", kinds=", ".join(sorted(ctx().wiring.job_kinds))))


def worker(
    interval: Annotated[float, typer.Option("--interval", help="Seconds between runs.")] = 60.0,
    loops: Annotated[int, typer.Option("--loops", help="Stop after N runs (0: forever).")] = 0,
) -> None:
    """Run due jobs in a loop (Ctrl-C stops)."""
    done = 0
    try:
        while True:
            summary = service.run_due(
                ctx().factory, as_of=utcnow(), registry=ctx().registry, kinds=ctx().wiring.job_kinds
            )
            refresh.refresh_all(ctx().factory, ctx().registry, utcnow())
            for entry in summary.ran:
                out.print(
                    f"{utcnow():%Y-%m-%d %H:%M:%S} {entry['kind']} [{entry['key']}]: "
                    f"{entry['status']}"
                )
            done += 1
            if loops and done >= loops:
                return
            time.sleep(interval)
    except KeyboardInterrupt:
        out.print(_("Worker stopped."))
