"""Identity errors with stable codes.

Sign-in failures share one generic message and code whatever went wrong (unknown e-mail, wrong
password, disabled principal), so a response never tells whether an account exists (AUTH-07).
"""

from __future__ import annotations

from dataclasses import dataclass

from tsunagu.core.errors import InvalidInput, TsunaguError
from tsunagu.core.i18n import N_


class InvalidCredentials(TsunaguError):
    status = 401
    code = "invalid_credentials"

    def __init__(self, retry_after: int | None = None) -> None:
        # the back-off rides along (HTTP Retry-After) without changing the code or the message
        super().__init__(
            N_("The e-mail address or password is incorrect."),
            details={} if retry_after is None else {"retry_after": retry_after},
        )
        self.retry_after = retry_after


class TooManyAttempts(TsunaguError):
    """Back-off: the caller may try again after ``retry_after`` seconds (HTTP ``Retry-After``)."""

    status = 429
    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            N_("Too many attempts. Try again in {seconds} seconds."),
            details={"retry_after": retry_after},
            seconds=retry_after,
        )
        self.retry_after = retry_after


class SignInLocked(TsunaguError):
    """The hard stop after 100 consecutive failures; only a password reset or an operator clears it."""

    status = 429
    code = "sign_in_locked"

    def __init__(self) -> None:
        super().__init__(
            N_("Too many failed attempts. Reset your password or contact an administrator.")
        )


class InvalidCode(TsunaguError):
    """A wrong, expired or already used one-time code (TOTP or recovery code): one answer for all."""

    status = 401
    code = "invalid_code"

    def __init__(self, retry_after: int | None = None) -> None:
        super().__init__(
            N_("The code is not valid."),
            details={} if retry_after is None else {"retry_after": retry_after},
        )
        self.retry_after = retry_after


class SessionInvalid(TsunaguError):
    status = 401
    code = "session_invalid"

    def __init__(self) -> None:
        super().__init__(N_("Your session has ended. Please sign in again."))


class SecondFactorRequired(TsunaguError):
    status = 401
    code = "second_factor_required"

    def __init__(self) -> None:
        super().__init__(N_("Enter the code from your authenticator app to finish signing in."))


class ReauthRequired(TsunaguError):
    """Step-up (AUTH-12): the action needs a full re-authentication within the last minutes."""

    status = 401
    code = "reauth_required"

    def __init__(self, minutes: int) -> None:
        super().__init__(
            N_("Please confirm it is you: sign in again (within the last {minutes} minutes)."),
            details={"within_minutes": minutes},
            minutes=minutes,
        )


class TotpAlreadyEnrolled(TsunaguError):
    status = 409
    code = "totp_already_enrolled"

    def __init__(self) -> None:
        super().__init__(N_("Two-factor authentication is already set up."))


class TotpNotEnrolled(TsunaguError):
    status = 409
    code = "totp_not_enrolled"

    def __init__(self) -> None:
        super().__init__(N_("Two-factor authentication is not set up."))


class PasswordRejected(InvalidInput):
    """A new password that breaks the policy (AUTH-01); ``reason`` is the stable code."""

    def __init__(self, reason: str, message: str, **params: object) -> None:
        super().__init__(message, code=reason, details={"field": "password"})
        self.params = dict(params)


class InvalidEmail(InvalidInput):
    code = "invalid_email"

    def __init__(self) -> None:
        super().__init__(N_("This is not a valid e-mail address."), details={"field": "email"})


class EmailTaken(TsunaguError):
    status = 409
    code = "email_taken"

    def __init__(self) -> None:
        super().__init__(N_("An account with this e-mail address already exists."))


class PrincipalNotFound(TsunaguError):
    status = 404
    code = "principal_not_found"

    def __init__(self) -> None:
        super().__init__(N_("No such account."))


class SessionNotFound(TsunaguError):
    status = 404
    code = "session_not_found"

    def __init__(self) -> None:
        super().__init__(N_("No such session."))


@dataclass
class Outcome:
    """The result of an attempt that must be recorded even when it fails (see ``service``)."""

    failure: TsunaguError | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    def raise_failure(self) -> None:
        if self.failure is not None:
            raise self.failure


class TokenInvalid(TsunaguError):
    """An API token that is unknown, revoked, expired or whose principal is disabled: one answer
    for all (the audit log records which)."""

    status = 401
    code = "token_invalid"

    def __init__(self) -> None:
        super().__init__(N_("The API token is not valid."))


class TokenScopeDenied(TsunaguError):
    """A valid token used beyond its scope (read-only, or a resource it does not name)."""

    status = 403
    code = "token_scope_denied"

    def __init__(self) -> None:
        super().__init__(N_("The API token does not allow this."))


class TokenNotFound(TsunaguError):
    status = 404
    code = "token_not_found"

    def __init__(self, token_id: str) -> None:
        super().__init__(
            N_("No API token with id {token_id}"),
            token_id=token_id,
            details={"token_id": token_id},
        )


class ResetTokenInvalid(TsunaguError):
    """A reset token that is unknown, expired or already used (AUTH-08: a second use fails)."""

    status = 400
    code = "reset_token_invalid"

    def __init__(self) -> None:
        super().__init__(N_("This password-reset link is not valid any more. Ask for a new one."))


class VerificationInvalid(TsunaguError):
    """An e-mail verification token that is unknown, expired, superseded or already used."""

    status = 400
    code = "verification_invalid"

    def __init__(self) -> None:
        super().__init__(N_("This verification link is not valid any more. Ask for a new one."))


class EmailUnverified(TsunaguError):
    """Linking needs both addresses verified (AUTH-13 b): an account someone registered with an
    address they do not control can never be joined to another."""

    status = 403
    code = "email_unverified"

    def __init__(self) -> None:
        super().__init__(
            N_("Both accounts must have a verified e-mail address before they can be linked.")
        )


class AlreadyLinked(TsunaguError):
    """The two accounts are already one group (or are the same account): nothing to do."""

    status = 409
    code = "already_linked"

    def __init__(self) -> None:
        super().__init__(N_("These accounts are already linked."))


class LinkedElsewhere(TsunaguError):
    """The other account is in another link group; it must leave that group first."""

    status = 409
    code = "linked_elsewhere"

    def __init__(self) -> None:
        super().__init__(
            N_(
                "The other account is already linked with different accounts. Sign in to it "
                "and link from there, or unlink it first."
            )
        )


class LinkNotFound(TsunaguError):
    """Not a member of the caller's link group (another principal's group is never revealed)."""

    status = 404
    code = "link_not_found"

    def __init__(self) -> None:
        super().__init__(N_("No such linked account."))


class LinkRequestInvalid(TsunaguError):
    """A link confirmation that is unknown, used, declined, expired or superseded: one answer."""

    status = 400
    code = "link_request_invalid"

    def __init__(self) -> None:
        super().__init__(
            N_("This link confirmation is not valid any more. Ask for the link again.")
        )


class LinkRequestForAnotherAccount(TsunaguError):
    """The confirmation was sent to another account's address: only that account accepts it."""

    status = 403
    code = "link_request_other_account"

    def __init__(self) -> None:
        super().__init__(
            N_(
                "This confirmation was sent to another account. Sign in as the account it was "
                "sent to, then open the link again."
            )
        )


class LinkRequestStale(TsunaguError):
    """Something changed since the link was asked for (an account joined another group, or 2FA
    was turned on or off): the agreements were given for a situation that no longer holds."""

    status = 409
    code = "link_request_stale"

    def __init__(self) -> None:
        super().__init__(
            N_(
                "The accounts changed since this link was asked for, so it was not made. Ask "
                "for the link again."
            )
        )
