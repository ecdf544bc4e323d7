"""The account-health benchmark's check, on a tiny dataset: tsunagu's order-metric counts equal
those of one bare SQL ``GROUP BY`` over the same rows, for every store.

Evaluated at the instant the data was generated for, and three and a half days earlier, when
many ship confirmations, scans, deliveries, cancellations, feedback and claim decisions in the
database lie after the cut-off and must be ignored by both sides.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from benchmarks import health as bench
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.core.db import make_engine, make_sessionmaker
from tsunagu.marketplaces.registry import Marketplace, load_registry

SELLERS = 5
ORDERS = 5000


@pytest.fixture(scope="module")
def dataset(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, sessionmaker[Session], list[tuple[str, Marketplace]], list[Marketplace]]:
    path = tmp_path_factory.mktemp("health-bench") / "bench.db"
    stored = bench.build(path, sellers=SELLERS, orders=ORDERS, seed=7, now=bench.NOW)
    assert stored > ORDERS  # every order has several events
    registry = load_registry(None)
    markets = [registry.require(code) for code in bench.MARKETS]
    stores = [(bench.seller_id(s), m) for s in range(SELLERS) for m in markets]
    factory = make_sessionmaker(make_engine(f"sqlite:///{path}", read_only=True))
    return path, factory, stores, markets


@pytest.mark.parametrize(
    "now", [bench.NOW, bench.NOW - timedelta(days=3, hours=12)], ids=["now", "earlier"]
)
def test_tsunagu_counts_equal_the_sqlite_reference(
    dataset: tuple[Path, sessionmaker[Session], list[tuple[str, Marketplace]], list[Marketplace]],
    now: datetime,
) -> None:
    path, factory, stores, markets = dataset
    ours = bench.tsunagu_full(factory, stores, now)
    reference = bench.reference_sqlite(path, markets, now)
    assert bench.compare(ours, reference, "sqlite") == []
    assert set(reference) == {(sid, m.code) for sid, m in stores}
    # every count is exercised: none of them is zero over the whole dataset
    totals = dict(zip(bench.COUNT_NAMES, map(sum, zip(*ours.values(), strict=True)), strict=True))
    assert all(totals.values()), totals


def test_the_check_reports_a_difference(
    dataset: tuple[Path, sessionmaker[Session], list[tuple[str, Marketplace]], list[Marketplace]],
) -> None:
    path, factory, stores, markets = dataset
    ours = bench.tsunagu_full(factory, stores, bench.NOW)
    reference = bench.reference_sqlite(path, markets, bench.NOW)
    key = next(iter(reference))
    counts = list(reference[key])
    counts[bench.COUNT_NAMES.index("odr_mfn_num")] += 1
    reference[key] = tuple(counts)
    problems = bench.compare(ours, reference, "sqlite")
    assert len(problems) == 1
    assert "odr_mfn_num" in problems[0]
    # a store the reference does not know (no orders at all) compares as zeros
    del reference[key]
    assert len(bench.compare(ours, reference, "sqlite")) == 1


def test_duckdb_over_arrow_gives_the_same_counts(
    dataset: tuple[Path, sessionmaker[Session], list[tuple[str, Marketplace]], list[Marketplace]],
) -> None:
    pytest.importorskip("duckdb")
    pytest.importorskip("pyarrow")
    path, factory, stores, markets = dataset
    ours = bench.tsunagu_full(factory, stores, bench.NOW)
    duck = bench.reference_duckdb(bench.to_arrow(path), markets, bench.NOW)
    assert bench.compare(ours, duck, "duckdb") == []
