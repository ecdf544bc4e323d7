"""What the identity slice hands to entry points: never a hash, a secret or a token hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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
