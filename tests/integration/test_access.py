"""Roles and API tokens on SQLite and PostgreSQL (issue 6, points 1 and 6; ADR 0013). Every
change is audited (PRIV-05). Cheap Argon2 parameters; the clock is passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import Db
from tests.integration.test_identity import make_user, tx
from tsunagu.access import service as access
from tsunagu.access.errors import (
    InvalidRole,
    LastOwner,
    MembershipNotFound,
    NoSellers,
    ScopeExceedsRole,
)
from tsunagu.access.rules import can
from tsunagu.core.errors import InvalidInput, NotFound
from tsunagu.identity import audit, service, tokens
from tsunagu.identity.errors import PrincipalNotFound, TokenInvalid, TokenNotFound, TokenScopeDenied
from tsunagu.identity.models import ApiToken
from tsunagu.sellers.service import create_seller

NOW = datetime(2026, 11, 25, 12, 0, 10, tzinfo=UTC)
ACTOR = "local-owner"


def make_seller(db: Db, name: str = "Kyoto Tea Works") -> str:
    return tx(
        db,
        lambda s: (
            create_seller(s, name=name, marketplaces=["JP", "US"], registry=db.registry, now=NOW).id
        ),
    )


def grant(db: Db, principal: str, seller: str, role: str) -> Any:
    return tx(
        db,
        lambda s: access.grant_role(
            s, principal_id=principal, seller_id=seller, role=role, now=NOW, actor=ACTOR
        ),
    )


def revoke(db: Db, principal: str, seller: str) -> None:
    tx(
        db,
        lambda s: access.revoke_role(
            s, principal_id=principal, seller_id=seller, now=NOW, actor=ACTOR
        ),
    )


def entries(db: Db, action: str) -> list[Any]:
    return tx(db, lambda s: audit.list_entries(s, action=action, limit=1000))


# -- roles ------------------------------------------------------------------------------------


def test_grant_change_list_and_revoke_roles_are_audited(db: Db):
    """Issue 6 point 1 + PRIV-05: one audit entry per change, none for a repeated grant."""
    seller = make_seller(db)
    hanako = make_user(db, "hanako@example.jp")
    taro = make_user(db, "taro@example.jp")
    grant(db, hanako, seller, "owner")
    grant(db, taro, seller, "viewer")
    grant(db, taro, seller, "viewer")  # no change, no entry
    grant(db, taro, seller, "manager")
    members = tx(db, lambda s: access.list_members(s, seller_id=seller))
    assert [(m.email, m.role) for m in members] == [
        ("hanako@example.jp", "owner"),
        ("taro@example.jp", "manager"),
    ]
    roles = tx(db, lambda s: access.roles_of(s, taro))
    assert can(roles, seller, "write")
    assert not can(roles, seller, "manage")
    revoke(db, taro, seller)
    assert tx(db, lambda s: access.roles_of(s, taro)).memberships == {}
    log = entries(db, "privilege_permissions_changed")
    assert [(e.target, e.details["role"], e.details["previous"]) for e in log] == [
        (hanako, "owner", None),
        (taro, "viewer", None),
        (taro, "manager", "viewer"),
        (taro, None, "manager"),
    ]
    assert {e.actor for e in log} == {ACTOR}
    assert all(e.details["seller"] == seller for e in log)


def test_a_seller_never_loses_its_last_owner(db: Db):
    seller = make_seller(db)
    hanako = make_user(db, "hanako@example.jp")
    taro = make_user(db, "taro@example.jp")
    grant(db, hanako, seller, "owner")
    with pytest.raises(LastOwner) as demote:
        grant(db, hanako, seller, "manager")
    assert demote.value.code == "last_owner"
    with pytest.raises(LastOwner):
        revoke(db, hanako, seller)
    grant(db, taro, seller, "owner")
    revoke(db, hanako, seller)  # another owner remains
    with pytest.raises(LastOwner):
        revoke(db, taro, seller)
    members = tx(db, lambda s: access.list_members(s, seller_id=seller))
    assert [(m.principal_id, m.role) for m in members] == [(taro, "owner")]


def test_unknown_role_seller_principal_and_membership(db: Db):
    seller = make_seller(db)
    hanako = make_user(db)
    with pytest.raises(InvalidRole):
        grant(db, hanako, seller, "admin")
    with pytest.raises(NotFound) as missing:
        grant(db, hanako, "sel_nobody", "viewer")
    assert missing.value.code == "seller_not_found"
    with pytest.raises(PrincipalNotFound):
        grant(db, "usr_nobody", seller, "viewer")
    with pytest.raises(MembershipNotFound):
        revoke(db, hanako, seller)


def test_operator_reads_every_seller_and_changes_are_audited(db: Db):
    first, second = make_seller(db, "A"), make_seller(db, "B")
    op = make_user(db, "ops@example.jp")

    def set_op(value: bool) -> bool:
        return tx(
            db,
            lambda s: access.set_operator(s, principal_id=op, operator=value, now=NOW, actor=ACTOR),
        )

    assert set_op(True) is True
    assert set_op(True) is False
    roles = tx(db, lambda s: access.roles_of(s, op))
    for seller in (first, second):
        assert can(roles, seller, "read")
        assert not can(roles, seller, "write")
        assert not can(roles, seller, "manage")
    assert set_op(False) is True
    assert not can(tx(db, lambda s: access.roles_of(s, op)), first, "read")
    log = entries(db, "privilege_permissions_changed")
    assert [e.details["change"] for e in log] == ["grant", "revoke"]
    assert all(e.details["platform_role"] == "operator" for e in log)


# -- API tokens -------------------------------------------------------------------------------


def owner_with_token(
    db: Db, scope: str = "write", expires: timedelta | None = timedelta(days=90)
) -> tuple[str, str, str, tokens.NewToken]:
    seller = make_seller(db)
    user = make_user(db)
    grant(db, user, seller, "owner")
    created = tx(
        db,
        lambda s: access.create_seller_token(
            s,
            principal_id=user,
            name="nightly import",
            scope=scope,
            seller_ids=[seller],
            now=NOW,
            expires_at=NOW + expires if expires else None,
            actor=user,
        ),
    )
    return seller, user, created.info.id, created


def authenticate(db: Db, token: str, now: datetime) -> tokens.TokenAuth:
    return tx(db, lambda s: tokens.authenticate_token(s, token=token, now=now))


def test_token_shown_once_stored_hashed_and_authenticates(db: Db):
    """Issue 6 point 6: 256-bit token with a prefix, only its SHA-256 stored, last use recorded."""
    seller, user, token_id, created = owner_with_token(db)
    assert created.token.startswith("tsu_")
    assert len(created.token) == 4 + 43  # 32 bytes, URL-safe base64
    row = tx(db, lambda s: s.get(ApiToken, token_id))
    assert row.token_hash == tokens.hash_api_token(created.token)
    assert created.token not in (row.token_hash, row.prefix)
    assert created.token.startswith(row.prefix)
    listed = tx(db, lambda s: tokens.list_tokens(s, principal_id=user))
    assert "token" not in listed[0].model_dump()
    assert listed[0].last_used_at is None

    later = NOW + timedelta(hours=1)
    auth = authenticate(db, created.token, later)
    assert auth.ok
    assert (auth.principal_id, auth.token_id, auth.scope, auth.resources) == (
        user,
        token_id,
        "write",
        [seller],
    )
    assert tx(db, lambda s: s.get(ApiToken, token_id)).last_used_at == later
    entry = entries(db, "authn_token_created")[0]
    assert entry.target == token_id
    assert created.token not in entry.model_dump_json()


def test_unknown_expired_and_revoked_tokens_fail_alike_and_are_audited(db: Db):
    _seller, user, token_id, created = owner_with_token(db, expires=timedelta(days=1))
    unknown = authenticate(db, "tsu_" + "x" * 43, NOW)
    malformed = authenticate(db, "Bearer nonsense", NOW)
    expired = authenticate(db, created.token, NOW + timedelta(days=1))
    assert isinstance(unknown.failure, TokenInvalid)
    assert isinstance(malformed.failure, TokenInvalid)
    assert isinstance(expired.failure, TokenInvalid)
    assert unknown.failure.code == expired.failure.code == "token_invalid"

    assert tx(db, lambda s: tokens.revoke_token(s, token_id=token_id, now=NOW, actor=user))
    assert not tx(db, lambda s: tokens.revoke_token(s, token_id=token_id, now=NOW, actor=user))
    revoked = authenticate(db, created.token, NOW + timedelta(minutes=1))
    assert isinstance(revoked.failure, TokenInvalid)
    with pytest.raises(TokenInvalid):
        revoked.raise_failure()
    fails = entries(db, "authn_token_fail")
    assert [e.details["reason"] for e in fails] == ["unknown", "malformed", "expired", "revoked"]
    assert [e.actor for e in fails] == ["anonymous", "anonymous", user, user]
    assert len(entries(db, "authn_token_revoked")) == 1
    assert created.token not in "".join(e.model_dump_json() for e in fails)


def test_revoking_another_principals_token_is_not_found(db: Db):
    _, _, token_id, _ = owner_with_token(db)
    other = make_user(db, "taro@example.jp")
    with pytest.raises(TokenNotFound):
        tx(
            db,
            lambda s: tokens.revoke_token(s, token_id=token_id, now=NOW, actor=other, owner=other),
        )
    with pytest.raises(TokenNotFound):
        tx(db, lambda s: tokens.revoke_token(s, token_id="tok_nope", now=NOW, actor=other))


def test_disabled_principal_loses_its_tokens(db: Db):
    _, user, _, created = owner_with_token(db)
    tx(db, lambda s: service.disable_principal(s, principal_id=user, now=NOW, actor=ACTOR))
    assert isinstance(authenticate(db, created.token, NOW).failure, TokenInvalid)


def authorize(db: Db, auth: tokens.TokenAuth, seller: str, action: str) -> Any:
    return tx(
        db,
        lambda s: access.authorize_token(s, auth=auth, seller_id=seller, action=action, now=NOW),
    )


def test_scope_limits_a_token_to_its_sellers_actions_and_current_role(db: Db):
    seller, user, token_id, created = owner_with_token(db, scope="read")
    other = make_seller(db, "Other")
    auth = authenticate(db, created.token, NOW)
    assert authorize(db, auth, seller, "read").ok
    for target, action in ((seller, "write"), (seller, "manage"), (other, "read")):
        refused = authorize(db, auth, target, action)
        assert isinstance(refused.failure, TokenScopeDenied)
        assert refused.failure.code == "token_scope_denied"
    denied = entries(db, "authz_fail")
    assert [(e.target, e.details["action"]) for e in denied] == [
        (seller, "write"),
        (seller, "manage"),
        (other, "read"),
    ]
    assert all(e.details["via"] == token_id for e in denied)
    # the role goes, the token's access goes with it
    taro = make_user(db, "taro@example.jp")
    grant(db, taro, seller, "owner")
    revoke(db, user, seller)
    assert isinstance(authorize(db, auth, seller, "read").failure, TokenScopeDenied)


def test_write_token_writes_but_never_manages(db: Db):
    seller, _, _, created = owner_with_token(db, scope="write")
    auth = authenticate(db, created.token, NOW)
    assert authorize(db, auth, seller, "write").ok
    assert not authorize(db, auth, seller, "manage").ok


def test_a_token_cannot_exceed_its_principals_role(db: Db):
    seller = make_seller(db)
    viewer = make_user(db)
    grant(db, viewer, seller, "viewer")

    def create(scope: str, sellers: list[str], name: str = "ci", expires: Any = None) -> Any:
        return tx(
            db,
            lambda s: access.create_seller_token(
                s,
                principal_id=viewer,
                name=name,
                scope=scope,
                seller_ids=sellers,
                now=NOW,
                expires_at=expires,
                actor=ACTOR,
            ),
        )

    assert create("read", [seller]).info.scope == "read"
    with pytest.raises(ScopeExceedsRole) as too_much:
        create("write", [seller])
    assert too_much.value.code == "scope_exceeds_role"
    with pytest.raises(ScopeExceedsRole):
        create("read", [make_seller(db, "Not mine")])
    with pytest.raises(NoSellers):
        create("read", [])
    with pytest.raises(InvalidInput) as bad_scope:
        create("admin", [seller])
    assert bad_scope.value.code == "invalid_scope"
    with pytest.raises(InvalidInput) as bad_name:
        create("read", [seller], name="two\nlines")
    assert bad_name.value.code == "invalid_token_name"
    with pytest.raises(InvalidInput) as past:
        create("read", [seller], expires=NOW)
    assert past.value.code == "invalid_expiry"
    assert len(tx(db, lambda s: list(s.scalars(select(ApiToken))))) == 1


def test_auth18_a_token_without_expiry_lives_the_longest_allowed_and_no_longer(db: Db):
    """AUTH-18: no token lives forever. Without an expiry it gets the configured maximum (a
    year by default); a later expiry is refused with the latest allowed instant."""
    seller, user, _, created = owner_with_token(db, expires=None)
    assert created.info.expires_at == NOW + timedelta(days=365)
    assert authenticate(db, created.token, NOW + timedelta(days=364)).ok
    assert not authenticate(db, created.token, NOW + timedelta(days=365)).ok

    def create(expires: Any, max_days: int = 365) -> Any:
        return tx(
            db,
            lambda s: access.create_seller_token(
                s,
                principal_id=user,
                name="ci",
                scope="read",
                seller_ids=[seller],
                now=NOW,
                expires_at=expires,
                actor=ACTOR,
                max_lifetime=timedelta(days=max_days),
            ),
        )

    assert create(NOW + timedelta(days=365)).info.expires_at == NOW + timedelta(days=365)
    with pytest.raises(InvalidInput) as too_late:
        create(NOW + timedelta(days=365, seconds=1))
    assert too_late.value.code == "expiry_too_late"
    assert too_late.value.details["field"] == "expires_at"
    assert create(None, max_days=30).info.expires_at == NOW + timedelta(days=30)
    with pytest.raises(InvalidInput):
        create(NOW + timedelta(days=31), max_days=30)


def test_a_token_needs_an_existing_principal(db: Db):
    with pytest.raises(PrincipalNotFound):
        tx(
            db,
            lambda s: tokens.create_token(
                s,
                principal_id="usr_nobody",
                name="x",
                scope="read",
                resources=[],
                now=NOW,
                expires_at=None,
                actor=ACTOR,
            ),
        )
