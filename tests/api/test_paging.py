"""Every list pages with an opaque cursor made by one encoder (``tsunagu.core.paging``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from tests.api.test_api import assert_envelope, new_seller
from tests.auth import api_client
from tests.conftest import Db
from tsunagu.core.errors import InvalidInput
from tsunagu.core.paging import (
    decode_cursor,
    encode_cursor,
    instant,
    next_page,
    read_cursor,
    text,
)


@pytest.fixture
def client(db: Db) -> Iterator[TestClient]:
    with api_client(db) as c:
        yield c


def test_the_sellers_cursor_is_opaque_and_walks_every_seller_once(client: TestClient):
    ids = {new_seller(client, f"s{n}") for n in range(5)}
    seen: list[str] = []
    cursors: list[str] = []
    page = client.get("/v1/sellers", params={"limit": 2}).json()
    while True:
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        cursors.append(cursor)
        assert cursor not in ids
        assert not cursor.startswith("sel_"), cursor
        assert not any(seller_id in cursor for seller_id in ids)
        assert decode_cursor(cursor, 1) == [page["items"][-1]["id"]]  # the one encoder
        page = client.get("/v1/sellers", params={"limit": 2, "cursor": cursor}).json()
    assert len(cursors) == 2
    assert sorted(seen) == sorted(ids)  # every seller, each once


def test_a_bare_seller_id_is_not_a_cursor(client: TestClient):
    """Before one paging helper, a seller id passed as ``cursor`` was the key to page after;
    it is refused like any cursor tsunagu did not make."""
    ids = sorted(new_seller(client, f"s{n}") for n in range(3))
    r = client.get("/v1/sellers", params={"limit": 2, "cursor": ids[0]})
    assert_envelope(r, 422, "invalid_cursor")


def test_read_cursor_gives_back_what_next_page_wrote():
    at = datetime(2026, 11, 25, 3, 4, 5, tzinfo=UTC)
    rows = [(at, "JP", "503-2"), (at, "JP", "503-1"), (at, "US", "112-1")]
    page, cursor = next_page(rows, 2, lambda r: r)
    assert page == rows[:2]
    assert cursor is not None
    assert read_cursor(cursor, instant, text, text) == rows[1]
    assert next_page(rows, 3, lambda r: r) == (rows, None)
    assert read_cursor(None, text) is None
    assert read_cursor("", text) is None


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "sel_01jd0000000000000000000000",
        encode_cursor("not an instant", "x"),  # a part its parser refuses
        encode_cursor("2026-11-25T00:00:00Z"),  # the wrong size
        encode_cursor("2026-11-25T00:00:00Z", "x\x00"),  # a control character
    ],
)
def test_anything_else_is_invalid_cursor(cursor: str):
    with pytest.raises(InvalidInput) as caught:
        read_cursor(cursor, instant, text)
    assert caught.value.code == "invalid_cursor"
