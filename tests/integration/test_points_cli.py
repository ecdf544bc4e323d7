"""``tsunagu points …`` as scripts and operators run it: real processes on a real database, order
events through ``tsunagu events import``. The names, options, JSON keys and error codes of
``settings``, ``balance``, ``history``, ``redeem`` and ``expire`` are a contract (issue 15,
item 6); LED-01 holds for separate CLI processes spending one balance."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Db
from tests.factories import event, make_seller
from tests.integration.test_cli import tsunagu, write_jsonl
from tsunagu.core.db import unit_of_work
from tsunagu.core.timeutil import format_instant
from tsunagu.points import service
from tsunagu.points.redemptions import RedemptionRequest, claim

#: a shipment on a whole minute, so "one second earlier" falls in the job runner's previous
#: period; two days ago, so the points it earns have not expired at the real time of the test
SHIPPED = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=2)


def cli(db: Db, cwd: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return tsunagu(cwd, *args, env={"TSUNAGU_DATABASE_URL": db.url, **(env or {})})


def ok_json(r: subprocess.CompletedProcess[str]) -> Any:
    assert r.returncode == 0, (r.stdout, r.stderr)
    return json.loads(r.stdout)


def error_code(r: subprocess.CompletedProcess[str], exit_code: int = 2) -> str:
    """The error envelope's code, after checking the exit code and that nothing else printed."""
    assert r.returncode == exit_code, (r.stdout, r.stderr)
    found = json.loads(r.stdout)
    assert set(found) == {"error"}
    assert {"code", "message", "details"} <= set(found["error"])
    return str(found["error"]["code"])


def import_events(db: Db, cwd: Path, events: list[dict[str, Any]]) -> None:
    r = cli(db, cwd, "events", "import", str(write_jsonl(cwd / "events.jsonl", events)))
    assert r.returncode == 0, r.stderr
    assert "rejected 0" in r.stdout, r.stdout


def order(seller: str, order_id: str, items: list[dict[str, Any]], when: datetime) -> Any:
    return event(
        "order_placed",
        seller,
        when=format_instant(when),
        order_id=order_id,
        channel="MFN",
        currency="JPY",
        customer_id="cust-1",
        items=items,
    )


def shipped(seller: str, order_id: str, when: datetime) -> Any:
    return event("order_shipped", seller, when=format_instant(when), order_id=order_id)


def balance(db: Db, cwd: Path, customer: str = "cust-1") -> Any:
    return ok_json(
        cli(db, cwd, "points", "balance", "--customer", customer, "--marketplace", "JP", "--json")
    )


def earn(db: Db, cwd: Path, points: int, customer: str = "cust-1") -> None:
    r = cli(
        db, cwd, "points", "earn", "--customer", customer, "--marketplace", "JP",
        "--points", str(points), "--source", "co-branded-card", "--key", f"earn-{customer}",
        "--json",
    )  # fmt: skip
    assert ok_json(r)["available"] == points


def available(db: Db, customer: str = "cust-1") -> int:
    """The customer's available points, read from the database."""
    return balance_now(db, customer).available


def balance_now(db: Db, customer: str = "cust-1") -> service.Balance:
    with db.factory() as session:
        return service.balance(session, marketplace=db.registry.require("JP"), customer=customer)


def given(db: Db, points: int, customer: str = "cust-1") -> None:
    """Points available at once (as from a co-branded card), written without the CLI."""
    with unit_of_work(db.factory) as session:
        service.earn(
            session,
            marketplace=db.registry.require("JP"),
            customer=customer,
            points=points,
            source="co-branded-card",
            key=f"given-{customer}",
            now=datetime.now(UTC),
        )


def redeem(db: Db, cwd: Path, points: int, key: str, *extra: str, order: str = "O-9") -> Any:
    return cli(
        db, cwd, "points", "redeem", "--customer", "cust-1", "--marketplace", "JP",
        "--order", order, "--points", str(points), "--key", key, *extra, "--json",
    )  # fmt: skip


def test_pending_points_become_available_exactly_at_shipment_plus_24_hours(
    sqlite_db: Db, tmp_path: Path
):
    """The store rate and a SKU's own rate set through ``points settings`` decide what an
    imported order earns; ``jobs run-due --as-of T`` makes it available exactly when T is the
    shipment plus 24 hours (one second earlier it is still pending); the history and the
    store's cost statement show it."""
    db = sqlite_db
    seller = make_seller(db)
    store = ("--seller", seller, "--marketplace", "JP")
    settings = ok_json(cli(db, tmp_path, "points", "settings", *store, "--rate", "5", "--json"))
    assert (settings["rate"], settings["rate_set"]) == (5, True)
    sku_rate = ("--rate", "10", "--sku", "MATCHA-100", "--json")
    override = ok_json(cli(db, tmp_path, "points", "settings", *store, *sku_rate))
    assert override["rate"] == 5
    assert override["offer"] == {
        "sku": "MATCHA-100", "category": None, "rate": 10, "effective_rate": 10,
        "points_badge": False,
    }  # fmt: skip
    import_events(
        db,
        tmp_path,
        [
            order(
                seller,
                "503-0000001-0000001",
                [
                    {"sku": "MATCHA-100", "quantity": 1, "price": 10000},  # 10%: 1,000 pt
                    {"sku": "WHISK-1", "quantity": 1, "price": 2000},  # the store's 5%: 100 pt
                ],
                SHIPPED - timedelta(hours=3),
            ),
            shipped(seller, "503-0000001-0000001", SHIPPED),
        ],
    )
    # the import itself reads the order into a pending grant; only the job makes it available
    imported = balance(db, tmp_path)
    assert (imported["pending"], imported["available"]) == (1100, 0)
    due = SHIPPED + timedelta(hours=24)
    r = cli(db, tmp_path, "jobs", "run-due", "--as-of", format_instant(due - timedelta(seconds=1)))
    assert r.returncode == 0, r.stderr
    before = balance(db, tmp_path)
    assert set(before) == {"customer", "marketplace", "pending", "available", "expires_at"}
    assert before == {
        "customer": "cust-1", "marketplace": "JP", "pending": 1100, "available": 0,
        "expires_at": before["expires_at"],
    }  # fmt: skip
    assert cli(db, tmp_path, "jobs", "run-due", "--as-of", format_instant(due)).returncode == 0
    after = balance(db, tmp_path)
    assert (after["pending"], after["available"]) == (0, 1100)
    assert datetime.fromisoformat(after["expires_at"]) > due

    whose = ("--customer", "cust-1", "--marketplace", "JP", "--json")
    history = ok_json(cli(db, tmp_path, "points", "history", *whose))
    assert (history["customer"], history["marketplace"]) == ("cust-1", "JP")
    entries = history["entries"]
    assert [(e["kind"], e["points"], e["order_id"], e["reason"]) for e in entries] == [
        ("post", 1100, "503-0000001-0000001", "shipment_settled"),
        ("grant_pending", 1100, "503-0000001-0000001", "order_placed"),
    ]
    assert all({"kind", "points", "order_id", "at", "reason"} <= set(e) for e in entries)
    assert datetime.fromisoformat(entries[0]["at"]) == due

    statement = ok_json(cli(db, tmp_path, "points", "statement", *store, "--json"))
    (month,) = statement["months"]
    assert (month["granted"], month["returned"], month["net_cost"]) == (1100, 0, 1100)
    assert month["month"] == due.astimezone(db.registry.require("JP").tz).strftime("%Y-%m")


def test_settings_badge_offers_and_refusals(sqlite_db: Db, tmp_path: Path):
    """A SKU's own rate, the "2% or more" badge counted in the settings and filtered in the
    offers list; bad settings and a marketplace without the programme are refused (exit 2)."""
    db = sqlite_db
    seller = make_seller(db)
    store = ("--seller", seller, "--marketplace", "JP")
    for sku, rate in (("TEA-2", "2"), ("TEA-1", "1")):
        r = cli(db, tmp_path, "points", "settings", *store, "--rate", rate, "--sku", sku)
        assert r.returncode == 0, r.stderr
    joined = ok_json(cli(db, tmp_path, "points", "settings", *store, "--badge", "--json"))
    assert (joined["badge"], joined["offers_with_badge"], joined["rate"]) == (True, 1, 1)
    shown = ok_json(cli(db, tmp_path, "points", "settings", *store, "--json"))
    assert shown["offers_with_badge"] == 1
    badged = ok_json(cli(db, tmp_path, "points", "offers", *store, "--badge", "--json"))
    assert [(o["sku"], o["effective_rate"], o["points_badge"]) for o in badged["items"]] == [
        ("TEA-2", 2, True)
    ]
    others = ok_json(cli(db, tmp_path, "points", "offers", *store, "--no-badge", "--json"))
    assert [o["sku"] for o in others["items"]] == ["TEA-1"]
    follow = ("--sku", "TEA-2", "--follow-store", "--json")
    back = ok_json(cli(db, tmp_path, "points", "settings", *store, *follow))
    assert back["offer"]["rate"] is None
    assert back["offers_with_badge"] == 0

    too_high = cli(db, tmp_path, "points", "settings", *store, "--rate", "51", "--json")
    assert error_code(too_high) == "invalid_rate"
    no_rate = cli(db, tmp_path, "points", "settings", *store, "--sku", "TEA-3", "--json")
    assert error_code(no_rate) == "invalid_options"
    us = ("--seller", seller, "--marketplace", "US", "--rate", "3", "--json")
    assert error_code(cli(db, tmp_path, "points", "settings", *us)) == "points_disabled"
    us_balance = cli(db, tmp_path, "points", "balance", "--customer", "c", "-m", "US", "--json")
    assert error_code(us_balance) == "points_disabled"


def test_redeem_contract_replay_and_every_refusal(sqlite_db: Db, tmp_path: Path):
    """The redemption contract: its JSON keys; the same --key with the same arguments prints
    the same result and spends once (LED-03); a mixed order's gift card line cannot be paid with
    points; each refusal exits 2 with its code; a bad --line is a usage error naming it."""
    db = sqlite_db
    given(db, 5000)
    first = redeem(db, tmp_path, 300, "k-1")
    body = ok_json(first)
    assert {"redemption_id", "points", "available"} <= set(body)
    assert (body["points"], body["available"]) == (300, 4700)
    again = redeem(db, tmp_path, 300, "k-1")
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    assert available(db) == 4700

    assert error_code(redeem(db, tmp_path, 200, "k-1")) == "idempotency_mismatch"
    short = redeem(db, tmp_path, 9000, "k-2")
    assert error_code(short) == "insufficient_points"
    assert json.loads(short.stdout)["error"]["details"] == {"available": 4700, "wanted": 9000}

    mixed = ("--line", "books=1000", "--line", "gift_card=5000", "--line", "ebook=800")
    over = redeem(db, tmp_path, 1801, "k-3", *mixed)
    assert error_code(over) == "exceeds_eligible_amount"
    assert json.loads(over.stdout)["error"]["details"] == {"eligible": 1800, "wanted": 1801}
    paid = ok_json(redeem(db, tmp_path, 1800, "k-4", *mixed))
    assert paid["available"] == 4700 - 1800
    human = cli(
        db, tmp_path, "points", "redeem", "--customer", "cust-1", "--marketplace", "JP",
        "--order", "O-9", "--points", "99999", "--key", "k-5",
    )  # fmt: skip
    assert human.returncode == 2
    assert "insufficient_points" in human.stderr

    for bad in ("books", "books=12.5"):
        r = redeem(db, tmp_path, 10, "k-6", "--line", bad)
        assert error_code(r) == "invalid_line"
        assert "--line" in json.loads(r.stdout)["error"]["message"]
    assert error_code(redeem(db, tmp_path, 0, "k-7")) == "invalid_points"

    history = ok_json(
        cli(db, tmp_path, "points", "history", "--customer", "cust-1", "-m", "JP", "--json")
    )
    spent = [e for e in history["entries"] if e["kind"] == "redeem"]
    assert [(e["points"], e["order_id"]) for e in spent] == [(-1800, "O-9"), (-300, "O-9")]
    assert available(db) == 2900


def test_a_key_still_in_flight_is_refused_with_exit_2(db: Db, tmp_path: Path):
    """LED-03: while another request holds the key (its claim is recorded, its spending not yet
    done), the same redemption waits, then is refused: ``idempotency_in_flight`` is a 409 in
    the API and exits 2 like the other refusals."""
    (tmp_path / "tsunagu.toml").write_text("[points]\nidempotency_wait_seconds = 0.2\n")
    given(db, 100)
    request = RedemptionRequest(db.registry.require("JP"), "cust-1", "O-9", 30, "k-held")
    # the first request's step 1, as the process running it would have done it
    assert claim(db.factory, request, now=datetime.now(UTC)) is not None
    r = redeem(db, tmp_path, 30, "k-held")
    assert error_code(r) == "idempotency_in_flight"
    assert available(db) == 100


def test_expire_is_idempotent_and_lists_what_expires(sqlite_db: Db, tmp_path: Path):
    """``points expire --as-of T`` expires a balance exactly at its expiry and not a second
    earlier; a second run for the same instant changes nothing; ``expiries`` lists it before."""
    db = sqlite_db
    seller = make_seller(db)
    long_ago = SHIPPED - timedelta(days=400)
    import_events(
        db,
        tmp_path,
        [
            order(seller, "O-1", [{"sku": "A", "quantity": 1, "price": 30000}], long_ago),
            shipped(seller, "O-1", long_ago),
        ],
    )
    settled = long_ago + timedelta(hours=24)
    assert cli(db, tmp_path, "jobs", "run-due", "--as-of", format_instant(settled)).returncode == 0
    found = balance_now(db)
    assert found.available == 300
    assert found.expires_at is not None
    expiry = found.expires_at

    ten_days_before = format_instant(expiry - timedelta(days=10))
    soon = ok_json(
        cli(db, tmp_path, "points", "expiries", "-m", "JP", "--as-of", ten_days_before, "--json")
    )
    assert [(x["customer"], x["available"]) for x in soon["items"]] == [("cust-1", 300)]

    def expire(at: datetime) -> Any:
        return ok_json(
            cli(db, tmp_path, "points", "expire", "--as-of", format_instant(at), "--json")
        )

    assert expire(expiry - timedelta(seconds=1))["expired_points"] == 0
    assert available(db) == 300
    done = expire(expiry)
    assert (done["expired_accounts"], done["expired_points"]) == (1, 300)
    assert expire(expiry)["expired_points"] == 0
    assert available(db) == 0
    history = ok_json(
        cli(db, tmp_path, "points", "history", "--customer", "cust-1", "-m", "JP", "--json")
    )
    expired = [e for e in history["entries"] if e["kind"] == "expire"]
    assert [(e["points"], e["reason"]) for e in expired] == [(-300, "expiry")]
    # the instant is the clock, as for jobs run-due: a year ahead runs (and expires nothing new)
    later = expire(expiry + timedelta(days=400))
    assert (later["expired_accounts"], later["expired_points"]) == (0, 0)
    with db.factory() as session:
        assert service.reconcile(session).ok


def test_earn_and_adjust_are_keyed_and_never_overdraw(sqlite_db: Db, tmp_path: Path):
    """Points from a co-branded card, once per key; an operator's adjustment takes points away
    but never more than are available (``insufficient_points``, exit 2)."""
    db = sqlite_db
    earn(db, tmp_path, 500)
    earn(db, tmp_path, 500)  # the same key: nothing more
    assert available(db) == 500
    base = ("points", "adjust", "--customer", "cust-1", "-m", "JP", "--note", "goodwill")
    taken = ok_json(cli(db, tmp_path, *base, "--points", "-120", "--key", "a-1", "--json"))
    assert taken["available"] == 380
    too_much = cli(db, tmp_path, *base, "--points", "-381", "--key", "a-2", "--json")
    assert error_code(too_much) == "insufficient_points"
    assert available(db) == 380


@pytest.mark.slow
@pytest.mark.xdist_group("points-cli-concurrency")
def test_led_01_fifty_cli_processes_spend_one_balance_exactly_33_times(db: Db, tmp_path: Path):
    """LED-01 through separate processes: with 1,000 points available, 50 concurrent
    ``tsunagu points redeem … --points 30`` with distinct keys succeed exactly floor(1000 / 30)
    = 33 times; the other 17 exit 2 with ``insufficient_points``; 10 points are left."""
    given(db, 1000)
    env = {**os.environ, "TSUNAGU_DATABASE_URL": db.url, "TSUNAGU_LANG": "en"}
    command = [sys.executable, "-m", "tsunagu.cli", "points", "redeem", "--customer", "cust-1",
               "--marketplace", "JP", "--points", "30", "--json"]  # fmt: skip
    processes = [
        subprocess.Popen(
            [*command, "--order", f"O-{i}", "--key", f"led01-{i}"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(50)
    ]
    results = []
    for p in processes:
        stdout, stderr = p.communicate(timeout=600)
        results.append((p.returncode, stdout, stderr))
    succeeded = [json.loads(out) for code, out, _ in results if code == 0]
    refused = [json.loads(out)["error"]["code"] for code, out, _ in results if code == 2]
    assert len(succeeded) + len(refused) == 50, [r for r in results if r[0] not in (0, 2)]
    assert len(succeeded) == 1000 // 30
    assert refused == ["insufficient_points"] * (50 - 1000 // 30)
    assert sorted(s["available"] for s in succeeded) == list(range(10, 1000, 30))
    assert available(db) == 1000 % 30
    with db.factory() as session:
        assert service.reconcile(session).ok


def test_history_and_offers_read_whole_at_80_columns_and_in_japanese(sqlite_db: Db, tmp_path: Path):
    """Human output at 80 columns: every id and value whole, no line wider than the terminal;
    with ``--lang ja`` the words are Japanese."""
    db = sqlite_db
    seller = make_seller(db)
    store = ("--seller", seller, "--marketplace", "JP")
    skus = ("MATCHA-POWDER-CEREMONIAL-100G", "GIFT-CARD-5000-JPY-DIGITAL")
    for sku, rate in zip(skus, ("10", "0"), strict=True):
        r = cli(db, tmp_path, "points", "settings", *store, "--rate", rate, "--sku", sku,
                "--category", "gift_card" if rate == "0" else "grocery")  # fmt: skip
        assert r.returncode == 0, r.stderr
    given(db, 12345, customer="amzn1.account.AGXYZ0123456789ABCDEF")
    spend = cli(
        db, tmp_path, "points", "redeem", "--customer", "amzn1.account.AGXYZ0123456789ABCDEF",
        "-m", "JP", "--order", "503-1234567-7654321", "--points", "2345", "--key", "r-1",
    )  # fmt: skip
    assert spend.returncode == 0, spend.stderr
    assert "503-1234567-7654321" in spend.stdout

    narrow = {"COLUMNS": "80"}
    history = cli(db, tmp_path, "points", "history", "--customer",
                  "amzn1.account.AGXYZ0123456789ABCDEF", "-m", "JP", env=narrow)  # fmt: skip
    assert history.returncode == 0, history.stderr
    for whole in ("amzn1.account.AGXYZ0123456789ABCDEF", "503-1234567-7654321", "+12,345 pt",
                  "-2,345 pt", "10,000 pt", "Points used", "co-branded-card"):  # fmt: skip
        assert whole in history.stdout, (whole, history.stdout)
    offers = cli(db, tmp_path, "points", "offers", *store, env=narrow)
    assert offers.returncode == 0, offers.stderr
    for whole in (*skus, seller, "10%", "gift_card"):
        assert whole in offers.stdout, (whole, offers.stdout)
    for r in (history, offers):
        assert all(len(line) <= 80 for line in r.stdout.splitlines()), r.stdout

    ja = cli(db, tmp_path, "--lang", "ja", "points", "history", "--customer",
             "amzn1.account.AGXYZ0123456789ABCDEF", "-m", "JP", env=narrow)  # fmt: skip
    assert ja.returncode == 0, ja.stderr
    for word in ("利用可能", "保留中", "ポイント利用", "10,000pt", "503-1234567-7654321"):
        assert word in ja.stdout, (word, ja.stdout)
