from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tsunagu.cli.context import ctx, out, print_json
from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import _
from tsunagu.core.money import Money
from tsunagu.orders import service
from tsunagu.orders.schemas import OrderOut

app = typer.Typer(help="Orders (built from events).", no_args_is_help=True)


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
    table = Table(
        _("Marketplace"),
        _("Order"),
        _("Channel"),
        _("Status"),
        _("Purchased (UTC)"),
        _("Total"),
        _("Tracking"),
    )
    for o in items:
        table.add_row(
            o.marketplace,
            escape(o.order_id),  # text, not Rich markup
            o.channel,
            _(o.status),
            o.purchased_at.strftime("%Y-%m-%d %H:%M"),
            Money(o.items_total, o.currency).format(),
            escape(o.tracking_id)
            if o.tracking_id
            else ("-" if o.tracking_id is None else _("none")),
        )
    out.print(table)
    if next_cursor:
        out.print(_("More: --cursor {cursor}", cursor=next_cursor))
