"""Assembling the ASGI application: middleware, error handlers, the probes and the API
description, around the routes and pages the composition root (:mod:`tsunagu.slices`) hands in.
This package holds no route of a slice and imports no page (ADR 0019)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

from tsunagu import __version__
from tsunagu.api import errors
from tsunagu.api.concurrency import InFlightLimit
from tsunagu.api.guard import Guard
from tsunagu.api.hostile import HostileText
from tsunagu.core.db import ServedDatabase, make_sessionmaker
from tsunagu.http.responses import ErrorEnvelope, documented
from tsunagu.identity.api import PUBLIC_PATHS
from tsunagu.jobs.registry import JobKinds
from tsunagu.marketplaces.registry import Registry
from tsunagu.settings import Settings, load_settings, with_seed_key

DESCRIPTION = """
tsunagu's REST API. Money is integer minor units with its currency (JPY has no decimals, USD two);
times are ISO-8601 in UTC. Errors always look like
`{"error": {"code": "...", "message": "...", "details": {...}}}` and the `code` values are stable.
Lists page with `limit` (at most 100) and the `next_cursor` of the previous page.
"""

#: the API description's tags, each saying what its operations are about
TAGS: list[dict[str, Any]] = [
    {"name": "sellers", "description": "Businesses and their stores per marketplace."},
    {"name": "events", "description": "The append-only seller event log."},
    {"name": "orders", "description": "Order state built from events."},
    {
        "name": "imports",
        "description": "Amazon report files in, and the record of imports.",
    },
    {
        "name": "marketplaces",
        "description": "The Amazon marketplaces tsunagu knows (Amazon.co.jp, Amazon.com "
        "and any configured one): marketplace id, currency and time zone.",
    },
    {"name": "jobs", "description": "Scheduled work (read-only: the worker runs it)."},
    {
        "name": "health",
        "description": "Account health per store: the metrics, the 0–1000 Account "
        "Health Rating with every point explained, history, forecasts, what-if, "
        "Amazon's own report and alerts.",
    },
    {
        "name": "policy",
        "description": "Policy compliance per store: each policy violation with the Account "
        "Health Rating points it costs and the day it ages out, beside Amazon's per-policy "
        "counts from the latest V2 report.",
    },
    {
        "name": "enforcement",
        "description": "Account status per store (NORMAL, AT_RISK, UNDER_REVIEW, DEACTIVATED) "
        "with the issues behind it, Account Health Assurance and operators' overrides.",
    },
    {
        "name": "appeals",
        "description": "Appeals of a deactivation: a Plan of Action per issue, evidence, "
        "review before submission, drafts from the seller's data and operators' decisions.",
    },
    {
        "name": "settlement",
        "description": "Each store's settlement ledger, balance, disbursements and funds hold.",
    },
    {
        "name": "points",
        "description": "The points programme (JP by default): customers' balances and history, "
        "checkout redemptions with an `Idempotency-Key`, points from outside sources, "
        "adjustments and expiry (platform operators); each store's points rate, its offers "
        'with the "2% or more" badge and its monthly points cost.',
    },
    {
        "name": "notifications",
        "description": "Notifications of status changes and appeal decisions, and the signed "
        "webhooks that receive them.",
    },
    {"name": "probes", "description": "Liveness and readiness for load balancers."},
    {
        "name": "auth",
        "description": "Sign-in, 2FA, sessions, linked accounts and API tokens.",
    },
]

_ENVELOPE_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}


class ProcessStatus(BaseModel):
    status: str = Field(examples=["ok"])


class ReadyStatus(BaseModel):
    status: str = Field(examples=["ready"])
    revision: str | None = Field(description="The database's schema revision.", examples=["0007"])


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's description with every error answer pointing at the one envelope schema.

    FastAPI documents a 422 ``HTTPValidationError`` of its own for every route with parameters;
    tsunagu answers those with the envelope, so the description says so.
    """
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(
        ErrorEnvelope.model_json_schema(ref_template="#/components/schemas/{model}").pop(
            "$defs", {}
        )
    )
    components["ErrorEnvelope"] = {
        k: v
        for k, v in ErrorEnvelope.model_json_schema(
            ref_template="#/components/schemas/{model}"
        ).items()
        if k != "$defs"
    }
    schema["components"]["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "A session token from `POST /v1/auth/sign-in`, or an API token "
            "(`tsu_…`).",
        }
    }
    for url, path in schema.get("paths", {}).items():
        for method, operation in path.items():
            _document_common_errors(url, method, operation)
            if url not in PUBLIC_PATHS and url.startswith("/v1/"):
                operation["security"] = [{"bearer": []}]
                operation.setdefault("responses", {}).setdefault(
                    "401",
                    {
                        "description": "Not signed in, or the token does not work "
                        "(`authentication_required`, `session_invalid`, `token_invalid`)."
                    },
                )
            for status, response in operation.get("responses", {}).items():
                if status[0] in "45":
                    response["content"] = {"application/json": {"schema": _ENVELOPE_REF}}
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    app.openapi_schema = schema
    return schema


def _document_common_errors(url: str, method: str, operation: dict[str, Any]) -> None:
    """Answers every operation of a kind can give, documented once here rather than per route:
    a JSON body that does not parse (400 ``invalid_json``), a write on a seller the caller may
    only read (403 ``forbidden``), account routes called with an API token (403
    ``session_required``)."""
    responses = operation.setdefault("responses", {})
    if "requestBody" in operation:
        responses.setdefault("400", {"description": "The body is not valid JSON (`invalid_json`)."})
    if "{seller_id}" in url and method not in ("get", "head"):
        responses.setdefault(
            "403",
            {
                "description": "Your role or token may read this seller but not change it "
                "(`forbidden`)."
            },
        )
    if url.startswith("/v1/auth") and url not in PUBLIC_PATHS and url != "/v1/auth/second-factor":
        responses.setdefault(
            "403", {"description": "Called with an API token (`session_required`)."}
        )


def _probes(database: ServedDatabase) -> APIRouter:
    """``/healthz`` and ``/readyz`` for load balancers and orchestrators."""
    probes = APIRouter()

    @probes.get(
        "/healthz",
        tags=["probes"],
        summary="The process is up",
        responses=documented(e503="Never sent by tsunagu; a proxy may answer it."),
    )
    async def healthz() -> ProcessStatus:
        """Answers without touching the database: for liveness probes."""
        # async: answered on the event loop, so it stays quick while worker threads are busy
        return ProcessStatus(status="ok")

    @probes.get(
        "/readyz",
        tags=["probes"],
        summary="The database answers and its schema is current",
        response_model=ReadyStatus,
        responses=documented(
            e503="Not ready: `database_unavailable`, or `schema_outdated` (run "
            "`tsunagu db upgrade`)."
        ),
    )
    def readyz() -> ReadyStatus:
        """For readiness probes: 200 once the database answers at the schema revision this
        tsunagu expects, 503 with the envelope otherwise (also when the SQLite file was deleted
        or replaced under the running server)."""
        return ReadyStatus(status="ready", revision=database.ready())

    return probes


def _protect(app: FastAPI, settings: Settings) -> None:
    """The error envelope and the middleware every request passes, outermost last."""
    errors.install(app)
    app.add_middleware(HostileText)
    app.add_middleware(errors.BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(InFlightLimit)
    # outermost: the real client, the host check and the headers come before anything else
    app.add_middleware(Guard, hosts=settings.hosts, trusted_proxies=settings.trusted_proxies)


def build_app(
    settings: Settings | None,
    *,
    registry: Registry,
    routers: Iterable[APIRouter],
    pages: APIRouter,
    job_kinds: JobKinds,
    migrate: bool = True,
) -> FastAPI:
    """The application: ``routers`` are the slices' REST routes (each carries its own sign-in
    dependency), ``pages`` the dashboard; ``registry`` has had the slices' config sections
    checked."""
    settings = with_seed_key(settings or load_settings())
    # the only moment the server may create a SQLite file; its engines never do afterwards
    database = ServedDatabase.start(settings.database_url, migrate=migrate)
    engine = database.engine

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        # close the pooled connections when the server stops: an application made and dropped
        # (each test does) must not keep PostgreSQL connections open until the collector runs
        engine.dispose()
        read_engine.dispose()

    app = FastAPI(
        lifespan=lifespan,
        # the interactive pages load their scripts from a CDN: the description is /openapi.json
        docs_url=None,
        redoc_url=None,
        title="tsunagu",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.factory = make_sessionmaker(engine)
    read_engine = database.read_engine
    app.state.read_engine = read_engine
    app.state.read_factory = make_sessionmaker(read_engine)
    app.state.registry = registry
    app.state.job_kinds = job_kinds
    _protect(app, settings)
    for router in routers:
        app.include_router(router)
    app.include_router(pages)

    app.include_router(_probes(database))

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    # everything loaded so far (modules, the registry, the catalogs) lives as long as the server:
    # keep it out of the collector's full passes, which otherwise show up as latency spikes
    gc.freeze()
    return app
