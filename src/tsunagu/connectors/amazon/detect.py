"""Telling what an Amazon file is, and which store it is for, from the file alone.

Pure: a decoded report (or a JSON file's bytes) in, facts out; no database, no clock. Used by
``tsunagu import auto`` (:mod:`tsunagu.events.auto`), which then decides which store a file that
names no marketplace belongs to and imports the files in dependency order.

**Kind.** Each connector declares the columns it needs (its ``REQUIRED``). A file is of a kind
when its header has every required column of that kind (after the connector's translated header
names, if any); of several such kinds the best match wins: the one whose required and otherwise
known columns cover the most of the header. The V2 account health report is JSON and is told by
its ``performanceMetrics``. A file that fits no kind is :data:`UNKNOWN_KIND`.

**Marketplace.** A file names its marketplace in its own columns: a sales channel
(``sales-channel``: ``Amazon.co.jp``, ``Amazon.com``), a marketplace name (the settlement
report's ``marketplace-name``), a marketplace id, or, failing those, a currency (``currency``,
``Currency code``: JPY, USD). Values that are no Amazon marketplace (``Non-Amazon`` for
multi-channel orders) are ignored. The V2 JSON names its marketplaces by ``marketplaceId``.
A file that names none (the Feedback report, the Unshipped report) gets ``candidates = None``.

The kinds written by connectors that are not installed yet are simply not detected.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import orjson

from tsunagu.connectors.amazon import feedback, orders, settlement, unshipped
from tsunagu.connectors.amazon.common import ORDER_ID
from tsunagu.connectors.amazon.tsv import ReportFile
from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import N_
from tsunagu.marketplaces.registry import Registry

#: the V2 account health report (JSON); imported as a snapshot (``import amazon-health``)
HEALTH = "health"
#: the code of a file that fits no kind
UNKNOWN_KIND = "unknown_file_kind"

#: columns that name the marketplace by its sales channel or name (lower case)
CHANNEL_COLUMNS = ("sales-channel", "sales channel", "marketplace-name", "marketplace name")
#: columns that name it by Amazon's marketplace id
MARKETPLACE_ID_COLUMNS = ("marketplace-id", "marketplace id", "marketplaceid")
#: columns that name the currency (a marketplace only when one marketplace trades in it)
CURRENCY_COLUMNS = ("currency", "currency code", "currency-code")
#: where each report keeps its order id (the first one present is read)
ORDER_ID_COLUMNS = ("amazon-order-id", "order-id", "order id")
#: channel values that are no Amazon marketplace: left out of the evidence
NOT_A_MARKETPLACE = frozenset({"non-amazon", "non amazon"})


@dataclass(frozen=True)
class KindSpec:
    """One kind of report: what it needs, what else it is known to have, when it is imported."""

    kind: str
    required: tuple[str, ...]
    #: other columns the report is known to have: they make a better match win
    known: frozenset[str]
    #: translated header names → the names used here
    aliases: Mapping[str, str]
    #: dependency order: lower first (orders before what refers to them, the JSON last)
    rank: int


#: kinds of connectors that may be missing: (kind, module, known columns, rank)
_OPTIONAL: tuple[tuple[str, str, tuple[str, ...], int], ...] = (
    (
        "returns",
        "tsunagu.connectors.amazon.returns",
        (
            "order date",
            "return request date",
            "return request status",
            "amazon rma id",
            "a-to-z claim",
            "return reason",
            "resolution",
            "refunded amount",
            "currency code",
            "asin",
            "merchant sku",
            "return quantity",
            "order quantity",
            "return type",
        ),
        20,
    ),
    (
        "shipconfirm",
        "tsunagu.connectors.amazon.ship_confirm",
        (
            "order-item-id",
            "quantity",
            "ship-date",
            "carrier-code",
            "carrier-name",
            "tracking-number",
            "ship-method",
        ),
        10,
    ),
    (
        "afn-shipments",
        "tsunagu.connectors.amazon.afn_shipments",
        (
            "shipment-id",
            "shipment-item-id",
            "shipment-date",
            "carrier",
            "tracking-number",
            "estimated-arrival-date",
            "fulfillment-center-id",
            "fulfillment-channel",
            "sales-channel",
            "quantity-shipped",
        ),
        10,
    ),
)

_BUILTIN: tuple[KindSpec, ...] = (
    KindSpec(
        "orders",
        tuple(orders.REQUIRED),
        frozenset(
            {
                "merchant-order-id",
                "last-updated-date",
                "sales-channel",
                "order-channel",
                "ship-service-level",
                "product-name",
                "asin",
                "item-status",
                "currency",
                "item-tax",
                "shipping-price",
                "is-business-order",
            }
        ),
        {},
        0,
    ),
    KindSpec(
        "unshipped",
        tuple(unshipped.REQUIRED),
        frozenset(
            {
                "order-item-id",
                "payments-date",
                "reporting-date",
                "days-past-promise",
                "quantity-purchased",
                "quantity-shipped",
                "quantity-to-ship",
                "verge-of-cancellation",
                "verge-of-lateshipment",
            }
        ),
        {},
        10,
    ),
    KindSpec(
        "feedback",
        tuple(feedback.REQUIRED),
        frozenset({"comments", "your response", "rater email"}),
        feedback.JA_ALIASES,
        30,
    ),
    KindSpec(
        "settlement",
        tuple(settlement.REQUIRED),
        frozenset(
            {
                "settlement-start-date",
                "settlement-end-date",
                "deposit-date",
                "currency",
                "marketplace-name",
                "amount-description",
                "posted-date",
                "posted-date-time",
            }
        ),
        {},
        40,
    ),
)

#: the V2 JSON's place in the dependency order: last
HEALTH_RANK = 90


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:  # the module is there but something it imports is not
            raise
        return None


def kind_specs() -> tuple[KindSpec, ...]:
    """The kinds that can be detected: the built-in connectors and those installed of the
    newer ones (returns, ship confirmation, Amazon-fulfilled shipments)."""
    found = list(_BUILTIN)
    for kind, module_name, known, rank in _OPTIONAL:
        module = _module(module_name)
        required = getattr(module, "REQUIRED", None) if module is not None else None
        if not required:
            continue
        aliases = getattr(module, "JA_ALIASES", None) or getattr(module, "ALIASES", None) or {}
        found.append(
            KindSpec(
                kind,
                tuple(_name(c) for c in required),
                frozenset(known),
                {_name(k): _name(v) for k, v in dict(aliases).items()},
                rank,
            )
        )
    return tuple(found)


def preamble_reader() -> Callable[[Path], ReportFile] | None:
    """The shipping confirmation connector's reader, which skips the template lines above the
    header (``TemplateType=…``, a line of Japanese labels); ``None`` while it is not
    installed. A file whose first line fits no kind is read again with it."""
    module = _module("tsunagu.connectors.amazon.ship_confirm")
    reader = getattr(module, "read_confirmation", None) if module is not None else None
    return reader if callable(reader) else None


def rank_of(kind: str) -> int:
    if kind == HEALTH:
        return HEALTH_RANK
    for spec in kind_specs():
        if spec.kind == kind:
            return spec.rank
    return HEALTH_RANK - 1


def _name(column: str) -> str:
    return column.replace("\ufeff", "").strip().lower()


@dataclass(frozen=True)
class KindMatch:
    kind: str
    #: how many of the header's columns the kind knows (required or otherwise)
    score: int
    #: the header's names as the kind reads them (translated names mapped)
    columns: tuple[str, ...]


def detect_kind(
    columns: Sequence[str], specs: Iterable[KindSpec] | None = None
) -> KindMatch | None:
    """The kind whose required columns are all in the header and which knows most of it;
    ``None`` when no kind's required columns are all there. A tie goes to the kind that
    requires more (it is the more specific one)."""
    header = [_name(c) for c in columns]
    best: tuple[int, int, KindMatch] | None = None
    for spec in specs if specs is not None else kind_specs():
        mapped = tuple(spec.aliases.get(c, c) for c in header)
        present = set(mapped)
        if not all(_name(r) in present for r in spec.required):
            continue
        score = len(present & ({_name(r) for r in spec.required} | spec.known))
        key = (score, len(spec.required))
        if best is None or key > best[:2]:
            best = (*key, KindMatch(spec.kind, score, mapped))
    return best[2] if best is not None else None


@dataclass(frozen=True)
class FileFacts:
    """What one file says about itself."""

    kind: str
    #: data rows of a flat file; ``None`` for the JSON report
    rows: int | None
    #: the marketplaces the file names (codes), ``None`` when it names none
    candidates: frozenset[str] | None
    #: what named them: ``sales_channel``, ``marketplace_id``, ``currency`` (or ``None``)
    named_by: str | None
    #: values naming a marketplace tsunagu does not know (``Amazon.de`` when DE is not set up)
    unknown: tuple[str, ...]
    #: more than one marketplace is named (by channel, id or currency)
    mixed: bool
    #: the Amazon order ids the file names
    order_ids: frozenset[str]
    encoding: str | None = None


def unknown_kind_error(name: str, columns: Sequence[str] = ()) -> UsageError:
    """``unknown_file_kind`` naming the file (and the first columns of its header)."""
    shown = [c for c in columns if c][:8]
    return UsageError(
        N_(
            "{file}: not an Amazon report tsunagu can read (its columns: {columns}); "
            "expected an All Orders, Unshipped Orders, Feedback, Returns, settlement, "
            "shipping confirmation or Amazon-fulfilled shipments report, or the account "
            "health report (JSON)"
        ),
        code=UNKNOWN_KIND,
        file=name,
        columns=", ".join(shown) or "-",
        details={"file": name, "columns": shown},
    )


def _nearest_error(name: str, columns: Sequence[str]) -> UsageError | None:
    """``unknown_file_kind`` naming the missing columns when the header is most of one kind's
    (at least half of its required columns and three of its columns in all)."""
    header = [_name(c) for c in columns]
    best: tuple[int, KindSpec, list[str]] | None = None
    for spec in kind_specs():
        present = {spec.aliases.get(c, c) for c in header}
        required = [_name(r) for r in spec.required]
        missing = [r for r in required if r not in present]
        common = len(present & (set(required) | spec.known))
        if 2 * len(missing) > len(required) or common < 3:
            continue
        if best is None or common > best[0]:
            best = (common, spec, missing)
    if best is None:
        return None
    _common, spec, missing = best
    return UsageError(
        N_(
            "{file}: not an Amazon report tsunagu can read: its header is close to a known "
            "report's, but lacks the column(s) {missing}"
        ),
        code=UNKNOWN_KIND,
        file=name,
        missing=", ".join(missing),
        details={"file": name, "closest_kind": spec.kind, "missing_columns": missing},
    )


def _values(rows: Sequence[tuple[int, dict[str, str]]], column: str) -> set[str]:
    found: set[str] = set()
    for _line, row in rows:
        value = row.get(column, "").strip()
        if value:
            found.add(value)
    return found


def _channel_codes(value: str, registry: Registry) -> str | None:
    wanted = value.lower().removeprefix("www.")
    for mp in registry.marketplaces:
        if wanted in (mp.sales_channel.lower(), mp.name.lower()):
            return mp.code
    return None


def marketplace_evidence(
    columns: Sequence[str], rows: Sequence[tuple[int, dict[str, str]]], registry: Registry
) -> tuple[frozenset[str] | None, str | None, tuple[str, ...], bool]:
    """``(candidates, named_by, unknown values, mixed)`` from the file's own columns: a sales
    channel or marketplace name first, then a marketplace id, then a currency."""
    present = set(columns)
    codes: set[str] = set()
    unknown: set[str] = set()
    for column in CHANNEL_COLUMNS:
        if column in present:
            for value in _values(rows, column):
                if value.lower() in NOT_A_MARKETPLACE:
                    continue
                code = _channel_codes(value, registry)
                if code is None:
                    unknown.add(value)
                else:
                    codes.add(code)
    if codes or unknown:
        return frozenset(codes), "sales_channel", tuple(sorted(unknown)), len(codes) > 1
    for column in MARKETPLACE_ID_COLUMNS:
        if column in present:
            for value in _values(rows, column):
                mp = registry.get(value)
                if mp is None:
                    unknown.add(value)
                else:
                    codes.add(mp.code)
    if codes or unknown:
        return frozenset(codes), "marketplace_id", tuple(sorted(unknown)), len(codes) > 1
    currencies: set[str] = set()
    for column in CURRENCY_COLUMNS:
        if column in present:
            currencies |= {v.upper() for v in _values(rows, column)}
    if currencies:
        for currency in currencies:
            trading = {mp.code for mp in registry.marketplaces if mp.currency == currency}
            if trading:
                codes |= trading
            else:
                unknown.add(currency)
        return frozenset(codes), "currency", tuple(sorted(unknown)), len(currencies) > 1
    return None, None, (), False


def order_ids(columns: Sequence[str], rows: Sequence[tuple[int, dict[str, str]]]) -> frozenset[str]:
    """The Amazon order ids in the file's order id column (values that are no order id are the
    import's to report)."""
    present = set(columns)
    for column in ORDER_ID_COLUMNS:
        if column in present:
            return frozenset(v for v in _values(rows, column) if ORDER_ID.fullmatch(v))
    return frozenset()


def facts_of_report(name: str, report: ReportFile, registry: Registry) -> FileFacts:
    """The facts of a tab-separated report; ``unknown_file_kind`` when it fits no kind."""
    match = detect_kind(report.columns)
    if match is None:
        raise _nearest_error(name, report.columns) or unknown_kind_error(name, report.columns)
    columns = match.columns
    if columns != tuple(report.columns):  # a translated header: read the rows by our names
        rename = dict(zip(report.columns, columns, strict=True))
        rows = [(line, {rename.get(k, k): v for k, v in row.items()}) for line, row in report.rows]
    else:
        rows = report.rows
    candidates, named_by, unknown, mixed = marketplace_evidence(columns, rows, registry)
    return FileFacts(
        kind=match.kind,
        rows=len(rows),
        candidates=candidates,
        named_by=named_by,
        unknown=unknown,
        mixed=mixed,
        order_ids=order_ids(columns, rows),
        encoding=report.encoding,
    )


def looks_like_json(head: bytes) -> bool:
    """Whether the file starts (after a BOM and blanks) like a JSON object or array."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return text[:1] in (b"{", b"[")


def facts_of_json(name: str, data: bytes, registry: Registry) -> FileFacts:
    """The facts of a JSON file: the V2 account health report and the marketplaces it has
    figures for; ``unknown_file_kind`` for any other JSON."""
    try:
        document = orjson.loads(data.removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError:
        raise UsageError(
            N_("{file} starts like JSON but is not valid JSON: not a report tsunagu can read"),
            code=UNKNOWN_KIND,
            file=name,
            details={"file": name},
        ) from None
    items = document.get("performanceMetrics") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise unknown_kind_error(name, list(document) if isinstance(document, dict) else [])
    codes: set[str] = set()
    unknown: set[str] = set()
    for item in items:
        value = item.get("marketplaceId") if isinstance(item, dict) else None
        if not isinstance(value, str) or not value:
            continue
        mp = registry.get(value)
        if mp is None:
            unknown.add(value[:40])
        else:
            codes.add(mp.code)
    return FileFacts(
        kind=HEALTH,
        rows=None,
        candidates=frozenset(codes),
        named_by="marketplace_id",
        unknown=tuple(sorted(unknown)),
        mixed=len(codes) > 1,
        order_ids=frozenset(),
        encoding="utf-8",
    )
