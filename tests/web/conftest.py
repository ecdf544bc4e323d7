"""A dashboard client over a real database, with and without the demo dataset."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from tests.auth import OWNER_EMAIL, api_client, create_user
from tests.conftest import Db
from tsunagu.demo.generate import DemoDataset, generate
from tsunagu.demo.load import load


@pytest.fixture
def client(db: Db) -> Iterator[TestClient]:
    with api_client(db, max_body_bytes=256 * 1024) as c:
        yield c


@pytest.fixture
def demo(db: Db) -> DemoDataset:
    """The demo sellers (one JP, one US, one in both), with data up to today."""
    now = datetime.now(UTC)
    dataset = generate(seed=7, sellers=3, orders=400, as_of=now.date())
    result = load(db.factory, dataset, registry=db.registry, now=now)
    assert result.report.rejected == 0
    create_user(db, OWNER_EMAIL, owner_of=[s.id for s in dataset.sellers])
    return dataset


def both_stores(dataset: DemoDataset) -> str:
    return next(s.id for s in dataset.sellers if s.marketplaces == ("JP", "US"))
