"""The daily alert digest (issue 16, ADR 0034): one e-mail per user per day listing every store
the user can reach with its rating, account status and missed metrics, and the alerts raised
since the user's previous digest. Never commits.

The e-mail is written to the outbox (like every account e-mail; the ``notifications.email`` job
sends it over SMTP) in the same transaction as the ``alert_digests`` row for (user, day), whose
primary key makes the digest once per user per day however often the job runs. Only active users
with a verified address get one (a digest names sellers and figures: it never goes to an address
nobody proved), in the language of their e-mail preference (English without one); a user who
turned the digest off, or who reaches no store, gets none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.access import service as access
from tsunagu.core.i18n import N_, translate
from tsunagu.core.ids import new_id
from tsunagu.enforcement import service as enforcement
from tsunagu.health import alert_words, incremental
from tsunagu.health.models import HealthAlert
from tsunagu.identity.models import OutboxMessage, Principal
from tsunagu.marketplaces.registry import Registry
from tsunagu.notifications.email_models import AlertDigest, EmailPreference
from tsunagu.sellers.service import get_seller

KIND = "alert_digest"
LANGS = ("en", "ja")


@dataclass
class DigestRun:
    written: int = 0
    already: int = 0
    skipped: int = 0
    outbox_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {"written": self.written, "already": self.already, "skipped": self.skipped}


def preference(session: Session, principal_id: str) -> EmailPreference | None:
    return session.get(EmailPreference, principal_id)


def set_preference(
    session: Session, *, principal_id: str, lang: str | None, digest: bool | None, now: datetime
) -> EmailPreference:
    """Record the user's e-mail language and/or whether the digest goes to them."""
    row = session.get(EmailPreference, principal_id)
    if row is None:
        row = EmailPreference(principal_id=principal_id, lang="en", digest=True, updated_at=now)
        session.add(row)
    if lang is not None:
        row.lang = lang if lang in LANGS else "en"
    if digest is not None:
        row.digest = digest
    row.updated_at = now
    session.flush()
    return row


def _store_lines(
    session: Session, seller_id: str, registry: Registry, now: datetime, lang: str
) -> list[str]:
    lines = []
    for h in incremental.seller_health_now(
        session, seller_id=seller_id, registry=registry, now=now
    ):
        mp = registry.require(h.marketplace)
        status = enforcement.store_status(session, seller_id=seller_id, marketplace=mp.code).status
        lines.append(
            translate(
                N_("  {store}: rating {score} ({band}), account status: {status}"),
                lang,
                store=mp.name,
                score=h.rating.score,
                band=alert_words.band_name(h.rating.band, lang),
                status=alert_words.status_name(status, lang),
            )
        )
        missed = [m for m in h.metrics.values() if m.status == "BAD" and m.rate is not None]
        for m in missed:
            lines.append(
                "    - "
                + translate(
                    N_("{metric} missed its target: {value} (target {target})"),
                    lang,
                    metric=alert_words.metric_name(m.name, lang),
                    value=alert_words.percent(m.rate),
                    target=f"{alert_words.SYMBOLS.get(m.comparison, m.comparison)} "
                    f"{alert_words.percent(m.target)}",
                )
            )
        if not missed:
            lines.append("    " + translate(N_("No metric misses its target."), lang))
    return lines


def compose(
    session: Session,
    *,
    principal: Principal,
    seller_ids: list[str],
    registry: Registry,
    day: str,
    since: datetime,
    now: datetime,
    lang: str,
) -> tuple[str, str]:
    """The digest's subject and body."""
    body = [
        translate(N_("Hello {name},"), lang, name=principal.display_name or principal.email),
        "",
        translate(N_("Your stores on {day}:"), lang, day=day),
    ]
    new_alerts: list[str] = []
    for seller_id in seller_ids:
        seller = get_seller(session, seller_id)
        body += ["", f"{seller.name} ({seller.id})"]
        body += _store_lines(session, seller_id, registry, now, lang)
        raised = session.scalars(
            select(HealthAlert)
            .where(HealthAlert.seller_id == seller_id, HealthAlert.raised_at > since)
            .order_by(HealthAlert.raised_at, HealthAlert.id)
        ).all()
        for a in raised:
            mp = registry.get(a.marketplace)
            text = alert_words.describe(a.kind, a.subject, a.level, a.details, lang)
            new_alerts.append(f"  - {seller.name} · {mp.name if mp else a.marketplace}: {text}")
    body += ["", translate(N_("New alerts:"), lang)]
    body += new_alerts or ["  " + translate(N_("No new alerts."), lang)]
    subject = translate(
        N_("tsunagu daily digest for {day}: {count} new alert(s)"),
        lang,
        day=day,
        count=len(new_alerts),
    )
    return subject, "\n".join(body) + "\n"


def write_digests(session: Session, *, registry: Registry, day: str, now: datetime) -> DigestRun:
    """Write the day's digest for every user who has none for ``day`` yet."""
    run = DigestRun()
    principals = session.scalars(
        select(Principal).where(Principal.status == "active").order_by(Principal.id)
    ).all()
    for principal in principals:
        if session.get(AlertDigest, (principal.id, day)) is not None:
            run.already += 1
            continue
        pref = preference(session, principal.id)
        seller_ids = sorted(access.roles_of(session, principal.id).memberships)
        if (
            principal.email_verified_at is None
            or (pref is not None and not pref.digest)
            or not seller_ids
        ):
            run.skipped += 1
            continue
        lang = pref.lang if pref is not None else "en"
        previous = session.scalars(
            select(AlertDigest.created_at)
            .where(AlertDigest.principal_id == principal.id)
            .order_by(AlertDigest.created_at.desc())
            .limit(1)
        ).first()
        since = previous if previous is not None else now - timedelta(days=1)
        subject, body = compose(
            session,
            principal=principal,
            seller_ids=seller_ids,
            registry=registry,
            day=day,
            since=since,
            now=now,
            lang=lang,
        )
        outbox_id = new_id("msg")
        session.add(
            OutboxMessage(
                id=outbox_id,
                created_at=now,
                to_address=principal.email,
                kind=KIND,
                subject=subject[:200],
                body=body,
            )
        )
        session.add(
            AlertDigest(principal_id=principal.id, day=day, outbox_id=outbox_id, created_at=now)
        )
        session.flush()
        run.written += 1
        run.outbox_ids.append(outbox_id)
    return run
