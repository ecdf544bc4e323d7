"""Account status of a store and the issues behind it. Pure: no database, no clock.

The vocabulary here is public (CLI JSON, REST, notifications): never rename a status or a code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

NORMAL = "NORMAL"
AT_RISK = "AT_RISK"
UNDER_REVIEW = "UNDER_REVIEW"
DEACTIVATED = "DEACTIVATED"
STATUSES = (NORMAL, AT_RISK, UNDER_REVIEW, DEACTIVATED)

ORDER_DEFECT_RATE = "ORDER_DEFECT_RATE"
LATE_SHIPMENT_RATE = "LATE_SHIPMENT_RATE"
CANCELLATION_RATE = "CANCELLATION_RATE"
VALID_TRACKING_RATE = "VALID_TRACKING_RATE"
POLICY_VIOLATION = "POLICY_VIOLATION"
LOW_ACCOUNT_HEALTH = "LOW_ACCOUNT_HEALTH"
RELATED_ACCOUNT = "RELATED_ACCOUNT"
ISSUE_CODES = (
    ORDER_DEFECT_RATE,
    LATE_SHIPMENT_RATE,
    CANCELLATION_RATE,
    VALID_TRACKING_RATE,
    POLICY_VIOLATION,
    LOW_ACCOUNT_HEALTH,
    RELATED_ACCOUNT,
)


def amazon_status(status: str) -> str:
    """The status in Amazon-shaped output (SP-API knows NORMAL, AT_RISK, DEACTIVATED):
    ``UNDER_REVIEW`` is shown as ``AT_RISK``."""
    return AT_RISK if status == UNDER_REVIEW else status


@dataclass(frozen=True)
class Issue:
    """One reason behind a decision.

    ``causes`` counts what caused it (claim reasons such as ``not_received``, cancellation reasons
    such as ``out_of_stock``, policies); ``evidence`` holds the ids of the orders or violations.
    ``related`` names the store that caused a ``RELATED_ACCOUNT`` issue
    (``{"seller": …, "marketplace": …}``).
    """

    code: str
    value: float | int | None = None
    target: float | int | None = None
    causes: Mapping[str, int] = field(default_factory=dict)
    evidence: tuple[str, ...] = ()
    window: tuple[date, date] | None = None
    related: Mapping[str, str] | None = None
