"""Security notices (AUTH-11, AUTH-09): when an account's sign-in changes — 2FA turned on or
off, recovery codes replaced or one used, the password changed or reset — its owner hears about
it by e-mail, and so does every account linked with it (they share the factor, so a change made
through one is a change to all). Each notice goes through the installation's mail sender in the
caller's transaction, so a change that rolls back announces nothing.

A notice never carries a code, a token or a secret: only what happened, to which address and
when, and what to do if it was not the reader.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tsunagu.core.i18n import N_, translate
from tsunagu.identity import repo
from tsunagu.identity.mail import DEFAULT_SENDER, Mail, MailSender
from tsunagu.identity.models import Principal

_IF_NOT_YOU = N_(
    "If this was not you, reset your password at once and tell your administrator: someone "
    "else may be signed in."
)

#: kind → (subject, what happened); ``{account}`` is the address the change was made through
NOTICES: dict[str, tuple[str, str]] = {
    "mfa_enabled": (
        N_("Two-step verification was turned on"),
        N_("Two-step verification was turned on for {account} at {time} (UTC)."),
    ),
    "mfa_disabled": (
        N_("Two-step verification was turned off"),
        N_(
            "Two-step verification was turned off for {account} at {time} (UTC). Signing in "
            "now needs only the password."
        ),
    ),
    "recovery_codes_generated": (
        N_("New recovery codes were made"),
        N_(
            "A new set of recovery codes was made for {account} at {time} (UTC); the old codes "
            "no longer work."
        ),
    ),
    "recovery_code_used": (
        N_("A recovery code was used"),
        N_(
            "A recovery code was used to sign in to {account} at {time} (UTC). {remaining} "
            "unused codes are left."
        ),
    ),
    "password_changed": (
        N_("Your tsunagu password was changed"),
        N_(
            "The password of {account} was changed at {time} (UTC) and its other sessions were "
            "signed out."
        ),
    ),
    # to the accounts linked with the one whose password was reset (AUTH-13 g)
    "password_reset_linked": (
        N_("The password of a linked tsunagu account was reset"),
        N_(
            "The password of {account}, which is linked with your account, was reset at {time} "
            "(UTC). Your sessions were signed out, since they reached {account} through the link, "
            "and so were API tokens of yours that reached it."
        ),
    ),
    # "sign out everywhere" through one account of a link group (AUTH-13 g)
    "signed_out_everywhere": (
        N_("Signed out everywhere"),
        N_(
            "Every other session of {account} and every session of the accounts linked with it "
            "was signed out at {time} (UTC), and API tokens of linked accounts that reached "
            "{account} were revoked."
        ),
    ),
}


def notify(
    session: Session,
    *,
    principal_id: str,
    kind: str,
    now: datetime,
    sender: MailSender = DEFAULT_SENDER,
    lang: str = "en",
    remaining: int | None = None,
    include_self: bool = True,
) -> int:
    """One notice about ``kind`` on ``principal_id`` to it (unless ``include_self`` is off: the
    caller wrote its own message) and to every active account linked with it; how many were
    queued."""
    subject, what = NOTICES[kind]
    account = session.get(Principal, principal_id)
    if account is None:
        return 0
    sent = 0
    for member_id in repo.linked_ids(session, principal_id):
        member = session.get(Principal, member_id)
        if member is None or member.status != "active":
            continue
        if member_id == principal_id and not include_self:
            continue
        body = translate(
            what,
            lang,
            account=account.email,
            time=now.strftime("%Y-%m-%d %H:%M"),
            remaining="" if remaining is None else remaining,
        )
        sender.send(
            session,
            Mail(
                to=member.email,
                kind=kind,
                subject=translate(subject, lang),
                body=f"{body}\n\n{translate(_IF_NOT_YOU, lang)}",
            ),
            now,
        )
        sent += 1
    return sent
