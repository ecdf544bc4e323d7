"""What the identity slice hands to entry points, and the bodies of its routes (``/v1/auth``,
``/v1/auth/links``): never a hash or a stored secret; a session token or recovery code appears
only in the answer that made it, once."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field


class PrincipalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    display_name: str
    status: str
    created_at: datetime
    #: when control of the address was proven; None = unverified (cannot be linked, ADR 0014)
    email_verified_at: datetime | None = None


class SessionOut(BaseModel):
    """One of the caller's own sessions, for the session list (AUTH-14/15)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    stage: str
    started_at: datetime
    last_seen_at: datetime
    last_authenticated_at: datetime
    ip: str | None
    user_agent: str | None


class TotpEnrolment(BaseModel):
    """Shown once while setting up TOTP: the seed for manual entry, the otpauth URI and the QR
    code as an SVG made locally (no third-party QR service sees the seed)."""

    secret: str
    uri: str
    svg: str


class FactorStatus(BaseModel):
    """The second factor that protects a principal, for account pages. ``shared_with`` are the
    linked principals protected by the same factor (ADR 0014); empty when not linked."""

    enrolled: bool
    confirmed_at: datetime | None
    recovery_codes_left: int
    shared_with: list[str]


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: datetime
    actor: str
    action: str
    target: str | None
    outcome: str
    ip: str | None
    user_agent: str | None
    request_id: str | None
    details: dict[str, Any]


class ApiTokenOut(BaseModel):
    """An API token as listed: never the token itself, only its first characters."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    principal_id: str
    name: str
    prefix: str
    scope: str
    resources: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class OutboxMessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    created_at: datetime
    to_address: str
    kind: str
    subject: str
    body: str
    sent_at: datetime | None


class LinkedAccountOut(BaseModel):
    """Another principal of the caller's link group (ADR 0014). ``holds_factor``: its TOTP
    factor and recovery codes are the ones that protect the whole group."""

    principal_id: str
    email: str
    display_name: str
    linked_at: datetime
    holds_factor: bool


class LinkWaiting(BaseModel):
    """An account whose agreement a link request needs (it has no second factor of its own)."""

    principal_id: str
    email: str
    accepted: bool


class LinkRequestOut(BaseModel):
    """A link that waits for consent (ADR 0014): who asked, whom it joins, who must agree."""

    request_id: str
    requested_by: str = Field(description="The e-mail address of the account that asked.")
    other: str = Field(description="The e-mail address of the account it asked to link.")
    created_at: datetime
    expires_at: datetime
    waiting_for: list[LinkWaiting]


# -- the bodies of /v1/auth and /v1/auth/links ------------------------------------------------

Email = Annotated[str, Field(min_length=1, max_length=320, examples=["owner@example.com"])]
Password = Annotated[str, Field(min_length=1, max_length=1024)]
Code = Annotated[
    str,
    Field(
        min_length=1,
        max_length=40,
        description="A 6-digit code from the authenticator app, or a recovery code.",
        examples=["123456"],
    ),
]


class SignInIn(BaseModel):
    email: Email
    password: Password


class CodeIn(BaseModel):
    code: Code


class StepUpIn(BaseModel):
    password: Password
    code: Code | None = Field(default=None, description="Needed when 2FA is on.")


class SignedIn(BaseModel):
    """A new session. Send ``token`` as ``Authorization: Bearer <token>``; it is shown once."""

    token: str
    session_id: str
    principal_id: str
    stage: str = Field(
        description="`full`, or `second_factor` when the code from the authenticator app is "
        "still due (`POST /v1/auth/second-factor`).",
        examples=["full"],
    )
    password_on_list: bool = Field(
        default=False,
        description="The password is on the list of common passwords: ask the user to change it.",
    )


class SessionItem(SessionOut):
    current: bool = False


class RecoveryCodes(BaseModel):
    recovery_codes: list[str] = Field(description="Shown once; each works once.")


class PasswordChange(BaseModel):
    current_password: Password
    new_password: Password
    revoke_tokens: bool = Field(
        default=False, description="Also revoke every API token of this account."
    )


class PasswordChangedOut(BaseModel):
    sessions_ended: int = Field(description="Your other sessions, all ended.")
    tokens_revoked: int = Field(description="API tokens revoked (with `revoke_tokens`).")


class ResetRequest(BaseModel):
    email: Email


class VerificationConfirm(BaseModel):
    token: str = Field(
        min_length=1,
        max_length=200,
        description="The code from the verification message (the `token` of its link).",
    )


class LinkIn(BaseModel):
    """The other account's own sign-in: its e-mail, password and, when it uses 2FA, a code."""

    email: Email
    password: Password
    code: Code | None = None


class LinkOut(BaseModel):
    group_id: str
    principal_id: str = Field(description="The account now linked with yours.")
    replaced_factor: bool = Field(
        description="Both accounts had 2FA: the other account's authenticator and recovery codes "
        "were replaced by yours, which now protect both."
    )


class LinkPendingOut(BaseModel):
    """The link waits: the accounts in `waiting_for` have no second factor of their own, so each
    must accept the message sent to its address, signed in as itself."""

    status: str = Field(default="pending", examples=["pending"])
    request_id: str
    principal_id: str = Field(description="The account it would link with yours.")
    waiting_for: list[str] = Field(description="Accounts whose acceptance it waits for.")


class LinkAccepted(BaseModel):
    """`linked` once every account agreed (then `group_id`), else `pending`."""

    status: str = Field(examples=["linked", "pending"])
    request_id: str | None = None
    group_id: str | None = None
    principal_id: str | None = None
    replaced_factor: bool = False
    waiting_for: list[str] = Field(default_factory=list)


class LinkToken(BaseModel):
    token: str = Field(
        min_length=1, max_length=200, description="The code from the message (its link's token)."
    )
