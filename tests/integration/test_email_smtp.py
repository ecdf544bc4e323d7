"""E-mail over SMTP against a real local server (aiosmtpd): plain, STARTTLS with a self-signed
certificate made here, implicit TLS, AUTH, and the outbox delivered with retries (ADR 0034)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import Db
from tsunagu.identity.mail import DEFAULT_SENDER, Mail
from tsunagu.identity.models import OutboxMessage
from tsunagu.notifications import email
from tsunagu.notifications.config import EmailConfig, NotificationsConfig, email_from_env
from tsunagu.notifications.email_models import EmailDelivery

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
USER, PASSWORD = "tsunagu", "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Inbox:
    """What the server received: (envelope sender, recipients, message text)."""

    messages: list[tuple[str, list[str], str]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    refuse: bool = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 try again later"
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode())
        )
        return "250 OK"


def authenticator(inbox: Inbox):  # type: ignore[no-untyped-def]
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == USER
            and data.password.decode() == PASSWORD
        )
        if ok:
            inbox.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)

    return check


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the test's CA file) and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tsunagu test smtp")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("smtp-cert")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certificate[0]), str(certificate[1]))
    return context


@pytest.fixture
def plain_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def starttls_server(certificate: tuple[Path, Path]) -> Iterator[tuple[Inbox, int]]:
    """STARTTLS required, AUTH required and only over TLS."""
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_context(certificate),
        require_starttls=True,
        authenticator=authenticator(inbox),
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        ssl_context=server_context(certificate),
        authenticator=authenticator(inbox),
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def message(config: EmailConfig, to: str = "owner@example.com") -> Any:
    return email.compose(
        config, to=to, subject="Alert: ODR 2.22%", body="Order defect rate missed.", at=NOW
    )


def test_plain_smtp_delivers_a_message(plain_server: tuple[Inbox, int]):
    inbox, port = plain_server
    config = EmailConfig(host="127.0.0.1", port=port, security="none", from_address="t@ex.com")
    email.send_message(config, message(config))
    ((sender, rcpts, text),) = inbox.messages
    assert (sender, rcpts) == ("t@ex.com", ["owner@example.com"])
    assert "Subject: Alert: ODR 2.22%" in text
    assert "Order defect rate missed." in text


def test_starttls_with_auth_delivers_and_checks_the_certificate(
    starttls_server: tuple[Inbox, int], certificate: tuple[Path, Path]
):
    inbox, port = starttls_server
    config = EmailConfig(
        host="127.0.0.1",
        port=port,
        security="starttls",
        username=USER,
        password=PASSWORD,
        ca_file=str(certificate[0]),
        from_address="t@ex.com",
    )
    email.send_message(config, message(config))
    assert inbox.logins == [USER]
    assert [m[1] for m in inbox.messages] == [["owner@example.com"]]

    # the same server, but its certificate is not trusted: refused before any password is sent
    untrusted = EmailConfig(
        host="127.0.0.1", port=port, security="starttls", username=USER, password=PASSWORD
    )
    with pytest.raises(email.SendFailed) as failed:
        email.send_message(untrusted, message(untrusted))
    assert failed.value.error.startswith("tls_failed")
    assert inbox.logins == [USER]


def test_a_wrong_password_fails_for_good_and_is_never_in_the_error(
    starttls_server: tuple[Inbox, int], certificate: tuple[Path, Path]
):
    inbox, port = starttls_server
    config = EmailConfig(
        host="127.0.0.1",
        port=port,
        security="starttls",
        username=USER,
        password="wrong-secret-value",
        ca_file=str(certificate[0]),
    )
    with pytest.raises(email.SendFailed) as failed:
        email.send_message(config, message(config))
    assert failed.value.permanent
    assert failed.value.error.startswith("auth_failed")
    assert "wrong-secret-value" not in failed.value.error
    assert "wrong-secret-value" not in repr(config)
    assert inbox.messages == []


def test_without_auth_the_server_refuses(starttls_server: tuple[Inbox, int], certificate):
    inbox, port = starttls_server
    config = EmailConfig(
        host="127.0.0.1", port=port, security="starttls", ca_file=str(certificate[0])
    )
    with pytest.raises(email.SendFailed) as failed:
        email.send_message(config, message(config))
    assert failed.value.error.startswith(("sender_refused", "smtp_5"))
    assert inbox.messages == []


def test_implicit_tls_with_auth(tls_server: tuple[Inbox, int], certificate: tuple[Path, Path]):
    inbox, port = tls_server
    config = EmailConfig(
        host="127.0.0.1",
        port=port,
        security="tls",
        username=USER,
        password=PASSWORD,
        ca_file=str(certificate[0]),
    )
    email.send_message(config, message(config))
    assert inbox.logins == [USER]
    assert len(inbox.messages) == 1


def test_nothing_listening_is_a_connection_failure_that_is_retried():
    config = EmailConfig(host="127.0.0.1", port=free_port(), security="none", timeout_seconds=2)
    with pytest.raises(email.SendFailed) as failed:
        email.send_message(config, message(config))
    assert failed.value.error.startswith("connect_failed")
    assert not failed.value.permanent


def test_environment_overrides_and_refuses_bad_values():
    base = EmailConfig(host="mail.example.com", port=2525)
    found = email_from_env(
        base,
        {
            "TSUNAGU_SMTP_HOST": "smtp.example.org",
            "TSUNAGU_SMTP_SECURITY": "tls",
            "TSUNAGU_SMTP_PASSWORD": "s3cret",
        },
    )
    assert (found.host, found.port, found.security, found.password) == (
        "smtp.example.org",
        2525,
        "tls",
        "s3cret",
    )
    assert "s3cret" not in repr(found)
    assert EmailConfig(security="tls").effective_port == 465
    with pytest.raises(Exception) as bad:
        email_from_env(base, {"TSUNAGU_SMTP_SECURITY": "ssl"})
    assert getattr(bad.value, "code", None) == "invalid_config"
    with pytest.raises(Exception) as port:
        email_from_env(base, {"TSUNAGU_SMTP_PORT": "smtp"})
    assert getattr(port.value, "code", None) == "invalid_config"


# -- the outbox, delivered ---------------------------------------------------------------------


def queue(db: Db, to: str, created: datetime = NOW) -> str:
    with db.session() as session:
        DEFAULT_SENDER.send(session, Mail(to, "sign_in_code", "Your code", "Code: 123456"), created)
        session.commit()
        row = session.query(OutboxMessage).filter_by(to_address=to).one()
        return row.id


def state(db: Db, outbox_id: str) -> tuple[str, int, str | None, bool]:
    with db.session() as session:
        d = session.get(EmailDelivery, outbox_id)
        m = session.get(OutboxMessage, outbox_id)
        assert d is not None
        assert m is not None
        return d.status, d.attempts, d.last_error, m.sent_at is not None


def test_the_outbox_is_sent_once_retried_after_a_refusal_and_old_mail_expires(
    db: Db, plain_server: tuple[Inbox, int]
):
    inbox, port = plain_server
    config = NotificationsConfig(
        first_retry_seconds=60,
        email=EmailConfig(host="127.0.0.1", port=port, security="none", max_attempts=3),
    )
    fresh = queue(db, "a@example.com")
    stale = queue(db, "b@example.com", created=NOW - timedelta(days=3))

    inbox.refuse = True  # 451: a temporary refusal
    run = email.deliver_outbox(db.factory, now=NOW, config=config)
    assert (run.sent, run.retrying, run.expired) == (0, 1, 1)
    assert state(db, fresh) == ("pending", 1, "smtp_451", False)
    assert state(db, stale)[0] == "expired"
    # not due yet: nothing is tried again a second later
    assert (
        email.deliver_outbox(db.factory, now=NOW + timedelta(seconds=1), config=config).attempts
        == []
    )

    inbox.refuse = False
    later = NOW + timedelta(minutes=5)
    run = email.deliver_outbox(db.factory, now=later, config=config)
    assert (run.sent, run.retrying, run.failed) == (1, 0, 0)
    assert state(db, fresh) == ("sent", 2, None, True)
    assert [m[1] for m in inbox.messages] == [["a@example.com"]]
    # sent is sent: another run sends nothing
    assert (
        email.deliver_outbox(db.factory, now=later + timedelta(hours=1), config=config).attempts
        == []
    )
    assert len(inbox.messages) == 1


def test_without_a_host_nothing_is_sent_and_the_outbox_keeps_its_mail(db: Db):
    outbox_id = queue(db, "c@example.com")
    run = email.deliver_outbox(db.factory, now=NOW, config=NotificationsConfig())
    assert run.attempts == []
    with db.session() as session:
        assert session.get(EmailDelivery, outbox_id) is None


def test_the_cli_sends_a_test_message_and_names_a_missing_configuration(
    tmp_path: Path, plain_server: tuple[Inbox, int]
):
    from tests.integration.test_cli import tsunagu

    inbox, port = plain_server
    missing = tsunagu(tmp_path, "notifications", "test-email", "--to", "me@example.com")
    assert missing.returncode == 2
    assert "email_not_configured" in missing.stderr
    env = {
        "TSUNAGU_SMTP_HOST": "127.0.0.1",
        "TSUNAGU_SMTP_PORT": str(port),
        "TSUNAGU_SMTP_SECURITY": "none",
        "TSUNAGU_SMTP_PASSWORD": "never-printed",
    }
    r = tsunagu(tmp_path, "notifications", "test-email", "--to", "me@example.com", env=env)
    assert r.returncode == 0, r.stderr
    assert f"127.0.0.1:{port}" in r.stdout
    assert "never-printed" not in r.stdout + r.stderr
    assert [m[1] for m in inbox.messages] == [["me@example.com"]]
