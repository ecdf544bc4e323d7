"""A real browser against a real server: Debian's Chromium driven by Playwright.

The server is ``tsunagu demo run`` on a fresh SQLite file in a temporary folder, started once per
test session (and per xdist worker; the browser tests share one xdist group). Chromium comes from
``make browser`` (Debian's package, with ``fonts-noto-cjk`` for Japanese); Playwright never
downloads a browser. Without Chromium the tests are skipped loudly, and with ``CI=true`` they fail.

Every dashboard page needs a signed-in session: the ``page`` fixture starts from a browser state
that signed in once through the form as the demo owner (``tsunagu.demo.load.DEMO_EMAIL``). Tests
that change how someone signs in (2FA, step-up, linking) use accounts of their own, made with
:func:`make_account` on the server's database file.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.access.service import grant_role
from tsunagu.core.clock import utcnow
from tsunagu.core.db import make_engine, make_sessionmaker, unit_of_work
from tsunagu.demo.load import DEMO_EMAIL, DEMO_PASSWORD
from tsunagu.identity.mail import list_outbox
from tsunagu.identity.models import AuthSession
from tsunagu.identity.rules import CHEAP_HASH, IdentitySettings
from tsunagu.identity.service import create_principal
from tsunagu.marketplaces.registry import load_registry
from tsunagu.sellers.service import create_seller

CHROMIUM = Path(os.environ.get("TSUNAGU_CHROMIUM", "/usr/bin/chromium"))
#: what Chromium writes to the console when a page's content security policy blocks something
CSP_REFUSAL = re.compile(r"Content Security Policy|Refused to (load|execute|apply|frame)")
pytestmark = pytest.mark.browser


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class DemoServer:
    base: str
    database_url: str
    folder: Path


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """The default demo (3 sellers, 6,000 orders, JP and US stores) on a free local port."""
    folder = tmp_path_factory.mktemp("browser-demo")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("TSUNAGU_DATABASE_URL",)}
    database_url = f"sqlite:///{folder}/tsunagu.db"
    env.update({"TSUNAGU_LANG": "en", "TSUNAGU_DATABASE_URL": database_url})
    log = (folder / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tsunagu.cli",
            "demo",
            "run",
            "--port",
            str(port),
        ],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"the demo server exited ({proc.returncode}): "
                    + (folder / "server.log").read_text(errors="replace")[-2000:]
                )
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the demo server did not start within 180 s")
            time.sleep(0.3)
        yield DemoServer(base=base, database_url=database_url, folder=folder)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def server(demo_server: DemoServer) -> str:
    return demo_server.base


@pytest.fixture(scope="session")
def server_db(demo_server: DemoServer) -> Iterator[sessionmaker[Session]]:
    """Sessions on the server's own database file (SQLite in WAL mode: the server keeps going)."""
    engine = make_engine(demo_server.database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()


#: cheap Argon2 for accounts the tests make: a hash carries its own parameters, so the server
#: verifies it as it is (and rehashes it with its own on the first sign-in)
_CHEAP = IdentitySettings(hash=CHEAP_HASH)


def make_account(
    factory: sessionmaker[Session],
    *,
    email: str,
    password: str,
    name: str,
    seller: tuple[str, Sequence[str]] | None = None,
) -> str | None:
    """A verified account, owner of a new seller (name, marketplaces) when one is given; the
    seller's id."""
    now = utcnow()
    with unit_of_work(factory) as session:
        principal = create_principal(
            session, email=email, display_name=name, password=password, now=now, settings=_CHEAP
        )
        principal.email_verified_at = now
        if seller is None:
            return None
        created = create_seller(
            session, name=seller[0], marketplaces=seller[1], registry=load_registry(None), now=now
        )
        grant_role(
            session,
            principal_id=principal.id,
            seller_id=created.id,
            role="owner",
            now=now,
            actor="test",
        )
        return created.id


def age_sessions(factory: sessionmaker[Session], minutes: int = 10) -> None:
    """Every session last authenticated ``minutes`` ago: the next sensitive page asks for a
    step-up, as it would after a coffee break."""
    with unit_of_work(factory) as session:
        session.execute(
            update(AuthSession).values(last_authenticated_at=utcnow() - timedelta(minutes=minutes))
        )


def outbox_code(factory: sessionmaker[Session], *, to: str, kind: str, digits: int) -> str:
    """The newest code of ``kind`` e-mailed to ``to`` (what the user reads in the message)."""
    with factory() as session:
        mail = next(m for m in list_outbox(session, to=to) if m.kind == kind)
    found = re.search(rf"\b(\d{{{digits}}})\b", mail.body)
    assert found is not None, mail.body
    return found.group(1)


def sign_in_with_form(page: object, email: str, password: str) -> None:
    """The sign-in form as a person fills it; waits until the browser has left it."""
    form = page.locator("[data-testid=sign-in-form]")  # type: ignore[attr-defined]
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(password)
    form.locator("[data-testid=sign-in-submit]").click()
    page.wait_for_load_state()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        reason = f"Chromium not found at {CHROMIUM}; run `make browser` (Debian's chromium)"
        if _in_ci():
            pytest.fail("CI=true requires the browser tests. " + reason, pytrace=False)
        pytest.skip("!!! SKIPPING BROWSER TESTS !!! " + reason)
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=args)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def signed_in_state(browser: object, server: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The browser state (its cookies) after the demo owner signed in through the form, once."""
    context = browser.new_context(base_url=server, locale="en-US")  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        page.goto("/")
        assert "/sign-in" in page.url
        sign_in_with_form(page, DEMO_EMAIL, DEMO_PASSWORD)
        page.wait_for_url(f"{server}/")
        path = tmp_path_factory.mktemp("browser-state") / "demo-owner.json"
        context.storage_state(path=str(path))
        return str(path)
    finally:
        context.close()


@pytest.fixture
def page(browser: object, server: str, signed_in_state: str) -> Iterator[object]:
    """A page signed in as the demo owner. Whatever a test does with it, no page may have had
    anything refused by its content security policy (API-09: scripts, styles and images come
    from this origin only, so a refusal means a page needs something it should not)."""
    context = browser.new_context(  # type: ignore[attr-defined]
        base_url=server,
        locale="en-US",
        viewport={"width": 1280, "height": 900},
        storage_state=signed_in_state,
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if CSP_REFUSAL.search(m.text) else None)
    yield page
    context.close()
    if refused:
        pytest.fail(f"the content security policy refused: {refused}", pytrace=False)
