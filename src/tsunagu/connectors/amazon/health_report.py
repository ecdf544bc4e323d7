"""Amazon's V2 seller performance report (``GET_V2_SELLER_PERFORMANCE_REPORT``), read leniently.

Pure: bytes in, normalised figures out; no database, no clock. Real reports differ from the
published schema (amazon-domain.md §3.2), so the reader

- accepts both spellings where the schema disagrees with itself or with real files:
  ``preFulfillmentCancellationRate``/``prefulfillmentCancelRate``, ``warningStates``/
  ``warningState``, ``documentRequests``/``documentRequest``, ``ahrStatus``/
  ``accountHealthRatingStatus``, ``reportingDateFrom``/``dateFrom`` …;
- reads the late shipment rate from ``lateShipmentRate`` and from ``lateShipmentRateList``,
  telling the 10-day and the 30-day window apart by the length of their date range;
- ignores keys it does not know and treats a missing optional key as "not reported";
- refuses, with the JSON path of the problem, a file that is not JSON, has no
  ``performanceMetrics`` item for the store's marketplace, or holds a value of the wrong kind
  (a rate that is not a fraction between 0 and 1, a count or an Account Health Rating that is
  not a whole number …), and text or a key holding a control character (``invalid_value``,
  API-10: the figures are shown on terminals and pages).

Rates and targets are fractions (0.01 = 1%), as in the report. Nothing is derived: a rate the
report leaves out stays ``None`` even when its counts are there, and no order or violation is
inferred from the counts.

**The report date** is the last day the report covers, in the store's time zone: the Account
Health Rating's ``reportingDateTo``, else the latest ``reportingDateTo`` of any metric, converted
from UTC to the store's zone. An instant exactly at local midnight is an exclusive end (tsunagu's
own report writes its ranges that way), so it closes the day before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import orjson

from tsunagu.core.errors import InvalidInput
from tsunagu.core.i18n import N_
from tsunagu.core.text import control_character
from tsunagu.core.timeutil import InstantError, format_instant, parse_instant

#: A real report is a few kilobytes; this only keeps a wrong file from filling memory.
MAX_REPORT_BYTES = 10 * 1024 * 1024
#: Version of the normalised form stored in ``HealthSnapshot.figures``.
FIGURES_VERSION = 1

#: The listing-level violation keys (amazon-domain.md §2.3) and the other spellings seen.
LISTING_VIOLATIONS: Mapping[str, tuple[str, ...]] = {
    "listingPolicyViolations": ("listingPolicyViolations",),
    "productAuthenticityCustomerComplaints": ("productAuthenticityCustomerComplaints",),
    "productConditionCustomerComplaints": ("productConditionCustomerComplaints",),
    "productSafetyCustomerComplaints": ("productSafetyCustomerComplaints",),
    "receivedIntellectualPropertyComplaints": ("receivedIntellectualPropertyComplaints",),
    "suspectedIntellectualPropertyViolations": ("suspectedIntellectualPropertyViolations",),
    "restrictedProductPolicyViolations": ("restrictedProductPolicyViolations",),
    "foodAndProductSafetyIssues": ("foodAndProductSafetyIssues",),
    "otherPolicyViolations": ("otherPolicyViolations",),
    "documentRequests": ("documentRequests", "documentRequest"),
    "customerProductReviewsPolicyViolations": ("customerProductReviewsPolicyViolations",),
}

#: tsunagu's metric name → (report keys, numerator key, denominator key, component keys).
_SIMPLE_METRICS: Mapping[str, tuple[tuple[str, ...], str, str, tuple[str, ...]]] = {
    "pre_fulfillment_cancel_rate": (
        (
            "preFulfillmentCancellationRate",
            "prefulfillmentCancelRate",
            "preFulfillmentCancelRate",
            "prefulfillmentCancellationRate",
        ),
        "cancellationCount",
        "orderCount",
        (),
    ),
    "valid_tracking_rate": (
        ("validTrackingRate",),
        "validTrackingCount",
        "shipmentCount",
        (),
    ),
    "on_time_delivery_rate": (
        ("onTimeDeliveryRate",),
        "onTimeDeliveryCount",
        "shipmentCountWithValidTracking",
        (),
    ),
    "unit_on_time_delivery_rate": (
        ("unitOnTimeDeliveryRate",),
        "unitOnTimeDeliveryCount",
        "totalUnitCount",
        (),
    ),
    "invoice_defect_rate": (
        ("invoiceDefectRate",),
        "invoiceDefect",
        "orderCount",
        ("missingInvoice", "lateInvoice"),
    ),
}

_ODR_COMPONENTS = ("claims", "chargebacks", "negativeFeedback")
#: A late-shipment range shorter than this many days is the short (10-day) window.
_SHORT_LSR_MAX_DAYS = 20

#: Keys of a ``performanceMetrics`` item the reader understands; others are listed as unknown.
KNOWN_ITEM_KEYS: frozenset[str] = frozenset(
    {
        "marketplaceId",
        "accountHealthRating",
        "orderDefectRate",
        "lateShipmentRate",
        "lateShipmentRateList",
        "warningStates",
        "warningState",
        "policyViolationWarnings",
        *(key for keys, *_ in _SIMPLE_METRICS.values() for key in keys),
        *(key for keys in LISTING_VIOLATIONS.values() for key in keys),
    }
)


@dataclass(frozen=True)
class ParsedReport:
    """One marketplace's figures from a V2 report, normalised (see :func:`normalise_item`)."""

    marketplace_id: str
    report_date: date
    #: the UTC instant that decided ``report_date``
    reported_to: datetime
    figures: dict[str, Any]

    @property
    def metric_count(self) -> int:
        return len(self.figures["metrics"])

    @property
    def ahr_score(self) -> int | float | None:
        score: int | float | None = self.figures["ahr"]["score"]
        return score

    @property
    def ahr_status(self) -> str | None:
        status: str | None = self.figures["ahr"]["status"]
        return status


# --------------------------------------------------------------------------- errors


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


#: What a value should have been (the stable word in ``details.expected``) → its message.
_EXPECTED: Mapping[str, str] = {
    "object": N_("{path}: expected an object, found {found}"),
    "array": N_("{path}: expected an array, found {found}"),
    "string": N_("{path}: expected a string, found {found}"),
    "fraction": N_("{path}: expected a fraction from 0 to 1, found {found}"),
    "count": N_("{path}: expected a whole number, found {found}"),
    "score": N_("{path}: expected a whole number from 0 to 1000, found {found}"),
    "text": N_("{path}: expected text without control characters, found {found}"),
    "instant": N_("{path}: expected a date and time like 2020-11-18T23:59Z, found {found}"),
}


def _bad(path: str, expected: str, value: object) -> InvalidInput:
    shown = value if isinstance(value, str | int | float | bool) or value is None else _kind(value)
    if isinstance(shown, str) and len(shown) > 80:
        shown = shown[:80] + "…"
    return InvalidInput(
        _EXPECTED[expected],
        code="invalid_report_value",
        path=path,
        found=orjson.dumps(shown).decode(),
        details={"path": path, "expected": expected, "value": shown},
    )


# --------------------------------------------------------------------------- values


def _first(obj: Mapping[str, Any], keys: tuple[str, ...]) -> tuple[str, Any] | None:
    """The first of ``keys`` present in ``obj`` (spelling variants), with its value."""
    for key in keys:
        if key in obj:
            return key, obj[key]
    return None


def _object(value: object, path: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _bad(path, "object", value)
    return value


def _number(value: object, path: str, expected: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise _bad(path, expected, value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().rstrip("%")) / (100 if value.strip().endswith("%") else 1)
        except ValueError:
            raise _bad(path, expected, value) from None
    raise _bad(path, expected, value)


def _fraction(value: object, path: str) -> float | None:
    expected = "fraction"
    number = _number(value, path, expected)
    if number is not None and not 0 <= number <= 1:
        raise _bad(path, expected, value)
    return number


def _count(value: object, path: str) -> int | None:
    """A whole number ≥ 0; ``{"count": n, ...}`` is accepted where a bare count is expected."""
    if isinstance(value, dict):
        return _count(value.get("count"), f"{path}.count")
    expected = "count"
    number = _number(value, path, expected)
    if number is None:
        return None
    if not number.is_integer() or number < 0:
        raise _bad(path, expected, value)
    return int(number)


def _text(value: object, path: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(path, "string", value)
    if control_character(value) is not None:  # API-10: shown on terminals and pages
        raise _hostile(path, value)
    return value.strip() or None


def _hostile(path: str, value: str) -> InvalidInput:
    """A control character in a text value or a key: ``invalid_value`` with its JSON path."""
    error = _bad(path, "text", value)
    error.code = "invalid_value"
    return error


def _instant(value: object, path: str) -> datetime | None:
    """An ISO-8601 instant; no offset means UTC (the report's ranges are UTC)."""
    if value is None:
        return None
    try:
        return parse_instant(value, assume_utc=True)
    except InstantError:
        raise _bad(path, "instant", value) from None


def _range(obj: Mapping[str, Any], path: str) -> tuple[datetime | None, datetime | None]:
    found = _first(obj, ("reportingDateRange", "dateRange"))
    if found is None:
        return None, None
    key, raw = found
    here = f"{path}.{key}"
    value = _object(raw, here)
    if value is None:
        return None, None
    start = _first(value, ("reportingDateFrom", "dateFrom", "from"))
    end = _first(value, ("reportingDateTo", "dateTo", "to"))
    return (
        _instant(start[1], f"{here}.{start[0]}") if start else None,
        _instant(end[1], f"{here}.{end[0]}") if end else None,
    )


def _shown(instant: datetime | None) -> str | None:
    return None if instant is None else format_instant(instant)


def last_local_day(instant: datetime, zone: tzinfo) -> date:
    """The last local day a range ending at ``instant`` covers (local midnight is exclusive)."""
    local = instant.astimezone(zone)
    return local.date() - timedelta(days=1) if local.time() == time(0) else local.date()


# --------------------------------------------------------------------------- metrics


def _metric(
    obj: Mapping[str, Any],
    path: str,
    numerator: str,
    denominator: str,
    components: tuple[str, ...],
    ends: list[datetime],
) -> dict[str, Any]:
    start, end = _range(obj, path)
    if end is not None:
        ends.append(end)
    return {
        "rate": _fraction(obj.get("rate"), f"{path}.rate"),
        "numerator": _count(obj.get(numerator), f"{path}.{numerator}"),
        "denominator": _count(obj.get(denominator), f"{path}.{denominator}"),
        "status": _text(obj.get("status"), f"{path}.status"),
        "target": _fraction(obj.get("targetValue"), f"{path}.targetValue"),
        "target_condition": _text(obj.get("targetCondition"), f"{path}.targetCondition"),
        "date_from": _shown(start),
        "date_to": _shown(end),
        "components": {
            name: _count(obj.get(name), f"{path}.{name}") for name in components if name in obj
        },
    }


def _odr(item: Mapping[str, Any], path: str, ends: list[datetime]) -> dict[str, dict[str, Any]]:
    raw = item.get("orderDefectRate")
    here = f"{path}.orderDefectRate"
    found: dict[str, dict[str, Any]] = {}
    if raw is None:
        return found
    # the schema has {mfn: ODR, afn: ODR}; a list of ODRs with fulfillmentType is also accepted
    parts: list[tuple[str, str, object]] = []
    if isinstance(raw, dict):
        parts = [(k.lower(), f"{here}.{k}", v) for k, v in raw.items()]
    elif isinstance(raw, list):
        for n, part in enumerate(raw):
            where = f"{here}[{n}]"
            shape = _object(part, where) or {}
            channel = _text(shape.get("fulfillmentType"), f"{where}.fulfillmentType")
            parts.append(((channel or "").lower(), where, part))
    else:
        raise _bad(here, "object", raw)
    for channel, where, part in parts:
        if channel not in ("mfn", "afn"):
            continue
        obj = _object(part, where)
        if obj is not None:
            found[f"order_defect_rate_{channel}"] = _metric(
                obj, where, "orderWithDefects", "orderCount", _ODR_COMPONENTS, ends
            )
    return found


def _late_shipment(
    item: Mapping[str, Any], path: str, ends: list[datetime]
) -> dict[str, dict[str, Any]]:
    """``late_shipment_rate_10``/``_30`` by the length of each range; ``lateShipmentRate``
    without a range is the 30-day rate, list items without one go by position (10, then 30)."""
    found: dict[str, dict[str, Any]] = {}
    single = _object(item.get("lateShipmentRate"), f"{path}.lateShipmentRate")
    candidates: list[tuple[dict[str, Any], str, str]] = []
    if single is not None:
        candidates.append((single, f"{path}.lateShipmentRate", "late_shipment_rate_30"))
    listed = item.get("lateShipmentRateList")
    if listed is not None:
        if isinstance(listed, dict):
            listed = [listed]
        if not isinstance(listed, list):
            raise _bad(f"{path}.lateShipmentRateList", "array", listed)
        for n, part in enumerate(listed):
            where = f"{path}.lateShipmentRateList[{n}]"
            obj = _object(part, where)
            if obj is not None:
                fallback = "late_shipment_rate_10" if n == 0 else "late_shipment_rate_30"
                candidates.append((obj, where, fallback))
    for obj, where, fallback in candidates:
        metric = _metric(obj, where, "lateShipmentCount", "orderCount", (), ends)
        name = fallback
        if metric["date_from"] and metric["date_to"]:
            span = parse_instant(metric["date_to"]) - parse_instant(metric["date_from"])
            short = span < timedelta(days=_SHORT_LSR_MAX_DAYS)
            name = "late_shipment_rate_10" if short else "late_shipment_rate_30"
        found.setdefault(name, metric)  # the first one read wins when both forms are given
    return found


# --------------------------------------------------------------------------- the report


def _ahr(item: Mapping[str, Any], path: str) -> tuple[dict[str, Any], datetime | None]:
    here = f"{path}.accountHealthRating"
    obj = _object(item.get("accountHealthRating"), here) or {}
    status = _first(obj, ("ahrStatus", "accountHealthRatingStatus", "status"))
    score = _first(obj, ("ahrScore", "accountHealthRatingScore", "score"))
    value: float | None = None
    if score is not None:
        # a whole number 0–1000, as Seller Central shows it: 200.5 is no rating Amazon gives
        expected = "score"
        value = _number(score[1], f"{here}.{score[0]}", expected)
        if value is not None and (not 0 <= value <= 1000 or not value.is_integer()):
            raise _bad(f"{here}.{score[0]}", expected, score[1])
    start, end = _range(obj, here)
    return {
        "score": None if value is None else int(value),
        "status": _text(status[1], f"{here}.{status[0]}") if status else None,
        "date_from": _shown(start),
        "date_to": _shown(end),
    }, end


def _listing_violations(item: Mapping[str, Any], path: str) -> dict[str, int | None]:
    found: dict[str, int | None] = {}
    for name, keys in LISTING_VIOLATIONS.items():
        hit = _first(item, keys)
        if hit is None:
            continue
        key, raw = hit
        where = f"{path}.{key}"
        if isinstance(raw, dict):
            count = _first(raw, ("defectsCount", "defectCount", "count"))
            found[name] = _count(count[1], f"{where}.{count[0]}") if count else None
        else:
            found[name] = _count(raw, where)
    return found


def _warnings(item: Mapping[str, Any], path: str) -> tuple[int | None, list[dict[str, Any]]]:
    count: int | None = None
    raw = item.get("policyViolationWarnings")
    where = f"{path}.policyViolationWarnings"
    if isinstance(raw, dict):
        hit = _first(raw, ("warningsCount", "warningCount", "count"))
        count = _count(hit[1], f"{where}.{hit[0]}") if hit else None
    elif raw is not None:
        count = _count(raw, where)
    states: list[dict[str, Any]] = []
    found = _first(item, ("warningStates", "warningState"))
    if found is not None and found[1] is not None:
        key, listed = found
        if isinstance(listed, dict):
            listed = [listed]
        if not isinstance(listed, list):
            raise _bad(f"{path}.{key}", "array", listed)
        for n, part in enumerate(listed):
            here = f"{path}.{key}[{n}]"
            obj = _object(part, here)
            if obj is not None:
                states.append(
                    {
                        "type": _text(obj.get("warningType"), f"{here}.warningType"),
                        "status": _text(obj.get("status"), f"{here}.status"),
                    }
                )
    return count, states


def _account_status(report: Mapping[str, Any], marketplace_id: str) -> str | None:
    listed = report.get("accountStatuses")
    if isinstance(listed, dict):
        listed = [listed]
    if listed is None:
        return None
    if not isinstance(listed, list):
        raise _bad("accountStatuses", "array", listed)
    for n, part in enumerate(listed):
        obj = _object(part, f"accountStatuses[{n}]")
        if obj is not None and obj.get("marketplaceId") == marketplace_id:
            return _text(obj.get("status"), f"accountStatuses[{n}].status")
    return None


def normalise_item(
    item: Mapping[str, Any], path: str, *, account_status: str | None, zone: tzinfo
) -> tuple[date, datetime, dict[str, Any]]:
    """The figures of one ``performanceMetrics`` item, its report date and the deciding instant."""
    ends: list[datetime] = []
    ahr, ahr_end = _ahr(item, path)
    metrics = {**_odr(item, path, ends), **_late_shipment(item, path, ends)}
    for name, (keys, numerator, denominator, components) in _SIMPLE_METRICS.items():
        hit = _first(item, keys)
        if hit is None:
            continue
        where = f"{path}.{hit[0]}"
        obj = _object(hit[1], where)
        if obj is not None:
            metrics[name] = _metric(obj, where, numerator, denominator, components, ends)
    reported_to = ahr_end or (max(ends) if ends else None)
    if reported_to is None:
        raise InvalidInput(
            N_(
                "{path}: the report gives no reportingDateTo, neither for the Account Health "
                "Rating nor for any metric, so its date is unknown"
            ),
            code="no_report_date",
            path=path,
            details={"path": f"{path}.accountHealthRating.reportingDateRange.reportingDateTo"},
        )
    report_date = last_local_day(reported_to, zone)
    warnings, states = _warnings(item, path)
    unknown = sorted(key for key in item if key not in KNOWN_ITEM_KEYS)
    for key in unknown:
        if control_character(key) is not None:
            raise _hostile(path, key)
    figures = {
        "version": FIGURES_VERSION,
        "marketplace_id": item.get("marketplaceId"),
        "report_date": report_date.isoformat(),
        "reported_to": format_instant(reported_to),
        "account_status": account_status,
        "ahr": ahr,
        "metrics": dict(sorted(metrics.items())),
        "listing_violations": _listing_violations(item, path),
        "policy_violation_warnings": warnings,
        "warning_states": states,
        "unknown_keys": unknown,
    }
    return report_date, reported_to, figures


def normalise_report(report: object, marketplace_id: str, *, zone: tzinfo = UTC) -> ParsedReport:
    """The figures of the ``performanceMetrics`` item of ``marketplace_id`` in a decoded report."""
    if not isinstance(report, dict):
        raise InvalidInput(
            N_("The file is not a V2 seller performance report: expected a JSON object"),
            code="not_a_report",
            details={"path": "$", "found": _kind(report)},
        )
    items = report.get("performanceMetrics")
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise InvalidInput(
            N_("The report has no performanceMetrics array"),
            code="no_performance_metrics",
            details={"path": "performanceMetrics", "found": _kind(items)},
        )
    seen: list[str] = []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        found = item.get("marketplaceId")
        if isinstance(found, str):
            seen.append(found)
        if found == marketplace_id:
            report_date, reported_to, figures = normalise_item(
                item,
                f"performanceMetrics[{n}]",
                account_status=_account_status(report, marketplace_id),
                zone=zone,
            )
            return ParsedReport(marketplace_id, report_date, reported_to, figures)
    raise InvalidInput(
        N_(
            "performanceMetrics has no item for marketplace {marketplace_id} "
            "(the report has: {found})"
        ),
        code="marketplace_not_in_report",
        marketplace_id=marketplace_id,
        found=", ".join(seen) or "-",
        details={"path": "performanceMetrics", "marketplace_id": marketplace_id, "found": seen},
    )


def parse_v2_report(data: bytes, marketplace_id: str, *, zone: tzinfo = UTC) -> ParsedReport:
    """Read a V2 report file; ``zone`` is the store's time zone (it decides the report date)."""
    if len(data) > MAX_REPORT_BYTES:
        raise InvalidInput(
            N_("The report is larger than {limit} bytes"),
            code="report_too_large",
            status=413,
            limit=MAX_REPORT_BYTES,
            details={"size": len(data), "limit": MAX_REPORT_BYTES},
        )
    text = data.removeprefix(b"\xef\xbb\xbf")  # a byte-order mark is not part of the JSON
    try:
        report = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(
            N_("The file is not valid JSON: {reason}"),
            code="invalid_json",
            status=400,
            reason=str(exc),
            details={"path": "$", "reason": str(exc)},
        ) from None
    return normalise_report(report, marketplace_id, zone=zone)
