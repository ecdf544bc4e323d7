"""The alerts page: "check now" runs the check for the seller's stores and the table shows each
alert's value and target, in English and Japanese (issue 16 item 8)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from tests.conftest import Db
from tests.factories import ingest_events, make_seller
from tests.integration.test_alerts_speak_up import half_late

SITE = "http://testserver"


def cells(html: str, testid: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", " ", m).strip()
        for m in re.findall(rf'data-testid="{testid}"[^>]*>(.*?)</td>', html, re.S)
    ]


def test_check_now_raises_the_missed_metric_and_shows_value_and_target(client: TestClient, db: Db):
    seller = make_seller(db, name="Hanamizuki", marketplaces=("JP",))
    ingest_events(db, half_late(seller, base=datetime.now(UTC)))
    before = client.get(f"/sellers/{seller}/alerts?lang=en").text
    assert 'data-testid="alerts-empty"' in before
    assert 'data-testid="alerts-check"' in before

    r = client.post(f"/sellers/{seller}/alerts/check", headers={"Origin": SITE})
    assert r.status_code == 200, r.text
    html = r.text
    assert 'data-testid="alerts-checked"' in html
    assert "Checked 1 store(s) for today: 2 alert(s) raised" in html
    assert 'data-level="missed"' in html
    assert "Late shipment rate (30 days) missed its target: 50.00% (target &lt; 4.00%)" in html
    assert "50.00%" in cells(html, "alert-value")
    assert any(c.startswith("&lt; 4.00%") for c in cells(html, "alert-target"))
    assert "near its target" not in html

    # checking again raises nothing new
    again = client.post(f"/sellers/{seller}/alerts/check", headers={"Origin": SITE}).text
    assert "0 alert(s) raised" in again

    ja = client.get(f"/sellers/{seller}/alerts?lang=ja").text
    assert "50.00%" in cells(ja, "alert-value")
    assert "missed its target" not in ja  # the Japanese sentence, once the catalog is merged
