"""The words for the points ledger's codes, for every entry point (the CLI and the pages show
these, never the codes; scripts read the codes from ``--json`` and the API).

Marked with ``N_``: the caller translates with ``translate(text, lang)``.
"""

from __future__ import annotations

from tsunagu.core.i18n import N_, translate

#: ledger entry kinds
KIND = {
    "grant_pending": N_("Points earned (pending)"),
    "post": N_("Points available"),
    "void": N_("Pending points cancelled"),
    "redeem": N_("Points used"),
    "clawback": N_("Points returned for a refund"),
    "expire": N_("Points expired"),
    "adjust": N_("Adjustment"),
}

#: why an entry was written (``reason``; ``external:<source>`` and ``adjustment:<note>`` carry
#: a name after the colon)
REASON = {
    "order_placed": N_("Order {order} placed"),
    "shipment_settled": N_("Order {order} shipped; points settled"),
    "order_cancelled": N_("Order {order} cancelled before shipment"),
    "refund": N_("Refund on order {order}"),
    "redemption": N_("Paid for order {order}"),
    "expiry": N_("A year without points earned or orders"),
    "external": N_("Points from {source}"),
    "adjustment": N_("Adjustment: {note}"),
    "manual": N_("Cancelled by an operator"),
}

#: a grant's state
GRANT_STATE = {
    "pending": N_("Pending"),
    "posted": N_("Available"),
    "voided": N_("Cancelled"),
}


def kind_text(kind: str, lang: str | None = None) -> str:
    return translate(KIND.get(kind, kind), lang)


def reason_text(reason: str, order_id: str | None, lang: str | None = None) -> str:
    """The reason of an entry in words: ``external:card-x`` → "Points from card-x"."""
    code, _, rest = reason.partition(":")
    template = REASON.get(code)
    if template is None:
        return reason
    return translate(template, lang, order=order_id or "-", source=rest, note=rest)
