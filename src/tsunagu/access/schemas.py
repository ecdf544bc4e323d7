"""What the access slice hands to entry points, and the bodies of its routes under ``/v1/auth``
(who may do what with which seller, seller-scoped API tokens, and the account actions that also
settle those tokens)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field

from tsunagu.identity.schemas import ApiTokenOut, Password, PrincipalOut


class MemberOut(BaseModel):
    """A principal's role in a seller."""

    principal_id: str
    email: str
    display_name: str
    seller_id: str
    role: str
    granted_at: datetime
    granted_by: str


class SellerRole(BaseModel):
    seller_id: str
    name: str
    role: str = Field(description="owner, manager, viewer, or operator (read-only).")


class TwoFactorOut(BaseModel):
    enabled: bool
    recovery_codes_left: int


class MeOut(BaseModel):
    principal: PrincipalOut
    session_id: str
    last_authenticated_at: datetime
    operator: bool
    sellers: list[SellerRole]
    two_factor: TwoFactorOut


class Revoked(BaseModel):
    revoked: int = Field(description="Sessions ended: yours and those of linked accounts.")
    tokens_revoked: int = Field(
        default=0, description="API tokens of linked accounts that reached yours."
    )


class ResetCompletion(BaseModel):
    token: str = Field(min_length=1, max_length=200)
    new_password: Password
    cut_links: bool = Field(
        default=False,
        description="Also cut this account's links with other accounts: for a link you did not "
        "make. Each account then signs in as it did before it was linked.",
    )


class ResetOut(BaseModel):
    """What the reset did. Nobody was signed in."""

    sessions_ended: int = Field(description="Sessions of this account, all ended.")
    linked_sessions_ended: int = Field(
        description="Sessions of linked accounts, which reached this one through the link."
    )
    links_cut: bool = Field(description="The account's links were cut (`cut_links`).")
    tokens_revoked: int = Field(
        description="API tokens revoked: every token of this account, and tokens of linked "
        "accounts that reached it."
    )


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=80, examples=["nightly import"])
    scope: str = Field(description="`read` or `write`.", examples=["read"])
    seller_ids: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        min_length=1, max_length=100
    )
    expires_at: AwareDatetime | None = Field(
        default=None,
        description="UTC, at most `TSUNAGU_TOKEN_MAX_DAYS` (365) days ahead; none = the longest "
        "allowed.",
    )


class TokenCreated(BaseModel):
    token: str = Field(description="Shown once: store it now.")
    info: ApiTokenOut


class UnlinkConfirm(BaseModel):
    code: str = Field(min_length=1, max_length=20, description="The code from the e-mail.")


class UnlinkOut(BaseModel):
    detached: str = Field(description="The account that left the link group.")
    recovery_codes: dict[str, list[str]] = Field(
        description="New recovery codes, shown once, for the account that received its own copy "
        "of the authenticator (keyed by account id)."
    )
    revoked_tokens: list[str] = Field(description="API tokens that reached across the link.")
