"""Coverage: which kinds of data feed each health metric, and whether tsunagu has them for the
metric's window (ADR 0033).

A metric computed without one of its inputs looks better than it is: an order defect rate with
no claims source counts no claims. So every metric says which *sources* (kinds of data: orders,
ship promises, claims …) it needs and, for each, whether it is present for the window, and a
store with a deciding metric that lacks a source is "incomplete data" rather than "healthy".
Where a recent Amazon V2 report is stored, its figures stand in for what tsunagu cannot count.

A source is present for a window (local days ``first`` … ``last``, evaluated at ``cutoff``) when
one of these holds (ADR 0033):

* **events** — an event of that kind for the store has its instant from the start of ``first``
  up to ``cutoff``;
* **import** — a file that carries that kind was imported for the store (a finished run) at or
  after the start of ``first``: the file was looked at and simply held nothing of it;
* **feed** — the store received events through tsunagu's own event contract (the API, an events
  file, the demo) in that span: such a sender passes on every kind of event it has.

The pure part (everything but :func:`store_coverage`) takes what the repository found and
decides; :func:`store_coverage` reads it. Never commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tsunagu.health import repo
from tsunagu.health.metrics import MetricResult, start_of_day
from tsunagu.health.rules import StoreHealth

#: every source kind, in the order the pages list them
SOURCES: tuple[str, ...] = (
    "orders",
    "promises",
    "shipments",
    "tracking",
    "carrier_scans",
    "feedback",
    "claims",
    "chargebacks",
    "returns",
    "messages",
    "surveys",
    "invoices",
    "violations",
)

#: the kinds of data each event type brings
EVENT_SOURCES: Mapping[str, frozenset[str]] = {
    "order_placed": frozenset({"orders"}),
    "order_cancelled": frozenset({"orders"}),
    "order_promise_set": frozenset({"promises"}),
    "order_shipped": frozenset({"shipments", "tracking"}),
    "tracking_scanned": frozenset({"carrier_scans"}),
    "order_delivered": frozenset({"carrier_scans"}),
    "feedback_posted": frozenset({"feedback"}),
    "feedback_removed": frozenset({"feedback"}),
    "claim_filed": frozenset({"claims"}),
    "claim_decided": frozenset({"claims"}),
    "chargeback_filed": frozenset({"chargebacks"}),
    "chargeback_decided": frozenset({"chargebacks"}),
    "return_requested": frozenset({"returns"}),
    "return_resolved": frozenset({"returns"}),
    "message_received": frozenset({"messages"}),
    "message_answered": frozenset({"messages"}),
    "message_no_response_needed": frozenset({"messages"}),
    "cs_survey_answered": frozenset({"surveys"}),
    "invoice_uploaded": frozenset({"invoices"}),
    "violation_opened": frozenset({"violations"}),
    "violation_resolved": frozenset({"violations"}),
}

#: The kinds of data each Amazon file carries, by import kind (``import_runs.kind``, also the
#: ``source`` of the events the file brings). An event from such a file brings only these kinds:
#: the All Orders report's "shipped" has no ship time and no tracking number.
FILE_SOURCES: Mapping[str, frozenset[str]] = {
    "amazon-orders": frozenset({"orders"}),
    "amazon-unshipped": frozenset({"promises"}),
    "amazon-feedback": frozenset({"feedback"}),
    "amazon-settlement": frozenset({"claims", "chargebacks"}),
    # the Returns report flags only the claims that came with a return: not a claims source
    "amazon-returns": frozenset({"returns"}),
    # the seller's own confirmations: ship dates and tracking numbers, never a carrier's scan
    "amazon-shipconfirm": frozenset({"shipments", "tracking"}),
    "amazon-afn-shipments": frozenset({"shipments", "tracking"}),
}

#: the sources each metric needs
METRIC_SOURCES: Mapping[str, tuple[str, ...]] = {
    "order_defect_rate_mfn": ("orders", "feedback", "claims", "chargebacks"),
    "order_defect_rate_afn": ("orders", "feedback", "claims", "chargebacks"),
    "late_shipment_rate_10": ("orders", "promises", "shipments"),
    "late_shipment_rate_30": ("orders", "promises", "shipments"),
    "pre_fulfillment_cancel_rate": ("orders",),
    "valid_tracking_rate": ("orders", "promises", "tracking", "carrier_scans"),
    "on_time_delivery_rate": ("orders", "promises", "tracking", "carrier_scans"),
    "contact_response": ("messages",),
    "return_dissatisfaction_rate": ("returns",),
    "customer_service_dissatisfaction_rate": ("surveys",),
    "invoice_defect_rate": ("orders", "shipments", "invoices"),
}
#: the Account Health Rating's own inputs: the sales credit and the violations
RATING = "rating"
RATING_SOURCES: tuple[str, ...] = ("orders", "violations")

#: The metrics whose verdict decides whether a store can be called healthy (the ones Amazon
#: acts on, as the ``metrics`` profile of the rating penalises them).
DECIDING: tuple[str, ...] = (
    "order_defect_rate_mfn",
    "order_defect_rate_afn",
    "late_shipment_rate_30",
    "pre_fulfillment_cancel_rate",
    "valid_tracking_rate",
    "contact_response",
    "return_dissatisfaction_rate",
)

#: a source's count among the components of Amazon's metric (the V2 report's ODR)
AMAZON_COMPONENTS: Mapping[str, str] = {
    "feedback": "negativeFeedback",
    "claims": "claims",
    "chargebacks": "chargebacks",
}

#: finished import runs (``import_runs.status``)
FINISHED_RUNS: tuple[str, ...] = ("done", "done_with_rejections")

#: a source of events that is not an Amazon file (``events.source``) is the store's event feed
AMAZON_FILE_PREFIX = "amazon-"

State = Literal["events", "import", "feed", "amazon", "missing"]
PRESENT_STATES: frozenset[str] = frozenset({"events", "import", "feed"})
Verdict = Literal["complete", "from_amazon", "incomplete"]


@dataclass(frozen=True)
class CoverageConfig:
    """The knobs of ADR 0033."""

    #: an Amazon report stands in for missing sources when its report date is at most this many
    #: days before the evaluation day
    snapshot_max_age_days: int = 14
    #: whether events sent through tsunagu's event contract count as a feed of every kind
    event_feed_is_complete: bool = True


DEFAULT_CONFIG = CoverageConfig()


# --------------------------------------------------------------------------- evidence


@dataclass(frozen=True)
class Evidence:
    """What the repository found for one store, before ``cutoff``: the latest event instant of
    each source kind, the latest instant of any event from the store's feed, and the latest
    finished import of a file carrying each source kind."""

    events: Mapping[str, datetime] = field(default_factory=dict)
    feed: datetime | None = None
    imports: Mapping[str, datetime] = field(default_factory=dict)


def sources_of_event(event_type: str, source: str) -> frozenset[str]:
    """The kinds of data an event brings: those of its type, narrowed to what its file carries
    when it came from an Amazon file tsunagu knows."""
    kinds = EVENT_SOURCES.get(event_type, frozenset())
    carried = FILE_SOURCES.get(source)
    return kinds & carried if carried is not None else kinds


def is_feed(source: str) -> bool:
    return not source.startswith(AMAZON_FILE_PREFIX)


def evidence_of(
    events: Iterable[tuple[str, str, datetime]],
    imports: Iterable[tuple[str, datetime]],
) -> Evidence:
    """Evidence from the latest instant of each (event type, event source) and the latest
    finished import of each import kind."""
    latest: dict[str, datetime] = {}
    feed: datetime | None = None
    for event_type, source, at in events:
        for kind in sources_of_event(event_type, source):
            if kind not in latest or at > latest[kind]:
                latest[kind] = at
        if is_feed(source) and (feed is None or at > feed):
            feed = at
    carried: dict[str, datetime] = {}
    for run_kind, finished in imports:
        for kind in FILE_SOURCES.get(run_kind, frozenset()):
            if kind not in carried or finished > carried[kind]:
                carried[kind] = finished
    return Evidence(latest, feed, carried)


def source_state(
    source: str, start: datetime, evidence: Evidence, config: CoverageConfig = DEFAULT_CONFIG
) -> State:
    """Whether ``source`` is present from ``start`` on (the evidence stops at the cut-off)."""
    at = evidence.events.get(source)
    if at is not None and at >= start:
        return "events"
    imported = evidence.imports.get(source)
    if imported is not None and imported >= start:
        return "import"
    if config.event_feed_is_complete and evidence.feed is not None and evidence.feed >= start:
        return "feed"
    return "missing"


# --------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class SourceCoverage:
    source: str
    state: State
    #: Amazon's count for this source when it stands in for it (the V2 ODR's components)
    amazon_count: int | None = None

    @property
    def present(self) -> bool:
        return self.state in PRESENT_STATES


@dataclass(frozen=True)
class AmazonFigure:
    """One metric as Amazon's report gives it (rates are fractions)."""

    rate: float | None
    numerator: int | None
    denominator: int | None
    status: str | None
    target: float | None
    components: Mapping[str, int | None]

    @classmethod
    def of(cls, figures: Mapping[str, Any]) -> AmazonFigure:
        return cls(
            rate=figures.get("rate"),
            numerator=figures.get("numerator"),
            denominator=figures.get("denominator"),
            status=figures.get("status"),
            target=figures.get("target"),
            components=dict(figures.get("components") or {}),
        )

    @property
    def has_figure(self) -> bool:
        return self.rate is not None or self.numerator is not None


@dataclass(frozen=True)
class MetricCoverage:
    """A metric's sources over its window and what that makes of its figure: ``complete``
    (every source present), ``from_amazon`` (a source missing, Amazon's report stands in) or
    ``incomplete``."""

    metric: str
    window_from: date
    window_to: date
    sources: tuple[SourceCoverage, ...]
    verdict: Verdict
    #: Amazon's figure for the metric from the snapshot in use, when it has one
    amazon: AmazonFigure | None = None

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(s.source for s in self.sources if not s.present)


@dataclass(frozen=True)
class StoreCoverage:
    seller_id: str
    marketplace: str
    day: date
    metrics: Mapping[str, MetricCoverage]
    rating: MetricCoverage
    #: the Amazon report standing in for missing sources, if one is recent enough
    snapshot_id: str | None = None
    snapshot_date: date | None = None

    @property
    def incomplete(self) -> bool:
        """A deciding metric or the rating lacks a source that no Amazon report stands in for."""
        deciding = [self.metrics[name] for name in DECIDING if name in self.metrics]
        return any(m.verdict == "incomplete" for m in [*deciding, self.rating])

    @property
    def data_status(self) -> str:
        """``complete`` or ``incomplete``: what the pages show instead of a plain "healthy"."""
        return "incomplete" if self.incomplete else "complete"

    def incomplete_metrics(self) -> list[str]:
        return [name for name, m in self.metrics.items() if m.verdict == "incomplete"]


def metric_coverage(
    name: str,
    sources: Iterable[str],
    window: tuple[date, date],
    zone: ZoneInfo,
    evidence: Evidence,
    amazon: AmazonFigure | None,
    config: CoverageConfig = DEFAULT_CONFIG,
) -> MetricCoverage:
    """A metric's (or the rating's) coverage over ``window``; ``amazon``: the figure of a
    recent Amazon report, which stands in for missing sources when it has one."""
    start = start_of_day(window[0], zone)
    states = [(source, source_state(source, start, evidence, config)) for source in sources]
    stands_in = amazon is not None and amazon.has_figure
    found: list[SourceCoverage] = []
    for source, state in states:
        if state == "missing" and stands_in and amazon is not None:
            key = AMAZON_COMPONENTS.get(source)
            count = amazon.components.get(key) if key is not None else None
            found.append(SourceCoverage(source, "amazon", count))
        else:
            found.append(SourceCoverage(source, state))
    verdict: Verdict = "complete"
    if any(s.state == "amazon" for s in found):
        verdict = "from_amazon"
    if any(s.state == "missing" for s in found):
        verdict = "incomplete"
    return MetricCoverage(name, window[0], window[1], tuple(found), verdict, amazon)


def _rating_figure(figures: Mapping[str, Any]) -> AmazonFigure | None:
    """The rating's stand-in: Amazon's Account Health Rating when the report has one."""
    ahr = figures.get("ahr") or {}
    score = ahr.get("score")
    if score is None:
        return None
    violations = figures.get("listing_violations") or {}
    counted = [v for v in violations.values() if isinstance(v, int)]
    return AmazonFigure(
        rate=None,
        numerator=int(score),
        denominator=None,
        status=ahr.get("status"),
        target=None,
        components={"violations": sum(counted)} if counted else {},
    )


def coverage_of(
    h: StoreHealth,
    zone: ZoneInfo,
    evidence: Evidence,
    *,
    snapshot_figures: Mapping[str, Any] | None = None,
    snapshot_id: str | None = None,
    snapshot_date: date | None = None,
    rating_window_days: int = 180,
    config: CoverageConfig = DEFAULT_CONFIG,
) -> StoreCoverage:
    """Every metric's coverage and the rating's, from the evidence; ``snapshot_figures``: the
    normalised figures of an Amazon report recent enough to stand in (see :func:`usable`)."""
    amazon_metrics: Mapping[str, Any] = (snapshot_figures or {}).get("metrics") or {}
    metrics: dict[str, MetricCoverage] = {}
    for name, result in h.metrics.items():
        figure = amazon_metrics.get(name)
        metrics[name] = metric_coverage(
            name,
            METRIC_SOURCES.get(name, ("orders",)),
            result.window,
            zone,
            evidence,
            AmazonFigure.of(figure) if figure else None,
            config,
        )
    rating_window = (h.day - timedelta(days=rating_window_days - 1), h.day)
    rating_figure = _rating_figure(snapshot_figures) if snapshot_figures else None
    rating = metric_coverage(
        RATING, RATING_SOURCES, rating_window, zone, evidence, rating_figure, config
    )
    return StoreCoverage(
        h.seller_id,
        h.marketplace,
        h.day,
        metrics,
        rating,
        snapshot_id if snapshot_figures else None,
        snapshot_date if snapshot_figures else None,
    )


def usable(report_date: date, day: date, config: CoverageConfig = DEFAULT_CONFIG) -> bool:
    """An Amazon report stands in on ``day`` when it is from that day or at most
    ``snapshot_max_age_days`` before."""
    return day - timedelta(days=config.snapshot_max_age_days) <= report_date <= day


def earliest_start(h: StoreHealth, zone: ZoneInfo, rating_window_days: int = 180) -> datetime:
    """The earliest instant any window of ``h`` (the rating's included) starts at."""
    firsts = [m.window[0] for m in h.metrics.values()]
    firsts.append(h.day - timedelta(days=rating_window_days - 1))
    return start_of_day(min(firsts), zone)


def effective(m: MetricResult, c: MetricCoverage | None) -> tuple[float | None, str]:
    """The metric's rate and status as the pages judge it: Amazon's when tsunagu lacks a
    source and Amazon's report stands in, else tsunagu's."""
    if c is not None and c.verdict == "from_amazon" and c.amazon is not None:
        status = (c.amazon.status or "").upper()
        if status not in ("GOOD", "BAD", "NONE"):
            status = "NONE"
        if status == "NONE" and c.amazon.rate is not None and c.amazon.target is not None:
            rate, target = c.amazon.rate, c.amazon.target
            ok = rate >= target if m.comparison == ">=" else rate < target
            status = "GOOD" if ok else "BAD"
        return c.amazon.rate, status
    return m.rate, m.status


# --------------------------------------------------------------------------- reading


def store_coverage(
    session: Session,
    h: StoreHealth,
    zone: ZoneInfo,
    *,
    rating_window_days: int = 180,
    config: CoverageConfig = DEFAULT_CONFIG,
) -> StoreCoverage:
    """The coverage of the store's health ``h`` (read from the events, the import runs and the
    latest Amazon report on or before ``h.day``)."""
    start = earliest_start(h, zone, rating_window_days)
    events = repo.latest_event_instants(
        session, h.seller_id, h.marketplace, start=start, end=h.evaluated_at
    )
    imports = repo.latest_finished_imports(session, h.seller_id, h.marketplace, FINISHED_RUNS)
    evidence = evidence_of(events, imports)
    snapshot = repo.latest_snapshot(session, h.seller_id, h.marketplace, h.day)
    figures: Mapping[str, Any] | None = None
    snapshot_date: date | None = None
    if snapshot is not None:
        snapshot_date = date.fromisoformat(snapshot.report_date)
        if usable(snapshot_date, h.day, config):
            figures = snapshot.figures
    return coverage_of(
        h,
        zone,
        evidence,
        snapshot_figures=figures,
        snapshot_id=snapshot.id if snapshot is not None else None,
        snapshot_date=snapshot_date,
        rating_window_days=rating_window_days,
        config=config,
    )
