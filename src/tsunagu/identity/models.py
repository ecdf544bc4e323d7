"""Identity tables. No seller, store or role columns: memberships belong to the slices that grant
access, so buyers reuse these tables unchanged (ADR 0012)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.core.db import Base, UTCDateTime


class Principal(Base):
    """Someone who signs in. ``email`` is stored normalised (NFKC, case-folded) and unique."""

    __tablename__ = "principals"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    #: active | disabled
    status: Mapped[str] = mapped_column(String(12))
    #: Argon2id PHC string; None for a principal that cannot sign in with a password (yet)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: when control of the address was proven (a verification link, a password reset, or an
    #: administrator); None = unverified: such a principal can never be linked (AUTH-13 b)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuthSession(Base):
    """A signed-in session. Only the SHA-256 of its bearer token is stored."""

    __tablename__ = "auth_sessions"
    __table_args__ = (Index("ix_auth_sessions_principal", "principal_id", "revoked_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    principal_id: Mapped[str] = mapped_column(ForeignKey("principals.id", ondelete="CASCADE"))
    #: second_factor (password accepted, TOTP still due) | full
    stage: Mapped[str] = mapped_column(String(16))
    #: when the sign-in that this session continues began (the absolute limit counts from here)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: the last time every factor was presented (sign-in, second factor, step-up): AUTH-12
    last_authenticated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: sign_out | rotated | revoked | revoked_all | password_changed | disabled
    revoked_reason: Mapped[str | None] = mapped_column(String(40))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class AuthThrottle(Base):
    """Consecutive failures per key (``account:<sha256 of e-mail>``, ``ip:<address>``,
    ``code:<principal id>``) and when the next attempt may be verified."""

    __tablename__ = "auth_throttles"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_allowed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TotpFactor(Base):
    """One TOTP authenticator per principal; usable once ``confirmed_at`` is set.

    ``last_used_step`` only grows (a guarded UPDATE): a code is accepted at most once, and after
    step t no code of an earlier step is accepted (AUTH-03).
    """

    __tablename__ = "totp_factors"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    principal_id: Mapped[str] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), unique=True
    )
    #: the base32 seed (160 bits from ``secrets``), sealed with the installation's key
    #: (``identity/sealing.py``); a value without the ``v1.`` prefix predates sealing
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)


class RecoveryCode(Base):
    """A single-use recovery code, stored as an Argon2id hash (AUTH-09)."""

    __tablename__ = "recovery_codes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    principal_id: Mapped[str] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Append-only (database triggers refuse UPDATE, DELETE and TRUNCATE): PRIV-05, AUTH-16.

    Never holds a password, code, token or secret; text is escaped before it is stored.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_actor", "actor", "at"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: who: a principal id, ``anonymous`` or ``system``
    actor: Mapped[str] = mapped_column(String(120))
    #: what: an OWASP logging-vocabulary name, e.g. ``authn_login_fail``
    action: Mapped[str] = mapped_column(String(60))
    #: on what: e.g. a principal or session id
    target: Mapped[str | None] = mapped_column(String(200))
    #: success | failure | denied
    outcome: Mapped[str] = mapped_column(String(20))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    request_id: Mapped[str | None] = mapped_column(String(100))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class ApiToken(Base):
    """A named API token for automation (issue 6, point 6). Only the SHA-256 of the token is
    stored; ``prefix`` (the first characters, shown in listings) identifies it to its owner.

    ``resources`` are opaque ids chosen by the slice that grants access (seller ids for seller
    tokens); the identity slice never interprets them (ADR 0013).
    """

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_principal", "principal_id", "revoked_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    principal_id: Mapped[str] = mapped_column(ForeignKey("principals.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    #: read | write
    scope: Mapped[str] = mapped_column(String(12))
    resources: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasswordReset(Base):
    """A one-time, expiring password-reset token (AUTH-08); only its SHA-256 is stored."""

    __tablename__ = "password_resets"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    principal_id: Mapped[str] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: set once, by the guarded UPDATE that accepts the token, or when a newer one supersedes it
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxMessage(Base):
    """An e-mail queued by the default sender: the local installation reads it with
    ``tsunagu outbox list``; a real mail transport would deliver and then delete it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_created", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    to_address: Mapped[str] = mapped_column(String(254))
    #: what kind of message, e.g. ``password_reset``
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EmailVerification(Base):
    """A one-time, expiring e-mail verification token; only its SHA-256 is stored.

    ``email_hash`` is the SHA-256 of the address the message went to: the token proves control
    of *that* address only, so it verifies nothing once the principal's address is different.
    """

    __tablename__ = "email_verifications"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    principal_id: Mapped[str] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: set once, by the guarded UPDATE that accepts the token, or when a newer one supersedes it
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LinkGroup(Base):
    """Principals joined so that one sign-in reaches all of them ("linked, never merged").

    ``factor_principal_id`` is the *factor holder*: the member whose TOTP factor and recovery
    codes protect every member (ADR 0014). No ``ON DELETE``: a principal that protects others
    cannot disappear from under them.
    """

    __tablename__ = "identity_link_groups"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    factor_principal_id: Mapped[str | None] = mapped_column(ForeignKey("principals.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IdentityLink(Base):
    """One principal's membership of a link group. The primary key on the principal means a
    principal is in at most one group, and a double submit leaves one row (AUTH-13 e)."""

    __tablename__ = "identity_links"

    principal_id: Mapped[str] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[str] = mapped_column(
        ForeignKey("identity_link_groups.id", ondelete="CASCADE"), index=True
    )
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: the principal whose session made the link (or ``local-owner`` from the command line)
    linked_by: Mapped[str] = mapped_column(String(120))


class LinkConfirmation(Base):
    """An e-mailed code that confirms an unlink: stored as SHA-256, 10 minutes, single use,
    dead after 5 wrong codes (``attempts`` is counted before the code is compared)."""

    __tablename__ = "link_confirmations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: who asked (the code goes to this principal's address)
    principal_id: Mapped[str] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), index=True
    )
    #: the member to detach (the asker itself or another member of its group)
    target_principal_id: Mapped[str] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE")
    )
    group_id: Mapped[str] = mapped_column(
        ForeignKey("identity_link_groups.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer)


class LinkRequest(Base):
    """A link that waits for the accounts without a second factor of their own to agree
    (AUTH-13 f): each gets a message at its verified address and accepts it signed in as itself
    (:class:`LinkApproval`). The link is made when the last one accepts, if nothing changed."""

    __tablename__ = "link_requests"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: the principal whose session asked (it joins ``other`` into its group)
    requested_by: Mapped[str] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), index=True
    )
    other_principal_id: Mapped[str] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), index=True
    )
    #: the asker's link group when it asked (None: not linked); a different group later makes
    #: the request stale: the approvals were given for that situation
    caller_group_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: linked | declined | superseded | stale (None while open)
    outcome: Mapped[str | None] = mapped_column(String(16))


class LinkApproval(Base):
    """One account's agreement to a :class:`LinkRequest`, asked for by e-mail: a one-time token
    (only its SHA-256 is stored) that its owner presents while signed in as that account."""

    __tablename__ = "link_approvals"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    request_id: Mapped[str] = mapped_column(
        ForeignKey("link_requests.id", ondelete="CASCADE"), index=True
    )
    principal_id: Mapped[str] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
