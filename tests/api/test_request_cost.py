"""Cheaper signed-in requests (issue 13): the caller of a request is found by one statement
(session, principal and roles together) with every refusal of the session rules kept, and the
health summaries are serialised once, into the bytes their response model gave.

The caller is checked against an oracle built the old way, statement by statement: the session
through ``identity.service.resolve`` and the roles from ``identity.links.acting_ids`` with each
acting principal's memberships and operator flag, united by hand (strongest role per seller).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from sqlalchemy import event, update
from sqlalchemy.orm import Session

from tests.api.test_api import new_seller
from tests.api.test_health_api import the_issues_case
from tests.auth import OWNER_EMAIL, TEST_IDENTITY, api_client, create_user
from tests.conftest import NOW, Db
from tsunagu.access import repo as access_repo
from tsunagu.access.actor import Actor
from tsunagu.access.rules import PrincipalRoles
from tsunagu.access.service import roles_of, session_caller
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.ids import new_id
from tsunagu.health import incremental, service
from tsunagu.health.schemas import StoreHealthOut
from tsunagu.identity import links
from tsunagu.identity import service as identity
from tsunagu.identity.errors import SecondFactorRequired, SessionInvalid
from tsunagu.identity.models import AuthSession, IdentityLink, LinkGroup, Principal
from tsunagu.sellers.service import create_seller

POLICY = TEST_IDENTITY.sessions
_RANK = {"owner": 3, "manager": 2, "viewer": 1}


# --------------------------------------------------------------------------- the caller


@dataclass
class People:
    """alice owns S1 and views S2; bob (linked with alice) manages S2; carol (linked, disabled)
    owns S3; olga is a platform operator; dave holds nothing."""

    alice: str
    bob: str
    carol: str
    olga: str
    dave: str
    sellers: tuple[str, str, str]


@pytest.fixture
def people(db: Db) -> People:
    with unit_of_work(db.factory) as session:
        sellers = tuple(
            create_seller(
                session, name=f"Seller {n}", marketplaces=["JP"], registry=db.registry, now=NOW
            ).id
            for n in (1, 2, 3)
        )
    s1, s2, s3 = sellers
    alice = create_user(db, "alice@example.test", owner_of=[s1])
    create_user(db, "alice@example.test", owner_of=[s2], role="viewer")
    bob = create_user(db, "bob@example.test", owner_of=[s2], role="manager")
    carol = create_user(db, "carol@example.test", owner_of=[s3])
    olga = create_user(db, "olga@example.test", operator=True)
    dave = create_user(db, "dave@example.test")
    with unit_of_work(db.factory) as session:
        group = new_id("lgr")
        session.add(LinkGroup(id=group, factor_principal_id=None, created_at=NOW))
        session.flush()
        for member in (alice, bob, carol):
            session.add(
                IdentityLink(principal_id=member, group_id=group, linked_at=NOW, linked_by="test")
            )
        session.execute(update(Principal).where(Principal.id == carol).values(status="disabled"))
    return People(alice, bob, carol, olga, dave, (s1, s2, s3))


def _session(
    db: Db,
    principal_id: str,
    *,
    started: timedelta = timedelta(hours=1),
    idle: timedelta = timedelta(minutes=5),
    stage: str = "full",
    revoked: bool = False,
) -> str:
    """A session started ``started`` before NOW and last used ``idle`` before NOW; its token."""
    token = secrets.token_urlsafe(32)
    with unit_of_work(db.factory) as session:
        session.add(
            AuthSession(
                id=new_id("ses"),
                token_hash=identity.hash_token(token),
                principal_id=principal_id,
                stage=stage,
                started_at=NOW - started,
                last_seen_at=NOW - idle,
                last_authenticated_at=NOW - started,
                revoked_at=NOW - timedelta(minutes=1) if revoked else None,
                revoked_reason="sign_out" if revoked else None,
            )
        )
    return token


def _roles_the_old_way(session: Session, principal_id: str) -> PrincipalRoles:
    acting = links.acting_ids(session, principal_id)
    memberships: dict[str, str] = {}
    for seller_id, role in access_repo.roles_held(session, acting):
        if _RANK[role] > _RANK.get(memberships.get(seller_id, ""), 0):
            memberships[seller_id] = role
    return PrincipalRoles(memberships, operator=access_repo.any_operator(session, acting))


def _caller_the_old_way(db: Db, token: str) -> Actor:
    with db.factory() as session:
        row = identity.resolve(session, token=token, now=NOW, settings=TEST_IDENTITY, touch=False)
        return Actor(
            name=row.principal_id,
            principal_id=row.principal_id,
            roles=_roles_the_old_way(session, row.principal_id),
            via="session",
            session_id=row.id,
        )


def _caller_now(db: Db, token: str) -> Actor:
    with db.engine.connect() as connection:
        return session_caller(connection, token=token, now=NOW, settings=TEST_IDENTITY).actor


def _outcome(find, db: Db, token: str) -> Actor | type[Exception]:
    try:
        return find(db, token)
    except (SessionInvalid, SecondFactorRequired) as exc:
        return type(exc)


def test_one_statement_finds_the_same_caller_as_the_old_lookups(db: Db, people: People):
    """Roles through a link group: alice reaches S1 as owner and S2 as manager (bob's stronger
    role) but not S3 (carol is disabled); olga is an operator; dave holds nothing."""
    s1, s2, _s3 = people.sellers
    expected = {
        people.alice: PrincipalRoles({s1: "owner", s2: "manager"}),
        people.bob: PrincipalRoles({s1: "owner", s2: "manager"}),
        people.olga: PrincipalRoles({}, operator=True),
        people.dave: PrincipalRoles({}),
    }
    for principal_id, roles in expected.items():
        token = _session(db, principal_id)
        before, now = _caller_the_old_way(db, token), _caller_now(db, token)
        assert now == before
        assert now.roles == roles
        with db.factory() as session:
            assert roles_of(session, principal_id) == roles


@pytest.mark.parametrize(
    ("case", "options", "refusal"),
    [
        ("live", {}, None),
        ("idle one second short of the limit", {"idle": POLICY.idle - timedelta(seconds=1)}, None),
        ("idle exactly the limit", {"idle": POLICY.idle}, SessionInvalid),
        ("idle past the limit", {"idle": POLICY.idle + timedelta(minutes=1)}, SessionInvalid),
        ("past the absolute limit", {"started": POLICY.absolute, "idle": timedelta(0)}, SessionInvalid),
        ("revoked", {"revoked": True}, SessionInvalid),
        ("second factor due", {"stage": "second_factor", "started": timedelta(minutes=1),
                               "idle": timedelta(minutes=1)}, SecondFactorRequired),
        ("second factor due too long", {"stage": "second_factor",
                                        "started": POLICY.second_factor,
                                        "idle": timedelta(0)}, SessionInvalid),
    ],
)  # fmt: skip
def test_auth15_session_refusals_are_unchanged(db: Db, people: People, case, options, refusal):
    """AUTH-15 (idle 30 min, absolute 12 h, a pending second factor 5 min) and revocation
    (AUTH-14): the one-statement lookup refuses exactly what the old lookups refused."""
    token = _session(db, people.alice, **options)
    before, now = _outcome(_caller_the_old_way, db, token), _outcome(_caller_now, db, token)
    assert now == before, case
    if refusal is None:
        assert isinstance(now, Actor)
        assert now.principal_id == people.alice
    else:
        assert now is refusal


def test_auth14_unknown_tokens_and_disabled_principals_are_refused(db: Db, people: People):
    """A token no session has, and a live session of a disabled principal (AUTH-14: disabling
    an account kills its sessions), are both ``session_invalid``."""
    disabled = _session(db, people.carol)
    for token in (disabled, secrets.token_urlsafe(32)):
        assert _outcome(_caller_the_old_way, db, token) is SessionInvalid
        assert _outcome(_caller_now, db, token) is SessionInvalid


# --------------------------------------------------------------------------- statements


@pytest.fixture
def client(db: Db) -> Iterator[TestClient]:
    with api_client(db) as c:
        yield c


class Statements:
    """Every SQL statement the application's engines run while it listens."""

    def __init__(self, client: TestClient) -> None:
        state = client.app.state
        self.engines = {id(e): e for e in (state.engine, state.read_engine)}.values()
        self.seen: list[str] = []

    def _record(self, _conn, _cursor, statement: str, *_args) -> None:
        self.seen.append(statement)

    def __enter__(self) -> Statements:
        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *_exc: object) -> None:
        for engine in self.engines:
            event.remove(engine, "before_cursor_execute", self._record)

    def touching(self, *tables: str) -> list[str]:
        return [s for s in self.seen if any(t in s for t in tables)]


_CALLER_TABLES = (
    "auth_sessions",
    "principals",
    "identity_links",
    "seller_memberships",
    "platform_operators",
)


def test_a_signed_in_request_finds_its_caller_with_one_statement(db: Db, client: TestClient):
    seller = new_seller(client)
    with Statements(client) as sql:
        r = client.get(f"/v1/sellers/{seller}/health/JP")
    assert r.status_code == 200, r.text
    (caller,) = sql.touching(*_CALLER_TABLES)
    assert all(table in caller for table in _CALLER_TABLES)
    assert caller.lstrip().upper().startswith(("WITH", "SELECT"))


def test_the_idle_clock_is_written_once_a_minute_at_most(db: Db, client: TestClient):
    """A session last used more than a minute ago has its idle clock moved (one UPDATE); the
    next request, a moment later, writes nothing."""
    seller = new_seller(client)
    with unit_of_work(db.factory) as session:
        owner = session.query(Principal.id).filter(Principal.email == OWNER_EMAIL).scalar()
        session.execute(
            update(AuthSession)
            .where(AuthSession.principal_id == owner)
            .values(last_seen_at=utcnow() - timedelta(minutes=2))
        )
    with Statements(client) as first:
        assert client.get(f"/v1/sellers/{seller}/health/JP").status_code == 200
    with Statements(client) as second:
        assert client.get(f"/v1/sellers/{seller}/health/JP").status_code == 200
    assert [s.split()[0].upper() for s in first.touching("auth_sessions")] == ["WITH", "UPDATE"]
    assert [s.split()[0].upper() for s in second.touching("auth_sessions")] == ["WITH"]


# --------------------------------------------------------------------------- serialised once


def test_health_summaries_are_the_bytes_the_response_model_gave(db: Db, client: TestClient):
    """The two summary routes answer with orjson from plain values; the bytes are those of
    ``StoreHealthOut`` serialised by FastAPI (key order included), and the API description
    still documents the model."""
    seller = the_issues_case(client)  # a violation term, rates, ids, components
    day = date(2026, 11, 25)
    with db.factory() as session:
        found = incremental.store_health_on(
            session,
            seller_id=seller,
            marketplace=db.registry.require("JP"),
            day=day,
            now=utcnow(),
        )
        covered = service.coverage_for(session, found, db.registry.require("JP"))
    out = StoreHealthOut.of(found, with_ids=False, coverage=covered)
    one = TypeAdapter(StoreHealthOut).dump_json(out)
    every = TypeAdapter(list[StoreHealthOut]).dump_json([out])

    r = client.get(f"/v1/sellers/{seller}/health/JP", params={"as_of": day.isoformat()})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.content == one
    r = client.get(f"/v1/sellers/{seller}/health", params={"as_of": day.isoformat()})
    assert r.content == every

    paths = client.get("/openapi.json").json()["paths"]
    ref = {"$ref": "#/components/schemas/StoreHealthOut"}
    ok = "200"
    store = paths["/v1/sellers/{seller_id}/health/{marketplace}"]["get"]["responses"][ok]
    assert store["content"]["application/json"]["schema"] == ref
    seller_route = paths["/v1/sellers/{seller_id}/health"]["get"]["responses"][ok]
    assert seller_route["content"]["application/json"]["schema"]["items"] == ref
