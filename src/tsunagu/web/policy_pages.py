"""A store's policy compliance page: each violation with its policy in Seller Central's words,
its ASIN, severity, opening day, the points it costs the rating, the day it ages out, its status
and its evidence; beside them Amazon's per-policy counts from the store's latest V2 report.

The page shows what :func:`tsunagu.health.compliance.policy_compliance` decides, in words
(:mod:`tsunagu.violations.words`), never as codes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tsunagu.core.clock import utcnow
from tsunagu.core.i18n import translate
from tsunagu.health.compliance import PolicyCompliance, PolicyCount, ViolationLine
from tsunagu.health.compliance import policy_compliance as compliance_of
from tsunagu.http.deps import SellerIdDep
from tsunagu.marketplaces.registry import Registry
from tsunagu.sellers.service import get_seller
from tsunagu.violations import words
from tsunagu.web.render import PageRoute, page_language, render

router = APIRouter(route_class=PageRoute)


def _line(v: ViolationLine, lang: str) -> dict[str, Any]:
    return {
        "id": v.violation_id,
        "policy": words.policy_name(v.policy, lang),
        "severity": words.severity_word(v.severity, lang),
        "severity_key": v.severity if v.severity in words.SEVERITY else "none",
        "asin": v.asin,
        "opened_at": v.opened_at,
        "resolved_at": v.resolved_at,
        "ages_out_on": v.ages_out_on,
        "status": v.status,
        "status_label": words.status_word(v.status, lang),
        "counts": v.counts,
        "points": v.points,
        "repeat": v.repeat,
        "zeroes": v.sets_rating_to_zero,
        "opened_by": v.opened_by,
        "resolved_by": v.resolved_by,
    }


def _policy(p: PolicyCount, lang: str) -> dict[str, Any]:
    return {
        "key": p.policy,
        "name": words.policy_name(p.policy, lang),
        "tsunagu": p.tsunagu,
        "amazon": p.amazon,
        "shown": p.shown,
        "source": p.source,
    }


def page_context(found: PolicyCompliance, lang: str) -> dict[str, Any]:
    return {
        "compliance": found,
        "section": translate(words.SECTION, lang),
        "lines": [_line(v, lang) for v in found.violations],
        "policies": [_policy(p, lang) for p in found.policies],
        "from_amazon": [p for p in found.policies if p.source == "amazon" and p.amazon],
        "open_count": sum(1 for v in found.violations if v.counts),
    }


@router.get("/sellers/{seller_id}/stores/{marketplace}/policy", response_class=HTMLResponse)
def policy_page(request: Request, seller_id: SellerIdDep, marketplace: str) -> HTMLResponse:
    lang = page_language(request)
    registry: Registry = request.app.state.registry
    mp = registry.require(marketplace)
    with request.app.state.read_factory() as session:
        name = get_seller(session, seller_id).name
        found = compliance_of(session, seller_id=seller_id, marketplace=mp, now=utcnow())
    return render(
        request,
        "policy.html",
        seller_id=seller_id,
        seller_name=name,
        store={"code": mp.code, "name": mp.name},
        zone=mp.tz,
        **page_context(found, lang),
    )
