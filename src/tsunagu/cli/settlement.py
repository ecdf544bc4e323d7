"""``tsunagu settlement …``: a store's balance, its ledger, and the disbursement run."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated

import typer
from rich.markup import escape

from tsunagu.cli.context import ctx, out, parse_day, print_json
from tsunagu.cli.layout import Col, show
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import N_, _
from tsunagu.core.money import Money
from tsunagu.sellers.service import get_seller
from tsunagu.settlement import service
from tsunagu.settlement.schemas import EntryOut, SettlementOut

app = typer.Typer(
    help="Settlement: each store's ledger, balance, disbursements and funds holds.",
    no_args_is_help=True,
)

SellerOpt = Annotated[str, typer.Option("--seller", help="Seller id.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


_KINDS = {
    "sale": N_("sale"),
    "refund": N_("refund"),
    "marketplace_fee": N_("marketplace fee"),
    "fee_refund": N_("fee refund"),
    "points_cost": N_("points cost"),
    "claim": N_("A-to-z claim"),
    "chargeback": N_("chargeback"),
    "promotion": N_("promotion"),
    "tax_withheld": N_("tax withheld"),
    "adjustment": N_("adjustment"),
    "disbursement": N_("disbursement"),
    "reversal": N_("reversal"),
    "report_other": N_("other (settlement report)"),
}


def _entry_kind(code: str) -> str:
    found = _KINDS.get(code)
    return _(found) if found is not None else code.replace("_", " ")


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


@app.command("balance")
def balance_cmd(
    seller: SellerOpt,
    marketplace: Annotated[
        str | None, typer.Option("--marketplace", "-m", help="One store only.")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """The balance of each store, whether its funds are held, and the next disbursement."""
    c = ctx()
    now = utcnow()
    with unit_of_work(c.factory) as session:
        if marketplace:
            codes = [c.registry.require(marketplace, UsageError).code]
        else:
            codes = [s.marketplace for s in get_seller(session, seller).stores]
        found = [
            SettlementOut.of(
                service.store_settlement(
                    session, seller_id=seller, marketplace=c.registry.require(code), now=now
                )
            )
            for code in sorted(codes)
        ]
    if json:
        print_json({"stores": [s.model_dump(mode="json") for s in found]})
        return
    show(
        (
            Col(_("Marketplace")),
            Col(_("Balance"), whole=True, justify="right"),
            Col(_("Held")),
            Col(_("Release on")),
            Col(_("Next disbursement")),
        ),
        [
            (
                s.marketplace,
                Money(s.balance, s.currency).format(),
                _("yes") if s.held else _("no"),
                _when(s.hold.release_on) if s.held and s.hold is not None else "-",
                _when(s.next_disbursement),
            )
            for s in found
        ],
    )


@app.command("ledger")
def ledger_cmd(
    seller: SellerOpt,
    marketplace: Annotated[str, typer.Option("--marketplace", "-m", help="JP, US, ...")],
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    json: JsonOpt = False,
) -> None:
    """A store's ledger entries, newest first."""
    c = ctx()
    market = c.registry.require(marketplace, UsageError)
    with unit_of_work(c.factory) as session:
        rows = service.ledger(
            session, seller_id=seller, marketplace=market, now=utcnow(), limit=limit
        )
        items = [EntryOut.of(e) for e in rows]
    if json:
        print_json({"items": [i.model_dump(mode="json") for i in items]})
        return
    if not items:
        out.print(_("No entries yet."))
        return
    show(
        (
            Col(_("Posted (UTC)"), whole=True),
            Col(_("Kind")),
            Col(_("Amount"), whole=True, justify="right"),
            Col(_("Order"), whole=True),
        ),
        [
            (
                e.posted_at.strftime("%Y-%m-%d"),
                _entry_kind(e.kind),
                Money(e.amount, e.currency).format(),
                e.order_id or "-",
            )
            for e in items
        ],
    )


@app.command("disburse")
def disburse_cmd(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Run as at the end of this UTC day (YYYY-MM-DD)."),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Pay out every store whose disbursement date has come and whose funds are not held;
    release the holds whose date has come. Running it twice pays nothing twice."""
    c = ctx()
    if as_of is None:
        now = utcnow()
    else:
        day = parse_day(as_of)
        now = datetime.combine(day + timedelta(days=1), time(0), UTC) - timedelta(microseconds=1)
    with unit_of_work(c.factory) as session:
        done = service.disburse_all(session, registry=c.registry, now=now)
    paid = [d for d in done if d.amount]
    if json:
        print_json(
            {
                "stores": len(done),
                "paid": [
                    {
                        "seller_id": d.seller_id,
                        "marketplace": d.marketplace,
                        "outcome": d.outcome,
                        "amount": d.amount,
                    }
                    for d in paid
                ],
                "held": sum(1 for d in done if d.outcome == "held"),
            }
        )
        return
    out.print(
        _(
            "{stores} stores checked, {paid} paid out, {held} held",
            stores=len(done),
            paid=len(paid),
            held=sum(1 for d in done if d.outcome == "held"),
        )
    )
    for d in paid:
        currency = c.registry.require(d.marketplace).currency
        out.print(
            f"  {escape(d.seller_id)} {d.marketplace}: {Money(d.amount, currency).format()}"
            f" ({_(d.outcome)})"
        )
