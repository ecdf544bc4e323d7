"""The dashboard's CSV downloads (issue 16 item 9): orders, the defects behind a metric and
the health history, as a spreadsheet reads them: UTF-8 with a BOM, ids whole, money as a
decimal beside its currency, times in ISO 8601 with the marketplace's offset, formulas
defused."""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import Db
from tests.factories import at, event, ingest_events, make_seller, placed
from tests.web.conftest import both_stores
from tsunagu.core import csvfile
from tsunagu.demo.generate import DemoDataset
from tsunagu.health import service
from tsunagu.health.metrics import local_date
from tsunagu.orders.models import Order
from tsunagu.web import labels

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_the_guard_defuses_formulas_but_keeps_numbers() -> None:
    assert csvfile.guard("=1+1") == "'=1+1"
    assert csvfile.guard("+81 3 1234") == "'+81 3 1234"
    assert csvfile.guard("-2") == "'-2"
    assert csvfile.guard("@SUM(A1)") == "'@SUM(A1)"
    assert csvfile.guard("\t=x") == "'\t=x"
    assert csvfile.guard("503-1234567-1234567") == "503-1234567-1234567"
    assert csvfile.guard(Decimal("-12.50")) == "-12.50"
    assert csvfile.guard(-3) == "-3"
    assert csvfile.guard(None) == ""
    text = csvfile.text(["a", "b"], [["x,y", 'say "hi"']])
    assert text == '\ufeffa,b\r\nx,y,"say ""hi"""\r\n'.replace("x,y,", '"x,y",')


def test_a_stores_orders_whole_with_money_currency_and_offsets(
    client: TestClient, demo: DemoDataset, db: Db
) -> None:
    seller = both_stores(demo)
    r = client.get(f"/sellers/{seller}/stores/US/orders.csv?lang=en")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = read_csv(r.content)
    header, body = rows[0], rows[1:]
    assert header[:4] == ["Order id", "Store", "Purchased", "Status"]
    col = {name: n for n, name in enumerate(header)}
    with db.factory() as session:
        orders = {
            o.order_id: o
            for o in session.scalars(
                select(Order).where(Order.seller_id == seller, Order.marketplace == "US")
            )
        }
    # every order once, its id whole
    assert sorted(row[col["Order id"]] for row in body) == sorted(orders)
    statuses = set(labels.ORDER_STATUSES.values())
    for row in body:
        o = orders[row[col["Order id"]]]
        assert row[col["Currency"]] == "USD"
        assert Decimal(row[col["Total"]]) == Decimal(o.items_total) / 100
        assert re.fullmatch(r"\d+\.\d\d", row[col["Total"]])
        assert ISO.match(row[col["Purchased"]])
        assert row[col["Purchased"]][-6:] in ("-07:00", "-08:00")  # Los Angeles
        assert datetime.fromisoformat(row[col["Purchased"]]) == o.purchased_at
        assert row[col["Status"]] in statuses
    # the seller-wide file with the list's filter holds the same orders
    wide = read_csv(client.get(f"/sellers/{seller}/orders.csv?marketplace=US").content)
    assert sorted(r[0] for r in wide[1:]) == sorted(orders)


def test_a_formula_in_imported_text_is_defused(client: TestClient, db: Db) -> None:
    seller = make_seller(db, name="Formula Tea", marketplaces=("JP",))
    now = datetime.now(UTC)
    ingest_events(
        db,
        [
            placed(seller, "503-0000001-0000001", when=at(-2, now)),
            event(
                "order_shipped",
                seller,
                order_id="503-0000001-0000001",
                carrier='=HYPERLINK("http://evil.example","x")',
                tracking_id="+1234",
                when=at(-1, now),
            ),
        ],
        now=now,
    )
    rows = read_csv(client.get(f"/sellers/{seller}/stores/JP/orders.csv").content)
    col = {name: n for n, name in enumerate(rows[0])}
    (row,) = rows[1:]
    assert row[col["Order id"]] == "503-0000001-0000001"
    assert row[col["Carrier"]] == '\'=HYPERLINK("http://evil.example","x")'
    assert row[col["Tracking number"]] == "'+1234"
    assert row[col["Total"]] == "1980"
    assert row[col["Currency"]] == "JPY"
    assert row[col["Shipped at"]].endswith("+09:00")


def test_a_metrics_defects_with_kind_and_date(
    client: TestClient, demo: DemoDataset, db: Db
) -> None:
    seller, name = "sel_demo7_02", "order_defect_rate_mfn"
    assert any(s.id == seller for s in demo.sellers)
    mp = db.registry.require("US")
    with db.factory() as session:
        found = service.metric_drill_down(
            session, seller_id=seller, marketplace=mp, name=name, now=datetime.now(UTC)
        )
    assert found is not None
    assert found.rows, "the demo's struggling store has order defects"
    r = client.get(f"/sellers/{seller}/stores/US/metrics/{name}/defects.csv")
    assert r.status_code == 200, r.text
    rows = read_csv(r.content)
    assert rows[0] == ["Order", "Defect", "Reason", "Date"]
    expected = [(d.id, reason.kind) for d in found.rows for reason in d.reasons]
    assert [row[0] for row in rows[1:]] == [i for i, _ in expected]
    for row, (_, kind) in zip(rows[1:], expected, strict=True):
        assert row[1] == labels.DEFECTS[kind]
        assert row[3] == "" or ISO.match(row[3])
    assert client.get(f"/sellers/{seller}/stores/US/metrics/nothing/defects.csv").status_code == 404


def test_the_history_starts_at_the_first_day_with_data(client: TestClient, db: Db) -> None:
    """A store whose first order is three days old has three or four days of history, in the
    download and on its page, not 180 days of a flat starting score."""
    seller = make_seller(db, name="New Tea", marketplaces=("JP",))
    now = datetime.now(UTC)
    first = now - timedelta(days=3)
    ingest_events(db, [placed(seller, "503-0000009-0000001", when=at(-3, now))], now=now)
    zone = db.registry.require("JP").tz
    r = client.get(f"/sellers/{seller}/stores/JP/history.csv?lang=en")
    assert r.status_code == 200, r.text
    rows = read_csv(r.content)
    header, body = rows[0], rows[1:]
    assert header[:3] == ["Day", "Rating", "Band"]
    assert f"{labels.METRICS['order_defect_rate_mfn']} (%)" in header
    days = [row[0] for row in body]
    assert days[0] == local_date(first, zone).isoformat()
    assert days[-1] == local_date(now, zone).isoformat()
    assert len(body) <= 5
    for row in body:
        assert row[2] in set(labels.BANDS.values())
        assert int(row[1]) >= 0
    page = client.get(f"/sellers/{seller}/stores/JP?lang=en").text
    table = page[page.index('data-testid="history-table"') :]
    table = table[: table.index("</table>")]
    assert table.count('<th scope="row">') == len(body)


def test_history_of_a_demo_store_is_daily_with_percentages(
    client: TestClient, demo: DemoDataset
) -> None:
    seller = both_stores(demo)
    rows = read_csv(client.get(f"/sellers/{seller}/stores/JP/history.csv").content)
    body = rows[1:]
    days = [datetime.fromisoformat(row[0]).date() for row in body]
    assert days == sorted(days)
    assert all((b - a).days == 1 for a, b in itertools.pairwise(days))
    odr = rows[0].index(f"{labels.METRICS['order_defect_rate_mfn']} (%)")
    assert any(re.fullmatch(r"\d+\.\d\d", row[odr]) for row in body)


def test_the_pages_link_to_their_downloads(client: TestClient, demo: DemoDataset) -> None:
    seller = both_stores(demo)
    orders = client.get(f"/sellers/{seller}/orders?marketplace=JP&status=shipped").text
    link = re.search(r'data-testid="orders-csv" href="([^"]+)"', orders)
    assert link is not None
    rows = read_csv(client.get(link.group(1).replace("&amp;", "&")).content)
    assert len(rows) > 1
    assert {row[1] for row in rows[1:]} == {"JP"}
    assert {row[3] for row in rows[1:]} == {labels.ORDER_STATUSES["shipped"]}
    metric = client.get("/sellers/sel_demo7_02/stores/US/metrics/order_defect_rate_mfn").text
    link = re.search(r'data-testid="defects-csv" href="([^"]+)"', metric)
    assert link is not None
    assert client.get(link.group(1)).status_code == 200
