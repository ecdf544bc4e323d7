"""Alerts that speak up (issue 16 item 8): missed metrics, a store at risk has an active alert,
every import runs the check, and the daily digest goes once per user per day (ADR 0034)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.auth import create_user
from tests.conftest import Db
from tests.factories import NOW, at, event, ingest_events, make_seller, placed
from tsunagu.core.db import unit_of_work
from tsunagu.core.i18n import translate
from tsunagu.enforcement import service as enforcement
from tsunagu.events import imports
from tsunagu.health import alert_service, digest
from tsunagu.identity.models import OutboxMessage
from tsunagu.jobs import service as jobs_service
from tsunagu.notifications.email_models import AlertDigest
from tsunagu.slices import job_kinds

DAY = date(2026, 11, 25)


def half_late(seller: str, base: datetime = NOW, prefix: str = "503-") -> list[dict[str, Any]]:
    """One on-time and one late shipment (late shipment rate 50 %, target < 4 %)."""
    return [
        placed(seller, f"{prefix}OK", when=at(-5, base), latest_ship_date=at(-4, base)),
        event(
            "order_shipped", seller, order_id=f"{prefix}OK", tracking_id="T1", when=at(-4.5, base)
        ),
        placed(seller, f"{prefix}LATE", when=at(-5, base), latest_ship_date=at(-4, base)),
        event(
            "order_shipped", seller, order_id=f"{prefix}LATE", tracking_id="T2", when=at(-3, base)
        ),
    ]


def active(db: Db, seller: str) -> list[tuple[str, str, str | None]]:
    with db.session() as session:
        return sorted(
            (a.kind, a.subject, a.level)
            for a in alert_service.list_alerts(session, seller_id=seller, active_only=True)
        )


def test_a_metric_over_its_target_is_missed_with_its_value_and_target(db: Db):
    seller = make_seller(db, marketplaces=("JP",))
    ingest_events(db, half_late(seller))
    with unit_of_work(db.factory) as session:
        found = alert_service.check_alerts(
            session, seller_id=seller, marketplace=db.registry.require("JP"), day=DAY, now=NOW
        )
    by_subject = {a.subject: a for a in found.raised}
    lsr = by_subject["late_shipment_rate_30"]
    assert lsr.level == "missed"
    assert (lsr.details["value"], lsr.details["target"], lsr.details["target_comparison"]) == (
        0.5,
        0.04,
        "<",
    )
    from tsunagu.health.alert_words import describe

    assert describe(lsr.kind, lsr.subject, lsr.level, lsr.details, "en") == (
        "Late shipment rate (30 days) missed its target: 50.00% (target < 4.00%)"
    )


def test_a_store_at_risk_has_an_active_alert_until_it_is_normal_again(db: Db):
    seller = make_seller(db, marketplaces=("JP",))
    ingest_events(db, half_late(seller))
    with unit_of_work(db.factory) as session:
        enforcement.evaluate_stores(session, registry=db.registry, day=DAY, now=NOW)
    with db.session() as session:
        status = enforcement.store_status(session, seller_id=seller, marketplace="JP").status
    assert status == "AT_RISK"
    with unit_of_work(db.factory) as session:
        alert_service.check_alerts(
            session, seller_id=seller, marketplace=db.registry.require("JP"), day=DAY, now=NOW
        )
    assert ("account_status", "AT_RISK", "missed") in active(db, seller)


def test_every_import_runs_the_check(db: Db, tmp_path: Path):
    seller = make_seller(db, marketplaces=("JP",))
    now = datetime.now(UTC)  # the import checks today: the orders are of the last days
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in half_late(seller, base=now)) + "\n")
    assert active(db, seller) == []
    imports.load(
        db.factory,
        imports.FileImport(imports.EVENTS, path, path.name),
        registry=db.registry,
        clock=lambda: now,
    )
    assert ("metric_margin", "late_shipment_rate_30", "missed") in active(db, seller)


def test_the_digest_is_written_once_per_user_per_day_in_the_users_language(db: Db):
    seller = make_seller(db, name="Hanamizuki", marketplaces=("JP",))
    ingest_events(db, half_late(seller))
    with unit_of_work(db.factory) as session:
        enforcement.evaluate_stores(session, registry=db.registry, day=DAY, now=NOW)
        alert_service.check_alerts(
            session, seller_id=seller, marketplace=db.registry.require("JP"), day=DAY, now=NOW
        )
    en_user = create_user(db, "en-owner@example.com", owner_of=[seller])
    ja_user = create_user(db, "ja-owner@example.com", owner_of=[seller])
    create_user(db, "nobody@example.com")  # reaches no store: no digest
    create_user(db, "unverified@example.com", owner_of=[seller], verified=False)
    with unit_of_work(db.factory) as session:
        digest.set_preference(session, principal_id=ja_user, lang="ja", digest=None, now=NOW)

    later = NOW + timedelta(hours=6)
    with unit_of_work(db.factory) as session:
        first = digest.write_digests(session, registry=db.registry, day="2026-11-25", now=later)
    assert first.written == 2
    with unit_of_work(db.factory) as session:
        again = digest.write_digests(session, registry=db.registry, day="2026-11-25", now=later)
    assert (again.written, again.already) == (0, 2)

    with db.session() as session:
        mails = {
            m.to_address: m for m in session.query(OutboxMessage).filter_by(kind="alert_digest")
        }
        markers = session.query(AlertDigest).count()
    assert sorted(mails) == ["en-owner@example.com", "ja-owner@example.com"]
    assert markers == 2
    en = mails["en-owner@example.com"].body
    assert "Hanamizuki" in en
    assert "rating" in en
    assert "At risk of deactivation" in en
    assert "Late shipment rate (30 days) missed its target: 50.00% (target < 4.00%)" in en
    assert "New alerts:" in en
    ja = mails["ja-owner@example.com"].body
    at_risk_ja = translate("At risk of deactivation", "ja")
    assert at_risk_ja != "At risk of deactivation"
    assert at_risk_ja in ja
    assert "At risk of deactivation" not in ja
    assert en_user != ja_user


def test_the_digest_job_runs_only_with_smtp_configured_and_once_per_day(db: Db, monkeypatch):
    seller = make_seller(db, marketplaces=("JP",))
    create_user(db, "owner@example.com", owner_of=[seller])
    t = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)

    def digest_runs(at_: datetime) -> list[dict[str, Any]]:
        ran = jobs_service.run_due(db.factory, as_of=at_, registry=db.registry, kinds=job_kinds())
        return [r for r in ran.ran if r["kind"] == "health.digest"]

    monkeypatch.delenv("TSUNAGU_SMTP_HOST", raising=False)
    (off,) = digest_runs(t)
    assert off["result"]["disabled"] is True

    monkeypatch.setenv("TSUNAGU_SMTP_HOST", "127.0.0.1")
    (on,) = digest_runs(t + timedelta(days=1))
    assert (on["key"], on["result"]["written"]) == ("2026-11-26", 1)
    assert digest_runs(t + timedelta(days=1)) == []  # the same day is not run again
