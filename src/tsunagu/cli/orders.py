from __future__ import annotations

from typing import Annotated

import typer

from tsunagu.cli.context import ctx, out, print_json
from tsunagu.cli.layout import Col, say, show
from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import N_, _
from tsunagu.core.money import Money
from tsunagu.orders import service
from tsunagu.orders.schemas import OrderOut

app = typer.Typer(help="Orders (built from events).", no_args_is_help=True)

_STATUS = {
    "unshipped": N_("unshipped"),
    "shipped": N_("shipped"),
    "delivered": N_("delivered"),
    "cancelled": N_("cancelled"),
}


def order_status(code: str) -> str:
    found = _STATUS.get(code)
    return _(found) if found is not None else code.replace("_", " ")


@app.command("list")
def list_cmd(
    seller: Annotated[str, typer.Option("--seller", help="Seller id.")],
    marketplace: Annotated[str | None, typer.Option("--marketplace", "-m")] = None,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="unshipped, shipped, delivered, cancelled (repeatable)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    cursor: Annotated[str | None, typer.Option("--cursor", help="From a previous page.")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List a seller's orders, newest first."""
    c = ctx()
    code = c.registry.require(marketplace, UsageError).code if marketplace else None
    with c.read_factory() as session:
        rows, next_cursor = service.list_orders(
            session,
            seller_id=seller,
            marketplace=code,
            statuses=status or (),
            cursor=cursor,
            limit=limit,
        )
        items = [OrderOut.of(o) for o in rows]
    if json:
        print_json(
            {"items": [i.model_dump(mode="json") for i in items], "next_cursor": next_cursor}
        )
        return
    if not items:
        out.print(
            _(
                "No orders match. Import some with: tsunagu import amazon-orders FILE "
                "--seller ID --marketplace JP"
            )
        )
        return
    show(
        (
            Col(_("Order"), whole=True),
            Col(_("Store")),
            Col(_("Status")),
            Col(_("Purchased (UTC)")),
            Col(_("Total"), whole=True, justify="right"),
            Col(_("Tracking"), whole=True),
        ),
        [
            (
                o.order_id,
                f"{o.marketplace} {o.channel}",
                order_status(o.status),
                o.purchased_at.strftime("%Y-%m-%d %H:%M"),
                Money(o.items_total, o.currency).format(),
                o.tracking_id if o.tracking_id else ("-" if o.tracking_id is None else _("none")),
            )
            for o in items
        ],
    )
    if next_cursor:
        say(_("More: --cursor {cursor}", cursor=next_cursor))
