"""A cap on requests in flight, so the worker threads and the database pool cannot wait on each
other.

Sync routes and dependencies run on a fixed set of worker threads (40), and each database engine
lends at most 15 connections. A request holds its connection from its first query until its
session closes, which is after the response has been validated and serialised; for a sync route
that serialisation needs a worker thread again. Under a burst, every worker thread can end up
waiting for a connection while every connection belongs to a request waiting for a worker thread:
nothing moves until the pool gives up after 30 seconds. Letting at most :data:`LIMIT` requests
past this point (the others wait here, on the event loop, holding nothing) keeps both the threads
and the connections in surplus. ``/healthz`` and the static files, which touch neither, pass
freely.

The cap is per process by design (ADR 0022). The threads and the pool it protects belong to one
process, so a cap shared through the database would protect nothing and cost every request a
round trip. With ``tsunagu serve --workers N`` (or N processes on several machines) up to
N × :data:`LIMIT` requests are in flight and up to N × 15 connections are open. What must hold
across processes (sessions, sign-in throttles, one-time codes) lives in the database.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

#: below the 15 connections an engine lends, with room for a request that briefly holds two
#: (an event import reads through a second session while it writes)
LIMIT = 10
_FREE = ("/healthz", "/static/")


class InFlightLimit:
    def __init__(self, app: ASGIApp, limit: int = LIMIT) -> None:
        self.app = app
        self.slots = asyncio.Semaphore(limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(_FREE):
            await self.app(scope, receive, send)
            return
        async with self.slots:
            await self.app(scope, receive, send)
