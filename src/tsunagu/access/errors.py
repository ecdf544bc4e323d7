"""Access errors with stable codes."""

from __future__ import annotations

from tsunagu.core.errors import InvalidInput, TsunaguError
from tsunagu.core.i18n import N_


class LastOwner(TsunaguError):
    status = 409
    code = "last_owner"

    def __init__(self, seller_id: str) -> None:
        super().__init__(
            N_("Seller {seller_id} must keep at least one owner."),
            seller_id=seller_id,
            details={"seller_id": seller_id},
        )


class InvalidRole(InvalidInput):
    code = "invalid_role"

    def __init__(self, role: str) -> None:
        super().__init__(
            N_("The role must be owner, manager or viewer, not {role}."),
            role=role,
            details={"field": "role", "value": role},
        )


class MembershipNotFound(TsunaguError):
    status = 404
    code = "membership_not_found"

    def __init__(self, seller_id: str) -> None:
        super().__init__(
            N_("This account has no role in seller {seller_id}."),
            seller_id=seller_id,
            details={"seller_id": seller_id},
        )


class ScopeExceedsRole(TsunaguError):
    """A token may not allow more than its principal's role in each of its sellers."""

    status = 403
    code = "scope_exceeds_role"

    def __init__(self, seller_id: str, scope: str) -> None:
        super().__init__(
            N_("This account may not {scope} seller {seller_id}, so a token cannot either."),
            seller_id=seller_id,
            scope=scope,
            details={"seller_id": seller_id, "scope": scope},
        )


class NoSellers(InvalidInput):
    code = "token_needs_seller"

    def __init__(self) -> None:
        super().__init__(
            N_("A token needs at least one seller (--seller)."), details={"field": "seller"}
        )
