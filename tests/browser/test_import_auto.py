"""Importing many Amazon files at once through the imports page (issue 16 item 3), in Chromium,
in English and Japanese: pick several files, see what each one is, import them, see the past
imports listed; and a file dropped on the drop zone.

Each test works on a seller of its own (owned by the demo account), so the demo sellers other
browser tests read stay as they are."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.access.service import grant_role
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.demo.load import DEMO_EMAIL
from tsunagu.identity.models import Principal
from tsunagu.marketplaces.registry import load_registry
from tsunagu.sellers.service import create_seller

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

DATA = Path(__file__).resolve().parent.parent / "data" / "amazon"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def own_seller(factory: sessionmaker[Session], name: str) -> str:
    now = utcnow()
    with unit_of_work(factory) as session:
        owner = session.scalars(select(Principal.id).where(Principal.email == DEMO_EMAIL)).one()
        seller = create_seller(
            session, name=name, marketplaces=["JP", "US"], registry=load_registry(None), now=now
        )
        grant_role(
            session, principal_id=owner, seller_id=seller.id, role="owner", now=now, actor="test"
        )
        return seller.id


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_several_files_are_detected_then_imported_and_listed(page, server_db, lang: str) -> None:
    seller = own_seller(server_db, f"Auto import {lang}")
    page.goto(f"/sellers/{seller}/imports?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("[data-testid=no-past-imports]").is_visible()
    page.set_input_files(
        "#files",
        [str(DATA / n) for n in ("feedback-jp.txt", "all-orders-us.txt", "all-orders-jp-utf8.txt")],
    )
    detection = page.locator("[data-testid=auto-detection]")
    detection.wait_for()
    names = detection.locator("[data-testid=auto-file-name]").all_inner_texts()
    assert names == ["all-orders-jp-utf8.txt", "all-orders-us.txt", "feedback-jp.txt"]
    stores = detection.locator("[data-testid=auto-file-store]").all_inner_texts()
    assert [s.split()[0] for s in stores] == ["JP", "US", "JP"]
    rows = detection.locator("[data-testid=auto-file-rows]").all_inner_texts()
    assert rows == ["10", "16", "4"]
    kinds = detection.locator("[data-testid=auto-file-kind]").all_inner_texts()
    if lang == "ja":
        assert all(JAPANESE.search(k) for k in kinds), kinds
    else:
        assert kinds == ["All Orders report", "All Orders report", "Seller Feedback report"]
    # nothing is imported by the check
    assert page.locator("[data-testid=past-import]").count() == 0

    page.locator("[data-testid=auto-import]").click()
    page.wait_for_url(f"**/sellers/{seller}/imports/auto")
    results = page.locator("[data-testid=auto-results]")
    results.wait_for()
    assert results.locator("[data-testid=auto-file][data-ok=yes]").count() == 3
    stored = results.locator("[data-testid=auto-file-stored]").all_inner_texts()
    assert stored[-1] == "4"  # the JP feedback went to the JP store
    past = page.locator("[data-testid=past-import-name]").all_inner_texts()
    assert sorted(past) == ["all-orders-jp-utf8.txt", "all-orders-us.txt", "feedback-jp.txt"]
    # usable at 390 px: the page is no wider than the window
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_file_dropped_on_the_drop_zone_is_detected(page, server_db) -> None:
    seller = own_seller(server_db, "Auto import drop")
    page.goto(f"/sellers/{seller}/imports?lang=en")
    text = (DATA / "all-orders-us.txt").read_text(encoding="utf-8")
    page.evaluate(
        """(text) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([text], "dropped-orders.txt", {type: "text/plain"}));
            const zone = document.getElementById("dropzone");
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true}));
        }""",
        text,
    )
    detection = page.locator("[data-testid=auto-detection]")
    detection.wait_for()
    assert detection.locator("[data-testid=auto-file-name]").all_inner_texts() == [
        "dropped-orders.txt"
    ]
    assert detection.locator("[data-testid=auto-file-kind]").inner_text() == "All Orders report"
