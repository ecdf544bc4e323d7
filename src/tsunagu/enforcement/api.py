"""``/v1`` routes of the enforcement slice: each store's account status and its changes (the
seller's own stores; operators every store), and the operators' actions.

The operators' actions (``/v1/enforcement/…``) name the store in their body, not their path:
every route under ``/sellers/{seller_id}`` follows the one access rule (an operator reads every
seller and changes none), and an override is not a change of the seller's data but a decision
about it, which only operators take."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body
from pydantic import BaseModel, Field

from tsunagu.access.actor import Actor
from tsunagu.core.clock import utcnow
from tsunagu.core.errors import TsunaguError
from tsunagu.core.i18n import N_
from tsunagu.core.paging import instant, next_page, read_cursor, text
from tsunagu.enforcement import service
from tsunagu.enforcement.rules import DEACTIVATED
from tsunagu.enforcement.schemas import (
    ChangeOut,
    ChangePage,
    EvaluatedOut,
    EvaluationsOut,
    StoreStatusOut,
)
from tsunagu.health.api import Day
from tsunagu.http.deps import (
    ActorDep,
    MarketplaceDep,
    RegistryDep,
    SellerIdDep,
    SessionDep,
    signed_in_router,
)
from tsunagu.http.params import STORE_404, Cursor, Limit
from tsunagu.http.responses import documented

#: every route here needs a signed-in caller
router = signed_in_router()

_STATUS_PATH = "/sellers/{seller_id}/stores/{marketplace}/status"
_OPERATORS_ONLY = "Only platform operators, signed in with a session (`forbidden`)."


def _require_operator(actor: Actor) -> None:
    if not actor.is_operator or actor.via == "token":
        raise TsunaguError(N_("Only platform operators may do this"), code="forbidden", status=403)


@router.get(
    _STATUS_PATH,
    tags=["enforcement"],
    summary="A store's account status, its issues and deadlines",
    responses=documented(422, e404=STORE_404),
)
def store_status(
    seller_id: SellerIdDep, marketplace: MarketplaceDep, session: SessionDep
) -> StoreStatusOut:
    """What `tsunagu enforcement status --json` prints: `status` (NORMAL, AT_RISK,
    UNDER_REVIEW, DEACTIVATED), the `issues` with value, target, causes and evidence ids,
    `grace_until` and, when deactivated, the `appeal_deadline`."""
    found = service.store_status(session, seller_id=seller_id, marketplace=marketplace.code)
    deadline = None
    if found.status == DEACTIVATED:
        current = service.current_deactivation(
            session, seller_id=seller_id, marketplace=marketplace.code
        )
        deadline = current.appeal_deadline if current else None
    return StoreStatusOut.of(found, deadline)


@router.get(
    _STATUS_PATH + "/changes",
    tags=["enforcement"],
    summary="A store's account status changes, latest first",
    responses=documented(
        e404=STORE_404, e422="Bad parameters, or a cursor tsunagu did not make (`invalid_cursor`)."
    ),
)
def status_changes(
    seller_id: SellerIdDep,
    marketplace: MarketplaceDep,
    session: SessionDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ChangePage:
    """Every change with who made it, why (`reason`), the issues and the metrics it was
    decided on; paged with `cursor`."""
    after = read_cursor(cursor, instant, text)
    found = service.history(
        session,
        seller_id=seller_id,
        marketplace=marketplace.code,
        limit=limit + 1,
        before=None if after is None else (after[0], after[1]),
    )
    page, next_cursor = next_page(found, limit, lambda c: (c.at, c.id))
    return ChangePage(items=[ChangeOut.of(c) for c in page], next_cursor=next_cursor)


class OverrideIn(BaseModel):
    seller_id: str = Field(min_length=1, max_length=40)
    marketplace: str = Field(min_length=1, max_length=20, description="JP, US, …")
    status: str = Field(
        min_length=1, max_length=20, description="NORMAL, AT_RISK, UNDER_REVIEW or DEACTIVATED."
    )
    reason: str = Field(min_length=1, max_length=500, description="Why (recorded and audited).")
    fraud: bool = Field(False, description="Deactivate at once for suspected fraud.")


@router.post(
    "/enforcement/overrides",
    tags=["enforcement"],
    summary="An operator's decision on a store's account status",
    responses=documented(
        e403=_OPERATORS_ONLY,
        e404=STORE_404,
        e422="Bad body, or a status tsunagu does not know (`invalid_account_status`).",
    ),
)
def override(
    body: Annotated[OverrideIn, Body()],
    session: SessionDep,
    actor: ActorDep,
    registry: RegistryDep,
) -> StoreStatusOut:
    """Any status, whatever the rules say, recorded with who and why; `DEACTIVATED` (or
    `fraud`) deactivates at once, related stores included."""
    _require_operator(actor)
    market = registry.require(body.marketplace)
    found = service.override(
        session,
        seller_id=body.seller_id,
        marketplace=market,
        status=DEACTIVATED if body.fraud else body.status.strip().upper(),
        reason=body.reason,
        actor=actor,
        now=utcnow(),
        fraud=body.fraud,
        registry=registry,
    )
    session.commit()
    return StoreStatusOut.of(found)


class EvaluationIn(BaseModel):
    as_of: Day = Field(description="The local day YYYY-MM-DD, evaluated as of its end.")
    seller_id: str | None = Field(None, min_length=1, max_length=40)
    marketplace: str | None = Field(None, min_length=1, max_length=20)


@router.post(
    "/enforcement/evaluations",
    tags=["enforcement"],
    summary="Run the account-status rules for a day",
    responses=documented(
        e403=_OPERATORS_ONLY,
        e404="No such seller (`seller_not_found`) or marketplace (`unknown_marketplace`).",
        e422="Bad body, or a day that has not ended yet (`day_not_over`).",
    ),
)
def evaluate(
    body: Annotated[EvaluationIn, Body()],
    session: SessionDep,
    actor: ActorDep,
    registry: RegistryDep,
) -> EvaluationsOut:
    """What `tsunagu enforcement evaluate` does: every store (or one seller's, or one store)
    as of the end of that local day; a day evaluated already changes nothing."""
    _require_operator(actor)
    market = registry.require(body.marketplace) if body.marketplace else None
    service.check_day(body.as_of, utcnow(), field="as_of")
    found = service.evaluate_stores(
        session,
        registry=registry,
        day=body.as_of,
        now=utcnow(),
        seller_id=body.seller_id,
        marketplace=market,
        actor=actor.name,
    )
    session.commit()
    return EvaluationsOut(items=[EvaluatedOut.of(e) for e in found])
