"""Issue 14, item 10: the real case, end to end, as a seller and an operator run it.

1. A US seller's MFN store cancels many orders for items out of stock and ships by an untracked
   economy postal service, so several parcels never arrive and buyers file A-to-z claims. Two
   evaluations 7 days apart deactivate it with both issues named; its funds are held. An appeal
   that apologises at length and only changes the shipping method is refused as incomplete,
   naming the out-of-stock issue, and the checker flags the apologies and the vague inventory
   promise. An appeal that answers both is submitted, gets a request for more information, is
   submitted again and accepted: the store is NORMAL and the hold is released.
   (Through the ``tsunagu`` commands, as other tools script them.)
2. Account Health Assurance: a store with a long healthy record gets 72 hours of grace instead of
   a deactivation, and is deactivated when the grace ends with the issue still open.
3. An appeal nobody submits before its deadline expires under the job runner.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from tests.conftest import Db
from tests.factories import event, ingest_events, make_seller, placed
from tests.integration.test_cli import tsunagu, write_jsonl
from tsunagu.access.actor import LOCAL_OWNER
from tsunagu.appeals import service as appeals
from tsunagu.core.db import unit_of_work
from tsunagu.core.timeutil import format_instant
from tsunagu.enforcement import service as enforcement
from tsunagu.enforcement.config import enforcement_of
from tsunagu.jobs import service as jobs
from tsunagu.slices import job_kinds

#: the first evaluation day (Los Angeles days: a US store)
D = date(2026, 11, 10)
LA_NOON = datetime(2026, 11, 10, 20, 0, tzinfo=UTC)

ROOT_SHIPPING = (
    "7 of the orders shipped between 2026-10-01 and 2026-11-17 went by Japan Post SAL, which has "
    "no tracking; none of them reached the buyer by the promised date and the buyers filed "
    "A-to-z claims for items not received."
)
ACTIONS_SHIPPING = (
    "On 2026-11-18 we moved every order to DHL Express with tracking, uploaded the tracking "
    "numbers of all open orders, and refunded the 7 buyers in full."
)
PREVENTION_SHIPPING = (
    "Our label software ShipStation only offers tracked DHL Express services, and every morning "
    "at 10:00 we check that each shipment confirmation carries a tracking number."
)
ROOT_STOCK = (
    "Our stock was counted by hand once a week, so 49 orders for 4 SKUs were accepted after the "
    "items had sold out in our shop, and we cancelled them as out of stock."
)
ACTIONS_STOCK = (
    "On 2026-11-18 we connected our warehouse system to Seller Central through the inventory "
    "feed, set a safety stock of 3 units per SKU, and closed the listings of the 4 SKUs."
)
PREVENTION_STOCK = (
    "The inventory feed runs every 15 minutes, and a SKU whose stock falls below 3 units is "
    "set to 0 on Amazon automatically; we review the cancellation rate every Monday."
)


def when(days: float, base: datetime = LA_NOON) -> str:
    return format_instant(base + timedelta(days=days))


def troubled_events(seller: str, base: datetime) -> list[dict[str, Any]]:
    """D−40 … D+8, 4 orders a day: one cancelled by the seller for ``out_of_stock``; the others
    shipped the next day by Japan Post SAL without tracking; every fifth day one of those never
    arrives and its buyer files a ``not_received`` A-to-z claim."""
    events: list[dict[str, Any]] = []
    for day in range(-40, 9):
        for n in range(4):
            order_id = f"{100 + day + 40:03d}-{n:07d}-0000001"
            events.append(
                placed(
                    seller,
                    order_id,
                    marketplace="US",
                    when=when(day, base),
                    price=2500,
                    latest_ship_date=when(day + 2, base),
                )
            )
            if n == 0:
                events.append(
                    event(
                        "order_cancelled", seller, marketplace="US", when=when(day + 0.1, base),
                        order_id=order_id, by="seller", reason="out_of_stock",
                    )
                )  # fmt: skip
                continue
            events.append(
                event(
                    "order_shipped", seller, marketplace="US", when=when(day + 1, base),
                    order_id=order_id, carrier="Japan Post", service="SAL",
                )
            )  # fmt: skip
            if n == 1 and day % 5 == 0:
                events.append(
                    event(
                        "claim_filed", seller, marketplace="US", when=when(day + 3, base),
                        order_id=order_id, claim_id=f"c-{order_id}", reason="not_received",
                    )
                )  # fmt: skip
    return events


def run_json(cwd: Path, *args: str, code: int = 0) -> Any:
    r = tsunagu(cwd, *args)
    assert r.returncode == code, (r.stdout, r.stderr)
    return json.loads(r.stdout)


def plan_file(cwd: Path, name: str, sections: list[dict[str, Any]]) -> str:
    path = cwd / name
    path.write_text(json.dumps({"sections": sections}, ensure_ascii=False), "utf-8")
    return str(path)


def test_out_of_stock_and_lost_parcels_from_deactivation_to_reinstatement(tmp_path: Path):
    cwd = tmp_path
    seller = tsunagu(cwd, "sellers", "create", "--name", "Pacific Tea", "-m", "US").stdout.strip()
    assert seller
    # the appeal runs on today's clock: the first evaluation is 9 days ago, the second 2 days ago
    d = (datetime.now(UTC) - timedelta(days=9)).date()
    base = datetime.combine(d, time(20, 0), UTC)  # noon in Los Angeles
    events = write_jsonl(cwd / "events.jsonl", troubled_events(seller, base))
    assert tsunagu(cwd, "events", "import", str(events)).returncode == 0

    store = ("--seller", seller, "--marketplace", "US")
    first = run_json(cwd, "enforcement", "evaluate", *store, "--as-of", str(d), "--json")
    assert [i["status"] for i in first["items"]] == ["AT_RISK"]
    week = str(d + timedelta(days=7))
    run_json(cwd, "enforcement", "evaluate", *store, "--as-of", week, "--json")
    status = run_json(cwd, "enforcement", "status", *store, "--json")
    assert status["status"] == "DEACTIVATED"
    by_code = {i["code"]: i for i in status["issues"]}
    assert set(by_code) == {"ORDER_DEFECT_RATE", "CANCELLATION_RATE"}
    assert set(by_code["CANCELLATION_RATE"]["causes"]) == {"out_of_stock"}
    assert set(by_code["ORDER_DEFECT_RATE"]["causes"]) == {"not_received"}
    for issue in by_code.values():
        assert issue["value"] > issue["target"]
        assert issue["evidence"]
    held = run_json(cwd, "settlement", "balance", *store, "--json")
    (money,) = held["stores"]
    assert money["held"] is True
    assert money["balance"] > 0  # the shipped orders' sales, less fees and claims

    created = run_json(cwd, "appeals", "create", *store, "--json")
    assert created["status"] == "DRAFT"
    assert sorted(created["issues"]) == ["CANCELLATION_RATE", "ORDER_DEFECT_RATE"]
    appeal = created["id"]

    # the plan that apologises and only changes the shipping method
    weak = json.loads(Path("tests/fixtures/appeals/weak-plan.en.json").read_text("utf-8"))
    assert [s["issue"] for s in weak["sections"]] == ["ORDER_DEFECT_RATE"]
    run_json(
        cwd, "appeals", "set", "--appeal", appeal,
        "--plan", plan_file(cwd, "weak.json", weak["sections"]), "--json",
    )  # fmt: skip
    checked = run_json(cwd, "appeals", "check", "--appeal", appeal, "--json")
    assert checked["complete"] is False
    assert {"issue": "CANCELLATION_RATE", "part": "section"} in checked["missing"]
    rules = {f["rule"] for f in checked["findings"]}
    assert {"apology", "vague_promise"} <= rules
    vague = [f["text"] for f in checked["findings"] if f["rule"] == "vague_promise"]
    assert any("manage inventory" in text for text in vague)
    refused = run_json(cwd, "appeals", "submit", "--appeal", appeal, "--json", code=2)
    assert refused["error"]["code"] == "plan_incomplete"
    assert "out of stock" in refused["error"]["message"]
    assert {"issue": "CANCELLATION_RATE", "part": "section"} in refused["error"]["details"][
        "missing"
    ]

    # a plan that answers both issues, with the tracking records as evidence
    (cwd / "tracking.csv").write_text("order,carrier,tracking\n101-0000001,DHL,JD0001\n", "utf-8")
    sections = [
        {
            "issue": "ORDER_DEFECT_RATE",
            "root_cause": ROOT_SHIPPING,
            "actions": ACTIONS_SHIPPING,
            "prevention": PREVENTION_SHIPPING,
            "evidence": ["tracking.csv"],
        },
        {
            "issue": "CANCELLATION_RATE",
            "root_cause": ROOT_STOCK,
            "actions": ACTIONS_STOCK,
            "prevention": PREVENTION_STOCK,
        },
    ]
    run_json(
        cwd, "appeals", "set", "--appeal", appeal,
        "--plan", plan_file(cwd, "plan.json", sections), "--json",
    )  # fmt: skip
    checked = run_json(cwd, "appeals", "check", "--appeal", appeal, "--json")
    assert checked["complete"] is True
    assert not [f for f in checked["findings"] if f["rule"] in ("apology", "vague_promise")]
    assert run_json(cwd, "appeals", "submit", "--appeal", appeal, "--json")["status"] == (
        "SUBMITTED"
    )

    note = "Please add the invoices of the new courier contract."
    asked = run_json(
        cwd, "appeals", "decide", "--appeal", appeal, "--decision", "request-info",
        "--note", note, "--json",
    )  # fmt: skip
    assert asked["status"] == "INFO_REQUESTED"
    shown = run_json(cwd, "appeals", "show", "--appeal", appeal, "--json")
    assert [t["to"] for t in shown["transitions"]][-2:] == ["UNDER_REVIEW", "INFO_REQUESTED"]
    assert shown["transitions"][-1]["note"] == note
    (cwd / "contract.pdf").write_bytes(b"%PDF-1.7\n% courier contract with DHL Express\n")
    sections[0]["evidence"] = ["tracking.csv", "contract.pdf"]
    run_json(
        cwd, "appeals", "set", "--appeal", appeal,
        "--plan", plan_file(cwd, "plan2.json", sections), "--json",
    )  # fmt: skip
    assert run_json(cwd, "appeals", "submit", "--appeal", appeal, "--json")["status"] == (
        "SUBMITTED"
    )
    accepted = run_json(
        cwd, "appeals", "decide", "--appeal", appeal, "--decision", "accept", "--json"
    )
    assert accepted["status"] == "ACCEPTED"

    status = run_json(cwd, "enforcement", "status", *store, "--json")
    assert status["status"] == "NORMAL"
    assert status["issues"] == []
    released = run_json(cwd, "settlement", "balance", *store, "--json")
    (money,) = released["stores"]
    assert money["held"] is False
    assert money["hold"]["released_at"] is not None
    # the accepted issues are not enforced again from the old orders (probation)
    day_after = str(d + timedelta(days=8))
    again = run_json(cwd, "enforcement", "evaluate", *store, "--as-of", day_after, "--json")
    assert [i["status"] for i in again["items"]] == ["NORMAL"]


# -- 2. Account Health Assurance --------------------------------------------------------------


def test_a_long_healthy_record_gets_72_hours_of_grace_then_deactivation(db: Db, tmp_path: Path):
    """AHR ≥ 250 for 180 days with at most 10 days below: a deactivation trigger first gives
    AT_RISK with a deadline 72 hours on; the grace-end job deactivates the store because the
    issue is still open then."""
    seller = make_seller(db, marketplaces=("US",))
    mp = db.registry.require("US")
    config = enforcement_of(mp)
    # 15 fulfilled orders a day for a year: every 180-day window holds about 2,700 of them,
    # 200 + 4 × 13 = 252 points (14 a day would be 248: not assured)
    events: list[dict[str, Any]] = []
    for n in range(15 * 368):
        day = -360 + n // 15
        order_id = f"900-{n:07d}-0000001"
        events.append(placed(seller, order_id, marketplace="US", when=when(day), price=1200))
        events.append(
            event(
                "order_shipped", seller, marketplace="US", when=when(day + 0.5),
                order_id=order_id, tracking_id=f"T{n}", carrier="UPS",
            )
        )  # fmt: skip
    # then a breach: from D−8 on, half the new orders are cancelled by the seller
    for n in range(120):
        day = -8 + n // 8
        order_id = f"901-{n:07d}-0000001"
        events.append(placed(seller, order_id, marketplace="US", when=when(day), price=1200))
        if n % 2 == 0:
            events.append(
                event(
                    "order_cancelled", seller, marketplace="US", when=when(day + 0.1),
                    order_id=order_id, by="seller", reason="out_of_stock",
                )
            )  # fmt: skip
    ingest_events(db, events, now=LA_NOON + timedelta(days=60))

    now = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
    for day in (D, D + timedelta(days=config.sustained_days)):
        with unit_of_work(db.factory) as session:
            found = enforcement.evaluate_store(
                session, seller_id=seller, marketplace=mp, day=day, now=now,
                registry=db.registry,
            )  # fmt: skip
    assert found.status == "AT_RISK"
    with db.factory() as session:
        status = enforcement.store_status(session, seller_id=seller, marketplace="US")
    assert status.status == "AT_RISK"
    assert status.grace_until is not None
    # the evaluation is as of the end of D+7 in Los Angeles; the grace runs 72 hours from there
    evaluated = datetime.combine(D + timedelta(days=8), time(0), mp.tz).astimezone(UTC)
    assert config.grace_hours == 72
    assert status.grace_until - evaluated == timedelta(hours=72)
    assert "CANCELLATION_RATE" in {i.code for i in status.issues}

    # nothing happens before the grace ends …
    jobs.run_due(db.factory, as_of=status.grace_until - timedelta(minutes=1),
                 registry=db.registry, kinds=job_kinds())  # fmt: skip
    with db.factory() as session:
        assert enforcement.store_status(session, seller_id=seller, marketplace="US").status == (
            "AT_RISK"
        )
    # … and at its end the issue is still open: deactivated
    jobs.run_due(db.factory, as_of=status.grace_until + timedelta(minutes=1),
                 registry=db.registry, kinds=job_kinds())  # fmt: skip
    with db.factory() as session:
        after = enforcement.store_status(session, seller_id=seller, marketplace="US")
    assert after.status == "DEACTIVATED"
    assert "CANCELLATION_RATE" in {i.code for i in after.issues}


# -- 3. An appeal that is never sent ----------------------------------------------------------


def test_an_appeal_not_submitted_by_its_deadline_expires(db: Db):
    seller = make_seller(db, marketplaces=("US",))
    mp = db.registry.require("US")
    now = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    with unit_of_work(db.factory) as session:
        enforcement.override(
            session, seller_id=seller, marketplace=mp, status="DEACTIVATED",
            reason="counterfeit complaints", actor=LOCAL_OWNER, now=now, registry=db.registry,
        )  # fmt: skip
    with unit_of_work(db.factory) as session:
        created = appeals.create_appeal(
            session, seller_id=seller, marketplace="US", actor=LOCAL_OWNER, now=now
        )
    deadline = created.appeal.deadline
    assert deadline - now == timedelta(days=17)

    for as_of in (deadline - timedelta(hours=2), deadline + timedelta(days=1, hours=2)):
        jobs.run_due(db.factory, as_of=as_of, registry=db.registry, kinds=job_kinds())
        with db.factory() as session:
            shown = appeals.show(session, appeal_id=created.appeal.id, actor=LOCAL_OWNER)
            status = shown.appeal.status
        if as_of < deadline:
            assert status == "DRAFT"
    assert status == "EXPIRED"
    assert shown.transitions[-1].actor == "system"
    with db.factory() as session:
        still = enforcement.store_status(session, seller_id=seller, marketplace="US")
    assert still.status == "DEACTIVATED"  # expiry reinstates nothing
