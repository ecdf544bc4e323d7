"""Notification records and their webhook deliveries. Never commits.

INTERFACE STUB written before issue 14's work was split: the notifications helper replaces the
bodies; the signature below is what enforcement and appeals call.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session


def notify(
    session: Session,
    *,
    kind: str,
    seller_id: str,
    marketplace: str | None,
    payload: Mapping[str, Any],
    now: datetime,
    key: str,
) -> None:
    """Record one notification (idempotent per ``key``) and queue its deliveries to the
    webhooks that subscribe to it. ``kind`` is e.g. ``ACCOUNT_STATUS_CHANGED`` (payload
    ``previousAccountStatus``, ``currentAccountStatus`` …) or ``APPEAL_STATUS_CHANGED``."""
    raise NotImplementedError
