"""``/v1`` routes of the points slice.

Two sides, two access rules:

* **the marketplace's customers** (``/v1/points/…``): balances, history, checkout redemptions,
  points from outside sources, adjustments and expiry act for the marketplace itself, so only
  platform operators (and the installation's owner) call them; anyone else gets 403
  ``forbidden``, and an operator's ``read`` API token only reads;
* **a store's programme** (``/v1/sellers/{seller_id}/stores/{marketplace}/points…``): its rate,
  badge, offers and cost statement follow the one seller access rule (``seller_access``).

A redemption runs in transactions of its own (:func:`tsunagu.points.redemptions.redeem`: claim
the key, then spend), so its route opens none around it. The other writes open one writing
session each, as every slice does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.responses import Response

from tsunagu.access.actor import Actor
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import InvalidInput, TsunaguError
from tsunagu.core.i18n import N_
from tsunagu.core.paging import instant, next_page, read_cursor, text
from tsunagu.core.text import control_character
from tsunagu.core.timeutil import InstantError, parse_instant
from tsunagu.http.deps import (
    SAFE_METHODS,
    ActorDep,
    MarketplaceDep,
    RegistryDep,
    SellerIdDep,
    SessionDep,
    get_factory,
    signed_in_router,
)
from tsunagu.http.params import STORE_404, Cursor, Limit
from tsunagu.http.responses import documented, json_answer, request_language
from tsunagu.marketplaces.registry import Marketplace, Registry
from tsunagu.points import jobs, redemptions, service, words
from tsunagu.points.schemas import (
    MAX_KEY,
    AdjustmentIn,
    BalanceOut,
    EarningIn,
    EntryOut,
    EntryPage,
    ExpiryRunIn,
    ExpiryRunOut,
    OfferIn,
    OfferOut,
    OfferPage,
    RedemptionIn,
    RedemptionOut,
    SettingsIn,
    StatementMonthOut,
    StatementOut,
    StoreSettingsOut,
    UpcomingOut,
    UpcomingPage,
)

#: every route here needs a signed-in caller
router = signed_in_router()

KEY_HEADER = "Idempotency-Key"
#: set on a redemption's answer when it is the stored answer of an earlier request
REPLAYED_HEADER = "Idempotent-Replayed"

_CUSTOMER_PATH = "/points/{marketplace}/customers/{customer}"
_STORE_PATH = "/sellers/{seller_id}/stores/{marketplace}/points"
_403 = (
    "Only platform operators act for the marketplace's customers (`forbidden`); an operator's "
    "`read` API token only reads."
)
_404_MARKETPLACE = "Unknown marketplace (`unknown_marketplace`)."
_PAGED_422 = (
    "Bad parameters (`validation_error`) or a cursor tsunagu did not make (`invalid_cursor`)."
)

CustomerPath = Annotated[
    str,
    Path(
        min_length=1, max_length=100, description="The customer: the `customer_id` of their orders."
    ),
]
SkuPath = Annotated[str, Path(min_length=1, max_length=100, description="The offer's SKU.")]
AsOfQuery = Annotated[
    str | None,
    Query(
        max_length=40,
        description="ISO-8601 instant with an offset (default now).",
        json_schema_extra={"format": "date-time"},
    ),
]


#: the API token scope that may change things (``identity.rules.TOKEN_SCOPES``)
_WRITE_SCOPE = "write"


# -- access and input --------------------------------------------------------------------------


async def operator_actor(request: Request, actor: ActorDep) -> Actor:
    """The caller, if it may act for the marketplace's customers: a platform operator or the
    installation's owner; with an API token, a ``write`` one for anything but reading."""
    if not actor.is_operator:
        raise TsunaguError(
            N_("Only platform operators may act for the marketplace's customers"),
            code="forbidden",
            status=403,
        )
    changes = request.method not in SAFE_METHODS
    if changes and actor.via == "token" and actor.token_scope != _WRITE_SCOPE:
        raise TsunaguError(
            N_("A read-only API token cannot change customers' points"),
            code="forbidden",
            status=403,
        )
    return actor


OperatorDep = Annotated[Actor, Depends(operator_actor)]
_OPERATORS_ONLY = [Depends(operator_actor)]


def _identifier(field: str, value: str, limit: int = 100) -> str:
    """A customer id from a body: printable (API-10; PostgreSQL refuses NUL)."""
    if not value.isprintable():
        raise InvalidInput(
            N_("{field} must be 1 to {limit} printable characters"),
            code="invalid_value",
            field=field,
            limit=limit,
            details={"field": field},
        )
    return value


def _plain_text(field: str, value: str | None) -> str | None:
    if value is not None and control_character(value) is not None:
        raise InvalidInput(
            N_("{field} must not hold control characters."),
            code="invalid_value",
            field=field,
            details={"field": field},
        )
    return value


def _as_of(value: str | None, field: str = "as_of") -> datetime:
    """An instant from the request, or now; ``invalid_as_of`` (422) otherwise."""
    if value is None:
        return utcnow()
    try:
        return parse_instant(value)
    except InstantError as exc:
        raise InvalidInput(
            N_(
                "{field} must be an ISO-8601 time with an offset in the years 1970 to 2999, "
                "e.g. 2026-11-25T09:00:00+09:00"
            ),
            code="invalid_as_of",
            field=field,
            details={"field": field},
        ) from exc


def _key_required() -> TsunaguError:
    return TsunaguError(
        N_("The Idempotency-Key header is required: it makes a retry safe"),
        code="idempotency_key_required",
        status=400,
        details={"header": KEY_HEADER},
    )


def _one_key(header: str | None, body: str | None) -> str:
    """An outside source's idempotency key, from the header or the body (the same if both)."""
    if header is not None and body is not None and header != body:
        raise InvalidInput(
            N_("The Idempotency-Key header and the body's key differ"),
            code="invalid_key",
            details={"field": "key"},
        )
    key = header if header is not None else body
    if key is None:
        raise TsunaguError(
            N_("An idempotency key is required, in the Idempotency-Key header or the body's key"),
            code="idempotency_key_required",
            status=400,
            details={"header": KEY_HEADER, "field": "key"},
        )
    if len(key) > MAX_KEY:
        raise InvalidInput(
            N_("{field} must be 1 to {limit} printable characters"),
            code="invalid_key",
            field=KEY_HEADER,
            limit=MAX_KEY,
            details={"field": KEY_HEADER},
        )
    return key


def _body_marketplace(registry: Registry, code: str) -> Marketplace:
    return registry.require(code, InvalidInput)


def _key_header(required: bool, limit: int) -> dict[str, Any]:
    """The ``Idempotency-Key`` header in the API description (the route reads it itself, to
    answer a missing one with ``idempotency_key_required``)."""
    return {
        "parameters": [
            {
                "name": KEY_HEADER,
                "in": "header",
                "required": required,
                "description": "A key of the client's choosing, one per intended operation: "
                "sent again with the same body, it answers what the first request answered "
                "and changes nothing more.",
                "schema": {"type": "string", "minLength": 1, "maxLength": limit},
                "example": "checkout-503-1234567-1234567-1",
            }
        ]
    }


# -- a customer's balance and history ----------------------------------------------------------


@router.get(
    _CUSTOMER_PATH,
    tags=["points"],
    summary="A customer's points balance",
    dependencies=_OPERATORS_ONLY,
    responses=documented(422, e403=_403, e404=_404_MARKETPLACE),
)
def customer_balance(
    marketplace: MarketplaceDep, customer: CustomerPath, session: SessionDep
) -> BalanceOut:
    """What `tsunagu points balance --json` prints: pending and available points and when the
    available balance expires. A customer tsunagu has not met has none (zeros, no expiry)."""
    return BalanceOut.of(service.balance(session, marketplace=marketplace, customer=customer))


def _entry_id(value: str) -> int:
    # at most 18 digits: any such number fits the 64-bit id column on both databases
    if not value.isdecimal() or len(value) > 18:
        raise ValueError("not an entry id")
    return int(value)


@router.get(
    _CUSTOMER_PATH + "/entries",
    tags=["points"],
    summary="A customer's points history, newest first",
    dependencies=_OPERATORS_ONLY,
    responses=documented(e403=_403, e404=_404_MARKETPLACE, e422=_PAGED_422),
)
def customer_entries(
    request: Request,
    marketplace: MarketplaceDep,
    customer: CustomerPath,
    session: SessionDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> EntryPage:
    """Every ledger entry of the customer's points, with its reason and the expiry after it;
    `kind_text` and `reason_text` are in the language of `Accept-Language`. Page with
    `cursor`."""
    after = read_cursor(cursor, _entry_id)
    rows = service.history(
        session,
        marketplace=marketplace,
        customer=customer,
        before_id=after[0] if after else None,
        limit=limit + 1,
    )
    page, next_cursor = next_page(rows, limit, lambda e: (str(e.id),))
    lang = request_language(request)
    return EntryPage(
        items=[
            EntryOut.of(
                e,
                kind_text=words.kind_text(e.kind, lang),
                reason_text=words.reason_text(e.reason, e.order_id, lang),
            )
            for e in page
        ],
        next_cursor=next_cursor,
    )


# -- redemptions, outside points, adjustments --------------------------------------------------


@router.post(
    "/points/redemptions",
    tags=["points"],
    summary="Spend a customer's points at checkout (Idempotency-Key)",
    status_code=201,
    response_model=RedemptionOut,
    dependencies=_OPERATORS_ONLY,
    openapi_extra=_key_header(required=True, limit=MAX_KEY),
    responses={
        201: {
            "description": "Spent; or the stored answer of the first request with this key.",
            "headers": {
                REPLAYED_HEADER: {
                    "description": "`true` when this is the first request's stored answer.",
                    "schema": {"type": "string"},
                }
            },
        },
        **documented(
            413,
            e400="The body is not JSON (`invalid_json`), or no `Idempotency-Key` header "
            "(`idempotency_key_required`).",
            e403=_403,
            e409="The first request with this key is still being processed "
            "(`idempotency_in_flight`); try again shortly.",
            e422="Bad body (`validation_error`: points and prices are whole numbers, never "
            '30.0 or "30"); not enough available points (`insufficient_points`, '
            "`details.available`); more points than the eligible lines cost "
            "(`exceeds_eligible_amount`, `details.eligible`); the key used with another "
            "body (`idempotency_mismatch`); an unknown marketplace (`unknown_marketplace`) or "
            "one without the programme (`points_disabled`); a bad key (`invalid_key`) or "
            "text (`invalid_value`).",
        ),
    },
)
def redeem(request: Request, body: RedemptionIn, registry: RegistryDep) -> Response:
    """What `tsunagu points redeem --json` does: spend `points` of the customer's available
    points on the order, once per `Idempotency-Key`. The same key with the same body answers
    the first request's status and body again (refusals included) and spends nothing more;
    with another body it is `idempotency_mismatch`."""
    key = request.headers.get(KEY_HEADER)
    if key is None:
        raise _key_required()
    checked = redemptions.check_request(
        marketplace=_body_marketplace(registry, body.marketplace),
        customer=body.customer,
        order_id=body.order_id,
        points=body.points,
        key=key,
        lines=None if body.lines is None else [(line.category, line.price) for line in body.lines],
    )
    found = redemptions.redeem(get_factory(request), checked)
    answer = json_answer(found.body, status_code=found.status)
    if found.replayed:
        answer.headers[REPLAYED_HEADER] = "true"
    return answer


@router.post(
    "/points/earnings",
    tags=["points"],
    summary="Points from outside the marketplace (a co-branded card …)",
    dependencies=_OPERATORS_ONLY,
    openapi_extra=_key_header(required=False, limit=MAX_KEY),
    responses=documented(
        413,
        e400="The body is not JSON (`invalid_json`), or no key in the `Idempotency-Key` header "
        "nor the body (`idempotency_key_required`).",
        e403=_403,
        e422="Bad body (`validation_error`), a source name that is not letters, digits, dots, "
        "dashes or underscores (`invalid_source`), a header and body key that differ or a bad "
        "key (`invalid_key`), the key used with another body (`idempotency_mismatch`), an "
        "unknown marketplace (`unknown_marketplace`) or one without the programme "
        "(`points_disabled`), text with a character that is not printable (`invalid_value`).",
    ),
)
def earn(request: Request, body: EarningIn, registry: RegistryDep) -> BalanceOut:
    """Points available at once, and an acquisition for the expiry rule (the balance's expiry
    moves a year ahead). The same key again changes nothing; the answer is the balance now."""
    market = _body_marketplace(registry, body.marketplace)
    key = _one_key(request.headers.get(KEY_HEADER), body.key)
    with unit_of_work(get_factory(request)) as session:
        found = service.earn(
            session,
            marketplace=market,
            customer=_identifier("customer", body.customer),
            points=body.points,
            source=body.source,
            key=key,
            now=utcnow(),
        )
        return BalanceOut.of(found)


@router.post(
    "/points/adjustments",
    tags=["points"],
    summary="Correct a customer's available points",
    responses=documented(
        413,
        e403=_403,
        e404="No such customer in the marketplace (`customer_not_found`).",
        e422="Bad body (`validation_error`), 0 points (`invalid_points`), a blank note "
        "(`missing_field`), more points taken than available (`insufficient_points`), an "
        "unknown marketplace (`unknown_marketplace`), a bad key (`invalid_key`) or text with "
        "a control character (`invalid_value`).",
    ),
)
def adjust(
    request: Request, body: AdjustmentIn, actor: OperatorDep, registry: RegistryDep
) -> BalanceOut:
    """An `adjust` ledger entry (audited) adding or taking points; the balance never goes
    below zero. The same key again changes nothing; the answer is the balance now."""
    market = _body_marketplace(registry, body.marketplace)
    _plain_text("note", body.note)
    with unit_of_work(get_factory(request)) as session:
        found = service.adjust(
            session,
            marketplace=market,
            customer=_identifier("customer", body.customer),
            points=body.points,
            note=body.note,
            key=body.key,
            actor=actor.name,
            now=utcnow(),
        )
        return BalanceOut.of(found)


# -- expiry -------------------------------------------------------------------------------------


@router.post(
    "/points/expiry-runs",
    tags=["points"],
    summary="Run the points expiry",
    dependencies=_OPERATORS_ONLY,
    responses=documented(
        413,
        e403=_403,
        e422="Bad body (`validation_error`), an `as_of` that is not an instant with an offset "
        "(`invalid_as_of`) or lies in the future (`as_of_in_future`).",
    ),
)
def run_expiry(request: Request, registry: RegistryDep, body: ExpiryRunIn) -> ExpiryRunOut:
    """What `tsunagu points expire --json` does: make settled grants available, then expire
    every balance whose year has passed by `as_of` (the whole available balance, never
    pending points) and record the warnings due 30 and 7 days before. Idempotent: a second
    run for the same instant changes nothing. An `as_of` in the future is refused: it would
    expire balances before their time, for good."""
    as_of = _as_of(body.as_of)
    if as_of > utcnow():
        raise InvalidInput(
            N_("{field} lies in the future: expiry runs only for instants that have passed"),
            code="as_of_in_future",
            field="as_of",
            details={"field": "as_of"},
        )
    with unit_of_work(get_factory(request)) as session:
        found = jobs.run_expiry(session, registry=registry, as_of=as_of)
        return ExpiryRunOut.model_validate(found)


@router.get(
    "/points/{marketplace}/expiries",
    tags=["points"],
    summary="Balances that expire soon",
    dependencies=_OPERATORS_ONLY,
    responses=documented(
        e403=_403,
        e404=_404_MARKETPLACE,
        e422="Bad parameters (`validation_error`), a cursor tsunagu did not make "
        "(`invalid_cursor`) or an `as_of` that is not an instant (`invalid_as_of`).",
    ),
)
def upcoming_expiries(
    marketplace: MarketplaceDep,
    session: SessionDep,
    within_days: Annotated[
        int, Query(ge=1, le=366, description="How far ahead to look, in days.")
    ] = 30,
    as_of: AsOfQuery = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> UpcomingPage:
    """Customers whose available points expire after `as_of` and within `within_days`,
    soonest first, with the warnings recorded so far; page with `cursor`."""
    after = read_cursor(cursor, instant, text)
    rows = sorted(
        service.upcoming_expiries(
            session, marketplace=marketplace, as_of=_as_of(as_of), within_days=within_days
        ),
        key=lambda u: (u.expires_at, u.customer),
    )
    if after is not None:
        rows = [u for u in rows if (u.expires_at, u.customer) > (after[0], after[1])]
    page, next_cursor = next_page(rows[: limit + 1], limit, lambda u: (u.expires_at, u.customer))
    return UpcomingPage(items=[UpcomingOut.of(u) for u in page], next_cursor=next_cursor)


# -- a store's settings, offers and statement -------------------------------------------------


@router.get(
    _STORE_PATH,
    tags=["points"],
    summary="A store's points settings",
    responses=documented(422, e404=STORE_404),
)
def store_settings(
    seller_id: SellerIdDep, marketplace: MarketplaceDep, session: SessionDep
) -> StoreSettingsOut:
    """The store's points rate (its own or the marketplace's default), its badge membership,
    the settling delay and how many offers carry the "2% or more" badge."""
    return StoreSettingsOut.of(
        service.store_settings(session, seller_id=seller_id, marketplace=marketplace)
    )


@router.put(
    _STORE_PATH,
    tags=["points"],
    summary="Set a store's points rate or badge membership",
    responses=documented(
        413, e404=STORE_404, e422="Bad body (`validation_error`: a whole percentage 0–50)."
    ),
)
def set_store_settings(
    request: Request,
    seller_id: SellerIdDep,
    marketplace: MarketplaceDep,
    actor: ActorDep,
    body: SettingsIn,
) -> StoreSettingsOut:
    """What `tsunagu points settings --rate` does for the store (audited); `badge` joins or
    leaves the "2% or more" badge. A field left out (or null) stays as it is."""
    with unit_of_work(get_factory(request)) as session:
        if body.rate is None and body.badge is None:
            found = service.store_settings(session, seller_id=seller_id, marketplace=marketplace)
        else:
            found = service.set_rate(
                session,
                seller_id=seller_id,
                marketplace=marketplace,
                rate=body.rate,
                sku=None,
                actor=actor.name,
                now=utcnow(),
                badge=body.badge,
            )
        return StoreSettingsOut.of(found)


@router.get(
    _STORE_PATH + "/offers",
    tags=["points"],
    summary="A store's offers with their points rate and badge",
    responses=documented(e404=STORE_404, e422=_PAGED_422),
)
def store_offers(
    seller_id: SellerIdDep,
    marketplace: MarketplaceDep,
    session: SessionDep,
    badge: Annotated[
        bool | None, Query(description="Only offers with (true) or without the badge.")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> OfferPage:
    """By SKU: the offer's own rate (null: the store's), the rate that applies and whether it
    carries the "2% or more" badge; page with `cursor`."""
    after = read_cursor(cursor, text)
    views = service.offers(session, seller_id=seller_id, marketplace=marketplace, badge=badge)
    if after is not None:
        views = [v for v in views if v.sku > after[0]]
    page, next_cursor = next_page(views[: limit + 1], limit, lambda v: (v.sku,))
    return OfferPage(items=[OfferOut.of(v) for v in page], next_cursor=next_cursor)


@router.put(
    _STORE_PATH + "/offers/{sku}",
    tags=["points"],
    summary="Set a SKU's own points rate and category",
    responses=documented(
        413,
        e404=STORE_404,
        e422="Bad body (`validation_error`: a whole percentage 0–50 or null), a blank SKU "
        "(`invalid_sku`) or a category with a control character (`invalid_value`).",
    ),
)
def set_offer(
    request: Request,
    seller_id: SellerIdDep,
    marketplace: MarketplaceDep,
    sku: SkuPath,
    actor: ActorDep,
    body: OfferIn,
) -> OfferOut:
    """What `tsunagu points settings --sku` does (audited): the SKU's own rate, which wins over
    the store's (null: follow the store's again), and its category; the offer is created when
    new."""
    with unit_of_work(get_factory(request)) as session:
        service.set_rate(
            session,
            seller_id=seller_id,
            marketplace=marketplace,
            rate=body.rate,
            sku=sku,
            actor=actor.name,
            now=utcnow(),
            category=_plain_text("category", body.category),
        )
        views = service.offers(session, seller_id=seller_id, marketplace=marketplace)
        return OfferOut.of(next(v for v in views if v.sku == sku.strip()))


@router.get(
    _STORE_PATH + "/statement",
    tags=["points"],
    summary="A store's points cost per month",
    responses=documented(422, e404=STORE_404),
)
def store_statement(
    seller_id: SellerIdDep, marketplace: MarketplaceDep, session: SessionDep
) -> StatementOut:
    """Per month of the marketplace's calendar, newest first: points granted (each cost the
    store 1 unit of currency), points returned by refunds, the net cost and the referral fee
    the points saved. From what the programme posted to the store's settlement ledger."""
    months = service.statement(session, seller_id=seller_id, marketplace=marketplace)
    return StatementOut(
        seller_id=seller_id,
        marketplace=marketplace.code,
        currency=marketplace.currency,
        months=[StatementMonthOut.of(m) for m in months],
    )
