"""``/v1`` routes of the notifications slice: the caller's sellers' notifications, and their
webhooks (create, list, remove, deliveries). A webhook of a seller the caller cannot read is
``webhook_not_found``, like a missing one."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request, Response

from tsunagu.core.clock import utcnow
from tsunagu.core.paging import next_page, read_cursor, text
from tsunagu.http.deps import ActorDep, RegistryDep, SessionDep, client_of, signed_in_router
from tsunagu.http.params import Cursor, Limit
from tsunagu.http.responses import documented
from tsunagu.notifications import service
from tsunagu.notifications.config import notifications_of
from tsunagu.notifications.schemas import (
    DeliveryOut,
    DeliveryPage,
    NotificationOut,
    NotificationPage,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhookPage,
)

#: every route here needs a signed-in caller
router = signed_in_router()

WebhookId = Annotated[str, Path(min_length=1, max_length=40, description="Webhook id.")]
SellerFilter = Annotated[
    str | None, Query(min_length=1, max_length=40, description="Only this seller's.")
]
_CURSOR_422 = "Bad parameters, or a cursor tsunagu did not make (`invalid_cursor`)."


def _before(cursor: str | None) -> str | None:
    found = read_cursor(cursor, text)
    return None if found is None else str(found[0])


@router.get(
    "/notifications",
    tags=["notifications"],
    summary="Notifications of your sellers",
    responses=documented(e404="No such seller (`seller_not_found`).", e422=_CURSOR_422),
)
def list_notifications(
    session: SessionDep,
    actor: ActorDep,
    seller_id: SellerFilter = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> NotificationPage:
    """Status changes and appeal decisions of every seller you may read, newest first (what
    `tsunagu notifications list --json` prints); page with `cursor`."""
    found = service.list_notifications(
        session, actor=actor, seller_id=seller_id, limit=limit + 1, before=_before(cursor)
    )
    page, next_cursor = next_page(found, limit, lambda n: (n.id,))
    return NotificationPage(items=[NotificationOut.of(n) for n in page], next_cursor=next_cursor)


@router.post(
    "/webhooks",
    status_code=201,
    tags=["notifications"],
    summary="Create a webhook",
    responses=documented(
        e403="You may read the seller but not change it, or (without `seller_id`) you are not "
        "a platform operator (`forbidden`).",
        e404="No such seller (`seller_not_found`).",
        e409="The seller already has 10 webhooks (`webhook_limit_reached`).",
        e422="Bad body, a URL tsunagu will not call (`invalid_webhook_url`, "
        "`webhook_https_required`), a host the operator has not allowed "
        "(`webhook_host_not_allowed`) or an unknown kind (`unknown_notification_kind`).",
    ),
)
def create_webhook(
    body: WebhookCreate,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    registry: RegistryDep,
) -> WebhookCreated:
    """Deliveries of the chosen kinds for one seller (you need write access), or for every
    seller (platform operators). The answer holds the signing `secret`, shown this once."""
    created = service.create_webhook(
        session,
        actor=actor,
        url=body.url,
        kinds=body.kinds,
        seller_id=body.seller_id,
        now=utcnow(),
        config=notifications_of(registry),
        client=client_of(request),
    )
    session.commit()
    return WebhookCreated(webhook=WebhookOut.of(created.webhook), secret=created.secret)


@router.get(
    "/webhooks",
    tags=["notifications"],
    summary="Your webhooks",
    responses=documented(e404="No such seller (`seller_not_found`).", e422=_CURSOR_422),
)
def list_webhooks(
    session: SessionDep,
    actor: ActorDep,
    seller_id: SellerFilter = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> WebhookPage:
    """The webhooks of the sellers you may read (and, for platform operators, those for every
    seller), newest first; never their secrets."""
    found = service.list_webhooks(
        session, actor=actor, seller_id=seller_id, limit=limit + 1, before=_before(cursor)
    )
    page, next_cursor = next_page(found, limit, lambda w: (w.id,))
    return WebhookPage(items=[WebhookOut.of(w) for w in page], next_cursor=next_cursor)


@router.get(
    "/webhooks/{webhook_id}",
    tags=["notifications"],
    summary="One webhook",
    responses=documented(422, e404="No such webhook (`webhook_not_found`)."),
)
def get_webhook(webhook_id: WebhookId, session: SessionDep, actor: ActorDep) -> WebhookOut:
    """The webhook without its secret."""
    return WebhookOut.of(service.visible_webhook(session, actor=actor, webhook_id=webhook_id))


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=204,
    response_class=Response,
    tags=["notifications"],
    summary="Remove a webhook",
    responses=documented(
        422,
        e403="You may read the seller but not change it (`forbidden`).",
        e404="No such webhook (`webhook_not_found`).",
    ),
)
def remove_webhook(
    webhook_id: WebhookId, request: Request, session: SessionDep, actor: ActorDep
) -> Response:
    """Nothing more is sent to it; its pending deliveries are cancelled."""
    service.remove_webhook(
        session, actor=actor, webhook_id=webhook_id, now=utcnow(), client=client_of(request)
    )
    session.commit()
    return Response(status_code=204)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    tags=["notifications"],
    summary="A webhook's deliveries",
    responses=documented(e404="No such webhook (`webhook_not_found`).", e422=_CURSOR_422),
)
def list_deliveries(
    webhook_id: WebhookId,
    session: SessionDep,
    actor: ActorDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> DeliveryPage:
    """Every delivery to the webhook, newest first, each with all of its attempts (time,
    HTTP status, error, duration)."""
    found = service.list_deliveries(
        session, actor=actor, webhook_id=webhook_id, limit=limit + 1, before=_before(cursor)
    )
    page, next_cursor = next_page(found, limit, lambda d: (d.id,))
    return DeliveryPage(items=[DeliveryOut.of(d) for d in page], next_cursor=next_cursor)
