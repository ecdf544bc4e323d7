"""The API description's tags say what their operations are (issue 12: the ``health`` tag, which
groups the account-health operations, was described as load-balancer probes, and
``marketplaces`` as regions)."""

from __future__ import annotations

from tests.auth import app_settings
from tests.conftest import Db
from tsunagu.slices import create_app


def _spec(db: Db) -> dict:
    return create_app(app_settings(db), migrate=False).openapi()


def test_every_tag_is_described_and_every_operation_uses_a_described_tag(db: Db):
    spec = _spec(db)
    described = {t["name"]: t["description"] for t in spec["tags"]}
    used = {
        tag
        for path in spec["paths"].values()
        for operation in path.values()
        for tag in operation.get("tags", [])
    }
    assert used <= set(described), f"undescribed tags: {sorted(used - set(described))}"
    assert set(described) <= used, f"tags nothing uses: {sorted(set(described) - used)}"


def test_the_health_tag_is_account_health_and_the_probes_have_their_own(db: Db):
    spec = _spec(db)
    described = {t["name"]: t["description"] for t in spec["tags"]}
    tagged = {
        (method, url): operation.get("tags", [])
        for url, path in spec["paths"].items()
        for method, operation in path.items()
    }
    assert tagged[("get", "/healthz")] == tagged[("get", "/readyz")] == ["probes"]
    health_ops = [key for key, tags in tagged.items() if "health" in tags]
    assert health_ops
    assert all("/health" in url or "/alerts" in url for _, url in health_ops), health_ops
    assert "Account health" in described["health"]
    assert "probe" not in described["health"].lower()
    assert "load balancer" in described["probes"]
    assert "marketplace" in described["marketplaces"].lower()
