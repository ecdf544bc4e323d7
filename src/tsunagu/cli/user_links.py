"""``tsunagu users links|link|accept-link|unlink``: linked accounts (ADR 0014), registered on the
``users`` group by :mod:`tsunagu.cli.users`.

Unlike the rest of the local administration, these commands do not act as the local owner: they
prove control of the accounts like anybody else, with their passwords and, where 2FA is on, their
codes, typed at a hidden prompt or, for scripts, read from standard input one per line. Never by
e-mail alone.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, TypedDict

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from tsunagu.access import service as access
from tsunagu.cli.account_options import EmailArg, JsonOpt, when
from tsunagu.cli.context import ctx, err, out, print_json
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import N_, _, current_language
from tsunagu.identity import factors, links, service
from tsunagu.identity.models import AuthSession
from tsunagu.identity.rules import IdentitySettings


class _Secrets:
    """Passwords and codes: a hidden prompt on a terminal, otherwise the next line of standard
    input (for scripts). Never a command-line argument (shell history, process lists)."""

    def __init__(self) -> None:
        self.tty = sys.stdin.isatty()

    def ask(self, prompt: str) -> str:
        if self.tty:
            value: str = typer.prompt(prompt, hide_input=True, err=True)
            return value
        line = sys.stdin.readline()
        if not line:
            raise UsageError(
                N_("Standard input ended before this was given: {what}"),
                code="missing_input",
                what=prompt,
            )
        return line.rstrip("\r\n")


def _sign_in(email: str, secrets: _Secrets) -> tuple[str, str]:
    """A full session of ``email`` (password, and a code when 2FA protects it): the same
    throttled sign-in as everywhere else. Returns (session token, principal id)."""
    settings = ctx().settings.identity
    password = secrets.ask(_("Password of {email}", email=email))
    with unit_of_work(ctx().factory) as session:
        started = service.sign_in(
            session, email=email, password=password, now=utcnow(), settings=settings
        )
    started.raise_failure()
    assert started.token is not None
    assert started.principal_id is not None
    if started.stage != service.SECOND_FACTOR:
        return started.token, started.principal_id
    code = secrets.ask(_("Authenticator or recovery code of {email}", email=email))
    with unit_of_work(ctx().factory) as session:
        done = service.complete_second_factor(
            session, token=started.token, code=code, now=utcnow(), settings=settings
        )
    done.raise_failure()
    assert done.token is not None
    return done.token, started.principal_id


def _sign_out(token: str) -> None:
    with unit_of_work(ctx().factory) as session:
        service.sign_out(session, token=token, now=utcnow())


@contextmanager
def _signed_in(email: str, secrets: _Secrets) -> Iterator[tuple[str, str]]:
    """A full session of ``email`` for the commands that act as an account (link, accept,
    unlink), signed out again however the command ends. Yields (session token, principal id)."""
    token, principal_id = _sign_in(email, secrets)
    try:
        yield token, principal_id
    finally:
        _sign_out(token)


@contextmanager
def _acting_as(token: str) -> Iterator[tuple[Session, AuthSession]]:
    """One unit of work of the signed-in account: the database session and its live session
    row (what the identity services take as ``auth``)."""
    settings = ctx().settings.identity
    with unit_of_work(ctx().factory) as session:
        yield session, service.resolve(session, token=token, now=utcnow(), settings=settings)


class _Call(TypedDict):
    now: datetime
    settings: IdentitySettings
    lang: str


def _call() -> _Call:
    """What the link and unlink use cases are told about this command: now, the identity
    settings and the language."""
    return _Call(now=utcnow(), settings=ctx().settings.identity, lang=current_language())


def _emails_of(session: Session, principal_ids: list[str]) -> list[str]:
    """The addresses of these principals, in the same order (for the accounts a link waits for)."""
    return [p.email for pid in principal_ids if (p := service.get_principal(session, pid))]


def _uses_second_factor(email: str) -> bool:
    with ctx().read_factory() as session:
        return factors.is_protected(session, service.principal_for_email(session, email).id)


# -- tsunagu users links ----------------------------------------------------------------------


def links_cmd(email: EmailArg, json: JsonOpt = False) -> None:
    """List the accounts linked with a user's account."""
    with ctx().read_factory() as session:
        principal = service.principal_for_email(session, email)
        linked = links.list_linked(session, principal_id=principal.id)
    if json:
        print_json([m.model_dump(mode="json") for m in linked])
        return
    if not linked:
        out.print(_("{email} is not linked with any account.", email=principal.email))
        return
    table = Table(_("Id"), _("E-mail"), _("Name"), _("Linked since"), _("Holds the 2FA"))
    for m in linked:
        table.add_row(
            m.principal_id,
            escape(m.email),
            escape(m.display_name),
            when(m.linked_at),
            _("yes") if m.holds_factor else "-",
        )
    out.print(table)


# -- tsunagu users link -----------------------------------------------------------------------


def link_cmd(
    email: EmailArg,
    other: Annotated[str, typer.Option("--with", help="The other account's e-mail address.")],
    json: JsonOpt = False,
) -> None:
    """Link two accounts so that one sign-in reaches both (each keeps its own data and roles).

    Proves control of both: asks for each account's password and, where 2FA is on, its code
    (hidden prompts; for scripts, standard input: the password of EMAIL, its code if it uses
    2FA, the password of the other account, its code if it uses 2FA, one per line). Both
    addresses must be verified."""
    secrets = _Secrets()
    other_has_2fa = _uses_second_factor(other)
    with _signed_in(email, secrets) as (token, _principal):
        password = secrets.ask(_("Password of {email}", email=other))
        code = None
        if other_has_2fa:
            code = secrets.ask(_("Authenticator or recovery code of {email}", email=other))
        result, waiting = _link_as(token, other=other, password=password, code=code)
        result.raise_failure()
    if result.pending:
        _print_link_pending(result, waiting, json=json)
    else:
        _print_linked(result, email=email, other=other, json=json)


def _link_as(
    token: str, *, other: str, password: str, code: str | None
) -> tuple[links.Linked, list[str]]:
    """Link the signed-in account with ``other``; the result and the addresses it waits for."""
    with _acting_as(token) as (session, auth):
        result = links.link_with(
            session,
            auth=auth,
            email=other,
            password=password,
            code=code,
            **_call(),
            base_url=ctx().settings.public_url,
        )
        return result, _emails_of(session, result.waiting_for)


def _print_link_pending(result: links.Linked, waiting: list[str], *, json: bool) -> None:
    if json:
        print_json(
            {
                "status": "pending",
                "request_id": result.request_id,
                "principal_id": result.principal_id,
                "waiting_for": waiting,
            }
        )
        return
    out.print(
        _(
            "Not linked yet: {emails} must agree. Each got a message (read it with: tsunagu "
            "outbox list); accept it with: tsunagu users accept-link EMAIL",
            emails=", ".join(waiting),
        )
    )


def _print_linked(result: links.Linked, *, email: str, other: str, json: bool) -> None:
    if json:
        print_json(
            {
                "status": "linked",
                "group_id": result.group_id,
                "principal_id": result.principal_id,
                "replaced_factor": result.replaced_factor,
            }
        )
        return
    out.print(
        _("Linked {email} with {other}: one sign-in now reaches both.", email=email, other=other)
    )
    if result.replaced_factor:
        out.print(
            _(
                "Both accounts had two-factor authentication: {other} now uses the authenticator "
                "and recovery codes of {email}; its own are set aside until the link is cut.",
                email=email,
                other=other,
            )
        )


# -- tsunagu users accept-link ----------------------------------------------------------------


def accept_link_cmd(email: EmailArg, json: JsonOpt = False) -> None:
    """Agree to a link asked of an account without two-factor authentication of its own.

    Signs in as EMAIL (its password and, where 2FA is on, its code), then asks for the
    confirmation code from the message sent to EMAIL (read it with: tsunagu outbox list). For
    scripts, standard input holds them one per line. The last account to agree makes the link."""
    secrets = _Secrets()
    with _signed_in(email, secrets) as (token, _principal):
        code = secrets.ask(_("Confirmation code from the message to {email}", email=email))
        result, waiting = _accept_as(token, code=code)
        result.raise_failure()
    if json:
        print_json(
            {
                "status": "pending" if result.pending else "linked",
                "request_id": result.request_id,
                "group_id": result.group_id,
                "waiting_for": waiting,
            }
        )
    elif result.pending:
        out.print(_("Agreed. Still waiting for: {emails}", emails=", ".join(waiting)))
    else:
        out.print(_("Linked: one sign-in now reaches the accounts."))


def _accept_as(token: str, *, code: str) -> tuple[links.Linked, list[str]]:
    """Accept the link asked of the signed-in account; the result and the addresses it still
    waits for."""
    with _acting_as(token) as (session, auth):
        result = links.accept_link(
            session, auth=auth, token=code, **_call(), base_url=ctx().settings.public_url
        )
        return result, _emails_of(session, result.waiting_for)


# -- tsunagu users unlink ---------------------------------------------------------------------


def unlink_cmd(email: EmailArg, json: JsonOpt = False) -> None:
    """Detach an account from its link group.

    Asks for the account's password and, where 2FA is on, its code; then e-mails it a
    confirmation code (read it with: tsunagu outbox list) and asks for that. Every other session
    of the former group ends and API tokens that reached across the link are revoked; each side
    keeps 2FA, and the side that gets its own copy of the authenticator gets new recovery codes,
    printed here once."""
    secrets = _Secrets()
    with _signed_in(email, secrets) as (token, principal_id):
        _begin_unlink_as(token, principal_id=principal_id)
        err.print(
            _(
                "A confirmation code was e-mailed to {email}; read it with: tsunagu outbox list",
                email=email,
            )
        )
        code = secrets.ask(_("Confirmation code from the e-mail"))
        result, emails = _unlink_as(token, code=code)
        result.raise_failure()
    _print_unlinked(result, emails, email=email, json=json)


def _begin_unlink_as(token: str, *, principal_id: str) -> None:
    with _acting_as(token) as (session, auth):
        links.begin_unlink(session, auth=auth, principal_id=principal_id, **_call())


def _unlink_as(token: str, *, code: str) -> tuple[links.Unlinked, dict[str, str]]:
    """Confirm the unlink with the e-mailed code; the result and the former members' addresses
    by id."""
    with _acting_as(token) as (session, auth):
        result = access.unlink(session, auth=auth, code=code, **_call())
        emails = {
            p: principal.email
            for p in result.former_members
            if (principal := service.get_principal(session, p)) is not None
        }
        return result, emails


def _print_unlinked(
    result: links.Unlinked, emails: dict[str, str], *, email: str, json: bool
) -> None:
    if json:
        print_json(
            {
                "detached": result.detached,
                "recovery_codes": result.recovery_codes,
                "revoked_tokens": result.revoked_tokens,
            }
        )
        return
    out.print(_("{email} is no longer linked.", email=email))
    for holder, codes in result.recovery_codes.items():
        out.print(
            _(
                "New recovery codes of {email} (shown once; the authenticator app keeps working):",
                email=emails.get(holder, holder),
            )
        )
        for recovery in codes:
            out.print(f"  {recovery}")
    if result.revoked_tokens:
        out.print(_("API tokens revoked: {tokens}", tokens=", ".join(result.revoked_tokens)))
