"""The pure access rule (ADR 0013), exhaustively: every role × every action, the operator, the
union of grants, other sellers and unknown names; and the token scope rule."""

from __future__ import annotations

import itertools

import pytest

from tsunagu.access.rules import ACTIONS, ROLES, PrincipalRoles, allowed_actions, can
from tsunagu.identity.rules import TOKEN_SCOPES, token_allows

SELLER = "sel_a"
OTHER = "sel_b"

#: the decision table of ADR 0013, written out independently of the implementation
TABLE = {
    ("owner", "read"): True,
    ("owner", "write"): True,
    ("owner", "manage"): True,
    ("manager", "read"): True,
    ("manager", "write"): True,
    ("manager", "manage"): False,
    ("viewer", "read"): True,
    ("viewer", "write"): False,
    ("viewer", "manage"): False,
    ("operator", "read"): True,
    ("operator", "write"): False,
    ("operator", "manage"): False,
    ("none", "read"): False,
    ("none", "write"): False,
    ("none", "manage"): False,
}


def roles_for(role: str, seller: str = SELLER) -> PrincipalRoles:
    if role == "operator":
        return PrincipalRoles(operator=True)
    if role == "none":
        return PrincipalRoles()
    return PrincipalRoles(memberships={seller: role})


def test_table_covers_every_role_and_action():
    assert set(TABLE) == set(itertools.product((*ROLES, "operator", "none"), ACTIONS))


@pytest.mark.parametrize(("role", "action"), sorted(TABLE))
def test_decision_table(role: str, action: str):
    assert can(roles_for(role), SELLER, action) is TABLE[(role, action)]


@pytest.mark.parametrize(("role", "action"), sorted(TABLE))
def test_a_membership_gives_nothing_on_another_seller(role: str, action: str):
    expected = role == "operator" and action == "read"  # the operator reads every seller
    assert can(roles_for(role), OTHER, action) is expected


@pytest.mark.parametrize(("role", "action"), list(itertools.product(ROLES, ACTIONS)))
def test_operator_with_a_membership_gets_the_union(role: str, action: str):
    roles = PrincipalRoles(memberships={SELLER: role}, operator=True)
    assert can(roles, SELLER, action) is (TABLE[(role, action)] or action == "read")
    assert can(roles, OTHER, action) is (action == "read")


def test_unknown_actions_and_roles_allow_nothing():
    assert not can(PrincipalRoles(memberships={SELLER: "owner"}), SELLER, "delete")
    assert not can(PrincipalRoles(memberships={SELLER: "admin"}), SELLER, "read")
    assert not can(PrincipalRoles(operator=True), SELLER, "")
    assert allowed_actions(PrincipalRoles(), SELLER) == frozenset()


@pytest.mark.parametrize(
    ("scope", "action"), list(itertools.product((*TOKEN_SCOPES, "admin"), ACTIONS))
)
def test_token_scope_rule(scope: str, action: str):
    expected = (scope, action) in {("read", "read"), ("write", "read"), ("write", "write")}
    assert token_allows(scope, [SELLER], SELLER, action) is expected
    assert token_allows(scope, [SELLER], OTHER, action) is False
