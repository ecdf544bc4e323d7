from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from tsunagu.cli import import_auto, snapshots
from tsunagu.cli.context import ctx, out
from tsunagu.cli.reporting import count_lines, progress_for, render, require_file
from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import _, current_language
from tsunagu.core.money import Money
from tsunagu.events import imports

app = typer.Typer(help="Import Amazon Seller Central report files.", no_args_is_help=True)

SellerOpt = Annotated[str, typer.Option("--seller", help="tsunagu seller id.")]
MarketOpt = Annotated[str, typer.Option("--marketplace", "-m", help="JP, US, ...")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Store nothing if any row is bad.")]
DryOpt = Annotated[bool, typer.Option("--dry-run", help="Check only; write nothing.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]


def _import(
    kind: str,
    file: Path,
    seller: str,
    marketplace: str,
    strict: bool,
    dry_run: bool,
    json: bool,
    summary: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    require_file(file)
    c = ctx()
    market = c.registry.require(marketplace, UsageError)
    found = imports.import_file(
        c.factory,
        imports.FileImport(
            f"amazon-{kind}",
            file,
            file.name,
            seller_id=seller,
            marketplace=market,
            strict=strict,
            dry_run=dry_run,
            chunk_size=c.settings.import_chunk_size,
        ),
        registry=c.registry,
        read_factory=c.read_factory,
        lang=current_language(),
        bar=lambda: progress_for(count_lines(file), quiet=False),
    )
    if summary is not None and not json:
        summary(found.report)
    render(found.report, as_json=json, dry_run=dry_run)


def _command(kind: str, summary: str) -> Callable[..., None]:
    """One ``import amazon-<kind>`` command; the three differ only in the report they read."""

    def command(
        file: Path,
        seller: SellerOpt,
        marketplace: MarketOpt,
        strict: StrictOpt = False,
        dry_run: DryOpt = False,
        json: JsonOpt = False,
    ) -> None:
        _import(kind, file, seller, marketplace, strict, dry_run, json)

    command.__doc__ = summary
    return command


app.command("amazon-orders")(
    _command("orders", "All Orders report (GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL).")
)
app.command("amazon-unshipped")(
    _command(
        "unshipped",
        "Unshipped Orders report (GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING): ship-by promises.",
    )
)
app.command("amazon-feedback")(
    _command("feedback", "Seller Feedback report (GET_SELLER_FEEDBACK_DATA).")
)
app.command("amazon-returns")(
    _command(
        "returns",
        "Returns report (GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE): return requests, their "
        "resolutions and A-to-z claims.",
    )
)
app.command("amazon-shipconfirm")(
    _command(
        "shipconfirm",
        "Shipping confirmation file (the upload template): ship dates, carriers and tracking.",
    )
)
app.command("amazon-afn-shipments")(
    _command(
        "afn-shipments",
        "Amazon Fulfilled Shipments report (GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL).",
    )
)


@app.command("amazon-settlement")
def amazon_settlement(
    file: Path,
    seller: SellerOpt,
    marketplace: MarketOpt,
    strict: StrictOpt = False,
    dry_run: DryOpt = False,
    json: JsonOpt = False,
) -> None:
    """Settlement report (GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2): the store's ledger,
    refunds, A-to-z claims and chargebacks."""
    _import("settlement", file, seller, marketplace, strict, dry_run, json, _settlement_line)


def _settlement_line(report: dict[str, Any]) -> None:
    stats = report.get("file", {})
    if "settlement_id" not in stats:
        return
    out.print(
        _(
            "settlement {settlement_id}: total {total}, {entries} entries ({new} new), "
            "{events} events",
            settlement_id=stats["settlement_id"],
            total=Money(int(stats["total"]), str(stats["currency"])).format(),
            entries=stats["entries"],
            new=stats.get("posted", stats.get("new_entries", 0)),
            events=stats["events"],
        ),
        markup=False,
    )


# ``tsunagu import amazon-health`` lives with the other snapshot commands
app.command("amazon-health")(snapshots.import_amazon_health)
app.command("auto")(import_auto.import_auto)
