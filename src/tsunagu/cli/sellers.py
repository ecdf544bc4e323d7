from __future__ import annotations

from typing import Annotated

import typer

from tsunagu.cli.context import ctx, out, print_json
from tsunagu.cli.layout import Col, say, show
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.i18n import _
from tsunagu.sellers import service
from tsunagu.sellers.schemas import SellerOut

app = typer.Typer(help="Sellers and their stores.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("create")
def create_cmd(
    name: Annotated[str, typer.Option("--name", help="Business name.")],
    marketplace: Annotated[
        list[str], typer.Option("--marketplace", "-m", help="JP, US, ... (repeat for each).")
    ],
    json: JsonOpt = False,
) -> None:
    """Create a seller with one store per marketplace; prints the new id."""
    c = ctx()
    with unit_of_work(c.factory) as session:
        seller = service.create_seller(
            session, name=name, marketplaces=marketplace, registry=c.registry, now=utcnow()
        )
        shown = SellerOut.of(seller)
    if json:
        print_json(shown.model_dump(mode="json"))
    else:
        typer.echo(shown.id)


@app.command("list")
def list_cmd(json: JsonOpt = False) -> None:
    """List sellers."""
    with ctx().read_factory() as session:
        sellers = [SellerOut.of(s) for s in service.list_sellers(session, limit=10_000)]
    if json:
        print_json([s.model_dump(mode="json") for s in sellers])
        return
    if not sellers:
        out.print(_("No sellers yet. Create one with: tsunagu sellers create --name NAME -m JP"))
        return
    show(
        (Col(_("Id"), whole=True), Col(_("Name")), Col(_("Stores")), Col(_("Created"))),
        [
            (
                s.id,
                s.name,
                "\n".join(f"{st.marketplace} {st.id}" for st in s.stores),
                s.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            )
            for s in sellers
        ],
    )


@app.command("show")
def show_cmd(
    seller_id: Annotated[str, typer.Argument(help="Seller id.")], json: JsonOpt = False
) -> None:
    """Show one seller."""
    with ctx().read_factory() as session:
        seller = SellerOut.of(service.get_seller(session, seller_id))
    if json:
        print_json(seller.model_dump(mode="json"))
        return
    say(f"{seller.name}  ({seller.id})", style="bold")
    out.print(_("Created: {when}", when=seller.created_at.strftime("%Y-%m-%d %H:%M UTC")))
    for st in seller.stores:
        out.print(
            _("  Store {marketplace}: {store_id}", marketplace=st.marketplace, store_id=st.id)
        )
