"""Account status of stores: evaluation, overrides, deactivation and reinstatement. Never commits.

INTERFACE STUB written before issue 14's work was split: the enforcement helper replaces the
bodies; the names and signatures below are what the appeals slice and the pages call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tsunagu.enforcement.rules import Issue


@dataclass(frozen=True)
class Deactivation:
    """One deactivation of one store, with the issues an appeal must answer."""

    id: str
    seller_id: str
    marketplace: str
    at: datetime
    issues: tuple[Issue, ...]
    #: the appeal must be submitted before this instant (default 17 days after ``at``)
    appeal_deadline: datetime
    #: for a RELATED_ACCOUNT deactivation: the deactivation of the store that caused it
    origin_id: str | None
    reinstated_at: datetime | None


@dataclass(frozen=True)
class StoreStatus:
    seller_id: str
    marketplace: str
    status: str
    since: datetime | None
    issues: tuple[Issue, ...]
    grace_until: datetime | None
    deactivation_id: str | None
    probation_until: datetime | None


def store_status(session: Session, *, seller_id: str, marketplace: str) -> StoreStatus:
    raise NotImplementedError


def get_deactivation(session: Session, deactivation_id: str) -> Deactivation:
    """``deactivation_not_found`` (404) when there is none."""
    raise NotImplementedError


def current_deactivation(
    session: Session, *, seller_id: str, marketplace: str
) -> Deactivation | None:
    """The store's deactivation that is not reinstated, if it is deactivated."""
    raise NotImplementedError


def reinstate(
    session: Session,
    *,
    deactivation_id: str,
    now: datetime,
    actor: str,
    reason: str,
    covered: Sequence[str],
) -> None:
    """Status NORMAL, probation for the ``covered`` issue codes, the violations those issues name
    resolved, the funds hold released, a status-change notification recorded."""
    raise NotImplementedError
