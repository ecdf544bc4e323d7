"""``tsunagu points …``: the points programme (issue 15) for sellers and operators.

``settings``, ``balance``, ``history``, ``redeem`` and ``expire`` are a contract other tools
script against: their names, options, JSON keys and error codes never change (more may be
added). Human output shows the words of :mod:`tsunagu.points.words`, never the ledger's codes;
``--json`` carries the codes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, NoReturn

import typer
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Column, Table

from tsunagu.access.actor import LOCAL_OWNER
from tsunagu.cli.context import as_of_instant, ctx, err, fail, out, print_json
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import TsunaguError, UsageError
from tsunagu.core.i18n import N_, _, current_language
from tsunagu.core.money import Money
from tsunagu.marketplaces.registry import Marketplace
from tsunagu.points import jobs, redemptions, service, words
from tsunagu.points.schemas import (
    BalanceOut,
    EntryOut,
    ExpiryRunOut,
    OfferOut,
    StatementMonthOut,
    StoreSettingsOut,
    UpcomingOut,
)

app = typer.Typer(
    help="Points: seller settings, customer balances and history, redemptions, expiry.",
    no_args_is_help=True,
)

SellerOpt = Annotated[str, typer.Option("--seller", help="Seller id.")]
MarketOpt = Annotated[str, typer.Option("--marketplace", "-m", help="JP, …")]
CustomerOpt = Annotated[str, typer.Option("--customer", help="The order's customer_id.")]
KeyOpt = Annotated[str, typer.Option("--key", help="Idempotency key: the same key acts once.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]

#: the refusals of a redemption; each exits 2, the 409 of ``idempotency_in_flight`` included
REFUSALS = frozenset(
    {
        "insufficient_points",
        "exceeds_eligible_amount",
        "idempotency_mismatch",
        "idempotency_in_flight",
    }
)


def _market(code: str) -> Marketplace:
    """The marketplace of ``--marketplace``, where the programme must run (``points_disabled``)."""
    market = ctx().registry.require(code, UsageError)
    service.require_enabled(market)
    return market


def _pt(points: int, *, signed: bool = False) -> str:
    shown = format(points, "+," if signed else ",")
    return _("{points} pt", points=shown)


def _local(value: datetime | None, market: Marketplace) -> str:
    """An instant in the marketplace's time, as its customers read it."""
    if value is None:
        return "-"
    return value.astimezone(market.tz).strftime("%Y-%m-%d %H:%M %Z")


def _rate(rate: int | None) -> str:
    return "-" if rate is None else f"{rate}%"


def _yes(value: bool) -> str:
    return _("yes") if value else _("no")


def _id_column(header: str) -> Column:
    """A column of ids: whole on one line, folded over lines by :func:`_fitted` when the
    table cannot fit the terminal so; never cut short."""
    return Column(header, no_wrap=True, overflow="fold")


def _fitted(table: Table) -> Table:
    """``table`` with its id columns folded when, whole, they would not fit the terminal."""
    unbounded = out.options.update_width(1_000_000)
    if Measurement.get(out, unbounded, table).minimum > out.options.max_width:
        for column in table.columns:
            if column.overflow == "fold":
                column.no_wrap = False
    return table


def _offer_json(offer: service.OfferView) -> dict[str, Any]:
    return OfferOut.of(offer).model_dump(mode="json")


def _grid() -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    return grid


# -- store settings and offers --------------------------------------------------------------------


def _check_settings_options(
    rate: int | None, sku: str | None, category: str | None, follow_store: bool
) -> None:
    """The options of ``points settings`` make one change (``invalid_options`` otherwise)."""
    if category is not None and sku is None:
        problem, option = N_("--category sets an offer's category: give --sku too"), "category"
    elif follow_store and (sku is None or rate is not None):
        problem = N_("--follow-store removes a SKU's own rate: give --sku and no --rate")
        option = "follow_store"
    elif sku is not None and rate is None and not follow_store:
        problem = N_("--sku needs --rate PCT (the SKU's own rate) or --follow-store")
        option = "rate"
    else:
        return
    raise UsageError(problem, code="invalid_options", details={"field": option})


@app.command("settings")
def settings_cmd(
    seller: SellerOpt,
    marketplace: MarketOpt,
    rate: Annotated[
        int | None,
        typer.Option("--rate", help="Points rate in percent, 0 to 50 (the store's or --sku's)."),
    ] = None,
    sku: Annotated[
        str | None, typer.Option("--sku", help="Set this SKU's own rate, not the store's.")
    ] = None,
    category: Annotated[
        str | None, typer.Option("--category", help="The SKU's product category.")
    ] = None,
    follow_store: Annotated[
        bool, typer.Option("--follow-store", help="The SKU follows the store's rate again.")
    ] = False,
    badge: Annotated[
        bool | None,
        typer.Option("--badge/--no-badge", help='Join or leave the "2% or more" badge programme.'),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Set the store's points rate, a SKU's own rate or the badge membership; without
    anything to change, show the settings."""
    c = ctx()
    market = _market(marketplace)
    _check_settings_options(rate, sku, category, follow_store)
    with unit_of_work(c.factory) as session:
        if rate is None and sku is None and badge is None:
            found = service.store_settings(session, seller_id=seller, marketplace=market)
        else:
            found = service.set_rate(
                session,
                seller_id=seller,
                marketplace=market,
                rate=rate,
                sku=sku,
                actor=LOCAL_OWNER.name,
                now=utcnow(),
                category=category,
                badge=badge,
            )
        offer = None
        if sku is not None:
            offers = service.offers(session, seller_id=seller, marketplace=market)
            offer = next((o for o in offers if o.sku == sku.strip()), None)
    if json:
        shown = StoreSettingsOut.of(found).model_dump(mode="json")
        print_json({**shown, "offer": _offer_json(offer) if offer is not None else None})
        return
    out.print(
        _(
            "Points settings of store {seller} in {marketplace}",
            seller=escape(seller),
            marketplace=market.code,
        )
    )
    grid = _grid()
    origin = _("set by the seller") if found.rate_set else _("the marketplace's default")
    grid.add_row(
        _("Store points rate"), _("{rate} ({origin})", rate=_rate(found.rate), origin=origin)
    )
    grid.add_row(_('"2% or more" badge'), _("joined") if found.badge else _("not joined"))
    grid.add_row(_("Offers with the badge"), str(found.offers_with_badge))
    grid.add_row(
        _("Points become available"),
        _("{hours} hours after shipment", hours=found.settling_hours),
    )
    out.print(grid)
    if offer is not None:
        out.print(
            _(
                "SKU {sku}: effective rate {effective} ({origin}), badge {badge}",
                sku=escape(offer.sku),
                effective=_rate(offer.effective_rate),
                origin=_("its own rate") if offer.rate is not None else _("the store's rate"),
                badge=_yes(offer.points_badge),
            )
        )


@app.command("offers")
def offers_cmd(
    seller: SellerOpt,
    marketplace: MarketOpt,
    badge: Annotated[
        bool | None,
        typer.Option("--badge/--no-badge", help="Only offers with (or without) the badge."),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """The store's offers: category, own and effective points rate, and the badge."""
    c = ctx()
    market = _market(marketplace)
    with c.read_factory() as session:
        found = service.offers(session, seller_id=seller, marketplace=market, badge=badge)
        settings = service.store_settings(session, seller_id=seller, marketplace=market)
    if json:
        print_json(
            {
                "seller_id": seller,
                "marketplace": market.code,
                "store_rate": settings.rate,
                "badge": settings.badge,
                "items": [_offer_json(o) for o in found],
            }
        )
        return
    out.print(
        _(
            "Offers of store {seller} in {marketplace} (store rate {rate})",
            seller=escape(seller),
            marketplace=market.code,
            rate=_rate(settings.rate),
        )
    )
    if not found:
        out.print(_("No offers."))
        return
    table = Table(
        _id_column(_("SKU")),
        Column(_("Category"), overflow="fold"),
        Column(_("Own rate"), justify="right"),
        Column(_("Effective rate"), justify="right"),
        Column(_("Badge")),
    )
    for o in found:
        table.add_row(
            escape(o.sku),
            escape(o.category or "-"),
            _rate(o.rate),
            _rate(o.effective_rate),
            _yes(o.points_badge),
        )
    out.print(_fitted(table))


# -- a customer's balance and history -------------------------------------------------------------


@app.command("balance")
def balance_cmd(customer: CustomerOpt, marketplace: MarketOpt, json: JsonOpt = False) -> None:
    """The customer's pending and available points and when they expire."""
    c = ctx()
    market = _market(marketplace)
    with c.read_factory() as session:
        found = service.balance(session, marketplace=market, customer=customer)
    if json:
        print_json(BalanceOut.of(found).model_dump(mode="json"))
        return
    _print_balance(found, market)


def _print_balance(found: service.Balance, market: Marketplace) -> None:
    out.print(
        _(
            "Customer {customer} in {marketplace}",
            customer=escape(found.customer),
            marketplace=market.code,
        )
    )
    grid = _grid()
    grid.add_row(_("Available"), _pt(found.available))
    grid.add_row(_("Pending"), _pt(found.pending))
    grid.add_row(_("Expires"), _local(found.expires_at, market))
    out.print(grid)


def _entry_json(entry: service.HistoryEntry) -> dict[str, Any]:
    return EntryOut.of(
        entry,
        kind_text=words.kind_text(entry.kind),
        reason_text=words.reason_text(entry.reason, entry.order_id),
    ).model_dump(mode="json")


@app.command("history")
def history_cmd(
    customer: CustomerOpt,
    marketplace: MarketOpt,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    before: Annotated[
        int | None, typer.Option("--before", help="Only entries older than this entry id.")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """The customer's points movements, newest first, each with its reason."""
    c = ctx()
    market = _market(marketplace)
    with c.read_factory() as session:
        found = service.history(
            session, marketplace=market, customer=customer, before_id=before, limit=limit
        )
        now = service.balance(session, marketplace=market, customer=customer)
    if json:
        print_json(
            {
                "customer": customer,
                "marketplace": market.code,
                "entries": [_entry_json(e) for e in found],
            }
        )
        return
    _print_balance(now, market)
    if not found:
        out.print(_("No points movements yet."))
        return
    table = Table(
        Column(_("At"), no_wrap=True),
        Column(_("Points change"), justify="right", no_wrap=True),
        Column(_("Movement"), overflow="fold", ratio=1),
    )
    for e in found:
        what = f"[bold]{escape(words.kind_text(e.kind))}[/bold]\n" + escape(
            words.reason_text(e.reason, e.order_id)
        )
        if e.shortfall:
            what += "\n" + _("{points} could not be taken back", points=_pt(e.shortfall))
        table.add_row(_local(e.at, market), _pt(e.points, signed=True), what)
    out.print(table)


# -- points in and out ----------------------------------------------------------------------------


def _lines(values: list[str] | None) -> list[tuple[object, object]] | None:
    """``--line CATEGORY=PRICE`` values as (category or None, price in minor units)."""
    if not values:
        return None
    parsed: list[tuple[object, object]] = []
    for value in values:
        category, sep, price = value.rpartition("=")
        price = price.strip()
        if not sep or not (price.isascii() and price.isdigit()) or len(price) > 15:
            raise UsageError(
                N_(
                    "--line must be CATEGORY=PRICE with the price a whole number of minor "
                    "units (books=1980), not {value}"
                ),
                code="invalid_line",
                value=value,
                details={"field": "line", "value": value},
            )
        parsed.append((category.strip() or None, int(price)))
    return parsed


def _refuse(error: TsunaguError, *, as_json: bool) -> NoReturn:
    """A refusal as :func:`fail` prints it, with exit 2 whatever its HTTP status."""
    fail(error, as_json=as_json, exit_with=2)


@app.command("redeem")
def redeem_cmd(
    customer: CustomerOpt,
    marketplace: MarketOpt,
    order: Annotated[str, typer.Option("--order", help="The order the points pay for.")],
    points: Annotated[int, typer.Option("--points", help="Whole points to spend (1 pt = ¥1).")],
    key: KeyOpt,
    line: Annotated[
        list[str] | None,
        typer.Option(
            "--line",
            help="An order line as CATEGORY=PRICE (minor units); repeat it. Without it the "
            "whole amount may be paid with points.",
        ),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Spend available points at checkout; the same --key with the same arguments prints the
    same result and spends once. Refusals exit 2."""
    c = ctx()
    market = _market(marketplace)
    request = redemptions.check_request(
        marketplace=market,
        customer=customer,
        order_id=order,
        points=points,
        key=key,
        lines=_lines(line),
    )
    try:
        done = redemptions.redeem(c.factory, request)
    except TsunaguError as error:
        if error.code in REFUSALS:
            _refuse(error, as_json=json)
        raise
    if done.replayed:
        err.print(_("Already done with this key: nothing was spent again."), style="dim")
    if json:
        print_json(done.body)
        return
    out.print(
        _(
            "Redeemed {points} on order {order} (redemption {redemption}). Available now: "
            "{available}.",
            points=_pt(int(done.body["points"])),
            order=escape(str(done.body["order_id"])),
            redemption=escape(str(done.body["redemption_id"])),
            available=_pt(int(done.body["available"])),
        )
    )


@app.command("earn")
def earn_cmd(
    customer: CustomerOpt,
    marketplace: MarketOpt,
    points: Annotated[int, typer.Option("--points", help="Whole points, available at once.")],
    source: Annotated[str, typer.Option("--source", help="Who issues them (co-branded-card).")],
    key: KeyOpt,
    json: JsonOpt = False,
) -> None:
    """Points from outside the marketplace (a co-branded card …): available at once, and they
    extend the expiry like any points earned."""
    c = ctx()
    market = _market(marketplace)
    with unit_of_work(c.factory) as session:
        found = service.earn(
            session,
            marketplace=market,
            customer=customer,
            points=points,
            source=source,
            key=key,
            now=utcnow(),
        )
    if json:
        print_json(BalanceOut.of(found).model_dump(mode="json"))
        return
    out.print(_("Points from {source}: {points}.", source=escape(source), points=_pt(points)))
    _print_balance(found, market)


@app.command("adjust")
def adjust_cmd(
    customer: CustomerOpt,
    marketplace: MarketOpt,
    points: Annotated[int, typer.Option("--points", help="Points to add (+N) or take away (-N).")],
    note: Annotated[str, typer.Option("--note", help="Why (recorded and audited).")],
    key: KeyOpt,
    json: JsonOpt = False,
) -> None:
    """An operator's correction of the customer's available points (never below zero)."""
    c = ctx()
    market = _market(marketplace)
    with unit_of_work(c.factory) as session:
        found = service.adjust(
            session,
            marketplace=market,
            customer=customer,
            points=points,
            note=note,
            key=key,
            actor=LOCAL_OWNER.name,
            now=utcnow(),
        )
    if json:
        print_json(BalanceOut.of(found).model_dump(mode="json"))
        return
    out.print(_("Adjusted by {points}.", points=_pt(points, signed=True)))
    _print_balance(found, market)


# -- expiry ---------------------------------------------------------------------------------------


@app.command("expire")
def expire_cmd(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Run as at this instant (ISO-8601, offset).")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Make settled points available, then expire every balance whose year has passed and
    record the warnings due (30 and 7 days before). Running it again changes nothing. The
    instant is the clock, as for ``jobs run-due --as-of``: the local owner may run it for any
    instant (the API refuses one in the future)."""
    c = ctx()
    instant = as_of_instant(as_of)
    with unit_of_work(c.factory) as session:
        done = jobs.run_expiry(session, registry=c.registry, as_of=instant)
    if json:
        print_json(ExpiryRunOut.model_validate(done).model_dump(mode="json"))
        return
    out.print(
        _(
            "Expiry as of {at}: {accounts} balances expired ({points}), {warnings} warnings "
            "recorded; {posted} grants became available first.",
            at=instant.isoformat(),
            accounts=done["expired_accounts"],
            points=_pt(int(done["expired_points"])),
            warnings=done["warnings"],
            posted=done["posted"],
        )
    )


@app.command("expiries")
def expiries_cmd(
    marketplace: MarketOpt,
    within_days: Annotated[int, typer.Option("--within-days", min=1, max=366)] = 30,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="From this instant (ISO-8601, offset).")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Balances that expire soon, soonest first, with the warnings already recorded."""
    c = ctx()
    market = _market(marketplace)
    instant = as_of_instant(as_of)
    with c.read_factory() as session:
        found = service.upcoming_expiries(
            session, marketplace=market, as_of=instant, within_days=within_days
        )
    if json:
        print_json(
            {
                "marketplace": market.code,
                "as_of": instant.isoformat(),
                "within_days": within_days,
                "items": [UpcomingOut.of(x).model_dump(mode="json") for x in found],
            }
        )
        return
    if not found:
        out.print(_("No balances expire within {days} days.", days=within_days))
        return
    table = Table(
        _id_column(_("Customer")),
        Column(_("Available"), justify="right", no_wrap=True),
        Column(_("Expires"), no_wrap=True),
        Column(_("Warned (days before)")),
    )
    for x in found:
        warned = ", ".join(str(d) for d in x.warned_days) or "-"
        table.add_row(escape(x.customer), _pt(x.available), _local(x.expires_at, market), warned)
    out.print(_fitted(table))


# -- the store's cost -----------------------------------------------------------------------------


@app.command("statement")
def statement_cmd(seller: SellerOpt, marketplace: MarketOpt, json: JsonOpt = False) -> None:
    """What points cost the store each month: points granted and returned, the net cost, and
    the referral fee the points saved."""
    c = ctx()
    market = _market(marketplace)
    with c.read_factory() as session:
        months = service.statement(session, seller_id=seller, marketplace=market)
    if json:
        print_json(
            {
                "seller_id": seller,
                "marketplace": market.code,
                "currency": market.currency,
                "months": [StatementMonthOut.of(m).model_dump(mode="json") for m in months],
            }
        )
        return
    out.print(
        _(
            "Points cost of store {seller} in {marketplace}",
            seller=escape(seller),
            marketplace=market.code,
        )
    )
    if not months:
        out.print(_("No points cost yet."))
        return
    lang = current_language()
    table = Table(
        Column(_("Month"), no_wrap=True),
        Column(_("Granted"), justify="right"),
        Column(_("Returned"), justify="right"),
        Column(_("Net cost"), justify="right"),
        Column(_("Referral fee saved"), justify="right"),
    )
    for m in months:
        table.add_row(
            m.month,
            _pt(m.granted),
            _pt(m.returned),
            Money(m.net_cost, m.currency).format(lang),
            Money(m.fee_effect, m.currency).format(lang),
        )
    out.print(table)
