"""A real browser against a real server: Debian's Chromium driven by Playwright.

The server is ``tsunagu demo run`` on a fresh SQLite file in a temporary folder, started once per
test session (and per xdist worker; the browser tests share one xdist group). Chromium comes from
``make browser`` (Debian's package, with ``fonts-noto-cjk`` for Japanese); Playwright never
downloads a browser. Without Chromium the tests are skipped loudly, and with ``CI=true`` they fail.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CHROMIUM = Path(os.environ.get("TSUNAGU_CHROMIUM", "/usr/bin/chromium"))
pytestmark = pytest.mark.browser


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The default demo (3 sellers, 6,000 orders, JP and US stores) on a free local port."""
    folder = tmp_path_factory.mktemp("browser-demo")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("TSUNAGU_DATABASE_URL",)}
    env.update({"TSUNAGU_LANG": "en", "TSUNAGU_DATABASE_URL": f"sqlite:///{folder}/tsunagu.db"})
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
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


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


@pytest.fixture
def page(browser: object, server: str) -> Iterator[object]:
    context = browser.new_context(  # type: ignore[attr-defined]
        base_url=server, locale="en-US", viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
