"""The points programme's pages: a store's points settings (its rate, the "2% or more" badge,
its offers' own rates) and its monthly points cost statement for the seller; a customer's
balance and history and the upcoming expiries for platform operators.

The pages call the same services as ``tsunagu points …`` and the REST API
(:mod:`tsunagu.points.service`) and show the ledger's codes in words
(:mod:`tsunagu.points.words`), never as codes. Changing a store's settings needs write access to
the seller (the path's :data:`SellerIdDep` refuses anyone else with 403); a viewer or an
operator reads the same page without its forms.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from babel.dates import format_skeleton
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from tsunagu.access.actor import Actor
from tsunagu.core.clock import utcnow
from tsunagu.core.errors import InvalidInput, TsunaguError
from tsunagu.core.i18n import N_, translate
from tsunagu.http.deps import Forbidden, SellerIdDep
from tsunagu.marketplaces.registry import Marketplace, Registry
from tsunagu.points import service, words
from tsunagu.points.config import points_of
from tsunagu.sellers.service import get_seller
from tsunagu.web.render import PageRoute, failure, page_language, render
from tsunagu.web.session import page_actor, redirect

router = APIRouter(route_class=PageRoute)

PageActor = Annotated[Actor, Depends(page_actor)]
CustomerQuery = Annotated[str, Query(max_length=100)]
MarketplaceQuery = Annotated[str, Query(max_length=20)]
#: the longest look-ahead of the upcoming-expiries page (a year and a day)
MAX_WITHIN_DAYS = 366
#: the settings form's fields, as typed (shown again after a refusal)
_FIELDS = ("rate", "sku", "sku_rate", "category")
#: history entries per page
HISTORY_PAGE = 100

_NOTICES = {
    "rate": N_("The store's points rate is saved."),
    "joined": N_('The store joined the "2% or more" badge programme.'),
    "left": N_('The store left the "2% or more" badge programme.'),
    "sku": N_("The SKU's points rate is saved."),
    "cleared": N_("The SKU follows the store's points rate again."),
}


def _market(request: Request, code: str) -> Marketplace:
    registry: Registry = request.app.state.registry
    return registry.require(code)


def _enabled(mp: Marketplace) -> bool:
    return bool(points_of(mp).enabled)


def _disabled_text(mp: Marketplace, lang: str) -> str:
    return translate(
        N_("The points programme is not enabled in {marketplace}"), lang, marketplace=mp.code
    )


# -- a store's points settings ----------------------------------------------------------------------


def _settings_page(
    request: Request,
    seller_id: str,
    mp: Marketplace,
    actor: Actor,
    *,
    badge_only: bool = False,
    status: int = 200,
    error: TsunaguError | None = None,
    typed: dict[str, str] | None = None,
) -> HTMLResponse:
    lang = page_language(request)
    with request.app.state.read_factory() as session:
        name = get_seller(session, seller_id).name
        found = service.store_settings(session, seller_id=seller_id, marketplace=mp)
        offers = service.offers(
            session, seller_id=seller_id, marketplace=mp, badge=True if badge_only else None
        )
    done = request.query_params.get("done") or ""
    return render(
        request,
        "points_settings.html",
        status=status,
        seller_id=seller_id,
        seller_name=name,
        store={"code": mp.code, "name": mp.name},
        zone=mp.tz,
        enabled=found.enabled,
        disabled_text=_disabled_text(mp, lang),
        settings=found,
        offers=offers,
        badge_only=badge_only,
        can_write=actor.allows(seller_id, "write"),
        notice=translate(_NOTICES[done], lang) if done in _NOTICES else None,
        error=failure(request, error) if error is not None else None,
        typed=typed or dict.fromkeys(_FIELDS, ""),
    )


@router.get("/sellers/{seller_id}/stores/{marketplace}/points", response_class=HTMLResponse)
def settings_page(
    request: Request,
    seller_id: SellerIdDep,
    marketplace: str,
    actor: PageActor,
    badge: Annotated[str, Query(max_length=5)] = "",
) -> HTMLResponse:
    """The store's rate, its badge membership and its offers (``badge=1``: only those with the
    badge)."""
    mp = _market(request, marketplace)
    return _settings_page(request, seller_id, mp, actor, badge_only=badge == "1")


@router.post("/sellers/{seller_id}/stores/{marketplace}/points", response_class=HTMLResponse)
async def settings_change(
    request: Request, seller_id: SellerIdDep, marketplace: str, actor: PageActor
) -> Response:
    """One change (the form's ``action``): ``rate`` (the store's), ``badge`` (join or leave),
    ``sku`` (a SKU's own rate; an empty rate follows the store's again)."""
    form = await request.form(max_fields=10)
    return _change(request, seller_id, marketplace, actor, form)


def _change(
    request: Request, seller_id: str, marketplace: str, actor: Actor, form: FormData
) -> Response:
    mp = _market(request, marketplace)
    action = _text(form, "action")
    typed = {key: _text(form, key) for key in _FIELDS}
    try:
        service.require_enabled(mp)
        change: dict[str, Any] = {"rate": None, "sku": None}
        if action == "rate":
            change["rate"] = _rate_of(typed["rate"], required=True)
            done = "rate"
        elif action == "badge":
            change["badge"] = _text(form, "badge") == "join"
            done = "joined" if change["badge"] else "left"
        elif action == "sku":
            change["sku"] = typed["sku"]
            change["rate"] = _rate_of(typed["sku_rate"], required=False)
            change["category"] = typed["category"] or None
            done = "sku" if change["rate"] is not None else "cleared"
        else:
            raise InvalidInput(N_("The form has a value that is not valid."), code="invalid_value")
        with request.app.state.factory() as session:
            service.set_rate(
                session,
                seller_id=seller_id,
                marketplace=mp,
                actor=actor.name,
                now=utcnow(),
                **change,
            )
            session.commit()
    except TsunaguError as error:
        status = error.status if error.status >= 400 else 422
        return _settings_page(
            request, seller_id, mp, actor, status=status, error=error, typed=typed
        )
    return redirect(f"/sellers/{seller_id}/stores/{mp.code}/points?done={done}")


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip()[:200] if isinstance(value, str) else ""


def _rate_of(text: str, *, required: bool) -> int | None:
    """A rate typed in a form: a whole percentage (the service checks 0–50); blank is None
    where it may be (a SKU that follows the store's rate again)."""
    if not text and not required:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 3:
        raise InvalidInput(
            N_("{field} must be a whole percentage from 0 to 50"),
            code="invalid_rate",
            field="rate",
            details={"field": "rate", "value": text},
        )
    return int(text)


# -- the store's points cost statement ---------------------------------------------------------------


def month_name(month: str, lang: str) -> str:
    """``2026-03`` → "March 2026" / "2026年3月"."""
    year, number = (int(part) for part in month.split("-"))
    return str(format_skeleton("yMMMM", date(year, number, 1), locale=lang))


@router.get(
    "/sellers/{seller_id}/stores/{marketplace}/points/statement", response_class=HTMLResponse
)
def statement_page(request: Request, seller_id: SellerIdDep, marketplace: str) -> HTMLResponse:
    """Per month: the points granted and returned, what they cost the store, and the referral
    fee they saved."""
    lang = page_language(request)
    mp = _market(request, marketplace)
    with request.app.state.read_factory() as session:
        name = get_seller(session, seller_id).name
        months = service.statement(session, seller_id=seller_id, marketplace=mp)
    return render(
        request,
        "points_statement.html",
        seller_id=seller_id,
        seller_name=name,
        store={"code": mp.code, "name": mp.name},
        enabled=_enabled(mp),
        disabled_text=_disabled_text(mp, lang),
        months=[{"name": month_name(m.month, lang), "row": m} for m in months],
    )


# -- operators: a customer's points, upcoming expiries ------------------------------------------------


def _operator(actor: Actor) -> None:
    if not actor.is_operator:
        raise Forbidden(N_("Only platform operators can see customers' points."))


def _operator_market(request: Request, code: str) -> tuple[Marketplace, list[str]]:
    """The marketplace asked for (the first where the programme runs by default), and the
    codes a form may choose from."""
    registry: Registry = request.app.state.registry
    codes = [mp.code for mp in registry.marketplaces]
    if not code:
        code = next((mp.code for mp in registry.marketplaces if _enabled(mp)), codes[0])
    return registry.require(code), codes


def history_row(entry: service.HistoryEntry, lang: str) -> dict[str, Any]:
    """One ledger entry as an operator reads it: words for its kind and reason."""
    return {
        "id": entry.id,
        "at": entry.at,
        "kind": entry.kind,
        "what": words.kind_text(entry.kind, lang),
        "reason": words.reason_text(entry.reason, entry.order_id, lang),
        "points": entry.points,
        "order_id": entry.order_id,
        "seller_id": entry.seller_id,
        "expires_at": entry.expires_at,
        "shortfall": entry.shortfall,
    }


@router.get("/points/customers", response_class=HTMLResponse)
def customer_page(
    request: Request,
    actor: PageActor,
    marketplace: MarketplaceQuery = "",
    customer: CustomerQuery = "",
    before: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    """A customer's balance (pending, available, when it expires) and history, newest first."""
    _operator(actor)
    lang = page_language(request)
    mp, codes = _operator_market(request, marketplace)
    customer = customer.strip()
    balance = None
    rows: list[dict[str, Any]] = []
    if customer and _enabled(mp):
        with request.app.state.read_factory() as session:
            balance = service.balance(session, marketplace=mp, customer=customer)
            found = service.history(
                session, marketplace=mp, customer=customer, before_id=before, limit=HISTORY_PAGE
            )
        rows = [history_row(e, lang) for e in found]
    older = rows[-1]["id"] if len(rows) == HISTORY_PAGE else None
    return render(
        request,
        "points_customer.html",
        marketplaces=codes,
        chosen=mp.code,
        zone=mp.tz,
        enabled=_enabled(mp),
        disabled_text=_disabled_text(mp, lang),
        customer=customer,
        balance=balance,
        history=rows,
        older=older,
        first_page=before is None,
    )


def warned_text(days: tuple[int, ...], lang: str) -> str:
    """The warnings recorded for an expiry: "30 and 7 days before" in words."""
    if not days:
        return translate(N_("None yet"), lang)
    return ("、" if lang == "ja" else ", ").join(
        translate(N_("{days} days before"), lang, days=d) for d in sorted(days, reverse=True)
    )


@router.get("/points/expiries", response_class=HTMLResponse)
def expiries_page(
    request: Request,
    actor: PageActor,
    marketplace: MarketplaceQuery = "",
    within_days: Annotated[int, Query(ge=1, le=MAX_WITHIN_DAYS)] = 30,
) -> HTMLResponse:
    """Balances that expire within ``within_days`` from now, soonest first."""
    _operator(actor)
    lang = page_language(request)
    mp, codes = _operator_market(request, marketplace)
    now: datetime = utcnow()
    rows: list[dict[str, Any]] = []
    if _enabled(mp):
        with request.app.state.read_factory() as session:
            found = service.upcoming_expiries(
                session, marketplace=mp, as_of=now, within_days=within_days
            )
        rows = [
            {
                "customer": e.customer,
                "points": e.available,
                "expires_at": e.expires_at,
                "warned": warned_text(e.warned_days, lang),
            }
            for e in found
        ]
    return render(
        request,
        "points_expiries.html",
        marketplaces=codes,
        chosen=mp.code,
        zone=mp.tz,
        enabled=_enabled(mp),
        disabled_text=_disabled_text(mp, lang),
        within_days=within_days,
        max_days=MAX_WITHIN_DAYS,
        expiries=rows,
    )
