"""``tsunagu serve`` as an operator starts it: a real process on a free port (issue 11).

API-11: the server believes ``X-Forwarded-For`` only from ``TSUNAGU_TRUSTED_PROXIES`` (uvicorn's
own handling used to trust every local peer, so rotating the header escaped the throttle and
forged the audit log). AUTH-17: a server on a public address must be told its public URL.
Item 12: a PostgreSQL installation without a key to seal TOTP seeds does not start.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import Db
from tsunagu.core.db import make_engine, make_sessionmaker, unit_of_work
from tsunagu.identity.models import AuditEntry

#: the per-address sign-in throttle lets this many failures through before backing off
IP_FREE = 20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGU_")}
    env.update({"TSUNAGU_DATABASE_URL": database_url, "TSUNAGU_LANG": "en", **extra})
    return env


@contextmanager
def served(folder: Path, **extra: str) -> Iterator[str]:
    with serving(folder, **extra) as (base, _):
        yield base


@contextmanager
def serving(
    folder: Path, *args: str, **extra: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _free_port()
    url = f"sqlite:///{folder / 'tsunagu.db'}"
    log = (folder / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tsunagu.cli", "serve", "--port", str(port), *args],
        cwd=folder,
        env=_env(url, **extra),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (folder / "server.log").read_text(errors="replace")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _spray(base: str, count: int, forwarded_for: str | None = None) -> list[int]:
    """Wrong sign-ins, each with a different ``X-Forwarded-For`` (or the given one)."""
    statuses = []
    for i in range(count):
        header = forwarded_for or f"203.0.113.{i + 1}"
        r = httpx.post(
            f"{base}/v1/auth/sign-in",
            json={"email": f"nobody{i}@example.test", "password": "not-the-password"},
            headers={"X-Forwarded-For": header},
            timeout=30,
        )
        statuses.append(r.status_code)
    return statuses


def _audited_ips(folder: Path) -> set[str | None]:
    engine = make_engine(f"sqlite:///{folder / 'tsunagu.db'}")
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            return set(
                session.scalars(
                    select(AuditEntry.ip).where(AuditEntry.action.like("authn_login_fail%"))
                )
            )
    finally:
        engine.dispose()


@pytest.mark.slow
def test_api11_the_server_ignores_forwarded_for_from_an_untrusted_peer(tmp_path: Path):
    with served(tmp_path) as base:
        statuses = _spray(base, IP_FREE + 3)
    assert statuses[:IP_FREE] == [401] * IP_FREE
    assert statuses[IP_FREE:] == [429] * 3  # the rotating header did not make new addresses
    assert _audited_ips(tmp_path) == {"127.0.0.1"}


@pytest.mark.slow
def test_api11_the_server_believes_a_configured_proxy(tmp_path: Path):
    with served(tmp_path, TSUNAGU_TRUSTED_PROXIES="127.0.0.1") as base:
        statuses = _spray(base, IP_FREE + 3)
    assert statuses == [401] * (IP_FREE + 3)  # each forwarded client is counted on its own
    assert _audited_ips(tmp_path) == {f"203.0.113.{i + 1}" for i in range(IP_FREE + 3)}


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tsunagu.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_auth17_a_server_on_a_public_address_needs_its_public_url(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'tsunagu.db'}"
    done = _cli(["serve", "--host", "0.0.0.0", "--port", "1"], _env(url), tmp_path)
    assert done.returncode == 2
    assert "public_url_required" in done.stderr
    assert "TSUNAGU_PUBLIC_URL" in done.stderr
    assert "Traceback" not in done.stderr
    bad = _cli(["serve"], _env(url, TSUNAGU_PUBLIC_URL="https://t.example/app"), tmp_path)
    assert bad.returncode != 0
    assert "TSUNAGU_PUBLIC_URL" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.pg
def test_item12_postgresql_without_a_seed_key_refuses_to_start(pg_db: Db, tmp_path: Path):
    """TOTP seeds are never stored in clear: without ``TSUNAGU_SECRET_KEY`` or a key file a
    PostgreSQL installation does not serve at all, and says how to fix it."""
    done = _cli(["serve", "--port", str(_free_port())], _env(pg_db.url), tmp_path)
    assert done.returncode == 1
    assert "secret_key_required" in done.stderr
    assert "TSUNAGU_SECRET_KEY" in done.stderr
    assert "Traceback" not in done.stderr


def _serving_processes(pid: int) -> list[int]:
    """The server processes ``pid`` started (Linux: /proc), leaving out the helper that
    Python's multiprocessing starts to track resources."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and b"spawn_main" in command:
            found.append(int(stat.parent.name))
    return found


def test_serve_with_workers_runs_that_many_processes_behind_one_port(tmp_path: Path):
    """``serve --workers 2``: the schema and the seed key are made once before the processes
    start; each answers on the one port, and sessions live in the database, so a session made
    through one process works through any (issue 13, item 4)."""
    with serving(tmp_path, "--workers", "2") as (base, proc):
        deadline = time.monotonic() + 30
        while len(workers := _serving_processes(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(workers) == 2, workers
        ready = [httpx.get(f"{base}/readyz", timeout=5) for _ in range(20)]
        assert {r.status_code for r in ready} == {200}
        assert (tmp_path / "tsunagu.db.key").is_file()
        missing = [httpx.get(f"{base}/v1/sellers", timeout=5).status_code for _ in range(10)]
        assert set(missing) == {401}
    assert proc.returncode is not None
    assert [pid for pid in workers if Path(f"/proc/{pid}").exists()] == []


@pytest.mark.parametrize("workers", ["0", "65"])
def test_serve_refuses_a_worker_count_out_of_range(tmp_path: Path, workers: str):
    r = subprocess.run(
        [sys.executable, "-m", "tsunagu.cli", "serve", "--workers", workers],
        cwd=tmp_path,
        env=_env(f"sqlite:///{tmp_path / 'tsunagu.db'}"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 2
    assert "invalid_value" in r.stderr
    assert "--workers" in r.stderr
