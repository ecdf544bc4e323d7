"""``tsunagu notifications …`` as a user runs it: the secret printed once by ``webhooks add``,
never by a listing; errors as the one JSON envelope with ``--json``; ``deliver`` against a real
receiver signs what it sends."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.integration.test_cli import tsunagu
from tsunagu.core.db import make_engine, make_sessionmaker, unit_of_work
from tsunagu.notifications import service
from tsunagu.notifications.rules import SIGNATURE_HEADER, verify_signature

AS_OF = "2026-11-25T12:00:00+00:00"


@pytest.fixture
def receiver() -> Iterator[tuple[int, list[tuple[dict[str, str], bytes]]]]:
    got: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            got.append((dict(self.headers.items()), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], got
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_webhook_add_list_deliver_deliveries_remove(
    tmp_path: Path, receiver: tuple[int, list[tuple[dict[str, str], bytes]]]
):
    port, got = receiver
    (tmp_path / "tsunagu.toml").write_text(
        f'[notifications]\nallowed_hosts = ["http://127.0.0.1:{port}"]\n', "utf-8"
    )
    created = tsunagu(tmp_path, "sellers", "create", "--name", "Kyoto Tea", "-m", "US", "--json")
    seller = json.loads(created.stdout)["id"]
    url = f"http://127.0.0.1:{port}/hook"

    refused = tsunagu(
        tmp_path, "notifications", "webhooks", "add", "--url", "https://evil.example.net/",
        "--kind", "ACCOUNT_STATUS_CHANGED", "--json",
    )  # fmt: skip
    assert refused.returncode == 2
    assert json.loads(refused.stdout)["error"]["code"] == "webhook_host_not_allowed"

    added = tsunagu(
        tmp_path, "notifications", "webhooks", "add", "--url", url,
        "--kind", "ACCOUNT_STATUS_CHANGED", "--seller", seller, "--json",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    shown = json.loads(added.stdout)
    secret, hook = shown["secret"], shown["webhook"]["id"]
    listed = tsunagu(tmp_path, "notifications", "webhooks", "list", "--json")
    assert [w["id"] for w in json.loads(listed.stdout)["items"]] == [hook]
    assert secret not in listed.stdout + listed.stderr
    table = tsunagu(tmp_path, "notifications", "webhooks", "list", env={"COLUMNS": "250"})
    assert hook in table.stdout
    assert secret not in table.stdout

    engine = make_engine(f"sqlite:///{tmp_path / 'tsunagu.db'}")
    from datetime import datetime

    with unit_of_work(make_sessionmaker(engine)) as session:
        service.notify(
            session,
            kind="ACCOUNT_STATUS_CHANGED",
            seller_id=seller,
            marketplace="US",
            payload={"previousAccountStatus": "NORMAL", "currentAccountStatus": "DEACTIVATED"},
            now=datetime.fromisoformat(AS_OF),
            key="status:1",
        )
    engine.dispose()

    notes = json.loads(tsunagu(tmp_path, "notifications", "list", "--json").stdout)["items"]
    assert [n["payload"]["currentAccountStatus"] for n in notes] == ["DEACTIVATED"]

    ran = tsunagu(tmp_path, "notifications", "deliver", "--as-of", AS_OF, "--json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["delivered"] == 1
    [(headers, body)] = got
    assert verify_signature(secret, headers[SIGNATURE_HEADER], body, datetime.fromisoformat(AS_OF))
    assert secret not in ran.stdout + ran.stderr

    log = json.loads(
        tsunagu(tmp_path, "notifications", "deliveries", "--webhook", hook, "--json").stdout
    )["items"]
    assert [(d["status"], d["last_status_code"]) for d in log] == [("delivered", 204)]

    bad = tsunagu(tmp_path, "notifications", "deliver", "--as-of", "yesterday", "--json")
    assert (bad.returncode, json.loads(bad.stdout)["error"]["code"]) == (2, "invalid_as_of")

    removed = tsunagu(tmp_path, "notifications", "webhooks", "remove", "--id", hook)
    assert removed.returncode == 0, removed.stderr
    gone = tsunagu(tmp_path, "notifications", "deliveries", "--webhook", hook, "--json")
    assert (gone.returncode, json.loads(gone.stdout)["error"]["code"]) == (1, "webhook_not_found")
