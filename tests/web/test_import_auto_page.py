"""The imports page's many-files form (issue 16 item 3): detection before import, the import,
past imports; without JavaScript (plain form posts) and as the htmx fragment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Db
from tests.factories import make_seller

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
AMAZON = Path(__file__).resolve().parent.parent / "data" / "amazon"
#: snake_case tokens the page must never show (issue 16 item 7)
RAW = re.compile(r"\b(file_marketplace_mismatch|only_store|attributed_by|afn-shipments)\b")


def files(*names: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (n, (AMAZON / n).read_bytes(), "text/plain")) for n in names]


def cells(html: str, testid: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(rf'data-testid="{testid}"[^>]*>(.*?)</td>', html, flags=re.S)
    ]


def test_the_page_offers_many_files_and_says_there_are_no_imports_yet(client: TestClient, db: Db):
    seller = make_seller(db)
    html = client.get(f"/sellers/{seller}/imports").text
    assert 'data-testid="auto-form"' in html
    assert re.search(r'<input type="file" id="files" name="files" multiple', html)
    assert 'hx-post="/sellers/' + seller + '/imports/detect"' in html
    assert '<script src="/static/imports.js"' in html
    assert 'data-testid="no-past-imports"' in html
    assert client.get("/static/imports.js").status_code == 200


def test_check_shows_what_each_file_is_and_imports_nothing(client: TestClient, db: Db):
    seller = make_seller(db)
    r = client.post(
        f"/sellers/{seller}/imports/detect",
        files=files("feedback-jp.txt", "all-orders-jp-utf8.txt"),
    )
    assert r.status_code == 200
    html = r.text
    assert 'data-testid="auto-detection"' in html
    assert cells(html, "auto-file-name") == ["all-orders-jp-utf8.txt", "feedback-jp.txt"]
    assert cells(html, "auto-file-kind") == ["All Orders report", "Seller Feedback report"]
    assert cells(html, "auto-file-store") == [
        "JP (named in the file)",
        "JP (found from its orders)",
    ]
    assert cells(html, "auto-file-rows") == ["10", "4"]
    assert 'data-testid="auto-choose-again"' in html  # a full page: the files must be picked again
    assert 'data-testid="no-past-imports"' in html


def test_the_htmx_check_answers_the_fragment_only(client: TestClient, db: Db):
    seller = make_seller(db)
    r = client.post(
        f"/sellers/{seller}/imports/detect",
        files=files("all-orders-us.txt"),
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200
    assert "<html" not in r.text
    assert 'data-testid="auto-detection"' in r.text
    assert 'data-testid="auto-choose-again"' not in r.text


def test_import_shows_each_files_outcome_and_the_past_imports_in_japanese(
    client: TestClient, db: Db
):
    seller = make_seller(db)
    r = client.post(
        f"/sellers/{seller}/imports/auto?lang=ja",
        files=files("feedback-jp.txt", "all-orders-jp-utf8.txt", "all-orders-us.txt"),
        data={"marketplace": "JP"},
    )
    assert r.status_code == 200
    html = r.text
    assert 'data-testid="auto-results"' in html
    assert cells(html, "auto-file-stored")[:2] == ["13", "4"]
    assert len(re.findall(r'data-testid="auto-file-problem"', html)) == 1  # the US file
    assert len(re.findall(r'data-testid="past-import"', html)) == 2
    assert not RAW.search(
        re.sub(r"<[^>]+>", " ", html.split('id="auto-heading"')[1].split("<details")[0])
    )


def test_no_files_is_a_message_not_an_error_page(client: TestClient, db: Db):
    seller = make_seller(db)
    r = client.post(f"/sellers/{seller}/imports/auto", data={"marketplace": ""})
    assert r.status_code == 422
    assert 'data-testid="auto-error"' in r.text
    assert "Choose one or more files." in r.text
