"""The ASGI application: REST API under ``/v1``, health probes, and the web pages."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from tsunagu import __version__
from tsunagu.api import errors
from tsunagu.api.routes import router
from tsunagu.core.db import (
    current_revision,
    ensure_schema,
    head_revision,
    make_engine,
    make_sessionmaker,
)
from tsunagu.core.settings import Settings, load_settings
from tsunagu.marketplaces.registry import load_registry
from tsunagu.web.pages import router as web_router

DESCRIPTION = """
tsunagu's REST API. Money is integer minor units with its currency (JPY has no decimals, USD two);
times are ISO-8601 in UTC. Errors always look like
`{"error": {"code": "...", "message": "...", "details": {...}}}` and the `code` values are stable.
Lists page with `limit` (at most 100) and the `next_cursor` of the previous page.
"""


def create_app(settings: Settings | None = None, *, migrate: bool = True) -> FastAPI:
    settings = settings or load_settings()
    engine = make_engine(settings.database_url)
    if migrate:
        ensure_schema(engine)
    app = FastAPI(
        title="tsunagu",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=[
            {"name": "sellers", "description": "Businesses and their stores per marketplace."},
            {"name": "events", "description": "The append-only seller event log."},
            {"name": "orders", "description": "Order state built from events."},
            {"name": "marketplaces", "description": "Regions tsunagu knows."},
            {"name": "health", "description": "Probes for load balancers."},
        ],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.factory = make_sessionmaker(engine)
    app.state.read_factory = (
        make_sessionmaker(make_engine(settings.database_url, read_only=True))
        if engine.dialect.name == "sqlite"
        else app.state.factory
    )
    app.state.registry = load_registry(settings.config_path)
    errors.install(app)
    app.add_middleware(errors.BodyLimit, limit=settings.max_body_bytes)
    app.include_router(router)
    app.include_router(web_router)

    @app.get("/healthz", tags=["health"], summary="The process is up")
    async def healthz() -> dict[str, str]:
        # async: answered on the event loop, so it stays quick while worker threads are busy
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="The database answers and its schema is current",
        responses={503: {"description": "Not ready."}},
    )
    def readyz() -> JSONResponse:
        try:
            revision = current_revision(engine)
        except Exception:
            return errors.envelope(503, "database_unavailable", "The database does not answer.")
        if revision != head_revision():
            return errors.envelope(
                503,
                "schema_outdated",
                "Run `tsunagu db upgrade`.",
                {"revision": revision, "expected": head_revision()},
            )
        return JSONResponse({"status": "ready", "revision": revision})

    return app
