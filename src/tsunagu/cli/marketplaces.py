from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from tsunagu.cli.context import ctx, out, print_json
from tsunagu.core.i18n import _

app = typer.Typer(help="Marketplaces (regions) tsunagu knows.", no_args_is_help=True)


@app.command("list")
def list_cmd(json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List built-in and configured marketplaces."""
    markets = ctx().registry.marketplaces
    if json:
        print_json(
            [
                {
                    "code": m.code,
                    "marketplace_id": m.marketplace_id,
                    "currency": m.currency,
                    "timezone": m.timezone,
                    "sales_channel": m.sales_channel,
                    "region": m.region,
                    "name": m.name,
                    "builtin": m.builtin,
                }
                for m in markets
            ]
        )
        return
    table = Table(
        _("Code"),
        _("Marketplace id"),
        _("Currency"),
        _("Time zone"),
        _("Sales channel"),
        _("Region"),
        _("Source"),
    )
    for m in markets:
        table.add_row(
            m.code,
            m.marketplace_id,
            m.currency,
            m.timezone,
            m.sales_channel,
            m.region,
            _("built in") if m.builtin else _("config"),
        )
    out.print(table)
