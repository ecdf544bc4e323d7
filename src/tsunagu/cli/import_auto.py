"""``tsunagu import auto FILE…``: many Amazon files at once, each one's kind and store detected.

The use case is :mod:`tsunagu.events.auto`; this prints its outcome one file at a time (a block
per file rather than a wide table, so that it reads at 80 columns and ids print whole). Exit
status: 0 when every file was imported and no row was rejected, 1 otherwise (a file refused or
failed, rows rejected); a problem with the call as a whole (a missing file, an unknown seller or
marketplace) exits as the other imports do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from tsunagu.cli.context import ctx, out, print_json
from tsunagu.cli.reporting import require_file
from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import _, current_language, translate
from tsunagu.events import auto

#: rejected rows printed per file (``--json`` has them all)
SHOWN_ERRORS = 10


def import_auto(
    files: Annotated[list[Path], typer.Argument(help="Amazon report files, in any order.")],
    seller: Annotated[str, typer.Option("--seller", help="tsunagu seller id.")],
    marketplace: Annotated[
        str | None,
        typer.Option(
            "--marketplace",
            "-m",
            help="JP, US, ...: every file must be for this store (a file naming another is "
            "refused).",
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Import nothing if a file is refused or a row is bad."),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check only; write nothing.")] = False,
    json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Import many Amazon report files at once: each file's kind is found from its header and
    its store from its own columns (or from the orders it names); orders are imported first."""
    for file in files:
        require_file(file)
    c = ctx()
    market = c.registry.require(marketplace, UsageError) if marketplace else None
    result = auto.import_auto(
        c.factory,
        [auto.Upload(file, file.name) for file in files],
        seller_id=seller,
        registry=c.registry,
        marketplace=market,
        read_factory=c.read_factory,
        strict=strict,
        dry_run=dry_run,
        chunk_size=c.settings.import_chunk_size,
        lang=current_language(),
    )
    found = result.as_dict(current_language())
    if json:
        print_json(found)
    else:
        _print(found)
    if not result.clean:
        raise typer.Exit(1)


def _words(names: dict[str, str], key: str | None) -> str:
    if key is None:
        return "-"
    return translate(names[key]) if key in names else key


def _counts(report: dict[str, Any]) -> str:
    line = _(
        "read {read} · stored {stored} · duplicates {duplicates} · rejected {rejected}",
        read=report.get("read", 0),
        stored=report.get("stored", 0),
        duplicates=report.get("duplicates", 0),
        rejected=report.get("rejected", 0),
    )
    waiting = int(report.get("waiting_for_order") or 0)
    if waiting:
        line += " · " + _("waiting for their order {n}", n=waiting)
    return line


def _print(found: dict[str, Any]) -> None:
    for number, f in enumerate(found["files"], start=1):
        kind = _words(auto.KIND_NAMES, f["kind"])
        how = _words(auto.ATTRIBUTION_NAMES, f["attributed_by"]) if f["attributed_by"] else ""
        out.print(f"{number}. {escape(f['name'])}", markup=True, highlight=False)
        if f["marketplace"]:
            head = _("{kind} · store {store}", kind=kind, store=f["marketplace"])
        else:
            head = _("{kind} · no store", kind=kind)
        if how:
            head += f" ({how})"
        if f["rows"] is not None:
            head += " · " + _("{rows} rows", rows=f["rows"])
        out.print("   " + escape(head), highlight=False)
        out.print("   " + escape(_words(auto.STATUS_NAMES, f["status"])), highlight=False)
        if f["import_id"]:
            out.print("   " + _("import {id}", id=f["import_id"]), highlight=False)
        for problem in f["problems"]:
            out.print(f"   [red]{escape(problem['message'])}[/red] ({problem['code']})")
        report = f["report"]
        if report:
            out.print("   " + escape(_counts(report)), highlight=False)
            errors = report.get("errors") or []
            for e in errors[:SHOWN_ERRORS]:
                where = _("line {line}", line=e["line"])
                if e.get("field"):
                    where += f" {e['field']}"
                out.print(f"     {escape(where)}: {escape(e['message'])} ({e['code']})")
            if len(errors) > SHOWN_ERRORS:
                more = len(errors) - SHOWN_ERRORS
                out.print("     " + _("… and {more} more (use --json to see all)", more=more))
    t = found["totals"]
    # counts read before the call: the catalog extractor takes any literal inside _( … )
    counted = {name: t[name] for name in ("files", "imported", "refused", "failed")}
    out.print(
        escape(
            _(
                "{files} files: {imported} imported, {refused} refused, {failed} failed",
                **counted,
            )
        ),
        highlight=False,
    )
    out.print(escape(_counts(t)), highlight=False)
    if found["dry_run"]:
        out.print(_("(dry run: nothing was written)"))
