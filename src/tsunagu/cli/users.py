"""``tsunagu users`` and ``tsunagu tokens``: administration of principals, roles and API tokens.

Local CLI use acts as the installation's local owner without a login (see the README, "Users and
security"); every change is still written to the audit log, with ``local-owner`` as the actor.

Linking and unlinking are the exception (ADR 0014): the local owner has to prove control of the
accounts like anybody else, with their passwords and, where 2FA is on, their codes, typed at a
hidden prompt or, for scripts, read from standard input one per line. Never by e-mail alone.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from tsunagu.access import service as access
from tsunagu.access.rules import OPERATOR, ROLES
from tsunagu.cli.context import ctx, err, out, print_json
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import N_, _, current_language
from tsunagu.identity import factors, links, repo, reset, service, tokens, verify
from tsunagu.identity.schemas import PrincipalOut

#: the audit actor for everything done through the local command line
LOCAL_ACTOR = "local-owner"

app = typer.Typer(help="Users (principals) and their roles in sellers.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens for automation.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
EmailOpt = Annotated[str, typer.Option("--email", help="The user's e-mail address.")]


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if hasattr(value, "strftime") else "-"


@app.command("create")
def create_cmd(
    email: EmailOpt,
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from the first line of standard input "
            "(without it the user cannot sign in until a password reset).",
        ),
    ] = False,
    verified: Annotated[
        bool,
        typer.Option(
            "--verified",
            help="You know the address belongs to this user: mark it verified at once "
            "(otherwise: tsunagu users verify EMAIL --send).",
        ),
    ] = False,
    json: JsonOpt = False,
) -> None:
    """Create a user; prints the new id."""
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UsageError(
                N_("--password-stdin found no password on standard input."),
                code="missing_password",
            )
    with unit_of_work(ctx().factory) as session:
        principal = service.create_principal(
            session,
            email=email,
            display_name=name,
            password=password,
            now=utcnow(),
            actor=LOCAL_ACTOR,
        )
        if verified:
            verify.mark_verified(
                session, principal_id=principal.id, now=utcnow(), actor=LOCAL_ACTOR
            )
        shown = PrincipalOut.model_validate(principal)
    if json:
        print_json(shown.model_dump(mode="json"))
    else:
        typer.echo(shown.id)


@app.command("list")
def list_cmd(json: JsonOpt = False) -> None:
    """List users with their roles, whether their address is verified, whether two-factor
    authentication protects them (their own or their link group's) and whom they are linked
    with."""
    with ctx().read_factory() as session:
        operators = access.operator_ids(session)
        rows = []
        for principal in service.list_principals(session):
            status = factors.factor_status(session, principal.id)
            members = access.list_members(session, principal_id=principal.id)
            rows.append(
                {
                    **PrincipalOut.model_validate(principal).model_dump(mode="json"),
                    "operator": principal.id in operators,
                    "two_factor": status.enrolled,
                    "linked_with": status.shared_with,
                    "roles": [{"seller_id": m.seller_id, "role": m.role} for m in members],
                }
            )
    if json:
        print_json(rows)
        return
    if not rows:
        out.print(_("No users yet. Create one with: tsunagu users create --email E --name N"))
        return
    table = Table(
        _("Id"),
        _("E-mail"),
        _("Name"),
        _("Status"),
        _("Verified"),
        _("2FA"),
        _("Linked with"),
        _("Roles"),
    )
    for r in rows:
        roles = [f"{x['role']}@{x['seller_id']}" for x in r["roles"]]
        if r["operator"]:
            roles.insert(0, OPERATOR)
        table.add_row(
            r["id"],
            escape(r["email"]),
            escape(r["display_name"]),
            r["status"],
            _("yes") if r["email_verified_at"] else _("no"),
            _("on") if r["two_factor"] else _("off"),
            ", ".join(r["linked_with"]) or "-",
            ", ".join(roles) or "-",
        )
    out.print(table)


def _role_and_seller(role: str, seller: str | None) -> None:
    if role == OPERATOR:
        if seller is not None:
            raise UsageError(
                N_("The operator role is platform-wide: leave out --seller."),
                code="operator_without_seller",
            )
        return
    if role not in ROLES:
        raise UsageError(
            N_("--role must be owner, manager, viewer or operator, not {role}"),
            code="invalid_role",
            role=role,
        )
    if seller is None:
        raise UsageError(
            N_("--seller is required for the role {role}."), code="missing_seller", role=role
        )


SellerOpt = Annotated[str | None, typer.Option("--seller", help="Seller id.")]
RoleOpt = Annotated[str, typer.Option("--role", help="owner, manager, viewer or operator.")]


@app.command("grant")
def grant_cmd(email: EmailOpt, role: RoleOpt, seller: SellerOpt = None) -> None:
    """Give a user a role in a seller (replacing the one they had there), or the operator role."""
    _role_and_seller(role, seller)
    with unit_of_work(ctx().factory) as session:
        principal = service.principal_for_email(session, email)
        if role == OPERATOR:
            access.set_operator(
                session, principal_id=principal.id, operator=True, now=utcnow(), actor=LOCAL_ACTOR
            )
        else:
            assert seller is not None
            access.grant_role(
                session,
                principal_id=principal.id,
                seller_id=seller,
                role=role,
                now=utcnow(),
                actor=LOCAL_ACTOR,
            )
    out.print(_("Granted {role}.", role=role))


@app.command("revoke")
def revoke_cmd(
    email: EmailOpt,
    seller: SellerOpt = None,
    role: Annotated[
        str | None, typer.Option("--role", help="Only 'operator' (platform-wide).")
    ] = None,
) -> None:
    """Remove a user's role in a seller (--seller) or the operator role (--role operator)."""
    if role is not None and role != OPERATOR:
        raise UsageError(
            N_("With --role, revoke only takes operator; use --seller for a seller role."),
            code="invalid_role",
        )
    if (role is None) == (seller is None):
        raise UsageError(N_("Give either --seller ID or --role operator."), code="missing_seller")
    with unit_of_work(ctx().factory) as session:
        principal = service.principal_for_email(session, email)
        if seller is None:
            access.set_operator(
                session, principal_id=principal.id, operator=False, now=utcnow(), actor=LOCAL_ACTOR
            )
        else:
            access.revoke_role(
                session,
                principal_id=principal.id,
                seller_id=seller,
                now=utcnow(),
                actor=LOCAL_ACTOR,
            )
    out.print(_("Revoked."))


@app.command("members")
def members_cmd(
    seller: Annotated[str, typer.Option("--seller", help="Seller id.")], json: JsonOpt = False
) -> None:
    """List the users of one seller and their roles."""
    with ctx().read_factory() as session:
        members = access.list_members(session, seller_id=seller)
    if json:
        print_json([m.model_dump(mode="json") for m in members])
        return
    table = Table(_("Id"), _("E-mail"), _("Name"), _("Role"), _("Since"))
    for m in members:
        table.add_row(
            m.principal_id, escape(m.email), escape(m.display_name), m.role, _when(m.granted_at)
        )
    out.print(table)


@app.command("request-reset")
def request_reset_cmd(email: EmailOpt) -> None:
    """Queue a password-reset message (read it with: tsunagu outbox list)."""
    with unit_of_work(ctx().factory) as session:
        reset.request_reset(session, email=email, now=utcnow(), lang=current_language())
    # the same answer whether or not the account exists (AUTH-07/08)
    out.print(_("If an active account has this address, a reset code is in: tsunagu outbox list"))


@app.command("complete-reset")
def complete_reset_cmd(
    cut_links: Annotated[
        bool,
        typer.Option(
            "--cut-links",
            help="Also cut the account's links with other accounts (for a link you did not "
            "make): each account then signs in as it did before it was linked.",
        ),
    ] = False,
    json: JsonOpt = False,
) -> None:
    """Set a new password with a reset code: standard input holds the code on the first line and
    the new password on the second. Every session of the account (and of accounts linked with
    it) ends and its API tokens are revoked; two-factor stays on."""
    code = sys.stdin.readline().strip()
    password = sys.stdin.readline().rstrip("\r\n")
    if not code or not password:
        raise UsageError(
            N_("Standard input must hold the reset code, then the new password, one per line."),
            code="missing_password",
        )
    with unit_of_work(ctx().factory) as session:
        done = access.complete_reset(
            session,
            token=code,
            new_password=password,
            now=utcnow(),
            settings=ctx().settings.identity,
            lang=current_language(),
            cut_links=cut_links,
        )
    done.raise_failure()
    if json:
        print_json(
            {
                "sessions_ended": done.sessions_ended,
                "linked_sessions_ended": done.linked_sessions_ended,
                "links_cut": done.links_cut,
                "tokens_revoked": len(done.revoked_tokens),
            }
        )
        return
    out.print(_("Password changed. Sign in again with the new password."))
    if done.revoked_tokens:
        out.print(_("API tokens revoked: {count}", count=len(done.revoked_tokens)))
    if done.links_cut:
        out.print(_("The account's links were cut: it signs in on its own again."))
    elif done.linked_with:
        out.print(
            _(
                "Sessions of the linked accounts were signed out too ({count}).",
                count=done.linked_sessions_ended,
            )
        )


# -- e-mail verification ----------------------------------------------------------------------

EmailArg = Annotated[str, typer.Argument(help="The user's e-mail address.")]


@app.command("verify")
def verify_cmd(
    email: EmailArg,
    send: Annotated[
        bool,
        typer.Option(
            "--send",
            help="Send the user a verification code instead (read it with: tsunagu outbox list); "
            "they confirm with: tsunagu users confirm-email.",
        ),
    ] = False,
) -> None:
    """Mark a user's e-mail address verified (you checked it yourself), or send a code.

    Only verified accounts can be linked."""
    settings = ctx().settings.identity
    with unit_of_work(ctx().factory) as session:
        principal = service.principal_for_email(session, email)
        if send:
            verify.request_verification(
                session,
                principal_id=principal.id,
                now=utcnow(),
                settings=settings,
                lang=current_language(),
            )
            changed = None
        else:
            changed = verify.mark_verified(
                session, principal_id=principal.id, now=utcnow(), actor=LOCAL_ACTOR
            )
    if changed is None:
        out.print(_("A verification code was sent; read it with: tsunagu outbox list"))
    elif changed:
        out.print(_("{email} is now verified.", email=principal.email))
    else:
        out.print(_("{email} was already verified.", email=principal.email))


@app.command("confirm-email")
def confirm_email_cmd() -> None:
    """Confirm an address with the code of a verification message (first line of standard
    input)."""
    code = sys.stdin.readline().strip()
    if not code:
        raise UsageError(
            N_("Standard input must hold the verification code on its first line."),
            code="missing_input",
        )
    with unit_of_work(ctx().factory) as session:
        outcome = verify.confirm_verification(session, token=code, now=utcnow())
    outcome.raise_failure()
    out.print(_("E-mail address verified."))


# -- linked accounts --------------------------------------------------------------------------


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


def _emails_of(session: Session, principal_ids: list[str]) -> list[str]:
    """The addresses of these principals, in the same order (for the accounts a link waits for)."""
    return [p.email for pid in principal_ids if (p := service.get_principal(session, pid))]


@contextmanager
def _signed_in(email: str, secrets: _Secrets) -> Iterator[tuple[str, str]]:
    """A full session of ``email`` for the commands that act as an account (link, accept,
    unlink), signed out again however the command ends. Yields (session token, principal id)."""
    token, principal_id = _sign_in(email, secrets)
    try:
        yield token, principal_id
    finally:
        _sign_out(token)


@app.command("links")
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
            _when(m.linked_at),
            _("yes") if m.holds_factor else "-",
        )
    out.print(table)


@app.command("link")
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
    settings = ctx().settings.identity
    secrets = _Secrets()
    with ctx().read_factory() as session:
        other_id = service.principal_for_email(session, other).id
        other_has_2fa = repo.confirmed_factor(session, other_id) is not None
    with _signed_in(email, secrets) as (token, _principal):
        password = secrets.ask(_("Password of {email}", email=other))
        code = None
        if other_has_2fa:
            code = secrets.ask(_("Authenticator or recovery code of {email}", email=other))
        with unit_of_work(ctx().factory) as session:
            auth = service.resolve(session, token=token, now=utcnow(), settings=settings)
            result = links.link_with(
                session,
                auth=auth,
                email=other,
                password=password,
                code=code,
                now=utcnow(),
                settings=settings,
                lang=current_language(),
                base_url=ctx().settings.public_url,
            )
            waiting = _emails_of(session, result.waiting_for)
        result.raise_failure()
    if result.pending:
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
        return
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


@app.command("accept-link")
def accept_link_cmd(email: EmailArg, json: JsonOpt = False) -> None:
    """Agree to a link asked of an account without two-factor authentication of its own.

    Signs in as EMAIL (its password and, where 2FA is on, its code), then asks for the
    confirmation code from the message sent to EMAIL (read it with: tsunagu outbox list). For
    scripts, standard input holds them one per line. The last account to agree makes the link."""
    settings = ctx().settings.identity
    secrets = _Secrets()
    with _signed_in(email, secrets) as (token, _principal):
        code = secrets.ask(_("Confirmation code from the message to {email}", email=email))
        with unit_of_work(ctx().factory) as session:
            auth = service.resolve(session, token=token, now=utcnow(), settings=settings)
            result = links.accept_link(
                session,
                auth=auth,
                token=code,
                now=utcnow(),
                settings=settings,
                lang=current_language(),
                base_url=ctx().settings.public_url,
            )
            waiting = _emails_of(session, result.waiting_for)
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
        return
    if result.pending:
        out.print(_("Agreed. Still waiting for: {emails}", emails=", ".join(waiting)))
    else:
        out.print(_("Linked: one sign-in now reaches the accounts."))


@app.command("unlink")
def unlink_cmd(email: EmailArg, json: JsonOpt = False) -> None:
    """Detach an account from its link group.

    Asks for the account's password and, where 2FA is on, its code; then e-mails it a
    confirmation code (read it with: tsunagu outbox list) and asks for that. Every other session
    of the former group ends and API tokens that reached across the link are revoked; each side
    keeps 2FA, and the side that gets its own copy of the authenticator gets new recovery codes,
    printed here once."""
    settings = ctx().settings.identity
    secrets = _Secrets()
    with _signed_in(email, secrets) as (token, principal_id):
        with unit_of_work(ctx().factory) as session:
            auth = service.resolve(session, token=token, now=utcnow(), settings=settings)
            links.begin_unlink(
                session,
                auth=auth,
                principal_id=principal_id,
                now=utcnow(),
                settings=settings,
                lang=current_language(),
            )
        err.print(
            _(
                "A confirmation code was e-mailed to {email}; read it with: tsunagu outbox list",
                email=email,
            )
        )
        code = secrets.ask(_("Confirmation code from the e-mail"))
        with unit_of_work(ctx().factory) as session:
            auth = service.resolve(session, token=token, now=utcnow(), settings=settings)
            result = access.unlink(
                session,
                auth=auth,
                code=code,
                now=utcnow(),
                settings=settings,
                lang=current_language(),
            )
            emails = {
                p: principal.email
                for p in result.former_members
                if (principal := service.get_principal(session, p)) is not None
            }
        result.raise_failure()
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


# -- tokens -----------------------------------------------------------------------------------


@tokens_app.command("create")
def token_create_cmd(
    email: EmailOpt,
    name: Annotated[str, typer.Option("--name", help="What the token is for.")],
    scope: Annotated[str, typer.Option("--scope", help="read or write.")],
    seller: Annotated[list[str], typer.Option("--seller", help="Seller id (repeat for each).")],
    expires_days: Annotated[
        int,
        typer.Option(
            "--expires-days",
            help="Days until the token stops working (1 to TSUNAGU_TOKEN_MAX_DAYS, 365 by "
            "default).",
        ),
    ] = 90,
    json: JsonOpt = False,
) -> None:
    """Create an API token and print it once: it cannot be shown again."""
    longest = ctx().settings.identity.token_max_lifetime
    if not 1 <= expires_days <= longest.days:
        raise UsageError(
            N_("--expires-days must be between 1 and {days}."),
            code="invalid_expiry",
            days=longest.days,
        )
    now = utcnow()
    with unit_of_work(ctx().factory) as session:
        principal = service.principal_for_email(session, email)
        created = access.create_seller_token(
            session,
            principal_id=principal.id,
            name=name,
            scope=scope,
            seller_ids=seller,
            now=now,
            expires_at=now + timedelta(days=expires_days),
            actor=LOCAL_ACTOR,
            max_lifetime=longest,
        )
    if json:
        print_json({**created.info.model_dump(mode="json"), "token": created.token})
        return
    typer.echo(created.token)
    err.print(
        _("Token {token_id} created. Copy it now: it is not shown again.", token_id=created.info.id)
    )


@tokens_app.command("list")
def token_list_cmd(
    email: Annotated[str | None, typer.Option("--email", help="Only this user's tokens.")] = None,
    json: JsonOpt = False,
) -> None:
    """List API tokens (never the tokens themselves, only their first characters)."""
    with ctx().read_factory() as session:
        owner = service.principal_for_email(session, email).id if email else None
        listed = tokens.list_tokens(session, principal_id=owner)
    if json:
        print_json([t.model_dump(mode="json") for t in listed])
        return
    if not listed:
        out.print(_("No API tokens."))
        return
    table = Table(
        _("Id"),
        _("User"),
        _("Name"),
        _("Starts with"),
        _("Scope"),
        _("Sellers"),
        _("Expires"),
        _("Last used"),
        _("Revoked"),
    )
    for t in listed:
        table.add_row(
            t.id,
            t.principal_id,
            escape(t.name),
            t.prefix + "…",
            t.scope,
            ", ".join(t.resources),
            _when(t.expires_at),
            _when(t.last_used_at),
            _when(t.revoked_at),
        )
    out.print(table)


@tokens_app.command("revoke")
def token_revoke_cmd(token_id: Annotated[str, typer.Argument(help="Token id (tok_...).")]) -> None:
    """Revoke an API token at once."""
    with unit_of_work(ctx().factory) as session:
        changed = tokens.revoke_token(session, token_id=token_id, now=utcnow(), actor=LOCAL_ACTOR)
    out.print(
        _("Token {token_id} revoked.", token_id=token_id)
        if changed
        else _("Token {token_id} was already revoked.", token_id=token_id)
    )
