"""What a valid seller event is, and its canonical form. Pure: no database, no clock.

The field table mirrors design.md's event contract. A raw object either becomes a
:class:`Candidate` (canonical JSON + hash, ready to store) or a list of :class:`Problem` naming the
field, a stable code and the offending value.

Canonical form (what "same event" means): keys sorted, compact separators, marketplace given as
its tsunagu code, every instant field rewritten in UTC (``...Z``). Message ``subject``/``body`` are
personal data: they are lifted out into ``Candidate.personal`` and never enter the stored body.

Hostile text (API-10, :mod:`tsunagu.core.text`): identifiers (``event_id``, ``seller``,
``order_id``, SKUs, claim, chargeback, message, return and violation ids, ``customer_id``,
``tracking_id``, ``asin``, ``policy``, ``language``) are printable only; other text holds no
control character; message ``subject``/``body`` and the strings of unknown fields may also hold
tab and line breaks. ``/`` and ``..`` are fine in ids: no id ever becomes a file path. Anything
else is ``invalid_value`` naming the field, so PostgreSQL (which refuses NUL) never sees it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from dataclasses import field as dc_field
from datetime import datetime
from typing import Any

import orjson

from tsunagu.core.i18n import N_
from tsunagu.core.text import control_character, is_printable
from tsunagu.core.timeutil import InstantError, format_instant, parse_instant
from tsunagu.marketplaces.registry import Registry

MAX_ID_LENGTH = 200

CANCELLED_BY = ("seller", "buyer", "system", "unknown")
CANCEL_REASONS = ("out_of_stock", "buyer_request", "address_issue", "pricing_error", "other")
CLAIM_REASONS = ("not_received", "not_as_described", "damaged", "other")
CLAIM_OUTCOMES = (
    "denied",
    "withdrawn",
    "seller_refunded",
    "granted_seller_funded",
    "granted_amazon_funded",
    "overturned",
)
CHARGEBACK_OUTCOMES = ("seller_won", "seller_lost")
RETURN_OUTCOMES = ("authorized", "refunded", "rejected_valid", "rejected_invalid")
SEVERITIES = ("low", "medium", "high", "critical")
CHANNELS = ("MFN", "AFN")

#: Fields of message events that hold personal data; stored in the personal-data store.
PERSONAL_MESSAGE_FIELDS = ("subject", "body")
#: Unknown fields whose names say they hold personal data are refused rather than logged forever.
_PERSONAL_NAME = re.compile(r"(e_?mail|phone|address|buyer_name|recipient_name|full_name)", re.I)


@dataclass(frozen=True, slots=True)
class Problem:
    field: str
    code: str
    value: object
    message: str
    params: Mapping[str, object] = dc_field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A checked event in its stored form.

    :func:`from_canonical` passes the fields by position: reordering them means changing it too.
    """

    event_id: str
    type: str
    seller_id: str
    marketplace: str
    order_id: str | None
    at: datetime
    body: str
    body_hash: str
    #: (field, text) pairs lifted out of the event (message subject/body)
    personal: tuple[tuple[str, str], ...] = ()
    #: the canonical body as a dict (saves parsing ``body`` again when it is stored)
    data: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def order_key(self) -> tuple[str, str, str] | None:
        if self.order_id is None:
            return None
        return (self.seller_id, self.marketplace, self.order_id)


# -- field checkers: each returns the normalised value or raises _Bad --------------------------


class _Bad(Exception):
    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.params = params


Checker = Callable[[Any], Any]


def _text_up_to(limit: int, *, empty_ok: bool = False, identifier: bool = False) -> Checker:
    """A string of at most ``limit`` characters: the width of the column it is stored in, so a
    value the contract accepts always fits the database (PostgreSQL refuses longer ones).
    Without control characters; an ``identifier`` is printable only."""

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise _Bad("invalid_type", N_("must be a string"))
        if not empty_ok and not value.strip():
            raise _Bad("invalid_value", N_("must not be empty"))
        if len(value) > limit:
            raise _Bad("invalid_value", N_("longer than {max} characters"), max=limit)
        if identifier and not is_printable(value):
            raise _Bad(
                "invalid_value",
                N_("must hold printable characters only (no control or invisible characters)"),
            )
        if control_character(value) is not None:
            raise _Bad("invalid_value", N_("must not hold control characters"))
        return value

    return check


_id = _text_up_to(MAX_ID_LENGTH, identifier=True)
_text = _text_up_to(MAX_ID_LENGTH)
_order_id = _text_up_to(64, identifier=True)
_short_id = _text_up_to(100, identifier=True)  # SKUs, case/message/violation ids, policies
_short = _text_up_to(100)  # carriers, services, categories
_id_or_empty = _text_up_to(100, empty_ok=True, identifier=True)


_FREE_TEXT_CONTROL = N_("must not hold control characters other than tab and line breaks")


def _free_text(value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad("invalid_type", N_("must be a string"))
    if control_character(value, free_text=True) is not None:
        raise _Bad("invalid_value", _FREE_TEXT_CONTROL)
    return value


def _hostile(value: object, path: str) -> tuple[str, object, str] | None:
    """The first string under ``value`` (an unknown field: kept, never checked otherwise) with a
    control character other than tab and line breaks, or a key with any: (path, value, message).
    """
    stack: list[tuple[str, object]] = [(path, value)]
    while stack:
        here, found = stack.pop()
        if isinstance(found, str):
            if control_character(found, free_text=True) is not None:
                return here, found, _FREE_TEXT_CONTROL
        elif isinstance(found, dict):
            for key in found:
                if control_character(key) is not None:
                    return here, key, N_("a field name holds a control character")
            stack.extend((f"{here}.{k}", v) for k, v in reversed(found.items()))
        elif isinstance(found, list):
            stack.extend((f"{here}[{n}]", v) for n, v in reversed(list(enumerate(found))))
    return None


def _int(minimum: int, maximum: int | None = None) -> Checker:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Bad("invalid_type", N_("must be a whole number (minor units, no decimals)"))
        if value < minimum or (maximum is not None and value > maximum):
            if maximum is None:
                raise _Bad("invalid_value", N_("must be at least {min}"), min=minimum)
            raise _Bad(
                "invalid_value", N_("must be between {min} and {max}"), min=minimum, max=maximum
            )
        return value

    return check


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Bad("invalid_type", N_("must be true or false"))
    return value


def _enum(choices: tuple[str, ...]) -> Checker:
    def check(value: Any) -> str:
        if not isinstance(value, str) or value not in choices:
            raise _Bad("invalid_value", N_("must be one of {choices}"), choices=", ".join(choices))
        return value

    return check


def _instant(value: Any) -> str:
    try:
        return format_instant(parse_instant(value))
    except InstantError as exc:
        raise _Bad(
            "invalid_timestamp",
            N_("must be an ISO-8601 time with a UTC offset ({reason})"),
            reason=str(exc),
        ) from exc


def _currency(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Z]{3}", value):
        raise _Bad("invalid_value", N_("must be an ISO-4217 code such as JPY or USD"))
    return value


_ITEM_FIELDS: dict[str, tuple[bool, Checker]] = {
    "sku": (True, _short_id),
    "quantity": (True, _int(0)),  # 0: a line cancelled in full (Amazon files show it so)
    "price": (True, _int(0)),
    "tax": (False, _int(0)),
    "category": (False, _short),
    # a deal price: the line earns no points (points/rules.py)
    "no_points": (False, _bool),
}


def _items(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise _Bad("invalid_type", N_("must be a list of items"))
    if not value:
        raise _Bad("invalid_value", N_("must hold at least one item"))
    result = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise _ItemBad(f"items[{index}]", "invalid_type", N_("must be an object"), item)
        clean = dict(item)
        for name, (required, check) in _ITEM_FIELDS.items():
            if name not in item:
                if required:
                    raise _ItemBad(
                        f"items[{index}].{name}", "missing_field", N_("is required"), None
                    )
                continue
            try:
                clean[name] = check(item[name])
            except _Bad as bad:
                raise _ItemBad(
                    f"items[{index}].{name}", bad.code, bad.message, item[name], **bad.params
                ) from bad
        extra = {k: v for k, v in item.items() if k not in _ITEM_FIELDS}
        hostile = _hostile(extra, f"items[{index}]")
        if hostile is not None:
            raise _ItemBad(hostile[0], "invalid_value", hostile[2], hostile[1])
        result.append(clean)
    return result


class _ItemBad(_Bad):
    def __init__(self, path: str, code: str, message: str, value: object, **params: object):
        super().__init__(code, message, **params)
        self.path = path
        self.value = value


# -- the contract -------------------------------------------------------------------------------

Spec = dict[str, tuple[bool, Checker]]
_ORDER: Spec = {"order_id": (True, _order_id)}

EVENT_TYPES: dict[str, Spec] = {
    "order_placed": {
        **_ORDER,
        "channel": (True, _enum(CHANNELS)),
        "latest_ship_date": (False, _instant),
        "latest_delivery_date": (False, _instant),
        "items": (True, _items),
        "currency": (True, _currency),
        "points": (False, _int(0)),
        "is_business": (False, _bool),
        "customer_id": (False, _short_id),
        "ship_service": (False, _short),
    },
    "order_promise_set": {
        **_ORDER,
        "latest_ship_date": (False, _instant),
        "latest_delivery_date": (False, _instant),
    },
    "order_shipped": {
        **_ORDER,
        "carrier": (False, _short),
        "tracking_id": (False, _id_or_empty),
        "service": (False, _short),
        "ship_time_known": (False, _bool),
    },
    "tracking_scanned": dict(_ORDER),
    "order_delivered": dict(_ORDER),
    "order_cancelled": {
        **_ORDER,
        "by": (True, _enum(CANCELLED_BY)),
        "reason": (False, _enum(CANCEL_REASONS)),
    },
    "feedback_posted": {**_ORDER, "rating": (True, _int(1, 5))},
    "feedback_removed": dict(_ORDER),
    "claim_filed": {
        **_ORDER,
        "claim_id": (True, _short_id),
        "reason": (False, _enum(CLAIM_REASONS)),
    },
    "claim_decided": {
        **_ORDER,
        "claim_id": (True, _short_id),
        "outcome": (True, _enum(CLAIM_OUTCOMES)),
    },
    "chargeback_filed": {**_ORDER, "chargeback_id": (True, _short_id)},
    "chargeback_decided": {
        **_ORDER,
        "chargeback_id": (True, _short_id),
        "outcome": (True, _enum(CHARGEBACK_OUTCOMES)),
    },
    "message_received": {
        "message_id": (True, _short_id),
        "order_id": (False, _order_id),
        "customer_id": (False, _short_id),
        "language": (False, _text_up_to(10, identifier=True)),
        "subject": (False, _free_text),
        "body": (False, _free_text),
    },
    "message_answered": {"message_id": (True, _short_id), "order_id": (False, _order_id)},
    "message_no_response_needed": {"message_id": (True, _short_id), "order_id": (False, _order_id)},
    "return_requested": {**_ORDER, "return_id": (True, _short_id)},
    "return_resolved": {
        **_ORDER,
        "return_id": (True, _short_id),
        "outcome": (True, _enum(RETURN_OUTCOMES)),
        "buyer_satisfied": (False, _bool),
    },
    "violation_opened": {
        "violation_id": (True, _short_id),
        "policy": (True, _short_id),
        "severity": (True, _enum(SEVERITIES)),
        "asin": (False, _text_up_to(20, identifier=True)),
    },
    "violation_resolved": {"violation_id": (True, _short_id), "how": (False, _text)},
    "refund_issued": {**_ORDER, "amount": (True, _int(1)), "sku": (False, _short_id)},
    "invoice_uploaded": dict(_ORDER),
    "cs_survey_answered": {**_ORDER, "satisfied": (True, _bool)},
}

_COMMON: Spec = {
    "event_id": (True, _id),
    "type": (True, _text),
    "seller": (True, _text_up_to(40, identifier=True)),
    "marketplace": (True, _text),
    "at": (True, _instant),
}


def canonical_json(obj: Mapping[str, Any]) -> str:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()


def body_hash(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def _check(
    spec: Spec, obj: Mapping[str, Any], out: dict[str, Any], problems: list[Problem]
) -> None:
    for name, (required, check) in spec.items():
        if name not in obj:
            if required:
                problems.append(Problem(name, "missing_field", None, N_("is required")))
            continue
        try:
            out[name] = check(obj[name])
        except _ItemBad as bad:
            problems.append(Problem(bad.path, bad.code, bad.value, bad.message, bad.params))
        except _Bad as bad:
            problems.append(Problem(name, bad.code, obj[name], bad.message, bad.params))


def validate(obj: object, registry: Registry) -> Candidate | list[Problem]:
    """Check one raw event against the contract and build its canonical form."""
    if not isinstance(obj, dict):
        return [
            Problem("", "not_an_object", _abbreviated(obj), N_("each event must be a JSON object"))
        ]
    problems: list[Problem] = []
    clean: dict[str, Any] = dict(obj)
    _check(_COMMON, obj, clean, problems)
    event_type = obj.get("type")
    spec = EVENT_TYPES.get(event_type) if isinstance(event_type, str) else None
    if spec is None and "type" in obj and not any(p.field == "type" for p in problems):
        problems.append(
            Problem("type", "unknown_event_type", event_type, N_("unknown event type {value}"))
        )
    marketplace = obj.get("marketplace")
    mp = registry.get(marketplace) if isinstance(marketplace, str) and marketplace else None
    if isinstance(marketplace, str) and marketplace.strip() and mp is None:
        problems.append(
            Problem(
                "marketplace", "unknown_marketplace", marketplace, N_("unknown marketplace {value}")
            )
        )
    if spec is not None:
        _check(spec, obj, clean, problems)
    for name in obj:
        if name in _COMMON or (spec is not None and name in spec):
            continue
        if _PERSONAL_NAME.search(name):
            problems.append(
                Problem(
                    name,
                    "personal_data_in_event",
                    "***",
                    N_("personal data must not be sent in events (field {field})"),
                )
            )
            continue
        hostile = _hostile({name: obj[name]}, "")
        if hostile is not None:
            problems.append(
                Problem(hostile[0].removeprefix(".") or name, "invalid_value", *hostile[1:])
            )
    if (
        mp is not None
        and spec is not None
        and "currency" in spec
        and isinstance(clean.get("currency"), str)
        and clean["currency"] != mp.currency
        and not any(p.field == "currency" for p in problems)
    ):
        problems.append(
            Problem(
                "currency",
                "currency_mismatch",
                clean["currency"],
                N_("marketplace {marketplace} trades in {expected}"),
                {"marketplace": mp.code, "expected": mp.currency},
            )
        )
    if problems or mp is None:
        return problems
    clean["marketplace"] = mp.code
    personal = tuple(
        (name, clean.pop(name))
        for name in PERSONAL_MESSAGE_FIELDS
        if event_type == "message_received" and name in clean
    )
    return from_canonical(clean, personal)


def from_canonical(
    clean: Mapping[str, Any],
    personal: tuple[tuple[str, str], ...] = (),
    *,
    at: datetime | None = None,
) -> Candidate:
    """Build the stored form of an event that is already canonical and valid.

    Connectors that construct events field by field use this directly; their tests check that
    :func:`validate` accepts the same objects and yields the same body. They may pass ``at``, the
    instant their ``clean["at"]`` was formatted from, to save parsing it back. The body is hashed
    from orjson's bytes, which are the UTF-8 encoding of ``body``, so ``body_hash`` is the same
    as :func:`body_hash` gives.
    """
    raw = orjson.dumps(clean, option=orjson.OPT_SORT_KEYS)
    order_id = clean.get("order_id")
    # positional: a frozen dataclass is built noticeably faster without keyword matching
    return Candidate(
        clean["event_id"],
        clean["type"],
        clean["seller"],
        clean["marketplace"],
        order_id if isinstance(order_id, str) else None,
        parse_instant(clean["at"]) if at is None else at,
        raw.decode(),
        hashlib.sha256(raw).hexdigest(),
        personal,
        clean,
    )


def needs_order(candidate: Candidate) -> bool:
    """Events that describe something happening to an order need that order to exist."""
    return candidate.order_id is not None and candidate.type != "order_placed"


def _abbreviated(value: object) -> object:
    text = repr(value)
    return value if len(text) <= 80 else text[:77] + "..."
