"""``tsunagu tokens``: API tokens for automation, over some of a user's sellers.

Local CLI use acts as the installation's local owner without a login (see the README, "Users and
security"); every change is still written to the audit log, with ``local-owner`` as the actor.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tsunagu.access import service as access
from tsunagu.cli.account_options import LOCAL_ACTOR, EmailOpt, JsonOpt, when
from tsunagu.cli.context import ctx, err, out, print_json
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import N_, _
from tsunagu.identity import service, tokens
from tsunagu.identity.schemas import ApiTokenOut

app = typer.Typer(help="API tokens for automation.", no_args_is_help=True)


@app.command("create")
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


@app.command("list")
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
    out.print(_token_table(listed))


def _token_table(listed: list[ApiTokenOut]) -> Table:
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
            when(t.expires_at),
            when(t.last_used_at),
            when(t.revoked_at),
        )
    return table


@app.command("revoke")
def token_revoke_cmd(token_id: Annotated[str, typer.Argument(help="Token id (tok_...).")]) -> None:
    """Revoke an API token at once."""
    with unit_of_work(ctx().factory) as session:
        changed = tokens.revoke_token(session, token_id=token_id, now=utcnow(), actor=LOCAL_ACTOR)
    out.print(
        _("Token {token_id} revoked.", token_id=token_id)
        if changed
        else _("Token {token_id} was already revoked.", token_id=token_id)
    )
