"""The access rule, pure: which action a principal's roles allow on one seller (ADR 0013).

==========  ======  =======  ========
role        read    write    manage
==========  ======  =======  ========
owner       yes     yes      yes
manager     yes     yes      no
viewer      yes     no       no
operator    yes     no       no        (every seller, without a membership)
none        no      no       no
==========  ======  =======  ========

A principal with several grants gets their union (an operator who owns a seller manages it).
``manage`` means the seller's memberships and tokens; ``write`` its data (imports, settings).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ROLES = ("owner", "manager", "viewer")
ACTIONS = ("read", "write", "manage")
OPERATOR = "operator"

_ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "owner": frozenset({"read", "write", "manage"}),
    "manager": frozenset({"read", "write"}),
    "viewer": frozenset({"read"}),
}
_OPERATOR_ACTIONS = frozenset({"read"})


@dataclass(frozen=True)
class PrincipalRoles:
    """Everything the rule needs about one principal: role per seller id, and the platform flag."""

    memberships: dict[str, str] = field(default_factory=dict)
    operator: bool = False


def allowed_actions(roles: PrincipalRoles, seller_id: str) -> frozenset[str]:
    allowed = _ROLE_ACTIONS.get(roles.memberships.get(seller_id, ""), frozenset())
    if roles.operator:
        allowed = allowed | _OPERATOR_ACTIONS
    return allowed


def can(roles: PrincipalRoles, seller_id: str, action: str) -> bool:
    """Whether ``roles`` allow ``action`` (read / write / manage) on ``seller_id``; an unknown
    action or role allows nothing."""
    return action in allowed_actions(roles, seller_id)
