"""``tsunagu users / tokens / outbox / audit`` as a user runs them (issue 6 points 1, 5, 6, 7, 8):
real processes on the embedded database, acting as the local owner."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.integration.test_cli import tsunagu

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
    assert again.returncode == 1
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
    assert weak.returncode == 1
    assert "password_too_common" in weak.stderr
