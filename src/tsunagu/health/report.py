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
- ``accountStatuses`` follows the AHR band (NORMAL, AT_RISK, DEACTIVATED) — a placeholder until
  enforcement decisions exist.
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


def _odr(m: MetricResult, channel: str, zone: ZoneInfo) -> dict[str, Any]:
    total = m.denominator

    def part(count: int) -> dict[str, Any]:
        return {"count": count, "status": _component_status(count, total, m)}

    return {
        "reportingDateRange": date_range(m.window[0], m.window[1], zone),
        "orderCount": total,
        "orderWithDefects": {"count": m.numerator, "status": m.status},
        "claims": part(m.components.get("claims", 0)),
        "chargebacks": part(m.components.get("chargebacks", 0)),
        "negativeFeedback": part(m.components.get("negativeFeedback", 0)),
        "fulfillmentType": channel,
        **_common(m, zone),
    }


def _late_shipment(m: MetricResult, zone: ZoneInfo) -> dict[str, Any]:
    return {"orderCount": m.denominator, "lateShipmentCount": m.numerator, **_common(m, zone)}


def _invoice(m: MetricResult, zone: ZoneInfo) -> dict[str, Any]:
    total = m.denominator

    def part(count: int) -> dict[str, Any]:
        return {"count": count, "status": _component_status(count, total, m)}

    return {
        "orderCount": total,
        "invoiceDefect": {"count": m.numerator, "status": m.status},
        "missingInvoice": part(m.components.get("missingInvoice", 0)),
        "lateInvoice": part(m.components.get("lateInvoice", 0)),
        **_common(m, zone),
    }


def _extra(m: MetricResult, zone: ZoneInfo, numerator: str, denominator: str) -> dict[str, Any]:
    return {denominator: m.denominator, numerator: m.numerator, **_common(m, zone)}


def _open_by_policy(h: StoreHealth) -> Counter[str]:
    """Open violations per policy on the day: every violation or critical term of the rating."""
    seen: dict[str, str] = {}
    for v in h.open_violations:
        seen[v.violation_id] = v.policy
    for t in h.rating.terms:
        if t.kind in ("violation", "critical") and t.violation_id and t.policy:
            seen.setdefault(t.violation_id, t.policy)
    return Counter(seen.values())


def v2_report(h: StoreHealth, marketplace: Marketplace) -> dict[str, Any]:
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
    metrics: Mapping[str, MetricResult] = h.metrics
    mid = marketplace.marketplace_id
    ahr_range = date_range(h.day - timedelta(days=_AHR_DAYS - 1), h.day, zone)
    open_by_policy = _open_by_policy(h)
    counts = {key: open_by_policy.get(key, 0) for key in LISTING_VIOLATION_KEYS}
    # policies tsunagu stores that have no V2 key are counted under otherPolicyViolations
    counts["otherPolicyViolations"] += sum(
        n for policy, n in open_by_policy.items() if policy not in counts
    )
    listing = {
        key: {
            "defectsCount": n,
            "status": "BAD" if n else "GOOD",
            "targetValue": 0,
            "targetCondition": "EQUALS",
            "reportingDateRange": ahr_range,
        }
        for key, n in counts.items()
    }

    vtr = metrics["valid_tracking_rate"]
    otdr = metrics["on_time_delivery_rate"]
    cancel = metrics["pre_fulfillment_cancel_rate"]
    contact = metrics["contact_response"]
    item: dict[str, Any] = {
        "marketplaceId": mid,
        "accountHealthRating": {
            "ahrStatus": "GREAT" if h.rating.band == "healthy" else "WARNED",
            "ahrScore": h.rating.score,
            "reportingDateRange": ahr_range,
        },
        "orderDefectRate": {
            "mfn": _odr(metrics["order_defect_rate_mfn"], "mfn", zone),
            "afn": _odr(metrics["order_defect_rate_afn"], "afn", zone),
        },
        "lateShipmentRate": _late_shipment(metrics["late_shipment_rate_30"], zone),
        "lateShipmentRateList": [
            _late_shipment(metrics["late_shipment_rate_10"], zone),
            _late_shipment(metrics["late_shipment_rate_30"], zone),
        ],
        "preFulfillmentCancellationRate": {
            "orderCount": cancel.denominator,
            "cancellationCount": cancel.numerator,
            **_common(cancel, zone),
        },
        "validTrackingRate": {
            "shipmentCount": vtr.denominator,
            "validTrackingCount": vtr.numerator,
            **_common(vtr, zone),
        },
        "onTimeDeliveryRate": {
            "shipmentCountWithValidTracking": otdr.denominator,
            "onTimeDeliveryCount": otdr.numerator,
            **_common(otdr, zone),
        },
        "unitOnTimeDeliveryRate": {
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
        },
        "invoiceDefectRate": _invoice(metrics["invoice_defect_rate"], zone),
        "warningStates": [],
        **listing,
        "tsunaguContactResponse": {
            **_extra(contact, zone, "responseUnder24HoursCount", "contactCount"),
            "averageResponseTimeInHours": contact.average_response_hours,
        },
        "tsunaguReturnDissatisfactionRate": _extra(
            metrics["return_dissatisfaction_rate"], zone, "negativeReturnCount", "returnCount"
        ),
        "tsunaguCustomerServiceDissatisfactionRate": _extra(
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
    return {
        "accountStatuses": [{"marketplaceId": mid, "status": _ACCOUNT_STATUS[h.rating.band]}],
        "performanceMetrics": [item],
    }
