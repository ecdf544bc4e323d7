"""What the routes and the pages tell an identity or access use case about the request that
calls it, built in one place: the time, the identity settings and where the request came from
(:class:`Call`); for a use case that sends a message, also the mail sender and the reader's
language (:class:`MailingCall`). Pass one on with ``**``: mypy checks its keys against the use
case's parameters."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from fastapi import Request

from tsunagu.core.clock import utcnow
from tsunagu.http.deps import client_of, get_settings
from tsunagu.identity.audit import Client
from tsunagu.identity.mail import DEFAULT_SENDER, MailSender
from tsunagu.identity.rules import IdentitySettings


class Call(TypedDict):
    now: datetime
    settings: IdentitySettings
    client: Client


class MailingCall(Call):
    sender: MailSender
    lang: str


def mail_sender(request: Request) -> MailSender:
    """The installation's mail sender (the outbox unless the app was given another)."""
    sender: MailSender = getattr(request.app.state, "mail_sender", DEFAULT_SENDER)
    return sender


def call_of(request: Request) -> Call:
    """Now, the installation's identity settings and the request's client."""
    return Call(now=utcnow(), settings=get_settings(request).identity, client=client_of(request))


def mailing_call_of(request: Request, *, lang: str) -> MailingCall:
    """:func:`call_of`, with the installation's mail sender and the language ``lang``."""
    return MailingCall(
        now=utcnow(),
        settings=get_settings(request).identity,
        client=client_of(request),
        sender=mail_sender(request),
        lang=lang,
    )
