"""The whole appeal journey in Debian's Chromium (issue 14, point 9).

A US seller's MFN store sells four orders a day; every day the seller cancels one of them as
``out_of_stock``, and every fifth day an order never arrives and its buyer files a
``not_received`` A-to-z claim. The rules evaluate the store on two days seven days apart and
deactivate it for both issues (ODR and cancellation rate), exactly as the daily job would.

The seller signs in, reads the red banner (both issues, their causes, the appeal deadline),
starts an appeal, drafts it from the data, spoils it (an apology in one section, nothing in the
other), checks it, is refused on submission, repairs it, attaches evidence and submits; an
operator asks for more information; the seller answers and submits again; the operator accepts
and the store is Normal. The same editor is then read in Japanese and on a 390-pixel phone.

Screenshots go to ``/tmp/shots`` (or ``TSUNAGU_SCREENSHOT_DIR``) to be looked at.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.browser.conftest import CSP_REFUSAL, make_account, sign_in_with_form
from tsunagu.access.service import set_operator
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.timeutil import format_instant
from tsunagu.enforcement import service as enforcement
from tsunagu.events import ingest
from tsunagu.identity.models import Principal
from tsunagu.marketplaces.registry import load_registry

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PASSWORD = "appeal-harbour-lantern"
SELLER_EMAIL = "appeal-seller@example.test"
OPERATOR_EMAIL = "appeal-operator@example.test"
SHOTS = Path(os.environ.get("TSUNAGU_SCREENSHOT_DIR") or "/tmp/shots")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
#: issue codes, cause ids and statuses that must never reach a seller's eyes as they are
RAW_CODES = re.compile(
    r"ORDER_DEFECT_RATE|CANCELLATION_RATE|LATE_SHIPMENT_RATE|VALID_TRACKING_RATE|"
    r"POLICY_VIOLATION|LOW_ACCOUNT_HEALTH|RELATED_ACCOUNT|INFO_REQUESTED|UNDER_REVIEW|"
    r"DEACTIVATED|out_of_stock|not_received|root_cause|prevention:|actions:"
)
ODR = "ORDER_DEFECT_RATE"
CANCEL = "CANCELLATION_RATE"

#: what a worried seller writes first: feelings and promises, nothing a reviewer can check
APOLOGETIC = (
    "We sincerely apologise for the inconvenience caused to our valued customers. We are "
    "deeply sorry and will manage inventory more thoroughly from now on."
)
ROOT_CAUSE = (
    "Our listed quantities came from a spreadsheet updated by hand once a week, so 7 orders "
    "between the two evaluations were placed for items that had already sold out in the shop."
)
ACTIONS = (
    "On the day of the deactivation we connected Linnworks to Seller Central: the available "
    "quantity of every SKU is now synchronised with the warehouse count every 15 minutes."
)
PREVENTION = (
    "A safety stock of 2 units is kept back on every SKU, and the stock count of the 4 SKUs "
    "concerned is reconciled with the warehouse every morning before 9:00."
)
ANSWER = (
    "Since the change, 0 of 212 orders were cancelled for stock. The Linnworks sync log of the "
    "last 14 days is attached to the cancellation section."
)
NOTE = "Please attach the tracking records of the new courier for the last 14 days."


# -- the data: a real deactivation by the rules ----------------------------------------------------


def _instant(day: date, zone: ZoneInfo, hours: float) -> str:
    local = datetime.combine(day, time(0), tzinfo=zone) + timedelta(hours=hours)
    return format_instant(local.astimezone(UTC))


def troubled_store(seller: str, last_day: date, now: datetime) -> list[dict[str, Any]]:
    """The events of ``tests/integration/test_enforcement.py::troubled_store``, placed so that
    the second evaluation day is ``last_day``: from 47 days before it, 4 orders a day, one
    cancelled by the seller (``out_of_stock``) each day, one ``not_received`` claim every fifth
    day. Nothing is dated after ``now``."""
    zone = ZoneInfo("America/Los_Angeles")
    first = last_day - timedelta(days=47)
    events: list[dict[str, Any]] = []
    serial = 0

    def add(kind: str, when: str, **fields: Any) -> None:
        nonlocal serial
        serial += 1
        if when <= format_instant(now):
            events.append(
                {
                    "event_id": f"appeal-journey-{seller}-{serial}",
                    "type": kind,
                    "seller": seller,
                    "marketplace": "US",
                    "at": when,
                    **fields,
                }
            )

    for offset in range(48):
        day = first + timedelta(days=offset)
        for n in range(4):
            order_id = f"{100 + offset:03d}-{n:07d}-0000002"
            add(
                "order_placed",
                _instant(day, zone, 12),
                order_id=order_id,
                channel="MFN",
                currency="USD",
                items=[{"sku": f"LAMP-{n % 4 + 1:02d}", "quantity": 1, "price": 2500}],
            )
            if n == 0:
                add(
                    "order_cancelled",
                    _instant(day, zone, 14.4),
                    order_id=order_id,
                    by="seller",
                    reason="out_of_stock",
                )
            elif n == 1 and offset % 5 == 0:
                add(
                    "claim_filed",
                    _instant(day + timedelta(days=3), zone, 12),
                    order_id=order_id,
                    claim_id=f"c-{order_id}",
                    reason="not_received",
                )
    return events


def deactivate_by_the_rules(factory: sessionmaker[Session], seller: str) -> str:
    """Ingest the troubled store and evaluate it yesterday and 7 days before (Los Angeles days),
    as the daily evaluation would have: the store is deactivated; its deactivation id."""
    registry = load_registry(None)
    us = registry.require("US")
    now = utcnow()
    yesterday = now.astimezone(us.tz).date() - timedelta(days=1)
    events = troubled_store(seller, yesterday, now)
    report = ingest.run(
        factory,
        lambda: enumerate(events, start=1),
        registry=registry,
        now=now,
        source_label="appeal-journey",
    )
    assert report.rejected == 0, report.item_errors
    for day in (yesterday - timedelta(days=7), yesterday):
        with unit_of_work(factory) as session:
            enforcement.evaluate_store(
                session,
                seller_id=seller,
                marketplace=us,
                day=day,
                now=enforcement.evaluation_end(day, us),
                registry=registry,
            )
    with factory() as session:
        status = enforcement.store_status(session, seller_id=seller, marketplace="US")
    assert status.status == "DEACTIVATED", status
    assert {i.code for i in status.issues} == {ODR, CANCEL}, status.issues
    assert status.deactivation_id is not None
    return status.deactivation_id


def make_operator(factory: sessionmaker[Session], email: str) -> None:
    make_account(factory, email=email, password=PASSWORD, name="Reviewer Rin")
    with unit_of_work(factory) as session:
        principal = session.query(Principal).filter(Principal.email == email).one()
        set_operator(
            session, principal_id=principal.id, operator=True, now=utcnow(), actor="test"
        )
