"""Request dependencies: the database session, the caller, and the one access check.

Every request except the probes, the sign-in steps and the API description names its caller: a
session token (``Authorization: Bearer …`` from ``POST /v1/auth/sign-in``, or the dashboard's
session cookie) or an API token (``Authorization: Bearer tsu_…``). :func:`request_actor` (and
:func:`current_actor`, for code on a worker thread) turns it into an :class:`Actor`, and every
seller-scoped route depends on :func:`seller_access`, which asks the access rule
(``access.rules.can``) whether the actor may read (GET, HEAD) or write (everything else) that
seller. A seller the caller may not read is "not found", exactly like one
that does not exist (no existence leak). The local CLI does not come through here: it acts as the
installation's owner (:data:`tsunagu.access.actor.LOCAL_OWNER`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from tsunagu.access.actor import Actor
from tsunagu.access.service import SessionCaller, roles_of, session_caller
from tsunagu.core.clock import utcnow
from tsunagu.core.errors import TsunaguError
from tsunagu.core.i18n import N_
from tsunagu.core.origins import trusted_origin
from tsunagu.identity import service as identity
from tsunagu.identity.audit import Client
from tsunagu.identity.rules import TOKEN_PREFIX
from tsunagu.identity.tokens import authenticate_token
from tsunagu.marketplaces.registry import Marketplace, Registry
from tsunagu.sellers.service import seller_not_found
from tsunagu.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: The dashboard's session cookie: ``__Host-`` (Secure, host-only, path /) over HTTPS; the
#: prefix is not allowed without Secure, so plain HTTP on 127.0.0.1 uses the bare name.
SECURE_COOKIE = "__Host-tsunagu_session"
PLAIN_COOKIE = "tsunagu_session"
#: A session's idle clock is written at most this often (reads stay on the read-only engine);
#: the 30-minute idle limit may therefore end a session up to a minute early.
TOUCH_EVERY = timedelta(seconds=60)


class AuthenticationRequired(TsunaguError):
    status = 401
    code = "authentication_required"

    def __init__(self) -> None:
        super().__init__(N_("Please sign in."))


class MalformedAuthorization(TsunaguError):
    status = 401
    code = "invalid_authorization"

    def __init__(self) -> None:
        super().__init__(N_("The Authorization header must be 'Bearer <token>'."))


class CrossSiteRequest(TsunaguError):
    status = 403
    code = "cross_site_request"

    def __init__(self) -> None:
        super().__init__(N_("This request came from another site and was refused."))


class SessionRequired(TsunaguError):
    status = 403
    code = "session_required"

    def __init__(self) -> None:
        super().__init__(N_("Sign in to manage your account; API tokens cannot do this."))


class Forbidden(TsunaguError):
    status = 403
    code = "forbidden"


def get_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.factory
    return factory


def get_read_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.read_factory
    return factory


def get_read_engine(request: Request) -> Engine:
    """The read-only engine (what :func:`get_read_factory`'s sessions are bound to)."""
    engine: Engine = request.app.state.read_engine
    return engine


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request; the route commits what it changes, anything else rolls back.

    GET and HEAD requests read through the read-only engine (no SQLite write lock).

    An async dependency, so that closing the session (which hands its connection back to the
    pool) runs on the event loop and never waits for a worker thread (``api/concurrency.py``).
    """
    factory = (
        get_read_factory(request) if request.method in ("GET", "HEAD") else get_factory(request)
    )
    session = factory()
    try:
        yield session
    finally:
        session.close()


async def get_registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def client_of(request: Request) -> Client:
    """Where the request came from, for the audit log (the log escapes and cuts every field)."""
    return Client(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        request_id=request.headers.get("x-request-id"),
    )


def cookie_is_secure(request: Request) -> bool:
    settings = get_settings(request)
    if settings.secure_cookies is not None:
        return settings.secure_cookies
    return request.url.scheme == "https"


def session_cookie_name(request: Request) -> str:
    return SECURE_COOKIE if cookie_is_secure(request) else PLAIN_COOKIE


def presented_token(request: Request) -> tuple[str, str] | None:
    """The bearer token and how it came (``bearer`` or ``cookie``), or None."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value or len(value) > 200:
            raise MalformedAuthorization()
        return value, "bearer"
    for name in (SECURE_COOKIE, PLAIN_COOKIE):
        value = request.cookies.get(name, "")
        if value:
            return value[:200], "cookie"
    return None


def same_origin(request: Request) -> bool:
    """Whether a write comes from our own pages (CSRF): its ``Origin`` (or, failing that,
    ``Referer``) is the configured public origin — scheme, host and port — or, on a loopback
    host, exactly the address the browser is on (:func:`tsunagu.core.origins.trusted_origin`).
    Never "whatever the request's own ``Host`` says": with ``Host: attacker.example`` and a
    matching ``Origin`` a rebound DNS name would pass. SameSite=Lax already keeps the cookie off
    most cross-site writes; this covers same-site subdomains and old browsers. The dashboard's
    sign-in forms, which carry no session yet, ask the same question."""
    return trusted_origin(
        request.headers.get("origin") or request.headers.get("referer"),
        configured=get_settings(request).origin,
        request_scheme=request.url.scheme,
        request_host=request.headers.get("host"),
    )


def _read_session_caller(request: Request, token: str, now: datetime) -> SessionCaller:
    """Session, principal and roles in one read on the read-only engine (``session_caller``)."""
    settings = get_settings(request).identity
    with get_read_engine(request).connect() as connection:
        return session_caller(connection, token=token, now=now, settings=settings)


def _needs_touch(found: SessionCaller, now: datetime) -> bool:
    return found.last_seen_at <= now - TOUCH_EVERY


def _touch(request: Request, session_id: str, now: datetime) -> None:
    """Restart the session's idle clock (a write: it may wait for SQLite's write lock)."""
    with get_factory(request)() as write:
        identity.mark_seen(write, session_id=session_id, now=now)
        write.commit()


def _session_actor(request: Request, token: str) -> Actor:
    """The session's caller; the idle clock is written only when it is more than
    :data:`TOUCH_EVERY` behind."""
    now = utcnow()
    found = _read_session_caller(request, token, now)
    if _needs_touch(found, now):
        _touch(request, found.session_id, now)
    return found.actor


def _token_actor(request: Request, token: str) -> Actor:
    now = utcnow()
    with get_factory(request)() as session:
        auth = authenticate_token(session, token=token, now=now, client=client_of(request))
        roles = roles_of(session, auth.principal_id) if auth.ok and auth.principal_id else None
        session.commit()  # the last-used time, or the failure's audit entry
    auth.raise_failure()
    assert auth.principal_id is not None
    assert roles is not None
    return Actor(
        name=auth.principal_id,
        principal_id=auth.principal_id,
        roles=roles,
        via="token",
        token_id=auth.token_id,
        token_scope=auth.scope,
        token_resources=frozenset(auth.resources),
    )


def _credentials(request: Request) -> str:
    """The token the request presents: 401 ``authentication_required`` without one, 403
    ``cross_site_request`` for a cookie on a write from another site."""
    found = presented_token(request)
    if found is None:
        raise AuthenticationRequired()
    token, carrier = found
    if carrier == "cookie" and request.method not in SAFE_METHODS and not same_origin(request):
        raise CrossSiteRequest()
    return token


def current_actor(request: Request) -> Actor:
    """The authenticated caller (401 ``authentication_required`` without credentials); computed
    once per request. For code already on a worker thread (the pages); the routes depend on
    :func:`request_actor`, which answers the same."""
    cached = getattr(request.state, "actor", None)
    if isinstance(cached, Actor):
        return cached
    token = _credentials(request)
    if token.startswith(TOKEN_PREFIX):
        actor = _token_actor(request, token)
    else:
        actor = _session_actor(request, token)
    request.state.actor = actor
    return actor


async def request_actor(request: Request) -> Actor:
    """:func:`current_actor` as the dependency of every signed-in route, without a worker
    thread where none is needed.

    On SQLite a session's caller is one read of a few index pages of a local file (WAL readers
    never wait for a writer): cheaper than handing the request to a worker thread and back,
    and each hand-off also waits for the interpreter lock behind whatever the workers are
    computing, which under load is most of a request's latency. So that read runs here, on the
    event loop. What can wait goes to a worker thread as before: the idle-clock write (SQLite's
    write lock), an API token (its last-used time is written on every use), and every read on
    PostgreSQL (a network round trip). The read borrows a connection from the read-only pool,
    which always has one free: the in-flight cap (``api/concurrency.py``) lets fewer requests
    past than the pool lends.
    """
    cached = getattr(request.state, "actor", None)
    if isinstance(cached, Actor):
        return cached
    if get_read_engine(request).dialect.name != "sqlite":
        return await run_in_threadpool(current_actor, request)
    token = _credentials(request)
    if token.startswith(TOKEN_PREFIX):
        actor = await run_in_threadpool(_token_actor, request, token)
    else:
        now = utcnow()
        found = _read_session_caller(request, token, now)
        if _needs_touch(found, now):
            await run_in_threadpool(_touch, request, found.session_id, now)
        actor = found.actor
    request.state.actor = actor
    return actor


def optional_actor(request: Request) -> Actor | None:
    """The caller if credentials came with the request and work, else None (the sign-in page)."""
    try:
        return current_actor(request)
    except TsunaguError:
        return None


SessionDep = Annotated[Session, Depends(get_session)]
RegistryDep = Annotated[Registry, Depends(get_registry)]


async def _settings(request: Request) -> Settings:
    # async: a pure lookup answered on the event loop, no worker-thread hop per request
    return get_settings(request)


SettingsDep = Annotated[Settings, Depends(_settings)]
ActorDep = Annotated[Actor, Depends(request_actor)]


async def session_actor(actor: ActorDep) -> Actor:
    """Account management needs a signed-in session, not an API token."""
    if actor.via != "session":
        raise SessionRequired()
    return actor


SessionActorDep = Annotated[Actor, Depends(session_actor)]


async def seller_access(
    request: Request,
    actor: ActorDep,
    seller_id: Annotated[str, Path(min_length=1, max_length=40, description="Seller id.")],
) -> str:
    """The seller the route is about, if the caller may read it (GET, HEAD) or write it (other
    methods). A seller the caller cannot read is 404 ``seller_not_found``, like a missing one;
    one it can read but not change is 403 ``forbidden``."""
    action = "read" if request.method in SAFE_METHODS else "write"
    if actor.allows(seller_id, action):
        return seller_id
    if action != "read" and actor.allows(seller_id, "read"):
        raise Forbidden(
            N_("Your access to seller {seller_id} does not allow changes."), seller_id=seller_id
        )
    raise seller_not_found(seller_id)


SellerIdDep = Annotated[str, Depends(seller_access)]


async def path_marketplace(
    marketplace: Annotated[
        str, Path(min_length=1, max_length=20, description="JP, US, … or an Amazon marketplace id.")
    ],
    registry: RegistryDep,
) -> Marketplace:
    """The marketplace named in the path; 404 ``unknown_marketplace`` otherwise."""
    return registry.require(marketplace)


MarketplaceDep = Annotated[Marketplace, Depends(path_marketplace)]


def signed_in_router() -> APIRouter:
    """A slice's router under ``/v1`` whose every route needs a signed-in caller."""
    return APIRouter(prefix="/v1", dependencies=[Depends(request_actor)])
