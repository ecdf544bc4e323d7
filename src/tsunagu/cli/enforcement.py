"""``tsunagu enforcement …``: account status per store (issue 14).

The ``evaluate`` and ``status`` commands are a contract other tools script against: their
names, options and JSON keys never change (more may be added)."""

from __future__ import annotations

from typing import Annotated

import typer

from tsunagu.access.actor import LOCAL_OWNER
from tsunagu.cli.context import ctx, out, parse_day, print_json
from tsunagu.cli.layout import Col, say, show
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import _
from tsunagu.enforcement import service, words
from tsunagu.enforcement.rules import DEACTIVATED
from tsunagu.enforcement.schemas import ChangeOut, EvaluatedOut, IssueOut, StoreStatusOut
from tsunagu.violations import words as violation_words

app = typer.Typer(
    help="Account status per store: at risk, deactivated, the issues behind it.",
    no_args_is_help=True,
)

SellerOpt = Annotated[str, typer.Option("--seller", help="Seller id.")]
MarketOpt = Annotated[str, typer.Option("--marketplace", "-m", help="JP, US, …")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _status_word(status: str) -> str:
    return words.status(status)


_CAUSES = words.CAUSES


def _cause(code: str) -> str:
    """A cause in words: a claim or cancel reason, a defect kind, else a policy's name (the
    causes of a policy-violation issue are policy keys)."""
    found = _CAUSES.get(code)
    return _(found) if found is not None else violation_words.policy_name(code)


def _issue_with_evidence(issue: IssueOut) -> str:
    """The issue in words, with the ids of its evidence (whole, between words)."""
    if not issue.evidence:
        return words.issue(issue.code)
    return f"{words.issue(issue.code)}: {', '.join(issue.evidence)}"


def _figure(value: float | None, code: str) -> str:
    if value is None:
        return "-"
    if code in ("LOW_ACCOUNT_HEALTH", "POLICY_VIOLATION"):
        return str(int(value))
    return f"{value * 100:.2f}%"


def _print_issue(issue: IssueOut) -> None:
    say("  " + words.issue(issue.code), style="bold", indent=4)
    if issue.value is not None or issue.target is not None:
        say(
            "    "
            + _(
                "value {value}, target {target}",
                value=_figure(issue.value, issue.code),
                target=_figure(issue.target, issue.code),
            )
        )
    if issue.causes:
        causes = ", ".join(f"{_cause(k)} {v}" for k, v in issue.causes.items())
        say("    " + _("causes: {causes}", causes=causes), indent=6)
    if issue.evidence:
        shown = ", ".join(issue.evidence[:5])
        more = len(issue.evidence) - 5
        extra = " " + _("(+{count} more)", count=more) if more > 0 else ""
        say("    " + _("evidence: {ids}", ids=shown) + extra, indent=6)
    if issue.related:
        say(
            "    "
            + _(
                "caused by seller {seller} in {marketplace}",
                seller=issue.related.get("seller", ""),
                marketplace=issue.related.get("marketplace", ""),
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
    rows = []
    for e in items:
        word = _status_word(e.status)
        if e.changed:
            word = _("{previous} → {current}", previous=_status_word(e.previous), current=word)
        elif not e.recorded:
            word += " " + _("(already evaluated)")
        issues = "; ".join(words.issue(i.code) for i in e.issues) or "-"
        rows.append((e.seller_id, e.marketplace, e.day.isoformat(), word, issues))
    show(
        (
            Col(_("Seller"), whole=True),
            Col(_("Market")),
            Col(_("Day"), whole=True),
            Col(_("Status")),
            Col(_("Issues")),
        ),
        rows,
    )


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
    say(
        _(
            "Store {seller} in {marketplace}: {status}",
            seller=seller,
            marketplace=code,
            status=_status_word(shown.status),
        )
    )
    if shown.since:
        out.print(_("Since {at}", at=shown.since.isoformat()))
    if shown.grace_until:
        say(
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
    show(
        (
            Col(_("Id"), whole=True),
            Col(_("At")),
            Col(_("Change")),
            Col(_("Reason")),
            Col(_("By")),
            Col(_("Issues")),
        ),
        [
            (
                x.id,
                x.at.strftime("%Y-%m-%d %H:%M"),
                f"{_status_word(x.previous)} → {_status_word(x.current)}",
                x.reason,
                x.actor,
                "; ".join(_issue_with_evidence(i) for i in x.issues) or "-",
            )
            for x in found
        ],
    )


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
    say(
        _(
            "Store {seller} in {marketplace} is now {status}.",
            seller=seller,
            marketplace=market.code,
            status=_status_word(shown.status),
        )
    )
