"""A burst of signed-in requests against a real server is answered, all of it.

Found with the health benchmark: 150 concurrent requests left every worker thread waiting for a
pooled connection while every connection belonged to a request waiting for a worker thread to
serialise its answer, until the pool timed out 30 seconds later. ``api/concurrency.py`` caps the
requests in flight. The test asserts on answers, not on time: without the cap the requests fail
(pool timeout → 503 ``busy``) or run out the client's timeout.
"""

from __future__ import annotations

import asyncio
import collections
import socket
import threading
import time

import httpx
import uvicorn

from tests.auth import OWNER_EMAIL, PASSWORD, app_settings, create_user
from tests.conftest import Db
from tests.factories import make_seller
from tsunagu.slices import create_app

BURST = 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_burst_of_requests_is_answered_without_a_pool_deadlock(sqlite_db: Db):
    create_user(sqlite_db, OWNER_EMAIL)
    seller = make_seller(sqlite_db)
    port = _free_port()
    app = create_app(app_settings(sqlite_db), migrate=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        assert server.started, "the server did not start"
        signed_in = httpx.post(
            f"{base}/v1/auth/sign-in", json={"email": OWNER_EMAIL, "password": PASSWORD}
        )
        token = signed_in.json()["token"]

        async def burst() -> collections.Counter[object]:
            limits = httpx.Limits(max_connections=BURST)
            async with httpx.AsyncClient(
                base_url=base,
                headers={"Authorization": f"Bearer {token}"},
                timeout=120,
                limits=limits,
            ) as client:
                answers = await asyncio.gather(
                    *(client.get(f"/v1/sellers/{seller}/health") for _ in range(BURST)),
                    return_exceptions=True,
                )
            return collections.Counter(
                a.status_code if isinstance(a, httpx.Response) else type(a).__name__
                for a in answers
            )

        assert asyncio.run(burst()) == {200: BURST}
    finally:
        server.should_exit = True
        thread.join(timeout=30)
