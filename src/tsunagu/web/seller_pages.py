"""A seller's overview (every store side by side) and alerts pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tsunagu.core.clock import utcnow
from tsunagu.core.i18n import translate
from tsunagu.enforcement import service as enforcement
from tsunagu.health import alert_service, alert_words, incremental
from tsunagu.health import service as health_service
from tsunagu.health.metrics import MetricResult
from tsunagu.health.models import HealthAlert
from tsunagu.health.rules import StoreHealth
from tsunagu.http.deps import SellerIdDep
from tsunagu.marketplaces.registry import Marketplace, Registry
from tsunagu.sellers.service import get_seller
from tsunagu.web import labels, store_coverage
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
    """The alerts as the tables show them: in words, with the value and the target."""
    rows = []
    for a in alerts:
        level = alert_words.level_of(a.kind, a.level, a.details)
        if a.kind == "metric_margin":
            subject = alert_words.metric_name(a.subject, lang)
        elif a.kind == "account_status":
            subject = alert_words.status_name(a.subject, lang)
        else:
            subject = alert_words.band_name(a.subject, lang)
        mp = registry.get(a.marketplace)
        rows.append(
            {
                "marketplace": a.marketplace,
                "store_name": mp.name if mp is not None else a.marketplace,
                "kind": alert_words.kind_label(a.kind, level, lang),
                "level": level,
                "level_label": translate(alert_words.LEVEL_LABELS[level], lang) if level else "",
                "subject": subject,
                "text": alert_words.describe(a.kind, a.subject, a.level, a.details, lang),
                "value": alert_words.value_text(a.kind, a.details),
                "target": alert_words.target_text(a.kind, a.details),
                "threshold": alert_words.threshold_text(a.kind, a.details),
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
        for h, store in zip(found, stores, strict=True):
            covered = health_service.coverage_for(session, h, registry.require(h.marketplace))
            store_coverage.apply_coverage(store, covered, lang)
            store["metric_banners"] = store_coverage.metric_banners(h, covered, lang)
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


def _alerts(
    request: Request, seller_id: str, *, checked: dict[str, Any] | None = None
) -> HTMLResponse:
    lang = page_language(request)
    registry: Registry = request.app.state.registry
    actor = getattr(request.state, "actor", None)
    with request.app.state.read_factory() as session:
        name = get_seller(session, seller_id).name
        found = alert_service.list_alerts(session, seller_id=seller_id)
        rows = alert_rows(found, registry, lang)
    return render(
        request,
        "alerts.html",
        seller_id=seller_id,
        seller_name=name,
        alerts=rows,
        checked=checked,
        can_check=actor is not None and actor.allows(seller_id, "write"),
    )


@router.get("/sellers/{seller_id}/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, seller_id: SellerIdDep) -> HTMLResponse:
    return _alerts(request, seller_id)


@router.post("/sellers/{seller_id}/alerts/check", response_class=HTMLResponse)
def alerts_check(request: Request, seller_id: SellerIdDep) -> HTMLResponse:
    """The "check now" button: check every store of the seller for today and show what changed (a write:
    the session's form must come from this site, like every dashboard form)."""
    registry: Registry = request.app.state.registry
    with request.app.state.factory() as session:
        found = alert_service.check_seller(
            session, seller_id=seller_id, registry=registry, day=None, now=utcnow()
        )
        session.commit()
        checked = {
            "stores": len(found),
            "raised": sum(len(c.raised) for c in found),
            "cleared": sum(len(c.cleared) for c in found),
            "active": sum(len(c.active) for c in found),
        }
    return _alerts(request, seller_id, checked=checked)
