"""What a request controls never builds something trusted (issue 11, item 1 and items 8, 10).

AUTH-17: links in e-mails come from the configured public URL, a ``Host`` outside the allow-list
is refused before routing, and the CSRF check compares scheme, host and port with the configured
origin. API-09: the headers every answer and every page carry. API-11: ``X-Forwarded-For`` is
believed only from configured proxies.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.auth import PASSWORD, app_settings, create_user
from tests.conftest import Db
from tsunagu.api.guard import PAGE_CSP
from tsunagu.core.db import unit_of_work
from tsunagu.core.origins import parse_networks
from tsunagu.identity.models import AuditEntry, OutboxMessage
from tsunagu.slices import create_app

PUBLIC = "https://tsunagu.example.com"
USER = "owner@example.test"
LINK = re.compile(r"(\S+)\?token=")


def _client(db: Db, **overrides: Any) -> TestClient:
    return TestClient(create_app(app_settings(db, **overrides), migrate=False))


@pytest.fixture
def public(db: Db) -> Iterator[TestClient]:
    """An installation reached at https://tsunagu.example.com that also answers the test
    client's own host name (as a server does for an internal name)."""
    create_user(db, USER)
    with _client(db, public_url=PUBLIC, allowed_hosts=frozenset({"testserver"})) as client:
        yield client


def _mails(db: Db, kind: str) -> list[OutboxMessage]:
    with unit_of_work(db.factory) as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)).all()
        session.expunge_all()
        return list(rows)


def _links(db: Db, kind: str) -> list[str]:
    return [m.group(1) for mail in _mails(db, kind) for m in LINK.finditer(mail.body)]


def test_auth17_a_forged_host_is_refused_before_routing_and_queues_no_mail(db: Db):
    """The attack as reported: ``Host: attacker.example`` on the reset request. It never reaches
    the route: 400 ``host_not_allowed``, no message, no audit entry of a reset request."""
    create_user(db, USER)
    with _client(db) as client:
        r = client.post(
            "/v1/auth/password-reset",
            json={"email": USER},
            headers={"Host": "attacker.example"},
        )
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "host_not_allowed"
        page = client.post(
            "/forgot-password",
            data={"email": USER},
            headers={"Host": "attacker.example", "Origin": "http://attacker.example"},
        )
        assert page.status_code == 400
    assert _mails(db, "password_reset") == []
    with unit_of_work(db.factory) as session:
        requests = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "authn_password_reset_request")
        )
    assert requests == 0


@pytest.mark.parametrize(
    "host",
    [
        "attacker.example",
        "rebound.attacker.example:8000",  # a DNS name rebound to 127.0.0.1
        "testserver.attacker.example",
        "127.0.0.1.attacker.example",
        "",
        "bad host",
    ],
)
def test_auth17_hosts_outside_the_allow_list_get_400_on_every_route(db: Db, host: str):
    with _client(db) as client:
        for path in ("/readyz", "/v1/sellers", "/sign-in", "/static/app.css", "/nothing"):
            r = client.get(path, headers={"Host": host})
            assert r.status_code == 400, (path, r.status_code)
            assert r.json()["error"]["code"] == "host_not_allowed"


def test_auth17_allowed_hosts_are_the_public_urls_the_configured_and_loopback(db: Db):
    with _client(db, public_url=PUBLIC, allowed_hosts=frozenset({"intranet.example"})) as client:
        for host in (
            "tsunagu.example.com",
            "TSUNAGU.example.com:443",
            "intranet.example:8000",
            "127.0.0.1:8000",
            "localhost",
            "[::1]:8000",
        ):
            assert client.get("/healthz", headers={"Host": host}).status_code == 200, host
        assert client.get("/healthz", headers={"Host": "testserver"}).status_code == 400


def test_auth17_reset_links_point_at_the_public_url_whatever_the_request_says(
    db: Db, public: TestClient
):
    """API and dashboard alike: the request came to ``testserver`` (an allowed name), the link
    goes to the configured public URL, and the token in it works."""
    assert public.post("/v1/auth/password-reset", json={"email": USER}).status_code == 202
    page = public.post(
        "/forgot-password", data={"email": USER}, headers={"Origin": PUBLIC}, follow_redirects=False
    )
    assert page.status_code == 200, page.text
    assert _links(db, "password_reset") == [f"{PUBLIC}/reset-password"] * 2
    token = re.search(r"token=(\S+)", _mails(db, "password_reset")[-1].body)
    assert token is not None
    done = public.post(
        "/v1/auth/password-reset/complete",
        json={"token": token.group(1), "new_password": "a-new-green-teapot"},
    )
    assert done.status_code == 200, done.text


def test_auth17_verification_links_point_at_the_public_url(db: Db):
    create_user(db, USER, verified=False)
    with _client(db, public_url=PUBLIC, allowed_hosts=frozenset({"testserver"})) as client:
        signed_in = client.post("/v1/auth/sign-in", json={"email": USER, "password": PASSWORD})
        token = signed_in.json()["token"]
        r = client.post(
            "/v1/auth/verify-email",
            headers={"Authorization": f"Bearer {token}", "Host": "testserver:8443"},
        )
        assert r.status_code == 202
    assert _links(db, "email_verification") == [f"{PUBLIC}/verify-email"]


def test_auth17_without_a_public_url_a_mail_carries_its_code_and_no_link(db: Db):
    create_user(db, USER)
    with _client(db, public_url=None, allowed_hosts=frozenset({"testserver"})) as client:
        assert client.post("/v1/auth/password-reset", json={"email": USER}).status_code == 202
    [mail] = _mails(db, "password_reset")
    assert "http" not in mail.body
    assert re.search(r"once\): \S{20,}", mail.body)


def _sign_in_form(client: TestClient, headers: dict[str, str]) -> int:
    r = client.post(
        "/sign-in",
        data={"email": USER, "password": PASSWORD, "next": "/"},
        headers=headers,
        follow_redirects=False,
    )
    return r.status_code


def test_auth17_csrf_compares_scheme_host_and_port_with_the_configured_origin(
    db: Db, public: TestClient
):
    """The request's own ``Host`` proves nothing: ``testserver`` is an allowed name, yet a form
    posted from ``http://testserver`` is not from the public origin. Same host with another
    scheme or port is another origin."""
    assert _sign_in_form(public, {"Origin": PUBLIC}) == 303
    assert _sign_in_form(public, {"Origin": PUBLIC + ":443"}) == 303  # the default port spelled
    assert _sign_in_form(public, {"Referer": PUBLIC + "/sign-in?next=/"}) == 303
    for origin in (
        "http://testserver",  # what the old check compared with: the request's Host
        "http://tsunagu.example.com",
        "https://tsunagu.example.com:8443",
        "https://evil.tsunagu.example.com",
        "https://tsunagu.example.com.attacker.example",
        "null",
    ):
        assert _sign_in_form(public, {"Origin": origin}) == 403, origin
    assert _sign_in_form(public, {}) == 403


def test_auth17_rebinding_is_refused_and_a_loopback_origin_must_match_exactly(db: Db):
    """The reported pass: ``Host: attacker.example`` with a matching ``Origin``. On a loopback
    host (the demo) the browser's own address counts, and only it."""
    create_user(db, USER)
    with _client(db, public_url="http://127.0.0.1:8000") as client:
        rebound = {"Host": "attacker.example:8000", "Origin": "http://attacker.example:8000"}
        assert _sign_in_form(client, rebound) == 400
        local = {"Host": "localhost:8000", "Origin": "http://localhost:8000"}
        assert _sign_in_form(client, local) == 303
        for origin in ("http://localhost:9000", "https://localhost:8000", "http://127.0.0.2:8000"):
            assert _sign_in_form(client, {"Host": "localhost:8000", "Origin": origin}) == 403


def test_auth17_a_cookie_carried_api_write_from_another_origin_is_refused(
    db: Db, public: TestClient
):
    signed = public.post(
        "/sign-in",
        data={"email": USER, "password": PASSWORD, "next": "/"},
        headers={"Origin": PUBLIC},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    body = {"name": "Cross Site", "marketplaces": ["JP"]}
    refused = public.post("/v1/sellers", json=body, headers={"Origin": "http://testserver"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "cross_site_request"
    assert public.post("/v1/sellers", json=body, headers={"Origin": PUBLIC}).status_code == 201


# -- API-09: headers --------------------------------------------------------------------------


def test_api09_every_page_carries_the_security_headers(db: Db):
    create_user(db, USER)
    with _client(db) as client:
        for path in ("/sign-in", "/forgot-password", "/reset-password?token=x", "/verify-email"):
            r = client.get(path)
            assert r.headers["content-type"].startswith("text/html"), path
            assert r.headers["content-security-policy"] == PAGE_CSP, path
            assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
            assert "script-src 'self'" in r.headers["content-security-policy"]
            assert r.headers["x-frame-options"] == "DENY", path
            assert r.headers["x-content-type-options"] == "nosniff", path
            assert r.headers["referrer-policy"] in ("same-origin", "no-referrer"), path
            assert r.headers["cache-control"] == "no-store", path
        page = client.get("/sign-in").text
        assert not re.search(r"<script(?![^>]*\bsrc=\"/static/)", page), "inline or foreign script"
        # every link of the page's frame leads somewhere (the CDN-loaded /docs page is gone)
        for href in re.findall(r'href="(/[^"?#]*)', page):
            assert client.get(href).status_code != 404, href


def test_api09_answers_with_tokens_are_never_cached_and_the_docs_load_nothing_foreign(db: Db):
    create_user(db, USER)
    with _client(db) as client:
        r = client.post("/v1/auth/sign-in", json={"email": USER, "password": PASSWORD})
        assert r.status_code == 200
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert client.get("/healthz").headers["x-content-type-options"] == "nosniff"
        # the interactive API pages pulled their scripts from a CDN: the description remains
        assert client.get("/docs").status_code == 404
        assert client.get("/redoc").status_code == 404
        assert client.get("/openapi.json").status_code == 200


# -- API-11: forwarded headers ----------------------------------------------------------------


def _wrong_passwords(client: TestClient, count: int, forwarded: bool) -> list[int]:
    statuses = []
    for i in range(count):
        headers = {"X-Forwarded-For": f"203.0.113.{i + 1}"} if forwarded else {}
        r = client.post(
            "/v1/auth/sign-in",
            json={"email": f"nobody{i}@example.test", "password": "wrong-password-here"},
            headers=headers,
        )
        statuses.append(r.status_code)
    return statuses


def _audited_ips(db: Db) -> set[str | None]:
    with unit_of_work(db.factory) as session:
        return set(
            session.scalars(
                select(AuditEntry.ip).where(AuditEntry.action.like("authn_login_fail%"))
            )
        )


def test_api11_a_rotated_x_forwarded_for_does_not_escape_the_throttle_or_forge_the_log(db: Db):
    """No trusted proxies (the default): every attempt counts against the real peer, whose
    address is also what the audit log records."""
    with TestClient(
        create_app(app_settings(db), migrate=False), client=("198.51.100.7", 40000)
    ) as client:
        limit = app_settings(db).identity.ip_throttle.free
        statuses = _wrong_passwords(client, limit + 2, forwarded=True)
    assert statuses[:limit] == [401] * limit
    assert 429 in statuses[limit:]
    assert _audited_ips(db) == {"198.51.100.7"}


def test_api11_forwarded_for_is_believed_from_a_configured_proxy_only(db: Db):
    proxies = parse_networks("10.0.0.0/8")
    with TestClient(
        create_app(app_settings(db, trusted_proxies=proxies), migrate=False),
        client=("10.1.2.3", 40000),
    ) as client:
        limit = app_settings(db).identity.ip_throttle.free
        statuses = _wrong_passwords(client, limit + 2, forwarded=True)
        # each forwarded client is its own address; an address the client wrote in front of
        # the proxy's entry proves nothing
        r = client.post(
            "/v1/auth/sign-in",
            json={"email": "x@example.test", "password": "wrong-password-here"},
            headers={"X-Forwarded-For": "192.0.2.99, 203.0.113.200, 10.9.9.9"},
        )
        assert r.status_code == 401
    assert statuses == [401] * (limit + 2)
    ips = _audited_ips(db)
    assert {f"203.0.113.{i + 1}" for i in range(limit + 2)} <= ips
    assert "203.0.113.200" in ips
    assert "192.0.2.99" not in ips
    assert "10.1.2.3" not in ips
