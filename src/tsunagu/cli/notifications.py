"""``tsunagu notifications …``: notifications, webhooks and their deliveries (ADR 0027).

The command line acts as the installation's owner: it may make webhooks for any seller, or for
every seller (no ``--seller``). A webhook's secret is printed once, by ``webhooks add``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table
from sqlalchemy import select

from tsunagu.access.actor import LOCAL_OWNER
from tsunagu.cli.context import as_of_instant, ctx, err, out, print_json
from tsunagu.cli.layout import Col, show
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import TsunaguError, UsageError
from tsunagu.core.i18n import N_, _
from tsunagu.enforcement import words as enforcement_words
from tsunagu.health import digest
from tsunagu.identity.errors import PrincipalNotFound
from tsunagu.identity.models import Principal
from tsunagu.notifications import email, service
from tsunagu.notifications.config import EmailConfig, notifications_of
from tsunagu.notifications.dispatch import deliver_due
from tsunagu.notifications.schemas import DeliveryOut, NotificationOut, WebhookOut

app = typer.Typer(help="Notifications and the webhooks that receive them.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Webhooks: where notifications are sent.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")

#: delivery statuses as shown in the table (the JSON keeps the codes)
STATUS_TEXT = {
    "pending": N_("pending"),
    "sending": N_("sending"),
    "delivered": N_("delivered"),
    "failed": N_("failed"),
    "cancelled": N_("cancelled"),
}

Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Limit = Annotated[int, typer.Option("--limit", min=1, max=1000)]


_KINDS = {
    "ACCOUNT_STATUS_CHANGED": N_("Account status changed"),
    "APPEAL_STATUS_CHANGED": N_("Appeal status changed"),
}


def _what_changed(n: NotificationOut) -> str:
    """The notification's kind in words and, for a status change, from what to what."""
    kind = _KINDS.get(n.kind)
    head = _(kind) if kind is not None else n.kind.replace("_", " ").capitalize()
    p = n.payload
    if n.kind == "ACCOUNT_STATUS_CHANGED":
        before, after = p.get("previousAccountStatus"), p.get("currentAccountStatus")
        if isinstance(before, str) and isinstance(after, str):
            return f"{head}: {enforcement_words.status(before)} → {enforcement_words.status(after)}"
    rest = ", ".join(
        f"{k} {v}" for k, v in p.items() if not isinstance(v, dict | list) and v is not None
    )
    return f"{head}: {rest}" if rest else head


@app.command("list")
def list_cmd(
    seller: Annotated[str | None, typer.Option("--seller", help="Only this seller's.")] = None,
    limit: Limit = 50,
    json: Json = False,
) -> None:
    """Notifications (status changes, appeal decisions), newest first."""
    with ctx().read_factory() as session:
        found = service.list_notifications(
            session, actor=LOCAL_OWNER, seller_id=seller, limit=limit
        )
        items = [NotificationOut.of(n) for n in found]
    if json:
        print_json({"items": [i.model_dump(mode="json") for i in items]})
        return
    if not items:
        out.print(_("No notifications."))
        return
    show(
        (
            Col(_("Notification"), whole=True),
            Col(_("Time (UTC)")),
            Col(_("Store")),
            Col(_("What changed")),
        ),
        [
            (
                n.id,
                n.occurred_at.strftime("%Y-%m-%d %H:%M"),
                f"{n.seller_id} {n.marketplace or ''}".strip(),
                _what_changed(n),
            )
            for n in items
        ],
    )


@webhooks_app.command("add")
def add_cmd(
    url: Annotated[str, typer.Option("--url", help="Where deliveries go (https).")],
    kind: Annotated[
        list[str],
        typer.Option("--kind", help="ACCOUNT_STATUS_CHANGED, APPEAL_STATUS_CHANGED (repeatable)."),
    ],
    seller: Annotated[
        str | None, typer.Option("--seller", help="This seller's notifications; all without.")
    ] = None,
    json: Json = False,
) -> None:
    """Add a webhook; its signing secret is printed this once."""
    c = ctx()
    with unit_of_work(c.factory) as session:
        created = service.create_webhook(
            session,
            actor=LOCAL_OWNER,
            url=url,
            kinds=kind,
            seller_id=seller,
            now=utcnow(),
            config=notifications_of(c.registry),
        )
        shown = WebhookOut.of(created.webhook)
    if json:
        print_json({"webhook": shown.model_dump(mode="json"), "secret": created.secret})
        return
    out.print(_("Webhook {id} added.", id=shown.id))
    out.print(_("Signing secret (shown only now; keep it in the receiver):"))
    out.print(created.secret)


@webhooks_app.command("list")
def webhooks_list_cmd(
    seller: Annotated[str | None, typer.Option("--seller", help="Only this seller's.")] = None,
    limit: Limit = 50,
    json: Json = False,
) -> None:
    """Webhooks (never their secrets), newest first."""
    with ctx().read_factory() as session:
        found = service.list_webhooks(session, actor=LOCAL_OWNER, seller_id=seller, limit=limit)
        items = [WebhookOut.of(w) for w in found]
    if json:
        print_json({"items": [i.model_dump(mode="json") for i in items]})
        return
    if not items:
        out.print(
            _(
                "No webhooks. Add one with: tsunagu notifications webhooks add --url URL --kind ACCOUNT_STATUS_CHANGED"
            )
        )
        return
    table = Table(
        *(Column(h, overflow="fold") for h in (_("Webhook"), _("Seller"), _("URL"))), _("Kinds")
    )
    for w in items:
        table.add_row(
            w.id,
            escape(w.seller_id) if w.seller_id else _("every seller"),
            escape(w.url),
            ", ".join(w.kinds),
        )
    out.print(table)


@webhooks_app.command("remove")
def remove_cmd(
    webhook_id: Annotated[str, typer.Option("--id", help="Webhook id.")],
    json: Json = False,
) -> None:
    """Remove a webhook: nothing more is sent to it."""
    with unit_of_work(ctx().factory) as session:
        removed = service.remove_webhook(
            session, actor=LOCAL_OWNER, webhook_id=webhook_id, now=utcnow()
        )
        shown = WebhookOut.of(removed)
    if json:
        print_json({"removed": shown.id})
        return
    out.print(_("Webhook {id} removed.", id=shown.id))


@app.command("deliver")
def deliver_cmd(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Pretend it is this time.")] = None,
    json: Json = False,
) -> None:
    """Send the deliveries that are due, once (the worker does this every minute)."""
    c = ctx()
    run = deliver_due(c.factory, now=as_of_instant(as_of), config=notifications_of(c.registry))
    if json:
        print_json(run.as_dict())
        return
    if not run.attempts and not run.cancelled:
        out.print(_("Nothing was due."))
        return
    out.print(
        _(
            "Delivered {delivered}, retrying {retrying}, failed {failed}, cancelled {cancelled}.",
            delivered=run.delivered,
            retrying=run.retrying,
            failed=run.failed,
            cancelled=run.cancelled,
        )
    )
    for attempt in run.attempts:
        if attempt["error"]:
            err.print(f"{attempt['delivery_id']}: {escape(str(attempt['error']))}")


@app.command("deliveries")
def deliveries_cmd(
    webhook: Annotated[str, typer.Option("--webhook", help="Webhook id.")],
    limit: Limit = 50,
    json: Json = False,
) -> None:
    """A webhook's deliveries, newest first, with every attempt."""
    with ctx().read_factory() as session:
        found = service.list_deliveries(session, actor=LOCAL_OWNER, webhook_id=webhook, limit=limit)
        items = [DeliveryOut.of(d) for d in found]
    if json:
        print_json({"items": [i.model_dump(mode="json") for i in items]})
        return
    if not items:
        out.print(_("No deliveries yet."))
        return
    table = Table(
        Column(_("Delivery"), overflow="fold"),
        _("Notification"),
        _("Status"),
        _("Attempts"),
        _("Last answer"),
        _("Next attempt (UTC)"),
    )
    for d in items:
        table.add_row(
            d.id,
            d.notification_id,
            _(STATUS_TEXT.get(d.status, d.status)),
            str(d.attempts),
            escape(d.last_error or (str(d.last_status_code) if d.last_status_code else "-")),
            d.next_attempt_at.strftime("%Y-%m-%d %H:%M") if d.next_attempt_at else "-",
        )
    out.print(table)


# -- e-mail over SMTP (ADR 0034) -----------------------------------------------------------------


def _email_config() -> EmailConfig:
    config = notifications_of(ctx().registry).email
    if not config.enabled:
        raise UsageError(
            N_(
                "E-mail is not configured: set [notifications.email] host in the config file "
                "or TSUNAGU_SMTP_HOST."
            ),
            code="email_not_configured",
        )
    return config


@app.command("test-email")
def email_test_cmd(
    to: Annotated[str, typer.Option("--to", help="The address to send a test message to.")],
    json: Json = False,
) -> None:
    """Send one test message over SMTP now, to check the configuration (never the outbox)."""
    config = _email_config()
    message = email.compose(
        config,
        to=to,
        subject=_("tsunagu test message"),
        body=_("This message shows that tsunagu can send e-mail through {host}.", host=config.host),
        at=utcnow(),
    )
    try:
        email.send_message(config, message)
    except email.SendFailed as exc:
        raise TsunaguError(
            N_("The test message was not sent: {error}"),
            code="email_failed",
            error=exc.error,
            details={"error": exc.error},
        ) from None
    where = f"{config.host}:{config.effective_port} ({config.security})"
    if json:
        print_json({"sent": True, "to": to, "server": where})
        return
    out.print(_("Sent a test message to {to} through {server}.", to=to, server=where))


@app.command("send-email")
def send_email_cmd(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Pretend it is this time.")] = None,
    json: Json = False,
) -> None:
    """Send the waiting e-mails of the outbox over SMTP, once (the worker does this every
    minute)."""
    c = ctx()
    _email_config()
    run = email.deliver_outbox(
        c.factory, now=as_of_instant(as_of), config=notifications_of(c.registry)
    )
    if json:
        print_json({**run.as_dict(), "attempts": run.attempts})
        return
    out.print(
        _(
            "E-mails sent {sent}, retrying {retrying}, failed {failed}, expired {expired}.",
            sent=run.sent,
            retrying=run.retrying,
            failed=run.failed,
            expired=run.expired,
        )
    )
    for attempt in run.attempts:
        if attempt["error"]:
            err.print(f"{attempt['outbox_id']}: {escape(str(attempt['error']))}")


@app.command("email-preference")
def email_preference_cmd(
    user: Annotated[str, typer.Option("--user", help="The user's e-mail address.")],
    lang: Annotated[
        str | None, typer.Option("--lang", help="Language of the user's e-mails: en or ja.")
    ] = None,
    digest_on: Annotated[
        bool | None,
        typer.Option("--digest/--no-digest", help="Send the daily alert digest, or not."),
    ] = None,
    json: Json = False,
) -> None:
    """Set a user's e-mail language and whether the daily alert digest goes to them."""
    if lang is not None and lang not in digest.LANGS:
        raise UsageError(N_("--lang must be en or ja"), code="invalid_language")
    c = ctx()
    with unit_of_work(c.factory) as session:
        principal = session.scalars(
            select(Principal).where(Principal.email == user.strip().casefold())
        ).first()
        if principal is None:
            raise PrincipalNotFound()
        row = digest.set_preference(
            session, principal_id=principal.id, lang=lang, digest=digest_on, now=utcnow()
        )
        shown = {"user": principal.email, "lang": row.lang, "digest": row.digest}
    if json:
        print_json(shown)
        return
    out.print(
        _(
            "E-mails to {user} are in {lang}; daily digest {state}.",
            user=shown["user"],
            lang=shown["lang"],
            state=_("on") if shown["digest"] else _("off"),
        )
    )


@app.command("digest")
def digest_cmd(
    day: Annotated[
        str | None, typer.Option("--day", help="The UTC day (YYYY-MM-DD); default yesterday.")
    ] = None,
    json: Json = False,
) -> None:
    """Write the daily alert digest of every user for the day to the outbox (once per user per
    day; the ``health.digest`` job does this at 02:00 UTC)."""
    now = utcnow()
    key = day or (now.date() - timedelta(days=1)).isoformat()
    try:
        date.fromisoformat(key)
    except ValueError:
        raise UsageError(N_("--day must be a date (YYYY-MM-DD)"), code="invalid_date") from None
    c = ctx()
    with unit_of_work(c.factory) as session:
        run = digest.write_digests(session, registry=c.registry, day=key, now=now)
    if json:
        print_json({"day": key, **run.as_dict()})
        return
    out.print(
        _(
            "Digests for {day}: {written} written, {already} already written, {skipped} skipped.",
            day=key,
            written=run.written,
            already=run.already,
            skipped=run.skipped,
        )
    )
