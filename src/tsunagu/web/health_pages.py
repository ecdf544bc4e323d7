"""A store's health page: the AHR waterfall, the metrics with their drill-down, the history and
forecast chart, and the what-if form (an htmx fragment, or the full page without JavaScript)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlalchemy.orm import Session

from tsunagu.core.clock import utcnow
from tsunagu.core.errors import InvalidInput, NotFound
from tsunagu.core.i18n import N_, translate
from tsunagu.health import drilldown, incremental, service
from tsunagu.health.history import since_first_data
from tsunagu.health.rules import Rating, Term
from tsunagu.http.deps import SellerIdDep
from tsunagu.marketplaces.registry import Marketplace, Registry
from tsunagu.sellers.service import get_seller
from tsunagu.violations.words import policy_name
from tsunagu.web import charts, labels, store_coverage
from tsunagu.web.enforcement_pages import status_banner
from tsunagu.web.render import PageRoute, page_language, render
from tsunagu.web.seller_pages import metric_row, store_summary

router = APIRouter(route_class=PageRoute)

HISTORY_DAYS = 180
FORECAST_DAYS = 90
MAX_ADD_ORDERS = 1_000_000
Resolve = Annotated[list[str] | None, Query(max_length=100)]
AddOrders = Annotated[str | None, Query(max_length=12)]


def term_label(term: Term, lang: str) -> str:
    template = labels.TERMS.get(term.kind)
    if template is None:
        return term.label
    return translate(
        template,
        lang,
        orders=term.orders if term.orders is not None else 0,
        severity=translate(labels.SEVERITY.get(term.severity or "", term.severity or ""), lang),
        policy=policy_name(term.policy, lang) if term.policy else "",
        metric=translate(labels.METRICS.get(term.metric or "", term.metric or ""), lang),
    )


def waterfall(rating: Rating, lang: str) -> tuple[Markup, list[dict[str, Any]]]:
    steps = [charts.Step(term_label(t, lang), t.points) for t in rating.terms]
    svg = charts.waterfall(
        steps,
        rating.score,
        title=translate(N_("How the Account Health Rating adds up"), lang),
        total_label=translate(N_("Score"), lang),
        testid="ahr-waterfall",
    )
    return svg, [{"label": s.label, "points": s.points} for s in steps]


@dataclasses.dataclass
class WhatIf:
    """The what-if form's state and, when it was submitted, its answer."""

    resolve: list[str]
    add_orders: str
    submitted: bool
    now: int | None = None
    after: int | None = None
    after_band: str | None = None
    error: str | None = None
    series: list[tuple[date, int]] = dataclasses.field(default_factory=list)


def _what_if(
    session: Session,
    seller_id: str,
    marketplace: Marketplace,
    now: datetime,
    resolve: list[str],
    add_orders: str | None,
    lang: str,
) -> WhatIf:
    state = WhatIf(resolve, add_orders or "", bool(resolve) or bool(add_orders))
    if not state.submitted:
        return state
    try:
        count = int(add_orders) if add_orders else 0
    except ValueError:
        state.error = translate(N_("Enter a whole number of orders."), lang)
        return state
    if count > MAX_ADD_ORDERS:
        state.error = translate(N_("Enter a whole number of orders."), lang)
        return state
    try:
        found = incremental.store_what_if(
            session,
            seller_id=seller_id,
            marketplace=marketplace,
            day=None,
            now=now,
            resolve=resolve,
            add_orders=count,
            forecast_days=FORECAST_DAYS,
        )
    except InvalidInput as exc:
        state.error = exc.message(lang)
        return state
    state.now, state.after = found.now.score, found.after.score
    state.after_band = translate(labels.BANDS.get(found.after.band, found.after.band), lang)
    # the forecast had the violations been resolved and the orders been placed today
    state.series = [(d, r.score) for d, r in found.days]
    return state


def _history(
    session: Session, seller_id: str, marketplace: Marketplace, now: datetime, today: date
) -> tuple[list[tuple[date, int, str, dict[str, float | None]]], list[tuple[date, int]]]:
    points = incremental.history_points(
        session, seller_id=seller_id, marketplace=marketplace, days=HISTORY_DAYS, now=now
    )
    points = since_first_data(points)  # not months of a flat start before the first order
    history = [
        (day, score, band, {k: rates[k] for k in KEY_METRICS if k in rates})
        for day, score, band, rates in points
    ]
    ahead = incremental.store_forecast(
        session,
        seller_id=seller_id,
        marketplace=marketplace,
        day=today,
        now=now,
        days=FORECAST_DAYS,
    )
    return history, [(d, r.score) for d, r in ahead.days]


KEY_METRICS = ("order_defect_rate_mfn", "late_shipment_rate_30", "valid_tracking_rate")


def history_chart(
    history: list[tuple[date, int, str, dict[str, float | None]]],
    ahead: list[tuple[date, int]],
    what_if: list[tuple[date, int]],
    lang: str,
) -> Markup:
    return charts.rating_chart(
        [charts.Point(d, s) for d, s, _, _ in history],
        [charts.Point(d, s) for d, s in ahead],
        [charts.Point(d, s) for d, s in what_if],
        lang,
    )


def _store_context(
    request: Request,
    seller_id: str,
    marketplace: str,
    resolve: list[str],
    add_orders: str | None,
    *,
    full: bool,
) -> dict[str, Any]:
    lang = page_language(request)
    registry: Registry = request.app.state.registry
    mp = registry.require(marketplace)
    now = utcnow()
    with request.app.state.read_factory() as session:
        name = get_seller(session, seller_id).name
        # today from the rollups; the metric page reads the ids behind a numerator
        h = incremental.store_health_now(session, seller_id=seller_id, marketplace=mp, now=now)
        what = _what_if(session, seller_id, mp, now, resolve, add_orders, lang)
        history, ahead = _history(session, seller_id, mp, now, h.day)
        banner = status_banner(session, seller_id=seller_id, marketplace=mp, lang=lang)
        covered = service.coverage_for(session, h, mp)
        amazon = (
            store_coverage.amazon_side(
                session, seller_id=seller_id, marketplace=mp, h=h, now=now, lang=lang
            )
            if full
            else None
        )
    summary = store_summary(h, mp, lang)
    store_coverage.apply_coverage(summary, covered, lang)
    context: dict[str, Any] = {
        "seller_name": name,
        "store": summary,
        "banner": banner,
        "metric_banners": store_coverage.metric_banners(h, covered, lang),
        "amazon_side": amazon,
        "what_if": what,
        "violations": [
            {
                "id": v.violation_id,
                "policy": policy_name(v.policy, lang),
                "severity": translate(labels.SEVERITY.get(v.severity, v.severity), lang),
                "opened_on": v.opened_on,
            }
            for v in h.open_violations
        ],
        "chart": history_chart(history, ahead, what.series, lang),
        "trends": charts.trends(history, h.metrics, lang),
        "history": history,
        "ahead": ahead,
        "key_metrics": [(k, translate(labels.METRICS[k], lang)) for k in KEY_METRICS],
    }
    if full:
        svg, terms = waterfall(h.rating, lang)
        context |= {"waterfall": svg, "terms": terms}
    return context


class StoreQuery:
    """What the store page and its what-if fragment are asked for: the store and the what-if
    form's fields."""

    def __init__(
        self,
        request: Request,
        seller_id: SellerIdDep,
        marketplace: str,
        resolve: Resolve = None,
        add_orders: AddOrders = None,
    ) -> None:
        self.request, self.seller_id, self.marketplace = request, seller_id, marketplace
        self.resolve, self.add_orders = resolve or [], add_orders

    def page(self, template: str, *, full: bool) -> HTMLResponse:
        """``template`` with the store's context: the whole page when ``full``, else what the
        what-if fragment shows."""
        context = _store_context(
            self.request, self.seller_id, self.marketplace, self.resolve, self.add_orders, full=full
        )
        return render(self.request, template, seller_id=self.seller_id, **context)


StoreQueryDep = Annotated[StoreQuery, Depends()]


@router.get("/sellers/{seller_id}/stores/{marketplace}", response_class=HTMLResponse)
def store_page(query: StoreQueryDep) -> HTMLResponse:
    return query.page("store.html", full=True)


@router.get("/sellers/{seller_id}/stores/{marketplace}/what-if", response_class=HTMLResponse)
def what_if_fragment(query: StoreQueryDep) -> HTMLResponse:
    """The what-if answer and, swapped out of band, the chart with the what-if forecast."""
    return query.page("what_if_fragment.html", full=False)


#: the drill-down lists at most this many records (the count says how many there are)
MAX_DRILL_DOWN_ROWS = 1000


def reason_text(reason: drilldown.Reason, lang: str) -> str:
    """A defect's reason in words, with its detail when it has one ("A-to-z Guarantee claim:
    item not received"); an unknown code is never shown as it is."""
    label = translate(labels.DEFECTS.get(reason.kind, N_("Other defect")), lang)
    if reason.detail and reason.detail in labels.DEFECT_DETAILS:
        detail = translate(labels.DEFECT_DETAILS[reason.detail], lang)
        return translate(N_("{defect}: {detail}"), lang, defect=label, detail=detail)
    return label


def drill_down_rows(
    rows: Sequence[drilldown.DefectRow], zone: ZoneInfo, lang: str
) -> list[dict[str, Any]]:
    """The drill-down's rows as the metric page shows them: each record, its order and every
    reason it counts with the local date it happened on."""
    return [
        {
            "id": r.id,
            "order_id": r.order_id,
            "reasons": [
                {
                    "kind": reason.kind,
                    "text": reason_text(reason, lang),
                    "day": reason.at.astimezone(zone).date() if reason.at is not None else None,
                    "at": reason.at,
                }
                for reason in r.reasons
            ],
        }
        for r in rows[:MAX_DRILL_DOWN_ROWS]
    ]


@router.get("/sellers/{seller_id}/stores/{marketplace}/metrics/{name}", response_class=HTMLResponse)
def metric_page(
    request: Request, seller_id: SellerIdDep, marketplace: str, name: str
) -> HTMLResponse:
    """A metric with every record that counts against it: what went wrong and when."""
    lang = page_language(request)
    registry: Registry = request.app.state.registry
    mp = registry.require(marketplace)
    with request.app.state.read_factory() as session:
        seller_name = get_seller(session, seller_id).name
        found = service.metric_drill_down(
            session, seller_id=seller_id, marketplace=mp, name=name, now=utcnow()
        )
    if found is None:
        if name in labels.METRICS:  # a metric Amazon reports that tsunagu does not measure
            raise NotFound(
                N_("tsunagu does not measure the {name} of a store"),
                code="metric_not_found",
                name=translate(labels.METRICS[name], lang),
            )
        raise NotFound(N_("No metric {name}"), code="metric_not_found", name=name)
    return render(
        request,
        "metric.html",
        seller_id=seller_id,
        seller_name=seller_name,
        store={"code": mp.code, "name": mp.name},
        metric=metric_row(found.metric, lang),
        kind=labels.ID_KINDS.get(name, "order"),
        rows=drill_down_rows(found.rows, mp.tz, lang),
        total=len(found.rows),
        good_numerator=found.metric.comparison != "<",
    )
