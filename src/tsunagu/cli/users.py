"""``tsunagu users``: administration of principals, their roles, password resets and e-mail
verification (API tokens are ``tsunagu tokens``, :mod:`tsunagu.cli.tokens`).

Local CLI use acts as the installation's local owner without a login (see the README, "Users and
security"); every change is still written to the audit log, with ``local-owner`` as the actor.

Linking and unlinking are the exception (ADR 0014): the local owner has to prove control of the
accounts like anybody else, with their passwords and, where 2FA is on, their codes, typed at a
hidden prompt or, for scripts, read from standard input one per line. Never by e-mail alone
(:mod:`tsunagu.cli.user_links`).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from tsunagu.access import service as access
from tsunagu.access.rules import OPERATOR, ROLES
from tsunagu.cli import user_links
from tsunagu.cli.account_options import LOCAL_ACTOR, EmailArg, EmailOpt, JsonOpt, when
from tsunagu.cli.context import ctx, out, print_json
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import N_, _, current_language
from tsunagu.identity import factors, reset, service, verify
from tsunagu.identity.reset import ResetDone
from tsunagu.identity.schemas import PrincipalOut

app = typer.Typer(help="Users (principals) and their roles in sellers.", no_args_is_help=True)


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
    password = _password_from_stdin() if password_stdin else None
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


def _password_from_stdin() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise UsageError(
            N_("--password-stdin found no password on standard input."),
            code="missing_password",
        )
    return password


@app.command("list")
def list_cmd(json: JsonOpt = False) -> None:
    """List users with their roles, whether their address is verified, whether two-factor
    authentication protects them (their own or their link group's) and whom they are linked
    with."""
    with ctx().read_factory() as session:
        rows = _user_rows(session)
    if json:
        print_json(rows)
        return
    if not rows:
        out.print(_("No users yet. Create one with: tsunagu users create --email E --name N"))
        return
    out.print(_users_table(rows))


def _user_rows(session: Session) -> list[dict[str, Any]]:
    """Every user as ``users list --json`` prints it."""
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
    return rows


def _users_table(rows: list[dict[str, Any]]) -> Table:
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
    return table


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
            m.principal_id, escape(m.email), escape(m.display_name), m.role, when(m.granted_at)
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
    code, password = _reset_input()
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
    _print_reset(done, json=json)


def _reset_input() -> tuple[str, str]:
    """The reset code and the new password: the first two lines of standard input."""
    code = sys.stdin.readline().strip()
    password = sys.stdin.readline().rstrip("\r\n")
    if not code or not password:
        raise UsageError(
            N_("Standard input must hold the reset code, then the new password, one per line."),
            code="missing_password",
        )
    return code, password


def _print_reset(done: ResetDone, *, json: bool) -> None:
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


# -- linked accounts (commands that act as an account: tsunagu.cli.user_links) -------------

app.command("links")(user_links.links_cmd)
app.command("link")(user_links.link_cmd)
app.command("accept-link")(user_links.accept_link_cmd)
app.command("unlink")(user_links.unlink_cmd)
