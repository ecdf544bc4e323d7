"""Two ``tsunagu serve`` processes on one database guard accounts as one server would (issue 13,
item 4; ADR 0022).

Each test starts two real server processes, A and B, on the same SQLite file or PostgreSQL
database, exactly as ``serve --workers N`` or two machines behind one proxy would run them, and
speaks to each on its own port. What protects an account lives in the database, so:

* AUTH-06: wrong passwords sent to A count on B; guesses sent to both at once reach the verifier
  no more often than the throttle's free attempts; the per-address throttle is shared as well.
* AUTH-14, AUTH-18: a session or API token made by one process works on the other, and ending it
  on one ends it on both.
* AUTH-03, AUTH-05: a TOTP seed sealed by A opens on B (same key, from the environment); a code
  accepted by one process is refused by the other, also when both get it at the same moment;
  wrong codes sent to A and B count together.

A throttle or a session kept in one process's memory would fail each of these.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from sqlalchemy import select

from tests.auth import OWNER_EMAIL, PASSWORD, create_user
from tests.conftest import Db
from tests.factories import make_seller
from tsunagu.identity.models import AuditEntry

EMAIL = "sakura@example.test"
#: the account throttle's free failures (``IdentitySettings.account_throttle.free``)
ACCOUNT_FREE = 5
#: the per-address throttle's free failures (``IdentitySettings.ip_throttle.free``)
IP_FREE = 20
#: one key for both processes, as production sets ``TSUNAGU_SECRET_KEY`` for every process
SECRET_KEY = base64.urlsafe_b64encode(bytes(range(100, 132))).decode().rstrip("=")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    base: str
    proc: subprocess.Popen[bytes]
    log: Path

    def post(self, path: str, ip: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        return httpx.post(f"{self.base}{path}", headers=_headers(ip, token), timeout=60, **kwargs)

    def get(self, path: str, ip: str, token: str | None = None) -> httpx.Response:
        return httpx.get(f"{self.base}{path}", headers=_headers(ip, token), timeout=60)

    def delete(self, path: str, ip: str, token: str | None = None) -> httpx.Response:
        return httpx.delete(f"{self.base}{path}", headers=_headers(ip, token), timeout=60)

    def sign_in(self, email: str, password: str, ip: str) -> httpx.Response:
        return self.post("/v1/auth/sign-in", ip, json={"email": email, "password": password})


def _headers(ip: str, token: str | None) -> dict[str, str]:
    """Every test request comes through 127.0.0.1, a trusted proxy: ``ip`` is the client."""
    headers = {"X-Forwarded-For": ip}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _start(name: str, db: Db, folder: Path) -> Server:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGU_")}
    env.update(
        TSUNAGU_DATABASE_URL=db.url,
        TSUNAGU_SECRET_KEY=SECRET_KEY,
        TSUNAGU_TRUSTED_PROXIES="127.0.0.1",
        TSUNAGU_LANG="en",
    )
    log = folder / f"server-{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tsunagu.cli", "serve", "--port", str(port)],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Server(name, f"http://127.0.0.1:{port}", proc, log)


def _wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + 90
    while True:
        assert server.proc.poll() is None, server.log.read_text(errors="replace")
        try:
            if httpx.get(f"{server.base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"server {server.name} did not start"
        time.sleep(0.2)


def _stop(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


@pytest.fixture
def pair(db: Db, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    """Servers A and B: two processes, one database (the ``db`` fixture's, already migrated)."""
    servers = [_start(name, db, tmp_path) for name in ("a", "b")]
    try:
        for server in servers:
            _wait_until_up(server)
        yield servers[0], servers[1]
    finally:
        for server in servers:
            _stop(server)


def _audit_actions(db: Db, action: str) -> list[dict[str, Any]]:
    with db.session() as session:
        return [
            dict(details or {})
            for details in session.scalars(
                select(AuditEntry.details)
                .where(AuditEntry.action == action)
                .order_by(AuditEntry.seq)
            )
        ]


def _code(secret: str, step: int) -> str:
    """The code ``step`` periods from now; the server accepts steps −1, 0 and +1."""
    return str(pyotp.TOTP(secret).at(time.time() + 30 * step))


# -- sign-in throttles (AUTH-06) ---------------------------------------------------------------


@pytest.mark.slow
def test_auth06_wrong_passwords_on_one_process_count_on_the_other(
    db: Db, pair: tuple[Server, Server]
):
    a, b = pair
    create_user(db, EMAIL)
    # the free failures, alternating between the processes, each from its own address
    answers = [
        (a, b)[i % 2].sign_in(EMAIL, "not-the-password", f"198.51.100.{i + 1}")
        for i in range(ACCOUNT_FREE)
    ]
    assert [r.status_code for r in answers] == [401] * ACCOUNT_FREE
    assert {r.json()["error"]["code"] for r in answers} == {"invalid_credentials"}
    # the last free failure already announces the wait: it was the account's fifth, not B's third
    assert "retry-after" in answers[-1].headers
    assert [d["consecutive_failures"] for d in _audit_actions(db, "authn_login_fail")] == list(
        range(1, ACCOUNT_FREE + 1)
    )
    # either process now makes the caller wait, the right password included
    for server in (a, b):
        refused = server.sign_in(EMAIL, PASSWORD, "198.51.100.99")
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "too_many_attempts"
        assert int(refused.headers["retry-after"]) >= 1


@pytest.mark.slow
def test_auth06_guesses_sent_to_both_processes_at_once_reach_the_verifier_five_times(
    db: Db, pair: tuple[Server, Server]
):
    """The attempt is counted in the database before the password is compared, so guesses
    spread over processes and sent together cannot share out more free attempts."""
    a, b = pair
    create_user(db, EMAIL)
    attempts = 16

    def guess(i: int) -> int:
        server = (a, b)[i % 2]
        return server.sign_in(EMAIL, f"guess-number-{i}", f"192.0.2.{i + 1}").status_code

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        statuses = list(pool.map(guess, range(attempts)))
    assert sorted(statuses) == [401] * ACCOUNT_FREE + [429] * (attempts - ACCOUNT_FREE)
    assert len(_audit_actions(db, "authn_login_fail")) == ACCOUNT_FREE


@pytest.mark.slow
def test_auth06_the_per_address_throttle_is_shared_by_the_processes(
    db: Db, pair: tuple[Server, Server]
):
    """One address spraying different accounts over both processes is stopped after the
    address's free failures in all, not after that many per process."""
    a, b = pair
    address = "203.0.113.7"
    answers = [
        (a, b)[i % 2].sign_in(f"nobody{i}@example.test", "not-the-password", address)
        for i in range(IP_FREE)
    ]
    assert [r.status_code for r in answers] == [401] * IP_FREE
    for i, server in enumerate((a, b)):
        refused = server.sign_in(f"late{i}@example.test", "not-the-password", address)
        assert refused.status_code == 429, refused.text
    # another address is not affected
    assert a.sign_in("nobody@example.test", "not-the-password", "203.0.113.8").status_code == 401


# -- sessions and API tokens (AUTH-14, AUTH-18) ------------------------------------------------


def _full_token(server: Server, email: str, ip: str) -> tuple[str, str]:
    r = server.sign_in(email, PASSWORD, ip)
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "full"
    return str(r.json()["token"]), str(r.json()["session_id"])


@pytest.mark.slow
def test_auth14_a_session_made_by_one_process_works_and_ends_on_the_other(
    db: Db, pair: tuple[Server, Server]
):
    a, b = pair
    principal = create_user(db, EMAIL)
    ip = "198.51.100.20"
    from_a, _ = _full_token(a, EMAIL, ip)
    me = b.get("/v1/auth/me", ip, from_a)
    assert me.status_code == 200, me.text
    assert me.json()["principal"]["id"] == principal

    # signing out on B ends the session for A at once
    assert b.post("/v1/auth/sign-out", ip, from_a).status_code == 204
    for server in (a, b):
        dead = server.get("/v1/auth/me", ip, from_a)
        assert dead.status_code == 401
        assert dead.json()["error"]["code"] == "session_invalid"

    # a session made by B, ended from A (the sessions list), no longer works on B
    from_b, b_session = _full_token(b, EMAIL, ip)
    other, _ = _full_token(a, EMAIL, ip)
    listed = a.get("/v1/auth/sessions", ip, other).json()
    assert b_session in {s["id"] for s in listed}
    assert a.delete(f"/v1/auth/sessions/{b_session}", ip, other).status_code == 204
    assert b.get("/v1/auth/me", ip, from_b).status_code == 401
    assert b.get("/v1/auth/me", ip, other).status_code == 200


@pytest.mark.slow
def test_auth18_an_api_token_made_by_one_process_is_revoked_on_the_other(
    db: Db, pair: tuple[Server, Server]
):
    a, b = pair
    create_user(db, OWNER_EMAIL)
    seller = make_seller(db)
    ip = "198.51.100.30"
    session_token, _ = _full_token(a, OWNER_EMAIL, ip)
    made = a.post(
        "/v1/auth/tokens",
        ip,
        session_token,
        json={"name": "nightly", "scope": "read", "seller_ids": [seller]},
    )
    assert made.status_code == 201, made.text
    api_token, token_id = made.json()["token"], made.json()["info"]["id"]
    assert b.get(f"/v1/sellers/{seller}", ip, api_token).status_code == 200

    assert b.delete(f"/v1/auth/tokens/{token_id}", ip, session_token).status_code == 204
    refused = a.get(f"/v1/sellers/{seller}", ip, api_token)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "token_invalid"


# -- the second factor (AUTH-03, AUTH-05) ------------------------------------------------------


def _enrol(server: Server, email: str, ip: str) -> str:
    """2FA turned on through ``server``; the seed it sealed is in the database."""
    token, _ = _full_token(server, email, ip)
    begun = server.post("/v1/auth/totp", ip, token)
    assert begun.status_code == 200, begun.text
    secret = str(begun.json()["secret"])
    done = server.post("/v1/auth/totp/confirm", ip, token, json={"code": _code(secret, 0)})
    assert done.status_code == 200, done.text
    return secret


def _wrong_code(secret: str) -> str:
    """A code no step the server accepts in the next minutes would give."""
    near = {_code(secret, step) for step in range(-2, 6)}
    return next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in near)


def _pending(server: Server, email: str, ip: str) -> str:
    r = server.sign_in(email, PASSWORD, ip)
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "second_factor"
    return str(r.json()["token"])


def _second_factor(server: Server, pending: str, code: str, ip: str) -> httpx.Response:
    return server.post("/v1/auth/second-factor", ip, pending, json={"code": code})


@pytest.mark.slow
def test_auth03_a_code_accepted_by_one_process_is_refused_by_the_other(
    db: Db, pair: tuple[Server, Server]
):
    a, b = pair
    create_user(db, EMAIL)
    ip = "198.51.100.40"
    secret = _enrol(a, EMAIL, ip)  # sealed by A with the shared key

    code = _code(secret, 1)
    accepted = _second_factor(b, _pending(b, EMAIL, ip), code, ip)  # B opens A's seed
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["stage"] == "full"

    replayed = _second_factor(a, _pending(a, EMAIL, ip), code, ip)
    assert replayed.status_code == 401, replayed.text
    assert replayed.json()["error"]["code"] == "invalid_code"
    assert len(_audit_actions(db, "authn_token_reuse")) == 1


@pytest.mark.slow
def test_auth03_one_code_sent_to_both_processes_at_once_is_accepted_once(
    db: Db, pair: tuple[Server, Server]
):
    a, b = pair
    create_user(db, EMAIL)
    ip = "198.51.100.50"
    secret = _enrol(b, EMAIL, ip)
    pendings = [(a, _pending(a, EMAIL, ip)), (b, _pending(b, EMAIL, ip))]
    code = _code(secret, 1)

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda p: _second_factor(p[0], p[1], code, ip), pendings))
    statuses = sorted(r.status_code for r in answers)
    # the loser finds the step spent (401) or, having counted its attempt, the code throttle's
    # delay after a failure (429); never a second success
    assert statuses[0] == 200, [r.text for r in answers]
    assert statuses[1] in (401, 429), [r.text for r in answers]


@pytest.mark.slow
def test_auth05_wrong_codes_on_one_process_count_on_the_other(db: Db, pair: tuple[Server, Server]):
    """After one wrong code the next waits 1 s, after two 2 s (a delay from the first failure,
    doubling). A wrong code at A, then one at B: B answers with the wait, or, if a second went
    by in between, counts its failure as the second (``retry_after`` 2). A throttle of B's own
    would have seen its first failure (``retry_after`` 1)."""
    a, b = pair
    create_user(db, EMAIL)
    ip = "198.51.100.60"
    secret = _enrol(a, EMAIL, ip)
    wrong = _wrong_code(secret)
    at_a, at_b = _pending(a, EMAIL, ip), _pending(b, EMAIL, ip)

    first = _second_factor(a, at_a, wrong, ip)
    assert first.status_code == 401, first.text
    assert first.json()["error"]["details"] == {"retry_after": 1}

    second = _second_factor(b, at_b, wrong, ip)
    error = second.json()["error"]
    assert (second.status_code, error["code"]) in (
        (429, "too_many_attempts"),
        (401, "invalid_code"),
    ), second.text
    if second.status_code == 401:
        assert error["details"] == {"retry_after": 2}
