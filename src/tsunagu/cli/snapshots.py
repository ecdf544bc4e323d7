"""``tsunagu import amazon-health`` and ``tsunagu health compare``: Amazon's own figures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.cli.context import ctx, optional_day, out, print_json
from tsunagu.cli.layout import Col, say, show
from tsunagu.cli.reporting import require_file
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import InvalidInput, UsageError
from tsunagu.core.i18n import N_, _, set_language
from tsunagu.enforcement import words as enforcement_words
from tsunagu.events import imports
from tsunagu.health import snapshots
from tsunagu.health import words as health_words
from tsunagu.health.schemas import ComparisonRowOut, HealthComparisonOut, SnapshotImportOut
from tsunagu.marketplaces.registry import Marketplace
from tsunagu.violations import words as violation_words

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


_FIELDS = {
    "rate": N_("value"),
    "numerator": N_("count"),
    "denominator": N_("out of"),
    "status": N_("status"),
    "target": N_("target"),
    "defectsCount": N_("count"),
}
_FIGURES = {
    "account_status": N_("Account status"),
    "ahr_score": N_("Account Health Rating"),
    "ahr_status": N_("Account Health Rating status"),
    "policyViolationWarnings.warningsCount": N_("Policy warnings"),
}


def figure_words(figure: str) -> str:
    """A compared figure in words: ``order_defect_rate_mfn.rate`` → "Order defect rate
    (seller-fulfilled) · value"; a listing-violation count by its policy's name."""
    known = _FIGURES.get(figure)
    if known is not None:
        return _(known)
    name, _dot, field = figure.partition(".")
    head = (
        health_words.metric(name)
        if name in health_words.METRICS
        else violation_words.policy_name(name)
    )
    label = _FIELDS.get(field)
    return f"{head} · {_(label)}" if label else head


def _text(figure: str, value: str) -> str:
    if figure == "account_status":
        return enforcement_words.status(value.upper())
    if figure.endswith(".status"):
        return health_words.status(value.upper())
    if figure == "ahr_status":
        return health_words.word(_AHR_STATUS, value.upper())
    return value


_AHR_STATUS = {
    "GREAT": N_("great"),
    "GOOD": N_("good"),
    "HEALTHY": N_("healthy"),
    "FAIR": N_("fair"),
    "AT_RISK": N_("at risk"),
    "POOR": N_("poor"),
    "CRITICAL": N_("critical"),
}


def _cell(r: ComparisonRowOut, value: int | float | str | None) -> str:
    if value is None:
        return "-"
    if r.kind == "rate" and isinstance(value, int | float):
        return f"{value * 100:.2f}%"
    if r.kind == "text" and isinstance(value, str):
        return _text(r.figure, value)
    return str(value)


def _row(r: ComparisonRowOut) -> tuple[str, ...]:
    return (
        figure_words(r.figure),
        _cell(r, r.amazon),
        _cell(r, r.tsunagu),
        _(_DIFFERENCE.get(r.difference, r.difference)),
    )


def _comparison_table(found: HealthComparisonOut, only_differences: bool) -> None:
    s = found.snapshot
    shown = [r for r in found.rows if not (only_differences and r.difference == "same")]
    say(
        _(
            "{market} on {day}: Amazon's report {file} (imported {imported}) beside tsunagu",
            market=found.marketplace,
            day=found.report_date.isoformat(),
            file=s.source_name,
            imported=s.imported_at.strftime("%Y-%m-%d %H:%M UTC"),
        ),
        style="bold",
    )
    say(_("Snapshot: {snapshot}", snapshot=s.id))
    market_id = s.figures.get("marketplace_id") if isinstance(s.figures, dict) else None
    if market_id:
        say(_("Amazon marketplace id: {id}", id=str(market_id)))
    show(
        (
            Col(_("Figure")),
            Col(_("Amazon"), whole=True, justify="right"),
            Col(_("tsunagu"), whole=True, justify="right"),
            Col(_("Difference")),
        ),
        [_row(r) for r in shown],
        styles=[_STYLE.get(r.difference) for r in shown],
    )


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
    _comparison_table(found, only_differences)
    say(_counts_line(found))
