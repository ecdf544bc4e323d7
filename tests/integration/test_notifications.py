"""Notifications and webhook deliveries against a real local HTTP receiver, on both databases,
with an explicit clock (ADR 0027): signed deliveries that verify, retries with back-off, no
redirect followed, and nothing sent where the operator has not allowed it."""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import Db
from tests.factories import NOW, make_seller
from tsunagu.access.actor import LOCAL_OWNER, Actor
from tsunagu.access.rules import PrincipalRoles
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import TsunaguError
from tsunagu.identity.models import AuditEntry
from tsunagu.jobs.registry import by_name
from tsunagu.jobs.service import run_due
from tsunagu.marketplaces.registry import load_registry
from tsunagu.notifications import jobs as notification_jobs
from tsunagu.notifications import service
from tsunagu.notifications.config import NotificationsConfig, notifications_of
from tsunagu.notifications.dispatch import deliver_due
from tsunagu.notifications.models import Delivery, Notification
from tsunagu.notifications.rules import (
    ID_HEADER,
    SIGNATURE_HEADER,
    Allowlist,
    signature_problem,
    verify_signature,
)

STATUS = {"previousAccountStatus": "NORMAL", "currentAccountStatus": "DEACTIVATED"}


# -- a real receiver ---------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records every request and answers from a script."""

    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    started: list[tuple[ThreadingHTTPServer, threading.Thread]] = []
    made: list[Receiver] = []

    def make() -> Receiver:
        receiver = Receiver()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                receiver.requests.append(
                    Received(self.path, dict(self.headers.items()), self.rfile.read(length))
                )
                status, headers = receiver.answers.pop(0) if receiver.answers else (200, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        receiver.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        started.append((server, thread))
        made.append(receiver)
        return receiver

    make()
    make()
    yield made
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(5)


def config_for(*entries: str, **overrides: int) -> NotificationsConfig:
    return NotificationsConfig(allowed_hosts=Allowlist.of(entries), **overrides)  # type: ignore[arg-type]


def allow(receiver: Receiver) -> str:
    return f"http://127.0.0.1:{receiver.port}"


def add_webhook(
    db: Db, url: str, config: NotificationsConfig, seller: str | None, **kw: object
) -> tuple[str, str]:
    with unit_of_work(db.factory) as session:
        created = service.create_webhook(
            session,
            actor=LOCAL_OWNER,
            url=url,
            kinds=kw.get("kinds", ["ACCOUNT_STATUS_CHANGED"]),  # type: ignore[arg-type]
            seller_id=seller,
            now=NOW,
            config=config,
        )
        return created.webhook.id, created.secret


def notify(db: Db, seller: str, key: str = "k1", kind: str = "ACCOUNT_STATUS_CHANGED") -> None:
    with unit_of_work(db.factory) as session:
        service.notify(
            session,
            kind=kind,
            seller_id=seller,
            marketplace="US",
            payload=STATUS,
            now=NOW,
            key=key,
        )


def deliveries(db: Db) -> list[Delivery]:
    with db.session() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


# -- recording ---------------------------------------------------------------------------------


def test_notify_is_idempotent_per_key_and_queues_one_delivery_per_subscribed_webhook(db: Db):
    seller, other = make_seller(db), make_seller(db, name="Other")
    config = config_for("hooks.example.com")
    mine, _ = add_webhook(db, "https://hooks.example.com/a", config, seller)
    every, _ = add_webhook(db, "https://hooks.example.com/all", config, None)
    add_webhook(db, "https://hooks.example.com/b", config, other)  # another seller's
    add_webhook(db, "https://hooks.example.com/c", config, seller, kinds=["APPEAL_STATUS_CHANGED"])
    notify(db, seller)
    notify(db, seller)  # the same key again: nothing new
    with db.session() as session:
        assert session.scalars(select(Notification)).all()[0].payload == STATUS
        assert len(session.scalars(select(Notification)).all()) == 1
    assert sorted(d.webhook_id for d in deliveries(db)) == sorted([mine, every])
    assert {d.status for d in deliveries(db)} == {"pending"}


def test_removing_a_webhook_cancels_its_pending_deliveries_and_stops_new_ones(db: Db):
    seller = make_seller(db)
    config = config_for("hooks.example.com")
    hook, _ = add_webhook(db, "https://hooks.example.com/a", config, seller)
    notify(db, seller, "k1")
    with unit_of_work(db.factory) as session:
        service.remove_webhook(session, actor=LOCAL_OWNER, webhook_id=hook, now=NOW)
    notify(db, seller, "k2")
    assert [d.status for d in deliveries(db)] == ["cancelled"]
    with db.session() as session:
        actions = [e.action for e in session.scalars(select(AuditEntry))]
    assert actions == ["webhook_created", "webhook_removed"]


def test_who_may_make_webhooks(db: Db):
    seller, other = make_seller(db), make_seller(db, name="Other")
    config = config_for("hooks.example.com")
    viewer = Actor(
        name="p1", principal_id="p1", roles=PrincipalRoles({seller: "viewer"}), via="session"
    )
    owner = Actor(name="p2", principal_id="p2", roles=PrincipalRoles({seller: "owner"}))
    operator = Actor(
        name="p3", principal_id="p3", roles=PrincipalRoles({}, operator=True), via="session"
    )
    cases = [
        (viewer, seller, "forbidden"),
        (owner, other, "seller_not_found"),
        (owner, None, "forbidden"),
        (operator, seller, "forbidden"),  # operators read every seller, change none
    ]
    for actor, target, code in cases:
        with db.session() as session, pytest.raises(TsunaguError) as caught:
            service.create_webhook(
                session,
                actor=actor,
                url="https://hooks.example.com/x",
                kinds=["ACCOUNT_STATUS_CHANGED"],
                seller_id=target,
                now=NOW,
                config=config,
            )
        assert caught.value.code == code, (actor.name, target)
    for actor, target in [(owner, seller), (operator, None)]:
        with unit_of_work(db.factory) as session:
            created = service.create_webhook(
                session,
                actor=actor,
                url="https://hooks.example.com/x",
                kinds=["ACCOUNT_STATUS_CHANGED"],
                seller_id=target,
                now=NOW,
                config=config,
            )
            assert created.secret.startswith("whsec_")
    with db.session() as session:
        seen_by_owner = service.list_webhooks(session, actor=owner)
        seen_by_operator = service.list_webhooks(session, actor=operator)
    assert [w.seller_id for w in seen_by_owner] == [seller]
    assert sorted(str(w.seller_id) for w in seen_by_operator) == sorted(["None", seller])


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://evil.example.net/x", "webhook_host_not_allowed"),
        ("http://hooks.example.com/x", "webhook_https_required"),
        ("https://user:pw@hooks.example.com/x", "invalid_webhook_url"),
    ],
)
def test_a_url_the_operator_did_not_allow_is_refused_at_creation(db: Db, url: str, code: str):
    seller = make_seller(db)
    with db.session() as session, pytest.raises(TsunaguError) as caught:
        service.create_webhook(
            session,
            actor=LOCAL_OWNER,
            url=url,
            kinds=["ACCOUNT_STATUS_CHANGED"],
            seller_id=seller,
            now=NOW,
            config=config_for("hooks.example.com"),
        )
    assert (caught.value.code, caught.value.status) == (code, 422)


# -- delivering --------------------------------------------------------------------------------


def test_a_delivery_is_signed_and_verifies_and_its_replay_is_refused(
    db: Db, receivers: list[Receiver]
):
    seller = make_seller(db)
    receiver = receivers[0]
    config = config_for(allow(receiver))
    hook, secret = add_webhook(db, receiver.url + "?token=abc", config, seller)
    notify(db, seller)
    run = deliver_due(db.factory, now=NOW, config=config)
    assert run.delivered == 1
    [got] = receiver.requests
    assert got.path == "/hook?token=abc"
    header = got.headers[SIGNATURE_HEADER]
    assert verify_signature(secret, header, got.body, NOW)
    assert not verify_signature("whsec_another", header, got.body, NOW)
    # the same request replayed ten minutes later is refused by the receiver's check
    assert signature_problem(secret, header, got.body, NOW + timedelta(minutes=10)) == "too_old"
    import json

    body = json.loads(got.body)
    assert body["payload"] == {"accountStatusChangeNotification": STATUS}
    assert body["notificationMetadata"]["notificationId"] == got.headers[ID_HEADER]
    assert body["notificationMetadata"]["subscriptionId"] == hook
    assert got.headers["Host"] == f"127.0.0.1:{receiver.port}"
    [delivery] = deliveries(db)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    # nothing more is due: a second run sends nothing
    assert deliver_due(db.factory, now=NOW + timedelta(hours=1), config=config).attempts == []
    assert len(receiver.requests) == 1


def test_a_500_is_retried_after_the_back_off_and_a_200_then_delivers(
    db: Db, receivers: list[Receiver]
):
    seller = make_seller(db)
    receiver = receivers[0]
    receiver.answers = [(500, {}), (200, {})]
    config = config_for(allow(receiver))
    add_webhook(db, receiver.url, config, seller)
    notify(db, seller)

    first = deliver_due(db.factory, now=NOW, config=config)
    assert (first.delivered, first.retrying) == (0, 1)
    [delivery] = deliveries(db)
    assert delivery.status == "pending"
    assert delivery.last_error == "http_500"
    assert delivery.next_attempt_at is not None
    wait = delivery.next_attempt_at - NOW
    assert timedelta(minutes=1) <= wait <= timedelta(minutes=1.2)

    early = deliver_due(db.factory, now=NOW + timedelta(seconds=59), config=config)
    assert early.attempts == []  # not yet due
    assert len(receiver.requests) == 1

    second = deliver_due(db.factory, now=delivery.next_attempt_at, config=config)
    assert second.delivered == 1
    [delivery] = deliveries(db)
    assert delivery.status == "delivered"
    assert [a["status_code"] for a in delivery.attempt_log] == [500, 200]
    assert [a["error"] for a in delivery.attempt_log] == ["http_500", None]
    # each attempt is signed at its own time, for the same notification
    assert len(receiver.requests) == 2
    assert receiver.requests[0].headers[ID_HEADER] == receiver.requests[1].headers[ID_HEADER]


def test_gives_up_after_max_attempts(db: Db, receivers: list[Receiver]):
    seller = make_seller(db)
    receiver = receivers[0]
    receiver.answers = [(503, {})] * 3
    config = config_for(allow(receiver), max_attempts=3)
    add_webhook(db, receiver.url, config, seller)
    notify(db, seller)
    now = NOW
    for _ in range(3):
        deliver_due(db.factory, now=now, config=config)
        now += timedelta(hours=2)
    [delivery] = deliveries(db)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 3, None)
    assert deliver_due(db.factory, now=now + timedelta(days=1), config=config).attempts == []
    assert len(receiver.requests) == 3


def test_a_redirect_is_a_failed_attempt_and_is_never_followed(db: Db, receivers: list[Receiver]):
    seller = make_seller(db)
    receiver, elsewhere = receivers
    receiver.answers = [(302, {"Location": elsewhere.url})]
    config = config_for(allow(receiver), allow(elsewhere))  # even to an allowed place
    add_webhook(db, receiver.url, config, seller)
    notify(db, seller)
    run = deliver_due(db.factory, now=NOW, config=config)
    assert run.retrying == 1
    assert elsewhere.requests == []
    [delivery] = deliveries(db)
    assert (delivery.last_status_code, delivery.last_error) == (302, "redirect_not_followed")


def test_a_host_taken_off_the_allowlist_is_refused_and_never_contacted(
    db: Db, receivers: list[Receiver], caplog: pytest.LogCaptureFixture
):
    seller = make_seller(db)
    receiver = receivers[0]
    _, secret = add_webhook(db, receiver.url + "?token=abc", config_for(allow(receiver)), seller)
    notify(db, seller)
    narrowed = config_for("hooks.example.com")  # the operator's list changed since
    with caplog.at_level(logging.DEBUG, logger="tsunagu"):
        run = deliver_due(db.factory, now=NOW, config=narrowed)
    assert run.attempts[0]["error"] == "refused: host_not_allowed"
    assert receiver.requests == []
    # the log names ids and the reason: never the URL's path or query, nor the secret
    logged = caplog.text
    assert "refused: host_not_allowed" in logged
    assert "token=abc" not in logged
    assert secret not in logged


@pytest.mark.parametrize("resolver", ["system", "injected"])
def test_an_allowed_name_that_resolves_to_loopback_is_refused(
    db: Db, receivers: list[Receiver], resolver: str
):
    """SSRF: allowing a name is not allowing whatever address it answers with. ``localhost``
    (the system resolver) and a name whose DNS answer points at 127.0.0.1 are both refused
    unless the operator listed the address itself; the receiver listening there gets
    nothing."""
    seller = make_seller(db)
    receiver = receivers[0]
    name = "localhost" if resolver == "system" else "hooks.example.test"
    url = f"http://{name}:{receiver.port}/hook"
    config = config_for(f"http://{name}:{receiver.port}")
    add_webhook(db, url, config, seller)
    notify(db, seller)
    asked: list[str] = []

    def to_loopback(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        asked.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    kwargs = {} if resolver == "system" else {"resolve": to_loopback}
    run = deliver_due(db.factory, now=NOW, config=config, **kwargs)  # type: ignore[arg-type]
    assert run.attempts[0]["error"] == "refused: address_not_allowed"
    assert receiver.requests == []
    if resolver == "injected":
        assert asked == [name]
        # listing the address as well is the operator's explicit yes
        listed = config_for(f"http://{name}:{receiver.port}", "127.0.0.1")
        later = NOW + timedelta(hours=1)
        assert deliver_due(db.factory, now=later, config=listed, resolve=to_loopback).delivered
        assert len(receiver.requests) == 1
        assert receiver.requests[0].headers["Host"] == f"{name}:{receiver.port}"


def test_a_removed_webhook_gets_nothing_more(db: Db, receivers: list[Receiver]):
    seller = make_seller(db)
    receiver = receivers[0]
    receiver.answers = [(500, {})]
    config = config_for(allow(receiver))
    hook, _ = add_webhook(db, receiver.url, config, seller)
    notify(db, seller)
    deliver_due(db.factory, now=NOW, config=config)
    with unit_of_work(db.factory) as session:
        service.remove_webhook(session, actor=LOCAL_OWNER, webhook_id=hook, now=NOW)
    assert deliver_due(db.factory, now=NOW + timedelta(hours=1), config=config).attempts == []
    assert [d.status for d in deliveries(db)] == ["cancelled"]
    assert len(receiver.requests) == 1


def test_the_job_runner_delivers_each_minute_with_the_config_files_allowlist(
    db: Db, receivers: list[Receiver], tmp_path: Path
):
    seller = make_seller(db)
    receiver = receivers[0]
    toml = tmp_path / "tsunagu.toml"
    toml.write_text(f'[notifications]\nallowed_hosts = ["{allow(receiver)}"]\n', "utf-8")
    registry = load_registry(toml)
    _, secret = add_webhook(db, receiver.url, notifications_of(registry), seller)
    notify(db, seller)
    kinds = by_name(notification_jobs.KINDS)
    summary = run_due(db.factory, as_of=NOW, registry=registry, kinds=kinds)
    assert [(r["kind"], r["key"], r["status"]) for r in summary.ran] == [
        ("notifications.deliver", "2026-11-25T12:00", "done"),
        # the e-mail job runs each minute too: with no SMTP host it sends nothing (ADR 0034)
        ("notifications.email", "2026-11-25T12:00", "done"),
    ]
    assert summary.ran[0]["result"]["delivered"] == 1
    [got] = receiver.requests
    assert verify_signature(secret, got.headers[SIGNATURE_HEADER], got.body, NOW)
    # the same minute runs once
    assert (
        run_due(db.factory, as_of=NOW + timedelta(seconds=30), registry=registry, kinds=kinds).ran
        == []
    )
