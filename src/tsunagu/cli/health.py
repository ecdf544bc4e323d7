from __future__ import annotations

import csv
import sys
from datetime import date
from typing import Annotated, Literal

import typer

from tsunagu.cli import layout, snapshots
from tsunagu.cli.context import ctx, optional_day, parse_day, print_json
from tsunagu.cli.layout import Col, say
from tsunagu.cli.snapshots import reading_store
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import N_, _, current_language, set_language
from tsunagu.enforcement import service as enforcement
from tsunagu.health import alert_service, alert_words, incremental, refresh, service, words
from tsunagu.health.schemas import (
    AlertOut,
    HistoryDayOut,
    MetricOut,
    RatingOut,
    StoreForecastOut,
    StoreHealthOut,
    StoreHistoryOut,
    StoreWhatIfOut,
    TermOut,
)
from tsunagu.marketplaces.registry import Marketplace
from tsunagu.violations import words as violation_words

app = typer.Typer(help="Account health: performance metrics and the AHR.", no_args_is_help=True)

_ROW_STYLE = {"BAD": "red", "NONE": "dim"}

SellerOpt = Annotated[str, typer.Option("--seller", help="Seller id.")]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="Evaluation day YYYY-MM-DD (default: today in the store's zone)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _load(seller: str, marketplace: str | None, as_of: str | None) -> list[StoreHealthOut]:
    c = ctx()
    market = c.registry.require(marketplace, UsageError) if marketplace else None
    day = optional_day(as_of)
    now = utcnow()
    with c.read_factory() as session:
        if market is not None:
            found = [
                service.store_health(
                    session, seller_id=seller, marketplace=market, day=day, now=now
                )
            ]
        else:
            found = service.seller_health(
                session, seller_id=seller, registry=c.registry, day=day, now=now
            )
        # with the coverage, as the API answers: a store that cannot compute a metric says so
        return [
            StoreHealthOut.of(
                h, coverage=service.coverage_for(session, h, c.registry.require(h.marketplace))
            )
            for h in found
        ]


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f}%"


def _metric_row(m: MetricOut) -> tuple[str, ...]:
    """The metric's name in words with its window (and what could not be measured) beneath."""
    window = _("{first} to {last}", first=m.window_from.isoformat(), last=m.window_to.isoformat())
    if m.not_measurable:
        window += " · " + _("{count} not measurable", count=m.not_measurable)
    return (
        f"{words.metric(m.name)}\n{window}",
        _percent(m.rate),
        f"{m.comparison} {m.target * 100:.2f}%",
        words.status(m.status),
        f"{m.numerator}/{m.denominator}",
    )


def _metric_columns() -> tuple[Col, ...]:
    return (
        Col(_("Metric")),
        Col(_("Value"), whole=True, justify="right"),
        Col(_("Target"), whole=True, justify="right"),
        Col(_("Status")),
        Col(_("Count"), whole=True, justify="right"),
    )


def _score_line(h: StoreHealthOut) -> str:
    return _(
        "Account Health Rating: {score} ({band})",
        score=h.rating.score,
        band=words.band(h.rating.band),
    )


def _honest_lines(h: StoreHealthOut) -> list[str]:
    """What the rating alone does not say (issue 16): the metrics over their target, and the
    ones tsunagu cannot compute for want of data (then the store is "incomplete data", never
    just "healthy")."""
    lines = []
    comma = "、" if current_language() == "ja" else ", "
    missed = [words.metric(m.name) for m in h.metrics if m.status == "BAD"]
    if missed:
        lines.append(_("Over their target: {metrics}", metrics=comma.join(missed)))
    if h.coverage is not None and h.coverage.snapshot_id is not None:
        lines.append(
            _(
                "Amazon's report {snapshot} of {day} stands in for what tsunagu has no data for.",
                snapshot=h.coverage.snapshot_id,
                day=str(h.coverage.snapshot_date),
            )
        )
    if h.coverage is not None and h.data_status == "incomplete":
        lines.append(_("Incomplete data: the rating and status cannot be trusted yet."))
        for m in h.coverage.metrics:
            if m.verdict == "incomplete":
                lines.append(
                    "  "
                    + _(
                        "{metric}: no {sources} for these days",
                        metric=words.metric(m.metric),
                        sources=comma.join(words.source(code) for code in m.missing),
                    )
                )
    return lines


@app.command("show")
def show(
    seller: SellerOpt,
    marketplace: Annotated[str | None, typer.Option("--marketplace", "-m")] = None,
    as_of: AsOfOpt = None,
    json: JsonOpt = False,
) -> None:
    """Every metric and the Account Health Rating of one or all of a seller's stores."""
    stores = _load(seller, marketplace, as_of)
    if json:
        print_json([h.model_dump(mode="json") for h in stores])
        return
    for h in stores:
        layout.show(
            _metric_columns(),
            [_metric_row(m) for m in h.metrics],
            title=_("{market} on {day}", market=h.marketplace, day=h.day.isoformat()),
            styles=[_ROW_STYLE.get(m.status) for m in h.metrics],
        )
        say(_score_line(h))
        for line in _honest_lines(h):
            say(line)


def _describe(t: TermOut) -> str:
    if t.kind == "base":
        return _("Starting score")
    if t.kind == "sales_credit":
        return _("Sales credit: {orders} fulfilled orders in 180 days", orders=t.orders or 0)
    if t.kind == "violation":
        return _(
            "{severity} violation {violation} of {policy} (repeat {repeat}), "
            "opened {opened}, ages out {ages_out}",
            severity=violation_words.severity_word(t.severity),
            violation=str(t.violation_id),
            policy=violation_words.policy_name(t.policy),
            repeat=t.repeat,
            opened=t.opened_on,
            ages_out=t.ages_out_on,
        )
    if t.kind == "critical":
        return _(
            "Critical violation {violation} of {policy}: the rating is 0",
            violation=str(t.violation_id),
            policy=violation_words.policy_name(t.policy),
        )
    if t.kind == "metric":
        return _("{metric} misses its target", metric=words.metric(t.metric or ""))
    if t.kind == "floor":
        return _("Nothing deducted: never below the floor")
    if t.kind == "clamp":
        return _("Kept within 0–1000")
    return t.label


@app.command("explain")
def explain(
    seller: SellerOpt,
    marketplace: Annotated[str, typer.Option("--marketplace", "-m")],
    as_of: AsOfOpt = None,
    json: JsonOpt = False,
) -> None:
    """Every term of the Account Health Rating and the ids behind each metric."""
    (h,) = _load(seller, marketplace, as_of)
    if json:
        print_json(h.model_dump(mode="json"))
        return
    say(_("Profile: {profile}", profile=h.rating.profile))
    _rating_table(h.rating)
    total = sum(t.points for t in h.rating.terms)
    say(_("Check: the terms add up to {total}", total=total))
    say(_score_line(h))
    for m in h.metrics:
        if m.ids:
            say(f"{words.metric(m.name)}: {', '.join(m.ids)}", indent=2)


def _rating_table(rating: RatingOut, title: str | None = None) -> None:
    """Every term of the rating with its points."""
    layout.show(
        (Col(_("Points"), whole=True, justify="right"), Col(_("Term"))),
        [(f"{t.points:+d}", _describe(t)) for t in rating.terms],
        title=title,
    )


def _band(value: str) -> str:
    return words.band(value)


@app.command("forecast")
def forecast(
    seller: SellerOpt,
    marketplace: Annotated[str, typer.Option("--marketplace", "-m")],
    as_of: AsOfOpt = None,
    days: Annotated[
        int, typer.Option("--days", min=1, max=365, help="How many days ahead (1–365).")
    ] = 90,
    json: JsonOpt = False,
) -> None:
    """The rating day by day if nothing new happens: violations age out, orders leave the window."""
    with reading_store(marketplace, as_of) as (session, market, day):
        found = StoreForecastOut.of(
            incremental.store_forecast(
                session, seller_id=seller, marketplace=market, day=day, now=utcnow(), days=days
            )
        )
    if json:
        print_json(found.model_dump(mode="json"))
        return
    rows: list[tuple[str, str, str]] = []
    previous = (found.current.score, found.current.band)
    last = len(found.days) - 1
    for n, d in enumerate(found.days):
        if n in (0, last) or (d.score, d.band) != previous:
            rows.append((d.day.isoformat(), str(d.score), _band(d.band)))
        previous = (d.score, d.band)
    say(
        _(
            "Account Health Rating on {day}: {score} ({band})",
            day=found.day.isoformat(),
            score=found.current.score,
            band=_band(found.current.band),
        )
    )
    layout.show(
        (Col(_("Date"), whole=True), Col(_("Score"), whole=True, justify="right"), Col(_("Band"))),
        rows,
        title=_(
            "{market} forecast from {day}: only days where the score or band changes, "
            "plus the first and last day",
            market=found.marketplace,
            day=found.day.isoformat(),
        ),
    )


@app.command("what-if")
def what_if(
    seller: SellerOpt,
    marketplace: Annotated[str, typer.Option("--marketplace", "-m")],
    as_of: AsOfOpt = None,
    resolve: Annotated[
        list[str] | None,
        typer.Option("--resolve", help="A violation id to suppose resolved (repeatable)."),
    ] = None,
    add_orders: Annotated[
        int,
        typer.Option(
            "--add-orders", min=0, max=1_000_000, help="Fulfilled orders to suppose added."
        ),
    ] = 0,
    json: JsonOpt = False,
) -> None:
    """The rating now and after hypothetical changes; nothing is written."""
    with reading_store(marketplace, as_of) as (session, market, day):
        found = StoreWhatIfOut.of(
            incremental.store_what_if(
                session,
                seller_id=seller,
                marketplace=market,
                day=day,
                now=utcnow(),
                resolve=resolve or (),
                add_orders=add_orders,
            )
        )
    if json:
        print_json(found.model_dump(mode="json"))
        return
    say(
        _(
            "What if on {day}: resolve {violations}; add {orders} fulfilled orders",
            day=found.day.isoformat(),
            violations=", ".join(found.resolve) or "-",
            orders=found.add_orders,
        )
    )
    now_title = _("Now: {score} ({band})", score=found.now.score, band=_band(found.now.band))
    after_title = _(
        "After: {score} ({band})", score=found.after.score, band=_band(found.after.band)
    )
    _rating_table(found.now, now_title)
    _rating_table(found.after, after_title)
    say(_("Change: {change} points", change=f"{found.change:+d}"))


@app.command("report")
def report(
    seller: SellerOpt,
    marketplace: Annotated[str, typer.Option("--marketplace", "-m")],
    as_of: AsOfOpt = None,
) -> None:
    """JSON shaped like Amazon's GET_V2_SELLER_PERFORMANCE_REPORT (always JSON)."""
    with reading_store(marketplace, as_of) as (session, market, day):
        status = enforcement.reported_status(session, seller_id=seller, marketplace=market.code)
        found = service.store_report(
            session,
            seller_id=seller,
            marketplace=market,
            day=day,
            now=utcnow(),
            account_status=status,
        )
    print_json(found)


def _history_cells(d: HistoryDayOut) -> tuple[str, ...]:
    return (
        d.day.isoformat(),
        str(d.score),
        d.band,
        "" if d.order_defect_rate_mfn is None else repr(d.order_defect_rate_mfn),
        "" if d.late_shipment_rate_30 is None else repr(d.late_shipment_rate_30),
        "" if d.pre_fulfillment_cancel_rate is None else repr(d.pre_fulfillment_cancel_rate),
        "" if d.valid_tracking_rate is None else repr(d.valid_tracking_rate),
    )


_HISTORY_COLUMNS = (
    "date",
    "ahr_score",
    "band",
    "odr_mfn",
    "late_shipment_rate_30",
    "pre_fulfillment_cancel_rate",
    "valid_tracking_rate",
)


def _require_range(first: date, last: date) -> None:
    """A usage error (``invalid_range``) unless ``first`` … ``last`` is 1 to
    ``HISTORY_MAX_DAYS`` days."""
    count = (last - first).days + 1
    if count < 1 or count > service.HISTORY_MAX_DAYS:
        raise UsageError(
            N_("A history covers 1 to {limit} days; {first} to {last} is {count} days"),
            code="invalid_range",
            limit=service.HISTORY_MAX_DAYS,
            first=first.isoformat(),
            last=last.isoformat(),
            count=count,
            details={"field": "from", "from": first.isoformat(), "to": last.isoformat()},
        )


def _write_history_csv(found: StoreHistoryOut) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(_HISTORY_COLUMNS)
    writer.writerows(_history_cells(d) for d in found.days)


def _history_table(found: StoreHistoryOut) -> None:
    layout.show(
        (
            Col(_("Date"), whole=True),
            Col(_("Score"), whole=True, justify="right"),
            Col(_("Band")),
            Col(_("ODR (MFN)"), whole=True, justify="right"),
            Col(_("Late shipment (30 days)"), whole=True, justify="right"),
            Col(_("Cancel rate"), whole=True, justify="right"),
            Col(_("Valid tracking"), whole=True, justify="right"),
        ),
        [
            (
                d.day.isoformat(),
                str(d.score),
                _band(d.band),
                _percent(d.order_defect_rate_mfn),
                _percent(d.late_shipment_rate_30),
                _percent(d.pre_fulfillment_cancel_rate),
                _percent(d.valid_tracking_rate),
            )
            for d in found.days
        ],
        title=_(
            "{market} history from {first} to {last}",
            market=found.marketplace,
            first=found.start.isoformat(),
            last=found.end.isoformat(),
        ),
    )


@app.command("history")
def history(
    seller: SellerOpt,
    marketplace: Annotated[str, typer.Option("--marketplace", "-m")],
    start: Annotated[str, typer.Option("--from", help="First day YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last day YYYY-MM-DD (at most 366 days).")],
    fmt: Annotated[
        Literal["table", "json", "csv"], typer.Option("--format", help="table, json or csv.")
    ] = "table",
) -> None:
    """The daily series of the rating and the main metrics from --from to --to."""
    c = ctx()
    market = c.registry.require(marketplace, UsageError)
    first, last = parse_day(start, "--from"), parse_day(end, "--to")
    _require_range(first, last)
    with c.read_factory() as session:
        days = incremental.store_history(
            session, seller_id=seller, marketplace=market, start=first, end=last, now=utcnow()
        )
        found = StoreHistoryOut.of(seller, market.code, first, last, days)
    if fmt == "json":
        print_json(found.model_dump(mode="json"))
        return
    if fmt == "csv":
        _write_history_csv(found)
        return
    _history_table(found)


_ALERT_KIND = {
    "metric_margin": N_("metric near its target"),
    "band_drop": N_("dropped a band"),
    "band_forecast": N_("band drop forecast"),
}


def _alert_subject(a: AlertOut) -> str:
    return words.metric(a.subject) if a.kind == "metric_margin" else _band(a.subject)


def _alert_value(a: AlertOut) -> str:
    d = a.details
    if a.kind == "metric_margin":
        value, threshold = d.get("value"), d.get("threshold")
        return "{value} {comparison} {threshold}".format(
            value=_percent(value if isinstance(value, float | int) else None),
            comparison=d.get("comparison", ""),
            threshold=_percent(threshold if isinstance(threshold, float | int) else None),
        )
    if a.kind == "band_drop":
        return _(
            "{previous} → {band} (score {score})",
            previous=_band(str(d.get("previous_band", "-"))),
            band=_band(a.subject),
            score=d.get("score", "-"),
        )
    return _(
        "{band} on {day}, in {days} days (score {score})",
        band=_band(a.subject),
        day=d.get("forecast_day", "-"),
        days=d.get("days_ahead", "-"),
        score=d.get("forecast_score", "-"),
    )


def _check_alerts(
    seller: str, market: Marketplace | None, day: date | None
) -> list[tuple[str, str, int, int]]:
    """Check the store in ``market`` (or every store of the seller) and record what changed:
    (marketplace, day, raised, cleared) per store checked."""
    c = ctx()
    now = utcnow()
    with unit_of_work(c.factory) as session:
        found = alert_service.check_stores(
            session, seller_id=seller, registry=c.registry, marketplace=market, day=day, now=now
        )
        return [(f.marketplace, f.day.isoformat(), len(f.raised), len(f.cleared)) for f in found]


def _read_alerts(seller: str, market: Marketplace | None, active: bool) -> list[AlertOut]:
    with ctx().read_factory() as session:
        return [
            AlertOut.of(a)
            for a in alert_service.list_alerts(
                session,
                seller_id=seller,
                marketplace=market.code if market else None,
                active_only=active,
            )
        ]


def _print_checked(checked: list[tuple[str, str, int, int]]) -> None:
    for code, on, raised, cleared in checked:
        say(
            _(
                "Checked {market} on {day}: {raised} raised, {cleared} cleared",
                market=code,
                day=on,
                raised=raised,
                cleared=cleared,
            )
        )


def _no_alerts_line(seller: str, active: bool) -> str:
    if active:
        return _("No active alerts for {seller}: nothing needs attention.", seller=seller)
    return _("No alerts for {seller}: nothing needs attention.", seller=seller)


def _alerts_table(seller: str, rows: list[AlertOut]) -> None:
    layout.show(
        (
            Col(_("Raised on"), whole=True),
            Col(_("Store")),
            Col(_("Kind")),
            Col(_("Subject")),
            Col(_("Value vs threshold")),
            Col(_("Cleared on"), whole=True),
        ),
        [
            (
                a.raised_on.isoformat(),
                a.marketplace,
                _(alert_words.KIND_LABELS.get((a.kind, a.details.get("level")), a.kind)),
                _alert_subject(a),
                _alert_value(a),
                "-" if a.cleared_on is None else a.cleared_on.isoformat(),
            )
            for a in rows
        ],
        title=_("Health alerts of {seller}", seller=seller),
    )


@app.command("alerts")
def alerts(
    seller: SellerOpt,
    marketplace: Annotated[str | None, typer.Option("--marketplace", "-m")] = None,
    active: Annotated[bool, typer.Option("--active", help="Only alerts not cleared yet.")] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="Check the day first (records new and cleared alerts)."),
    ] = False,
    as_of: AsOfOpt = None,
    json: JsonOpt = False,
    lang: Annotated[
        str | None, typer.Option("--lang", help="Language of messages: en or ja.")
    ] = None,
) -> None:
    """Health alerts: a metric near its target, a drop into a lower band, or one forecast."""
    if lang:
        set_language(lang)
    market = ctx().registry.require(marketplace, UsageError) if marketplace else None
    day = optional_day(as_of)
    checked = _check_alerts(seller, market, day) if check else []
    rows = _read_alerts(seller, market, active)
    if json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    _print_checked(checked)
    if rows:
        _alerts_table(seller, rows)
    else:
        say(_no_alerts_line(seller, active))


@app.command("refresh")
def refresh_cmd(json: JsonOpt = False) -> None:
    """Bring the daily health rollups up to date for every store with new events.

    Imports and the worker do this on their own; run it after writing events another way
    (e.g. through the API) or from cron. Today's health is exact without it, only slower."""
    c = ctx()
    done = refresh.refresh_all(c.factory, c.registry, utcnow())
    if json:
        print_json({"refreshed": [{"seller_id": s, "marketplace": m} for s, m in done]})
        return
    say(_("Health rollups refreshed for {count} store(s).", count=len(done)))


# ``tsunagu health compare`` lives with the other snapshot commands
app.command("compare")(snapshots.compare)
