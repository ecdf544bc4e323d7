"""The settlement ledger of each store, its balance, disbursements and funds holds. Never commits.

INTERFACE STUB written before issue 14's work was split: the settlement helper replaces the
bodies; the names and signatures below are what enforcement calls.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session


def hold_funds(
    session: Session, *, seller_id: str, marketplace: str, now: datetime, ref: str, reason: str
) -> None:
    """Hold the store's balance from ``now`` (idempotent per ``ref``, e.g. a deactivation id);
    the hold records its release date (default 90 days)."""
    raise NotImplementedError


def release_hold(
    session: Session, *, seller_id: str, marketplace: str, now: datetime, reason: str
) -> None:
    """Release the store's open hold early (reinstatement); nothing when there is none."""
    raise NotImplementedError
