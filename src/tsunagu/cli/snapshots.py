"""``tsunagu import amazon-health`` and ``tsunagu health compare``: Amazon's own figures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Column, Table
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.cli.context import ctx, optional_day, out, print_json
from tsunagu.cli.reporting import require_file
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import InvalidInput, UsageError
from tsunagu.core.i18n import N_, _, set_language
from tsunagu.events import imports
from tsunagu.health import snapshots
from tsunagu.health.schemas import ComparisonRowOut, HealthComparisonOut, SnapshotImportOut
from tsunagu.marketplaces.registry import Marketplace

SellerOpt = Annotated[str, typer.Option("--seller", help="tsunagu seller id.")]
MarketOpt = Annotated[str, typer.Option("--marketplace", "-m", help="JP, US, ...")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]

_DIFFERENCE = {
    "same": N_("same"),
    "differs": N_("differs"),
    "missing_in_amazon": N_("missing in Amazon"),
    "missing_in_tsunagu": N_("missing in tsunagu"),
}
_STYLE = {"differs": "yellow", "missing_in_amazon": "dim", "missing_in_tsunagu": "dim"}


@contextmanager
def reading_store(
    marketplace: str, as_of: str | None
) -> Iterator[tuple[Session, Marketplace, date | None]]:
    """What a command about one store reads with: a read-only session, the marketplace (a usage
    error when unknown) and the ``--as-of`` day (``None`` for today)."""
    c = ctx()
    market = c.registry.require(marketplace, UsageError)
    day = optional_day(as_of)
    with c.read_factory() as session:
        yield session, market, day


def _read(file: Path) -> bytes:
    require_file(file)
    try:
        return file.read_bytes()
    except OSError as exc:
        raise UsageError(
            N_("Cannot read {path}: {reason}"),
            code="unreadable_file",
            path=file,
            reason=exc.strerror or str(exc),
        ) from None


def _store_snapshot(
    factory: sessionmaker[Session], file: Path, data: bytes, seller: str, market: Marketplace
) -> dict[str, Any]:
    """Store the report as a snapshot; what the import record keeps: the counts every import
    reports and the snapshot. A file that cannot be used as a whole is a usage error (exit 2,
    like the other imports' file errors)."""
    try:
        with unit_of_work(factory) as session:
            result = snapshots.import_snapshot(
                session,
                seller_id=seller,
                marketplace=market,
                data=data,
                source_name=file.name,
                now=utcnow(),
            )
            shown = SnapshotImportOut.of(result).model_dump(mode="json")
    except InvalidInput as error:
        params: dict[str, Any] = dict(error.params)
        raise UsageError(error.template, code=error.code, details=error.details, **params) from None
    stored = int(result.outcome == "stored")
    return {
        "read": 1,
        "stored": stored,
        "duplicates": 1 - stored,
        "rejected": 0,
        "errors": [],
        **shown,
    }


def _print_import(found: SnapshotImportOut, file: Path) -> None:
    s = found.snapshot
    if found.outcome == "duplicate":
        line = _(
            "Duplicate: {file} was imported before as {snapshot}; nothing was written",
            file=file.name,
            snapshot=s.id,
        )
    else:
        line = _("Stored {file} as {snapshot}", file=file.name, snapshot=s.id)
    out.print(escape(line))
    out.print(
        _("Report date: {day} ({market})", day=s.report_date.isoformat(), market=s.marketplace)
    )
    out.print(
        escape(
            _(
                "Amazon's Account Health Rating: {score} ({status})",
                score="-" if s.ahr_score is None else s.ahr_score,
                status=s.ahr_status or "-",
            )
        )
    )
    out.print(_("Metrics in the report: {count}", count=len(s.metrics)))


def import_amazon_health(
    file: Path,
    seller: SellerOpt,
    marketplace: MarketOpt,
    json: JsonOpt = False,
) -> None:
    """Account health V2 report (GET_V2_SELLER_PERFORMANCE_REPORT, JSON) as a snapshot to
    compare with tsunagu's figures. Creates no orders or violations."""
    data = _read(file)
    c = ctx()
    market = c.registry.require(marketplace, UsageError)
    outcome = imports.recorded(
        c.factory,
        kind="amazon-health",
        path=file,
        name=file.name,
        seller_id=seller,
        marketplace=market.code,
        mode="strict",
        dry_run=False,
        work=lambda: _store_snapshot(c.factory, file, data, seller, market),
    ).report
    found = SnapshotImportOut.model_validate(
        {"outcome": outcome["outcome"], "snapshot": outcome["snapshot"]}
    )
    if json:
        print_json(found.model_dump(mode="json"))
        return
    _print_import(found, file)


def _cell(kind: str, value: int | float | str | None) -> str:
    if value is None:
        return "-"
    if kind == "rate" and isinstance(value, int | float):
        return f"{value * 100:.2f}%"
    return escape(str(value))


def _row(r: ComparisonRowOut) -> tuple[str, ...]:
    return (
        r.figure,
        _cell(r.kind, r.amazon),
        _cell(r.kind, r.tsunagu),
        _(_DIFFERENCE.get(r.difference, r.difference)),
    )


def _comparison_table(found: HealthComparisonOut, only_differences: bool) -> Table:
    s = found.snapshot
    table = Table(
        Column(_("Figure"), no_wrap=True),
        _("Amazon"),
        _("tsunagu"),
        _("Difference"),
        title=_(
            "{market} on {day}: Amazon's report {file} (imported {imported}) beside tsunagu",
            market=found.marketplace,
            day=found.report_date.isoformat(),
            file=escape(s.source_name),
            imported=s.imported_at.strftime("%Y-%m-%d %H:%M UTC"),
        ),
    )
    for r in found.rows:
        if only_differences and r.difference == "same":
            continue
        table.add_row(*_row(r), style=_STYLE.get(r.difference))
    return table


def _counts_line(found: HealthComparisonOut) -> str:
    n = found.counts
    return _(
        "same {same} · differs {differs} · missing in Amazon {missing_in_amazon} · "
        "missing in tsunagu {missing_in_tsunagu} (rates within {tolerance} are the same)",
        same=n["same"],
        differs=n["differs"],
        missing_in_amazon=n["missing_in_amazon"],
        missing_in_tsunagu=n["missing_in_tsunagu"],
        tolerance=f"{found.rate_tolerance * 100:.2f}%",
    )


def compare(
    seller: SellerOpt,
    marketplace: MarketOpt,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Use the latest imported report on or before this day YYYY-MM-DD "
            "(default: the latest).",
        ),
    ] = None,
    only_differences: Annotated[
        bool, typer.Option("--only-differences", help="Leave out the rows that are the same.")
    ] = False,
    json: JsonOpt = False,
    lang: Annotated[
        str | None, typer.Option("--lang", help="Language of the table: en or ja.")
    ] = None,
) -> None:
    """Amazon's figures from an imported V2 report beside tsunagu's for the same date."""
    if lang:
        set_language(lang)
    with reading_store(marketplace, as_of) as (session, market, day):
        found = HealthComparisonOut.of(
            snapshots.compare(
                session, seller_id=seller, marketplace=market, as_of=day, now=utcnow()
            )
        )
    if json:
        print_json(found.model_dump(mode="json"))
        return
    out.print(_comparison_table(found, only_differences))
    out.print(_counts_line(found))
