"""``tsunagu enforcement …``: account status per store (issue 14).

The ``evaluate`` and ``status`` commands are a contract other tools script against: their
names, options and JSON keys never change (more may be added)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tsunagu.access.actor import LOCAL_OWNER
from tsunagu.cli.context import ctx, out, parse_day, print_json
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import N_, _
from tsunagu.enforcement import service
from tsunagu.enforcement.rules import DEACTIVATED
from tsunagu.enforcement.schemas import ChangeOut, EvaluatedOut, IssueOut, StoreStatusOut

app = typer.Typer(
    help="Account status per store: at risk, deactivated, the issues behind it.",
    no_args_is_help=True,
)

SellerOpt = Annotated[str, typer.Option("--seller", help="Seller id.")]
MarketOpt = Annotated[str, typer.Option("--marketplace", "-m", help="JP, US, …")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]

_STATUS = {
    "NORMAL": N_("normal"),
    "AT_RISK": N_("at risk"),
    "UNDER_REVIEW": N_("under review"),
    "DEACTIVATED": N_("deactivated"),
}
_ISSUE = {
    "ORDER_DEFECT_RATE": N_("Order defect rate over its target"),
    "LATE_SHIPMENT_RATE": N_("Late shipment rate over its target"),
    "CANCELLATION_RATE": N_("Pre-fulfillment cancel rate over its target"),
    "VALID_TRACKING_RATE": N_("Valid tracking rate under its target"),
    "POLICY_VIOLATION": N_("Policy violations"),
    "LOW_ACCOUNT_HEALTH": N_("Account Health Rating too low"),
    "RELATED_ACCOUNT": N_("A related account was deactivated"),
}


def _status_word(status: str) -> str:
    return _(_STATUS.get(status, status))


def _figure(value: float | None, code: str) -> str:
    if value is None:
        return "-"
    if code in ("LOW_ACCOUNT_HEALTH", "POLICY_VIOLATION"):
        return str(int(value))
    return f"{value * 100:.2f}%"


def _print_issue(issue: IssueOut) -> None:
    label = _(_ISSUE.get(issue.code, issue.code))
    out.print(f"  [bold]{issue.code}[/bold]  {escape(label)}")
    if issue.value is not None or issue.target is not None:
        out.print(
            "    "
            + _(
                "value {value}, target {target}",
                value=_figure(issue.value, issue.code),
                target=_figure(issue.target, issue.code),
            )
        )
    if issue.causes:
        causes = ", ".join(f"{k} {v}" for k, v in issue.causes.items())
        out.print("    " + _("causes: {causes}", causes=escape(causes)))
    if issue.evidence:
        shown = ", ".join(issue.evidence[:5])
        more = len(issue.evidence) - 5
        extra = " " + _("(+{count} more)", count=more) if more > 0 else ""
        out.print("    " + _("evidence: {ids}", ids=escape(shown)) + extra)
    if issue.related:
        out.print(
            "    "
            + _(
                "caused by seller {seller} in {marketplace}",
                seller=escape(issue.related.get("seller", "")),
                marketplace=escape(issue.related.get("marketplace", "")),
            )
        )


@app.command("evaluate")
def evaluate(
    as_of: Annotated[str, typer.Option("--as-of", help="The local day YYYY-MM-DD to evaluate.")],
    seller: Annotated[
        str | None, typer.Option("--seller", help="Seller id (default: every store).")
    ] = None,
    marketplace: Annotated[str | None, typer.Option("--marketplace", "-m")] = None,
    json: JsonOpt = False,
) -> None:
    """Run the rules as of the end of that local day (again for the same day: no change)."""
    c = ctx()
    market = c.registry.require(marketplace, UsageError) if marketplace else None
    day = parse_day(as_of)
    service.check_day(day, utcnow(), field="as_of")
    with unit_of_work(c.factory) as session:
        found = service.evaluate_stores(
            session,
            registry=c.registry,
            day=day,
            now=utcnow(),
            seller_id=seller,
            marketplace=market,
            actor=LOCAL_OWNER.name,
        )
        items = [EvaluatedOut.of(e) for e in found]
    if json:
        print_json({"items": [i.model_dump(mode="json") for i in items]})
        return
    if not items:
        out.print(_("No stores to evaluate."))
        return
    table = Table(_("Seller"), _("Market"), _("Day"), _("Status"), _("Issues"))
    for e in items:
        word = _status_word(e.status)
        if e.changed:
            word = _("{previous} → {current}", previous=_status_word(e.previous), current=word)
        elif not e.recorded:
            word += " " + _("(already evaluated)")
        codes = ", ".join(i.code for i in e.issues) or "-"
        table.add_row(escape(e.seller_id), e.marketplace, e.day.isoformat(), word, codes)
    out.print(table)


@app.command("status")
def status(seller: SellerOpt, marketplace: MarketOpt, json: JsonOpt = False) -> None:
    """The store's account status, its issues and deadlines."""
    c = ctx()
    code = c.registry.require(marketplace, UsageError).code
    with c.read_factory() as session:
        found = service.store_status(session, seller_id=seller, marketplace=code)
        deadline = None
        if found.status == DEACTIVATED:
            open_one = service.current_deactivation(session, seller_id=seller, marketplace=code)
            deadline = open_one.appeal_deadline if open_one else None
        shown = StoreStatusOut.of(found, deadline)
    if json:
        print_json(shown.model_dump(mode="json"))
        return
    out.print(
        _(
            "Store {seller} in {marketplace}: {status}",
            seller=escape(seller),
            marketplace=code,
            status=f"[bold]{_status_word(shown.status)}[/bold]",
        )
    )
    if shown.since:
        out.print(_("Since {at}", at=shown.since.isoformat()))
    if shown.grace_until:
        out.print(
            _(
                "Grace period (Account Health Assurance) until {at}: deactivated then if the "
                "issues are still open.",
                at=shown.grace_until.isoformat(),
            )
        )
    if shown.appeal_deadline:
        out.print(_("Appeal before {at}.", at=shown.appeal_deadline.isoformat()))
    if shown.probation_until:
        out.print(_("On probation until {at}.", at=shown.probation_until.isoformat()))
    if not shown.issues:
        out.print(_("No open issues."))
        return
    out.print(_("Issues:"))
    for issue in shown.issues:
        _print_issue(issue)


@app.command("history")
def history(
    seller: SellerOpt,
    marketplace: MarketOpt,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    json: JsonOpt = False,
) -> None:
    """The store's status changes, latest first: who, why, from what to what."""
    c = ctx()
    code = c.registry.require(marketplace, UsageError).code
    with c.read_factory() as session:
        found = [
            ChangeOut.of(x)
            for x in service.history(session, seller_id=seller, marketplace=code, limit=limit)
        ]
    if json:
        print_json({"items": [x.model_dump(mode="json") for x in found]})
        return
    if not found:
        out.print(_("No status changes yet."))
        return
    table = Table(_("At"), _("Change"), _("Reason"), _("By"), _("Issues"))
    for x in found:
        change = f"{_status_word(x.previous)} → {_status_word(x.current)}"
        codes = ", ".join(i.code for i in x.issues) or "-"
        table.add_row(x.at.strftime("%Y-%m-%d %H:%M"), change, x.reason, escape(x.actor), codes)
    out.print(table)


@app.command("override")
def override(
    seller: SellerOpt,
    marketplace: MarketOpt,
    status: Annotated[
        str, typer.Option("--status", help="NORMAL, AT_RISK, UNDER_REVIEW or DEACTIVATED.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded and audited).")],
    fraud: Annotated[
        bool, typer.Option("--fraud", help="Deactivate at once for suspected fraud.")
    ] = False,
    json: JsonOpt = False,
) -> None:
    """An operator's decision on a store's status, whatever the rules say."""
    c = ctx()
    market = c.registry.require(marketplace, UsageError)
    wanted = DEACTIVATED if fraud else status.strip().upper()
    with unit_of_work(c.factory) as session:
        found = service.override(
            session,
            seller_id=seller,
            marketplace=market,
            status=wanted,
            reason=reason,
            actor=LOCAL_OWNER,
            now=utcnow(),
            fraud=fraud,
            registry=c.registry,
        )
        shown = StoreStatusOut.of(found)
    if json:
        print_json(shown.model_dump(mode="json"))
        return
    out.print(
        _(
            "Store {seller} in {marketplace} is now {status}.",
            seller=escape(seller),
            marketplace=market.code,
            status=_status_word(shown.status),
        )
    )
