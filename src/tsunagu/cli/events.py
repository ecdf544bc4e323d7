from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tsunagu.cli.context import Context, ctx
from tsunagu.cli.reporting import count_lines, progress_for, render, require_file
from tsunagu.core.i18n import current_language
from tsunagu.events import imports

app = typer.Typer(help="The seller event log.", no_args_is_help=True)


def import_jsonl(
    c: Context,
    path: Path,
    *,
    source_label: str,
    strict: bool = False,
    dry_run: bool = False,
    quiet: bool = False,
) -> dict[str, Any]:
    """Import a JSON-lines file through the pipeline, with a progress bar for big files (no
    record in ``import_runs``: ``demo load``)."""
    return imports.load(
        c.factory,
        _events_file(c, path, source_label=source_label, strict=strict, dry_run=dry_run),
        registry=c.registry,
        read_factory=c.read_factory,
        lang=current_language(),
        bar=lambda: progress_for(count_lines(path), quiet=quiet),
    )


def _events_file(
    c: Context, path: Path, *, source_label: str, strict: bool, dry_run: bool
) -> imports.FileImport:
    return imports.FileImport(
        imports.EVENTS,
        path,
        path.name,
        strict=strict,
        dry_run=dry_run,
        label=source_label,
        chunk_size=c.settings.import_chunk_size,
    )


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="A .jsonl file: one event per line.")],
    strict: Annotated[
        bool, typer.Option("--strict", help="Store nothing if any line is bad.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check only; write nothing.")] = False,
    json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Import events from a JSON-lines file (idempotent: re-importing changes nothing)."""
    require_file(file)
    c = ctx()
    found = imports.import_file(
        c.factory,
        _events_file(c, file, source_label="file", strict=strict, dry_run=dry_run),
        registry=c.registry,
        read_factory=c.read_factory,
        lang=current_language(),
        bar=lambda: progress_for(count_lines(file), quiet=False),
    )
    render(found.report, as_json=json, dry_run=dry_run)
