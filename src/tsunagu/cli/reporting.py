"""Showing an import's outcome: a summary line, the rejected rows, a progress bar."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from tsunagu.cli import layout
from tsunagu.cli.context import err, out, print_json
from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import N_, _, current_language

PROGRESS_THRESHOLD = 10_000
SHOWN_ERRORS = 50


def count_lines(path: Path) -> int:
    total = 0
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            total += block.count(b"\n")
    return total


def require_file(path: Path) -> None:
    if not path.exists():
        raise UsageError(N_("File not found: {path}"), code="unreadable_file", path=path)
    if not path.is_file():
        raise UsageError(N_("Not a file: {path}"), code="unreadable_file", path=path)


@contextmanager
def progress_for(lines: int, quiet: bool) -> Iterator[Callable[[str, int], None] | None]:
    """A bar on standard error for big files (checking, then storing); nothing for small ones."""
    if quiet or lines < PROGRESS_THRESHOLD:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        tasks: dict[str, Any] = {}
        labels = {"check": _("Checking"), "store": _("Storing")}

        def advance(phase: str, count: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(labels.get(phase, phase), total=lines)
            bar.advance(tasks[phase], count)

        yield advance


def render(result: dict[str, Any], *, as_json: bool, dry_run: bool) -> None:
    if as_json:
        print_json(result)
    else:
        summary = _(
            "read {read} · stored {stored} · duplicates {duplicates} · rejected {rejected}",
            read=result["read"],
            stored=result["stored"],
            duplicates=result["duplicates"],
            rejected=result["rejected"],
        )
        waiting = int(result.get("waiting_for_order") or 0)
        if waiting:
            summary += " · " + _("waiting for their order {n}", n=waiting)
        if dry_run:
            summary += "  " + _("(dry run: nothing was written)")
        out.print(summary)
        file_stats = result.get("file")
        if isinstance(file_stats, dict):
            if "orders" in file_stats:
                line = _(
                    "file: {rows} rows, {orders} orders ({encoding})",
                    rows=file_stats.get("rows", 0),
                    orders=file_stats["orders"],
                    encoding=file_stats.get("encoding", "-"),
                )
            else:
                line = _(
                    "file: {rows} rows ({encoding})",
                    rows=file_stats.get("rows", 0),
                    encoding=file_stats.get("encoding", "-"),
                )
            out.print(escape(line))
            if file_stats.get("warning") == "no_rows":
                label = _("Warning")
                text = _("The file has a header but no rows: there was nothing to import.")
                err.print(f"[yellow]{label}[/yellow] (no_rows): {escape(text)}")
        errors = result["errors"]
        if errors:
            layout.show(
                (
                    layout.Col(_("Line"), whole=True, justify="right"),
                    layout.Col(_("Field")),
                    layout.Col(_("Code")),
                    layout.Col(_("Value")),
                    layout.Col(_("Message")),
                ),
                [
                    (str(e["line"]), e["field"], e["code"], str(e["value"]), e["message"])
                    for e in errors[:SHOWN_ERRORS]
                ],
                title=_("Rejected"),
            )
            if len(errors) > SHOWN_ERRORS:
                out.print(
                    _("… and {more} more (use --json to see all)", more=len(errors) - SHOWN_ERRORS)
                )
    if result["rejected"]:
        raise typer.Exit(1)


def language() -> str:
    return current_language()
