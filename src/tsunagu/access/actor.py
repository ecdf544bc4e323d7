"""The caller of a request or a command: who it is and which sellers it may read or change.

Entry points make one (the API and the pages from a session or token, the CLI as the local
owner) and services ask it; it lives in the access slice so that none of them imports another.
"""

from __future__ import annotations

from dataclasses import dataclass

from tsunagu.access.rules import PrincipalRoles, can
from tsunagu.identity.rules import token_allows


@dataclass(frozen=True)
class Actor:
    """Who is calling and what they may reach.

    ``roles is None`` is the installation's local owner (the CLI on its own database): every
    seller, every action. A token actor is limited by its token's scope and sellers *and* by its
    principal's current roles.
    """

    name: str
    principal_id: str | None = None
    roles: PrincipalRoles | None = None
    #: local | session | token
    via: str = "local"
    session_id: str | None = None
    token_id: str | None = None
    token_scope: str | None = None
    token_resources: frozenset[str] = frozenset()

    def allows(self, seller_id: str, action: str) -> bool:
        if self.roles is None:
            return True
        if not can(self.roles, seller_id, action):
            return False
        if self.via == "token":
            return token_allows(self.token_scope or "", self.token_resources, seller_id, action)
        return True

    def can_access(self, seller_id: str) -> bool:
        """Whether events may be written for ``seller_id`` (the event ingester asks this)."""
        return self.allows(seller_id, "write")

    @property
    def is_operator(self) -> bool:
        """The installation's local owner or a platform operator (by session or token): who
        may act for the marketplace itself (customers' points, expiry runs)."""
        return self.roles is None or self.roles.operator

    @property
    def sellers(self) -> frozenset[str] | None:
        """The sellers this actor may read; ``None`` means every seller."""
        if self.roles is None:
            return None
        if self.via == "token":
            return frozenset(s for s in self.token_resources if self.allows(s, "read"))
        if self.roles.operator:
            return None
        return frozenset(self.roles.memberships)


LOCAL_OWNER = Actor(name="local-owner")
