"""A seller's overview (every store side by side) and alerts pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tsunagu.core.clock import utcnow
from tsunagu.core.i18n import translate
from tsunagu.enforcement import service as enforcement
from tsunagu.health import alert_service, incremental
from tsunagu.health.metrics import MetricResult
from tsunagu.health.models import HealthAlert
from tsunagu.health.rules import StoreHealth
from tsunagu.http.deps import SellerIdDep
from tsunagu.marketplaces.registry import Marketplace, Registry
from tsunagu.sellers.service import get_seller
from tsunagu.web import labels
from tsunagu.web.render import PageRoute, page_language, render

router = APIRouter(route_class=PageRoute)

COMPARISONS = {"<": "<", ">=": "≥", ">": ">"}


def metric_row(m: MetricResult, lang: str) -> dict[str, Any]:
    """One metric as the pages show it (shared by the overview and the store page)."""
    return {
        "name": m.name,
        "label": translate(labels.METRICS.get(m.name, m.name), lang),
        "rate": m.rate,
        "target": m.target,
        "comparison": COMPARISONS.get(m.comparison, m.comparison),
        "status": m.status,
        "status_label": translate(labels.STATUS[m.status], lang),
        "numerator": m.numerator,
        "denominator": m.denominator,
        "not_measurable": m.not_measurable,
        "window": m.window,
    }


def store_summary(h: StoreHealth, marketplace: Marketplace, lang: str) -> dict[str, Any]:
    band = h.rating.band
    return {
        "code": marketplace.code,
        "name": marketplace.name,
        "zone": marketplace.tz,
        "currency": marketplace.currency,
        "day": h.day,
        "evaluated_at": h.evaluated_at,
        "score": h.rating.score,
        "band": band,
        "band_label": translate(labels.BANDS.get(band, band), lang),
        "fulfilled_orders": h.fulfilled_orders,
        "open_violations": len(h.open_violations),
        "metrics": [metric_row(m, lang) for m in h.metrics.values()],
        "has_orders": any(m.denominator for m in h.metrics.values()) or h.fulfilled_orders > 0,
    }


def alert_rows(alerts: list[HealthAlert], registry: Registry, lang: str) -> list[dict[str, Any]]:
    rows = []
    for a in alerts:
        subject = a.subject
        if a.kind == "metric_margin":
            subject = labels.METRICS.get(subject, subject)
        else:
            subject = labels.BANDS.get(subject, subject)
        mp = registry.get(a.marketplace)
        rows.append(
            {
                "marketplace": a.marketplace,
                "kind": translate(labels.ALERT_KINDS.get(a.kind, a.kind), lang),
                "subject": translate(subject, lang),
                "raised_at": a.raised_at,
                "cleared_on": a.cleared_on,
                "zone": mp.tz if mp is not None else None,
                "score": a.details.get("score"),
            }
        )
    return rows


@router.get("/sellers/{seller_id}", response_class=HTMLResponse)
def overview(request: Request, seller_id: SellerIdDep) -> HTMLResponse:
    lang = page_language(request)
    registry: Registry = request.app.state.registry
    now = utcnow()
    with request.app.state.read_factory() as session:
        seller = get_seller(session, seller_id)
        name = seller.name
        found = incremental.seller_health_now(
            session, seller_id=seller_id, registry=registry, now=now
        )
        stores = [store_summary(h, registry.require(h.marketplace), lang) for h in found]
        for store in stores:
            status = enforcement.store_status(
                session, seller_id=seller_id, marketplace=store["code"]
            ).status
            store["account_status"] = translate(labels.ENFORCEMENT_STATUS.get(status, status), lang)
            store["account_status_code"] = status
        alerts = alert_service.list_alerts(session, seller_id=seller_id, active_only=True)
        rows = alert_rows(alerts, registry, lang)
    return render(
        request,
        "overview.html",
        seller_id=seller_id,
        seller_name=name,
        stores=stores,
        alerts=rows,
    )


@router.get("/sellers/{seller_id}/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, seller_id: SellerIdDep) -> HTMLResponse:
    lang = page_language(request)
    registry: Registry = request.app.state.registry
    with request.app.state.read_factory() as session:
        name = get_seller(session, seller_id).name
        found = alert_service.list_alerts(session, seller_id=seller_id)
        rows = alert_rows(found, registry, lang)
    return render(request, "alerts.html", seller_id=seller_id, seller_name=name, alerts=rows)
