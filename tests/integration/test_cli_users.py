"""``tsunagu users / tokens / outbox / audit`` as a user runs them (issue 6 points 1, 5, 6, 7, 8;
linked accounts, ADR 0014): real processes on the embedded database, acting as the local owner."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.integration.test_cli import tsunagu
from tsunagu.core.clock import utcnow
from tsunagu.core.db import make_engine, make_sessionmaker, unit_of_work
from tsunagu.identity import factors, service
from tsunagu.identity.factors import totp_code
from tsunagu.identity.rules import PRODUCTION, time_step
from tsunagu.identity.sealing import SeedKey

PASSWORD = "violet harbour kite"


def run(cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TSUNAGU_DATABASE_URL"}
    env["TSUNAGU_LANG"] = "en"
    env["COLUMNS"] = "250"  # Rich tables without ellipses
    return subprocess.run(
        [sys.executable, "-m", "tsunagu.cli", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def ok(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    return r.stdout


def test_users_roles_tokens_and_audit_journey(tmp_path: Path):
    seller = ok(tsunagu(tmp_path, "sellers", "create", "--name", "K", "-m", "JP")).strip()
    hanako = ok(
        run(
            tmp_path,
            "users",
            "create",
            "--email",
            "Hanako@Example.jp",
            "--name",
            "Hanako",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
    ).strip()
    assert hanako.startswith("usr_")
    ok(run(tmp_path, "users", "create", "--email", "taro@example.jp", "--name", "Taro"))
    ok(
        run(
            tmp_path,
            "users",
            "grant",
            "--email",
            "hanako@example.jp",
            "--seller",
            seller,
            "--role",
            "owner",
        )
    )
    ok(
        run(
            tmp_path,
            "users",
            "grant",
            "--email",
            "taro@example.jp",
            "--seller",
            seller,
            "--role",
            "viewer",
        )
    )
    ok(run(tmp_path, "users", "grant", "--email", "taro@example.jp", "--role", "operator"))

    users = json.loads(ok(run(tmp_path, "users", "list", "--json")))
    by_email = {u["email"]: u for u in users}
    assert by_email["hanako@example.jp"]["roles"] == [{"seller_id": seller, "role": "owner"}]
    assert by_email["hanako@example.jp"]["two_factor"] is False
    assert by_email["taro@example.jp"]["operator"] is True
    assert "password_hash" not in json.dumps(users)
    table = ok(run(tmp_path, "users", "list"))
    assert "hanako@example.jp" in table

    members = json.loads(ok(run(tmp_path, "users", "members", "--seller", seller, "--json")))
    assert [(m["email"], m["role"]) for m in members] == [
        ("hanako@example.jp", "owner"),
        ("taro@example.jp", "viewer"),
    ]
    last = run(tmp_path, "users", "revoke", "--email", "hanako@example.jp", "--seller", seller)
    assert last.returncode == 1
    assert "last_owner" in last.stderr
    ok(run(tmp_path, "users", "revoke", "--email", "taro@example.jp", "--role", "operator"))

    created = run(
        tmp_path,
        "tokens",
        "create",
        "--email",
        "hanako@example.jp",
        "--name",
        "nightly",
        "--scope",
        "write",
        "--seller",
        seller,
        "--expires-days",
        "30",
    )
    token = ok(created).strip()
    assert re.fullmatch(r"tsu_[A-Za-z0-9_-]{43}", token)
    assert "not shown again" in created.stderr
    listed = json.loads(ok(run(tmp_path, "tokens", "list", "--json")))
    assert len(listed) == 1
    assert token not in json.dumps(listed)
    assert token.startswith(listed[0]["prefix"])
    assert listed[0]["resources"] == [seller]
    too_much = run(
        tmp_path,
        "tokens",
        "create",
        "--email",
        "taro@example.jp",
        "--name",
        "x",
        "--scope",
        "write",
        "--seller",
        seller,
    )
    assert too_much.returncode == 1
    assert "scope_exceeds_role" in too_much.stderr
    assert "revoked" in ok(run(tmp_path, "tokens", "revoke", listed[0]["id"]))
    assert json.loads(ok(run(tmp_path, "tokens", "list", "--json")))[0]["revoked_at"]

    lines = ok(run(tmp_path, "audit", "list", "--json-lines")).splitlines()
    entries = [json.loads(line) for line in lines]
    actions = [e["action"] for e in entries]
    assert actions.count("user_created") == 2
    assert actions.count("privilege_permissions_changed") == 4
    assert "authn_token_created" in actions
    assert "authn_token_revoked" in actions
    assert {e["actor"] for e in entries} == {"local-owner"}
    assert token not in "\n".join(lines)
    assert PASSWORD not in "\n".join(lines)
    only = ok(run(tmp_path, "audit", "list", "--action", "authn_token_created", "--json-lines"))
    assert len(only.splitlines()) == 1
    assert ok(run(tmp_path, "audit", "list", "--since", "2999-01-01", "--json-lines")) == ""
    shown = ok(run(tmp_path, "audit", "list", "--actor", "local-owner"))
    assert "privilege_permissions_changed" in shown


def test_reset_through_the_outbox(tmp_path: Path):
    """AUTH-08 from the command line: the code arrives in the outbox, works once."""
    ok(run(tmp_path, "users", "create", "--email", "hanako@example.jp", "--name", "Hanako"))
    assert "outbox is empty" in ok(run(tmp_path, "outbox", "list"))
    known = ok(run(tmp_path, "users", "request-reset", "--email", "hanako@example.jp"))
    unknown = ok(run(tmp_path, "users", "request-reset", "--email", "nobody@example.jp"))
    assert known == unknown  # no enumeration
    messages = json.loads(ok(run(tmp_path, "outbox", "list", "--json")))
    assert [m["to_address"] for m in messages] == ["hanako@example.jp"]
    found = re.search(r"once\): (\S+)", messages[0]["body"])
    assert found is not None
    code = found.group(1)
    assert "Reset your tsunagu password" in ok(run(tmp_path, "outbox", "list"))
    ok(run(tmp_path, "users", "complete-reset", stdin=f"{code}\n{PASSWORD}\n"))
    again = run(tmp_path, "users", "complete-reset", stdin=f"{code}\n{PASSWORD}\n")
    assert again.returncode == 2  # bad input (400/422): exit 2
    assert "reset_token_invalid" in again.stderr


def test_usage_and_lookup_errors(tmp_path: Path):
    seller = ok(tsunagu(tmp_path, "sellers", "create", "--name", "K", "-m", "JP")).strip()
    ok(run(tmp_path, "users", "create", "--email", "hanako@example.jp", "--name", "Hanako"))
    cases = [
        (
            (
                "users",
                "grant",
                "--email",
                "hanako@example.jp",
                "--seller",
                seller,
                "--role",
                "boss",
            ),
            2,
            "invalid_role",
        ),
        (
            ("users", "grant", "--email", "hanako@example.jp", "--role", "owner"),
            2,
            "missing_seller",
        ),
        (
            (
                "users",
                "grant",
                "--email",
                "nobody@example.jp",
                "--seller",
                seller,
                "--role",
                "owner",
            ),
            1,
            "principal_not_found",
        ),
        (
            (
                "users",
                "grant",
                "--email",
                "hanako@example.jp",
                "--seller",
                "sel_x",
                "--role",
                "owner",
            ),
            1,
            "seller_not_found",
        ),
        (("users", "create", "--email", "hanako@example.jp", "--name", "Again"), 1, "email_taken"),
        (
            ("users", "create", "--email", "x@example.jp", "--name", "X", "--password-stdin"),
            2,
            "missing_password",
        ),
        (
            (
                "tokens",
                "create",
                "--email",
                "hanako@example.jp",
                "--name",
                "n",
                "--scope",
                "read",
                "--seller",
                seller,
                "--expires-days",
                "0",
            ),
            2,
            "invalid_expiry",
        ),
        (("tokens", "revoke", "tok_nothing"), 1, "token_not_found"),
        (("audit", "list", "--since", "yesterday"), 2, "invalid_date"),
    ]
    for args, code, name in cases:
        r = run(tmp_path, *args)
        assert (r.returncode, name in r.stderr) == (code, True), (args, r.stderr)
        assert "Traceback" not in r.stderr
    weak = run(
        tmp_path,
        "users",
        "create",
        "--email",
        "y@example.jp",
        "--name",
        "Y",
        "--password-stdin",
        stdin="password\n",
    )
    assert weak.returncode == 2  # bad input (400/422): exit 2
    assert "password_too_common" in weak.stderr


# -- e-mail verification and linked accounts (ADR 0014) ---------------------------------------


def _outbox(cwd: Path, kind: str, to: str) -> list[dict[str, Any]]:
    messages = json.loads(ok(run(cwd, "outbox", "list", "--json")))
    return [m for m in messages if m["kind"] == kind and m["to_address"] == to]


def _link_code(cwd: Path, email: str) -> str:
    found = re.search(r"Confirmation code: (\S+)", _outbox(cwd, "link_request", email)[0]["body"])
    assert found is not None
    return found.group(1)


def _enrol_totp(cwd: Path, email: str) -> tuple[str, list[str]]:
    """Turn 2FA on for ``email`` directly on the CLI's database file (there is no CLI command
    for it: a person does it on the account page); returns the secret and recovery codes. The
    confirmation spends the previous time step, so later codes are taken from now on."""
    engine = make_engine(f"sqlite:///{cwd / 'tsunagu.db'}")
    factory = make_sessionmaker(engine)
    now = utcnow()
    # the CLI's own key: <database>.key beside the file (seeds are never stored in clear)
    settings = replace(PRODUCTION, seed_key=SeedKey(path=cwd / "tsunagu.db.key"))
    try:
        with unit_of_work(factory) as s:
            token = service.sign_in(
                s, email=email, password=PASSWORD, now=now, settings=settings
            ).token
        assert token is not None
        with unit_of_work(factory) as s:
            auth = service.resolve(s, token=token, now=now)
            secret = factors.begin_totp(s, auth=auth, now=now, settings=settings).secret
        with unit_of_work(factory) as s:
            auth = service.resolve(s, token=token, now=now)
            code = totp_code(secret, time_step(now, 30) - 1, PRODUCTION.totp)
            confirmed = factors.confirm_totp(s, auth=auth, code=code, now=now, settings=settings)
        assert confirmed.ok
    finally:
        engine.dispose()
    return secret, confirmed.recovery_codes


def _code(secret: str, offset: int) -> str:
    return totp_code(secret, time_step(utcnow(), 30) + offset, PRODUCTION.totp)


def test_verify_then_link_proving_both_accounts(tmp_path: Path):
    """AUTH-13 a/b from the command line: even the local owner links only with both accounts'
    passwords (and codes where 2FA is on); an unverified address is refused until the user
    confirms the e-mailed code; a second link answers ``already_linked``."""
    jp, us = "jp@example.jp", "us@example.com"
    ok(
        run(
            tmp_path,
            "users",
            "create",
            "--email",
            jp,
            "--name",
            "JP",
            "--password-stdin",
            "--verified",
            stdin=PASSWORD + "\n",
        )
    )
    ok(
        run(
            tmp_path,
            "users",
            "create",
            "--email",
            us,
            "--name",
            "US",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
    )
    secret, recovery = _enrol_totp(tmp_path, jp)
    users = {u["email"]: u for u in json.loads(ok(run(tmp_path, "users", "list", "--json")))}
    assert users[jp]["email_verified_at"] is not None
    assert users[us]["email_verified_at"] is None

    unverified = run(
        tmp_path,
        "users",
        "link",
        jp,
        "--with",
        us,
        stdin=f"{PASSWORD}\n{recovery[0]}\n{PASSWORD}\n",
    )
    assert unverified.returncode == 1
    assert "email_unverified" in unverified.stderr
    assert PASSWORD not in unverified.stdout + unverified.stderr

    assert "outbox list" in ok(run(tmp_path, "users", "verify", us, "--send"))
    body = _outbox(tmp_path, "email_verification", us)[0]["body"]
    found = re.search(r"once\): (\S+)", body)
    assert found is not None
    ok(run(tmp_path, "users", "confirm-email", stdin=found.group(1) + "\n"))
    reused = run(tmp_path, "users", "confirm-email", stdin=found.group(1) + "\n")
    assert reused.returncode == 2  # bad input (400/422): exit 2
    assert "verification_invalid" in reused.stderr

    wrong = run(
        tmp_path,
        "users",
        "link",
        jp,
        "--with",
        us,
        stdin=f"{PASSWORD}\n{recovery[1]}\nnot it\n",
    )
    assert wrong.returncode == 1
    assert "invalid_credentials" in wrong.stderr
    waits = json.loads(
        ok(
            run(
                tmp_path,
                "users",
                "link",
                jp,
                "--with",
                us,
                "--json",
                stdin=f"{PASSWORD}\n{_code(secret, 0)}\n{PASSWORD}\n",
            )
        )
    )
    # US has no second factor of its own: it must agree from its mailbox, signed in (AUTH-13 f)
    assert waits["status"] == "pending"
    assert waits["waiting_for"] == [us]
    assert json.loads(ok(run(tmp_path, "users", "links", jp, "--json"))) == []
    linked = json.loads(
        ok(
            run(
                tmp_path,
                "users",
                "accept-link",
                us,
                "--json",
                stdin=f"{PASSWORD}\n{_link_code(tmp_path, us)}\n",
            )
        )
    )
    assert linked["status"] == "linked"
    listed = json.loads(ok(run(tmp_path, "users", "links", jp, "--json")))
    assert [(m["email"], m["holds_factor"]) for m in listed] == [(us, False)]
    assert "jp@example.jp" in ok(run(tmp_path, "users", "links", us))
    users = {u["email"]: u for u in json.loads(ok(run(tmp_path, "users", "list", "--json")))}
    assert users[us]["two_factor"] is True  # protected by JP's authenticator now
    assert users[us]["linked_with"] == [users[jp]["id"]]
    assert sorted(
        m["to_address"]
        for m in json.loads(ok(run(tmp_path, "outbox", "list", "--json")))
        if m["kind"] == "account_linked"
    ) == [jp, us]
    short = run(tmp_path, "users", "link", jp, "--with", us, stdin=f"{PASSWORD}\n")
    assert short.returncode == 2
    assert "missing_input" in short.stderr
    entries = [
        json.loads(line) for line in ok(run(tmp_path, "audit", "list", "--json-lines")).splitlines()
    ]
    assert [e["outcome"] for e in entries if e["action"] == "account_linked"] == [
        "failure",
        "failure",
        "success",
    ]
    assert [e["outcome"] for e in entries if e["action"] == "account_link_requested"] == ["success"]
    assert "no longer linked" not in ok(run(tmp_path, "users", "links", "us@example.com"))


def test_unlink_asks_for_the_emailed_code_and_prints_new_recovery_codes(tmp_path: Path):
    """AUTH-13 d / AUTH-12 from the command line: the account signs in (password and the
    group's code), the confirmation code goes to its mailbox (the outbox), and once it is typed
    the account leaves the group with its own copy of the authenticator and 10 new codes."""
    jp, us = "jp@example.jp", "us@example.com"
    for email in (jp, us):
        ok(
            run(
                tmp_path,
                "users",
                "create",
                "--email",
                email,
                "--name",
                "X",
                "--password-stdin",
                "--verified",
                stdin=PASSWORD + "\n",
            )
        )
    secret, _ = _enrol_totp(tmp_path, jp)
    assert "must agree" in ok(
        run(
            tmp_path,
            "users",
            "link",
            jp,
            "--with",
            us,
            stdin=f"{PASSWORD}\n{_code(secret, 0)}\n{PASSWORD}\n",
        )
    )
    ok(run(tmp_path, "users", "accept-link", us, stdin=f"{PASSWORD}\n{_link_code(tmp_path, us)}\n"))

    env = {k: v for k, v in os.environ.items() if k != "TSUNAGU_DATABASE_URL"}
    env["TSUNAGU_LANG"] = "en"
    env["COLUMNS"] = "250"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tsunagu.cli", "users", "unlink", us],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    proc.stdin.write(f"{PASSWORD}\n{_code(secret, 1)}\n")
    proc.stdin.flush()
    deadline = time.monotonic() + 60
    while not _outbox(tmp_path, "unlink_code", us):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no unlink code was sent"
        time.sleep(0.2)
    found = re.search(r"once\): (\d{8})", _outbox(tmp_path, "unlink_code", us)[0]["body"])
    assert found is not None
    stdout, stderr = proc.communicate(found.group(1) + "\n", timeout=120)
    assert proc.returncode == 0, stderr
    assert "tsunagu outbox list" in stderr
    assert f"{us} is no longer linked." in stdout
    codes = re.findall(r"^  ([0-9a-z]{5}-[0-9a-z]{5})$", stdout, flags=re.MULTILINE)
    assert len(codes) == 10
    assert json.loads(ok(run(tmp_path, "users", "links", jp, "--json"))) == []
    again = run(tmp_path, "users", "unlink", us, stdin=f"{PASSWORD}\n{codes[0]}\n")
    assert again.returncode == 1
    assert "link_not_found" in again.stderr
