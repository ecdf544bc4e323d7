"""A store's health shaped like Amazon's ``GET_V2_SELLER_PERFORMANCE_REPORT`` (amazon-domain.md §3.2).

Pure shaping: it takes a computed :class:`~tsunagu.health.rules.StoreHealth` and the
marketplace, and returns plain JSON-ready dicts. Nothing is recomputed here.

- Rates and targets are fractions (0.01 = 1%). Amazon's schema types every ``rate`` as a
  number, so a rate with nothing to measure (denominator 0) is written ``0.0`` with its counts
  at 0 and status ``NONE``, the schema's "no status" value; ``NONE`` is what says "no data",
  never the ``0.0`` (see :func:`v2_report`).
- ``reportingDateRange`` holds the UTC instants bounding the window's local days in the store's
  zone: ``reportingDateFrom`` is local midnight at the start of the first day and
  ``reportingDateTo`` is local midnight after the last day (end exclusive), both as
  ``YYYY-MM-DDTHH:MM:SSZ``.
- ``accountStatuses`` carries the store's account status as the enforcement slice decided it,
  in Amazon's words (``UNDER_REVIEW`` is shown as ``AT_RISK``), passed in by the caller; without
  one it follows the AHR band (NORMAL, AT_RISK, DEACTIVATED).
- Metrics Amazon's schema has no place for are under keys prefixed ``tsunagu``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from tsunagu.health.metrics import MetricResult, end_of_day, start_of_day
from tsunagu.health.rules import StoreHealth
from tsunagu.marketplaces.registry import Marketplace

#: The listing-level violation keys of the V2 report (amazon-domain.md §2.3).
LISTING_VIOLATION_KEYS: tuple[str, ...] = (
    "listingPolicyViolations",
    "productAuthenticityCustomerComplaints",
    "productConditionCustomerComplaints",
    "productSafetyCustomerComplaints",
    "receivedIntellectualPropertyComplaints",
    "suspectedIntellectualPropertyViolations",
    "restrictedProductPolicyViolations",
    "foodAndProductSafetyIssues",
    "otherPolicyViolations",
    "documentRequests",
    "customerProductReviewsPolicyViolations",
)

#: The keys every ``performanceMetrics`` item must carry (schema ``required`` list, §3.2).
REQUIRED_METRIC_KEYS: tuple[str, ...] = (
    "marketplaceId",
    "accountHealthRating",
    "orderDefectRate",
    "lateShipmentRate",
    "preFulfillmentCancellationRate",
    "validTrackingRate",
    "onTimeDeliveryRate",
    "unitOnTimeDeliveryRate",
    "invoiceDefectRate",
    "warningStates",
    *LISTING_VIOLATION_KEYS,
)

_ACCOUNT_STATUS = {"healthy": "NORMAL", "at_risk": "AT_RISK", "unhealthy": "DEACTIVATED"}

#: tsunagu compares "<" as LESS_THAN; its ">=" (valid tracking, contact response) and ">"
#: (on-time delivery) are both reported as Amazon's GREATER_THAN, the only "at least" value the
#: schema's TargetCondition enum has. The status itself is computed with tsunagu's comparison.
_CONDITION = {"<": "LESS_THAN", ">=": "GREATER_THAN", ">": "GREATER_THAN"}

_AHR_DAYS = 180


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def date_range(first: date, last: date, zone: ZoneInfo) -> dict[str, str]:
    """The UTC instants bounding the local days ``first`` … ``last`` (end exclusive)."""
    return {
        "reportingDateFrom": _instant(start_of_day(first, zone)),
        "reportingDateTo": _instant(end_of_day(last, zone)),
    }


def _component_status(count: int, total: int, m: MetricResult) -> str:
    """A component (claims, chargebacks…) judged on its own against the metric's target."""
    if total == 0:
        return "NONE"
    share = Fraction(count, total)
    target = Fraction(str(m.target))
    met = share < target if m.comparison == "<" else share >= target
    return "GOOD" if met else "BAD"


def _rate(m: MetricResult) -> float:
    """The schema's number for ``m``: its rate, or ``0.0`` when it has nothing to measure.

    tsunagu leaves such a rate undefined (``None``, status ``NONE``); the schema has no null
    ``rate``, so the report writes ``0.0`` beside the zero counts and the ``NONE`` status."""
    return 0.0 if m.rate is None else m.rate


def _common(m: MetricResult, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "status": m.status,
        "rate": _rate(m),
        "targetValue": m.target,
        "targetCondition": _CONDITION[m.comparison],
        "reportingDateRange": date_range(m.window[0], m.window[1], zone),
    }


def _component(m: MetricResult, name: str) -> dict[str, Any]:
    """One component of ``m`` (claims, missing invoices…): its count and its own status."""
    count = m.components.get(name, 0)
    return {"count": count, "status": _component_status(count, m.denominator, m)}


def _odr(m: MetricResult, channel: str, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "reportingDateRange": date_range(m.window[0], m.window[1], zone),
        "orderCount": m.denominator,
        "orderWithDefects": {"count": m.numerator, "status": m.status},
        "claims": _component(m, "claims"),
        "chargebacks": _component(m, "chargebacks"),
        "negativeFeedback": _component(m, "negativeFeedback"),
        "fulfillmentType": channel,
        **_common(m, zone),
    }


def _counted(m: MetricResult, zone: ZoneInfo, numerator: str, denominator: str) -> dict[str, Any]:
    """A metric written as its two counts, under the schema's names, and the common fields."""
    return {denominator: m.denominator, numerator: m.numerator, **_common(m, zone)}


def _late_shipment(m: MetricResult, zone: ZoneInfo) -> dict[str, Any]:
    return _counted(m, zone, "lateShipmentCount", "orderCount")


def _invoice(m: MetricResult, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "orderCount": m.denominator,
        "invoiceDefect": {"count": m.numerator, "status": m.status},
        "missingInvoice": _component(m, "missingInvoice"),
        "lateInvoice": _component(m, "lateInvoice"),
        **_common(m, zone),
    }


def _unit_on_time_delivery(otdr: MetricResult, zone: ZoneInfo) -> dict[str, Any]:
    """Never measured (tsunagu does not count units): the on-time delivery window and target
    with zero counts and status ``NONE``."""
    return {
        "reportingDateRange": date_range(otdr.window[0], otdr.window[1], zone),
        "unitOnTimeDeliveryCount": 0,
        "totalUnitCount": 0,
        "status": "NONE",
        "rate": 0.0,
        "targetValue": otdr.target,
        "targetCondition": "GREATER_THAN",
        "tsunaguNote": (
            "Amazon reports unit on-time delivery for the US marketplace only; "
            "tsunagu does not count units, so this metric is never measured."
        ),
    }


def _performance_metrics(metrics: Mapping[str, MetricResult], zone: ZoneInfo) -> dict[str, Any]:
    """The metrics Amazon's schema has a place for, from ``orderDefectRate`` to
    ``invoiceDefectRate``, in the schema's order."""
    otdr = metrics["on_time_delivery_rate"]
    return {
        "orderDefectRate": {
            "mfn": _odr(metrics["order_defect_rate_mfn"], "mfn", zone),
            "afn": _odr(metrics["order_defect_rate_afn"], "afn", zone),
        },
        "lateShipmentRate": _late_shipment(metrics["late_shipment_rate_30"], zone),
        "lateShipmentRateList": [
            _late_shipment(metrics["late_shipment_rate_10"], zone),
            _late_shipment(metrics["late_shipment_rate_30"], zone),
        ],
        "preFulfillmentCancellationRate": _counted(
            metrics["pre_fulfillment_cancel_rate"], zone, "cancellationCount", "orderCount"
        ),
        "validTrackingRate": _counted(
            metrics["valid_tracking_rate"], zone, "validTrackingCount", "shipmentCount"
        ),
        "onTimeDeliveryRate": _counted(
            otdr, zone, "onTimeDeliveryCount", "shipmentCountWithValidTracking"
        ),
        "unitOnTimeDeliveryRate": _unit_on_time_delivery(otdr, zone),
        "invoiceDefectRate": _invoice(metrics["invoice_defect_rate"], zone),
    }


def _open_by_policy(h: StoreHealth) -> Counter[str]:
    """Open violations per policy on the day: every violation or critical term of the rating."""
    seen: dict[str, str] = {}
    for v in h.open_violations:
        seen[v.violation_id] = v.policy
    for t in h.rating.terms:
        if t.kind in ("violation", "critical") and t.violation_id and t.policy:
            seen.setdefault(t.violation_id, t.policy)
    return Counter(seen.values())


def _listing_violations(h: StoreHealth, ahr_range: dict[str, str]) -> dict[str, Any]:
    """One entry per listing-level violation key: the open violations of its policies."""
    open_by_policy = _open_by_policy(h)
    counts = {key: open_by_policy.get(key, 0) for key in LISTING_VIOLATION_KEYS}
    # policies tsunagu stores that have no V2 key are counted under otherPolicyViolations
    counts["otherPolicyViolations"] += sum(
        n for policy, n in open_by_policy.items() if policy not in counts
    )
    return {
        key: {
            "defectsCount": n,
            "status": "BAD" if n else "GOOD",
            "targetValue": 0,
            "targetCondition": "EQUALS",
            "reportingDateRange": ahr_range,
        }
        for key, n in counts.items()
    }


def _tsunagu_metrics(h: StoreHealth, zone: ZoneInfo) -> dict[str, Any]:
    """What Amazon's schema has no place for, under keys prefixed ``tsunagu``."""
    metrics = h.metrics
    contact = metrics["contact_response"]
    return {
        "tsunaguContactResponse": {
            **_counted(contact, zone, "responseUnder24HoursCount", "contactCount"),
            "averageResponseTimeInHours": contact.average_response_hours,
        },
        "tsunaguReturnDissatisfactionRate": _counted(
            metrics["return_dissatisfaction_rate"], zone, "negativeReturnCount", "returnCount"
        ),
        "tsunaguCustomerServiceDissatisfactionRate": _counted(
            metrics["customer_service_dissatisfaction_rate"],
            zone,
            "dissatisfiedCount",
            "responseCount",
        ),
        "tsunaguFulfilledOrders": h.fulfilled_orders,
        "tsunaguBand": h.rating.band,
        "tsunaguProfile": h.rating.profile,
        "tsunaguNotMeasurable": {name: m.not_measurable for name, m in metrics.items()},
    }


def v2_report(
    h: StoreHealth, marketplace: Marketplace, account_status: str | None = None
) -> dict[str, Any]:
    """The V2 performance report of one store on ``h.day``, valid for Amazon's schema.

    The schema is ``schemas/reports/accountHealthReport-2020-11-18.json`` in Amazon's
    ``amzn/selling-partner-api-models`` (tests keep a copy and validate against it). It requires
    a number for every ``rate``. Where tsunagu has nothing to measure (no order, shipment or
    invoice in the window) the metric is still written, as the schema requires, with its counts
    at 0, ``rate`` 0.0 and status ``NONE``; no figure is made up, and a reader tells "no data"
    from a measured 0% by the status (a measured rate is always ``GOOD`` or ``BAD``) or by the
    zero denominator.
    ``unitOnTimeDeliveryRate`` is always of that kind: tsunagu does not count units.
    """
    zone = marketplace.tz
    mid = marketplace.marketplace_id
    ahr_range = date_range(h.day - timedelta(days=_AHR_DAYS - 1), h.day, zone)
    item: dict[str, Any] = {
        "marketplaceId": mid,
        "accountHealthRating": {
            "ahrStatus": "GREAT" if h.rating.band == "healthy" else "WARNED",
            "ahrScore": h.rating.score,
            "reportingDateRange": ahr_range,
        },
        **_performance_metrics(h.metrics, zone),
        "warningStates": [],
        **_listing_violations(h, ahr_range),
        **_tsunagu_metrics(h, zone),
    }
    return {
        "accountStatuses": [
            {"marketplaceId": mid, "status": account_status or _ACCOUNT_STATUS[h.rating.band]}
        ],
        "performanceMetrics": [item],
    }
