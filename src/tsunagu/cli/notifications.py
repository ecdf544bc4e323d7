"""``tsunagu notifications …``: notifications, webhooks and their deliveries (ADR 0027).

The command line acts as the installation's owner: it may make webhooks for any seller, or for
every seller (no ``--seller``). A webhook's secret is printed once, by ``webhooks add``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table

from tsunagu.access.actor import LOCAL_OWNER
from tsunagu.cli.context import as_of_instant, ctx, err, out, print_json
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.i18n import N_, _
from tsunagu.notifications import service
from tsunagu.notifications.config import notifications_of
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
    table = Table(
        _("Time (UTC)"),
        _("Kind"),
        Column(_("Seller"), overflow="fold"),
        _("Marketplace"),
        _("What changed"),
    )
    for n in items:
        table.add_row(
            n.occurred_at.strftime("%Y-%m-%d %H:%M"),
            n.kind,
            escape(n.seller_id),
            n.marketplace or "-",
            escape(
                ", ".join(
                    f"{k}={v}" for k, v in n.payload.items() if not isinstance(v, dict | list)
                )
            ),
        )
    out.print(table)


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
