"""The errors of the notifications slice; their codes are public (README, "Error codes")."""

from __future__ import annotations

from tsunagu.core.errors import Conflict, InvalidInput, NotFound, TsunaguError
from tsunagu.core.i18n import N_


def webhook_not_found(webhook_id: str) -> NotFound:
    """The one answer for a webhook that does not exist or that the caller may not see."""
    return NotFound(
        N_("No webhook with id {webhook_id}"),
        code="webhook_not_found",
        webhook_id=webhook_id,
        details={"webhook_id": webhook_id},
    )


def forbidden(message: str, seller_id: str | None = None) -> TsunaguError:
    details = {"seller_id": seller_id} if seller_id else {}
    return TsunaguError(message, code="forbidden", status=403, seller_id=seller_id, details=details)


def url_refused(problem: str, url_host: str | None) -> InvalidInput:
    """A webhook URL that tsunagu will not call (``url_problem``'s reason)."""
    details = {"field": "url", "host": url_host} if url_host else {"field": "url"}
    if problem == "host_not_allowed":
        return InvalidInput(
            N_(
                "Deliveries to {host} are not allowed: the operator of this tsunagu must add "
                "it to [notifications] allowed_hosts first."
            ),
            code="webhook_host_not_allowed",
            host=url_host,
            details=details,
        )
    if problem == "https_required":
        return InvalidInput(
            N_("A webhook URL must use https (plain http only where the operator allows it)."),
            code="webhook_https_required",
            details=details,
        )
    return InvalidInput(
        N_(
            "Not a webhook URL: it must be an absolute http(s) URL without a user name, "
            "password or #fragment, at most 2,000 characters."
        ),
        code="invalid_webhook_url",
        details={"field": "url"},
    )


def unknown_kind(kind: str, known: tuple[str, ...]) -> InvalidInput:
    return InvalidInput(
        N_("Unknown notification kind {kind}; known: {known}"),
        code="unknown_notification_kind",
        kind=kind,
        known=", ".join(known),
        details={"field": "kinds", "value": kind},
    )


def too_many_webhooks(limit: int) -> Conflict:
    return Conflict(
        N_("At most {limit} webhooks per seller; remove one first."),
        code="webhook_limit_reached",
        limit=limit,
        details={"limit": limit},
    )
