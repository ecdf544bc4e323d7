"""The JSON shapes of account health (API and ``--json``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from tsunagu.health.alert_service import AlertCheck
from tsunagu.health.coverage import MetricCoverage, StoreCoverage
from tsunagu.health.metrics import MetricResult
from tsunagu.health.models import HealthAlert
from tsunagu.health.rules import Rating, StoreHealth, Term
from tsunagu.health.service import StoreForecast, StoreWhatIf
from tsunagu.health.snapshots import RATE_TOLERANCE, Comparison, Snapshot, SnapshotImport


def _store_day(found: StoreHealth | StoreForecast | StoreWhatIf) -> dict[str, Any]:
    """The fields that open every answer about one store on one day."""
    return {
        "seller_id": found.seller_id,
        "marketplace": found.marketplace,
        "day": found.day,
        "evaluated_at": found.evaluated_at,
        "fulfilled_orders": found.fulfilled_orders,
    }


class MetricOut(BaseModel):
    name: str = Field(examples=["late_shipment_rate_30"])
    numerator: int
    denominator: int
    rate: float | None = Field(description="A fraction; null when nothing is measurable.")
    target: float
    comparison: str = Field(description="How the rate must compare with the target.")
    status: str = Field(description="GOOD, BAD or NONE.")
    not_measurable: int
    window_from: date
    window_to: date
    components: dict[str, int]
    ids: list[str] = Field(
        description="The orders, messages or returns behind the numerator: listed by the explain "
        "route and `health explain`; empty in health summaries."
    )
    average_response_hours: float | None = None

    @classmethod
    def of(cls, m: MetricResult, *, with_ids: bool = True) -> MetricOut:
        return cls(
            name=m.name,
            numerator=m.numerator,
            denominator=m.denominator,
            rate=m.rate,
            target=m.target,
            comparison=m.comparison,
            status=m.status,
            not_measurable=m.not_measurable,
            window_from=m.window[0],
            window_to=m.window[1],
            components=dict(m.components),
            ids=list(m.ids) if with_ids else [],
            average_response_hours=m.average_response_hours,
        )


class TermOut(BaseModel):
    kind: str = Field(description="base, sales_credit, violation, critical, metric, floor, clamp")
    points: int
    label: str
    violation_id: str | None = None
    policy: str | None = None
    severity: str | None = None
    repeat: int | None = None
    opened_on: date | None = None
    ages_out_on: date | None = None
    orders: int | None = None
    metric: str | None = None

    @classmethod
    def of(cls, t: Term) -> TermOut:
        return cls(
            kind=t.kind,
            points=t.points,
            label=t.label,
            violation_id=t.violation_id,
            policy=t.policy,
            severity=t.severity,
            repeat=t.repeat,
            opened_on=t.opened_on,
            ages_out_on=t.ages_out_on,
            orders=t.orders,
            metric=t.metric,
        )


class RatingOut(BaseModel):
    score: int = Field(ge=0, le=1000)
    band: str = Field(description="healthy, at_risk or unhealthy.")
    profile: str
    terms: list[TermOut] = Field(description="Their points add up to the score.")

    @classmethod
    def of(cls, r: Rating) -> RatingOut:
        return cls(
            score=r.score,
            band=r.band,
            profile=r.profile,
            terms=[TermOut.of(t) for t in r.terms],
        )


class SourceCoverageOut(BaseModel):
    source: str = Field(
        description="orders, promises, shipments, tracking, carrier_scans, feedback, claims, "
        "chargebacks, returns, messages, surveys, invoices or violations.",
        examples=["claims"],
    )
    state: str = Field(
        description="events (events of this kind in the window), import (a file carrying it "
        "was imported since the window began), feed (the store's event feed covers the "
        "window), amazon (missing, Amazon's report stands in) or missing (ADR 0033)."
    )
    present: bool = Field(description="state is events, import or feed.")
    amazon_count: int | None = Field(
        default=None, description="Amazon's count for this source when its report stands in."
    )


class MetricCoverageOut(BaseModel):
    metric: str = Field(description="A metric name, or rating.", examples=["order_defect_rate_mfn"])
    window_from: date
    window_to: date
    verdict: str = Field(
        description="complete, from_amazon (a source is missing and Amazon's report stands "
        "in) or incomplete (a source is missing and nothing stands in)."
    )
    missing: list[str] = Field(description="The sources not present for the window.")
    sources: list[SourceCoverageOut]
    amazon_rate: float | None = Field(default=None, description="Amazon's rate, a fraction.")
    amazon_numerator: int | None = None
    amazon_denominator: int | None = None
    amazon_status: str | None = None

    @classmethod
    def of(cls, c: MetricCoverage) -> MetricCoverageOut:
        a = c.amazon
        return cls(
            metric=c.metric,
            window_from=c.window_from,
            window_to=c.window_to,
            verdict=c.verdict,
            missing=list(c.missing),
            sources=[
                SourceCoverageOut(
                    source=s.source, state=s.state, present=s.present, amazon_count=s.amazon_count
                )
                for s in c.sources
            ],
            amazon_rate=None if a is None else a.rate,
            amazon_numerator=None if a is None else a.numerator,
            amazon_denominator=None if a is None else a.denominator,
            amazon_status=None if a is None else a.status,
        )


class CoverageOut(BaseModel):
    """Which sources feed each metric and whether they are present for its window (ADR 0033)."""

    data_status: str = Field(
        description="complete, or incomplete: a deciding metric or the rating lacks a source "
        'that no recent Amazon report stands in for (show "incomplete data", not '
        '"healthy").'
    )
    incomplete_metrics: list[str]
    snapshot_id: str | None = Field(
        description="The Amazon report standing in for missing sources; null when none is "
        "recent enough."
    )
    snapshot_date: date | None
    rating: MetricCoverageOut
    metrics: list[MetricCoverageOut]

    @classmethod
    def of(cls, c: StoreCoverage) -> CoverageOut:
        return cls(
            data_status=c.data_status,
            incomplete_metrics=c.incomplete_metrics(),
            snapshot_id=c.snapshot_id,
            snapshot_date=c.snapshot_date,
            rating=MetricCoverageOut.of(c.rating),
            metrics=[MetricCoverageOut.of(m) for m in c.metrics.values()],
        )


class StoreHealthOut(BaseModel):
    seller_id: str
    marketplace: str = Field(examples=["JP"])
    day: date = Field(description="The evaluation day, in the store's time zone.")
    evaluated_at: datetime = Field(description="The earlier of now and the end of the day.")
    fulfilled_orders: int
    rating: RatingOut
    metrics: list[MetricOut]
    data_status: str | None = Field(
        default=None,
        description="complete or incomplete (coverage.data_status); null where coverage was "
        "not computed.",
    )
    coverage: CoverageOut | None = Field(
        default=None, description="Which sources feed each metric (ADR 0033)."
    )

    @classmethod
    def of(
        cls, h: StoreHealth, *, with_ids: bool = True, coverage: StoreCoverage | None = None
    ) -> StoreHealthOut:
        return cls(
            **_store_day(h),
            rating=RatingOut.of(h.rating),
            metrics=[MetricOut.of(m, with_ids=with_ids) for m in h.metrics.values()],
            data_status=None if coverage is None else coverage.data_status,
            coverage=None if coverage is None else CoverageOut.of(coverage),
        )


class ForecastDayOut(BaseModel):
    day: date = Field(description="A day after the evaluation day, in the store's time zone.")
    score: int = Field(ge=0, le=1000)
    band: str = Field(description="healthy, at_risk or unhealthy.")
    fulfilled_orders: int = Field(description="Orders still in the 180-day window that day.")


class StoreForecastOut(BaseModel):
    seller_id: str
    marketplace: str = Field(examples=["JP"])
    day: date = Field(description="The evaluation day the forecast starts from.")
    evaluated_at: datetime
    fulfilled_orders: int
    current: RatingOut
    days: list[ForecastDayOut] = Field(
        description="Every following day if nothing new happens: no new orders or violations."
    )

    @classmethod
    def of(cls, f: StoreForecast) -> StoreForecastOut:
        return cls(
            **_store_day(f),
            current=RatingOut.of(f.current),
            days=[
                ForecastDayOut(
                    day=d,
                    score=r.score,
                    band=r.band,
                    fulfilled_orders=next(
                        (t.orders or 0 for t in r.terms if t.kind == "sales_credit"), 0
                    ),
                )
                for d, r in f.days
            ],
        )


class StoreWhatIfOut(BaseModel):
    seller_id: str
    marketplace: str = Field(examples=["JP"])
    day: date
    evaluated_at: datetime
    fulfilled_orders: int
    resolve: list[str] = Field(description="Violations supposed resolved on the day.")
    add_orders: int = Field(description="Fulfilled orders supposed added on the day.")
    now: RatingOut
    after: RatingOut
    change: int = Field(description="after.score − now.score")

    @classmethod
    def of(cls, w: StoreWhatIf) -> StoreWhatIfOut:
        return cls(
            **_store_day(w),
            resolve=list(w.resolve),
            add_orders=w.add_orders,
            now=RatingOut.of(w.now),
            after=RatingOut.of(w.after),
            change=w.after.score - w.now.score,
        )


class SnapshotOut(BaseModel):
    """An imported Amazon V2 seller performance report: Amazon's figures for one store."""

    id: str = Field(examples=["hsn_01jd5m3q7x8k2v4b9c6n0p1r2s"])
    seller_id: str
    marketplace: str = Field(examples=["JP"])
    report_date: date = Field(description="The last day the report covers, in the store's zone.")
    imported_at: datetime
    source_name: str = Field(description="The file name given at import.")
    file_sha256: str
    account_status: str | None = Field(description="NORMAL, AT_RISK, DEACTIVATED … as reported.")
    ahr_score: int | float | None = Field(description="Amazon's Account Health Rating, 0–1000.")
    ahr_status: str | None = Field(examples=["GREAT"])
    metrics: list[str] = Field(
        description="The metrics the report holds, by tsunagu's metric names.",
        examples=[["order_defect_rate_mfn", "late_shipment_rate_30"]],
    )
    metric_count: int
    figures: dict[str, object] = Field(
        description="Everything read from the report, normalised: rates and targets are "
        "fractions, date ranges UTC."
    )

    @classmethod
    def of(cls, s: Snapshot) -> SnapshotOut:
        figures = dict(s.figures)
        ahr = figures.get("ahr") or {}
        return cls(
            id=s.id,
            seller_id=s.seller_id,
            marketplace=s.marketplace,
            report_date=date.fromisoformat(s.report_date),
            imported_at=s.imported_at,
            source_name=s.source_name,
            file_sha256=s.file_sha256,
            account_status=figures.get("account_status"),
            ahr_score=ahr.get("score"),
            ahr_status=ahr.get("status"),
            metrics=sorted(figures.get("metrics") or {}),
            metric_count=len(figures.get("metrics") or {}),
            figures=figures,
        )


class SnapshotImportOut(BaseModel):
    outcome: str = Field(
        description="stored, or duplicate: the same file was imported before and nothing was "
        "written (snapshot is the earlier import)."
    )
    snapshot: SnapshotOut

    @classmethod
    def of(cls, i: SnapshotImport) -> SnapshotImportOut:
        return cls(outcome=i.outcome, snapshot=SnapshotOut.of(i.snapshot))


class ComparisonRowOut(BaseModel):
    figure: str = Field(examples=["order_defect_rate_mfn.rate"])
    kind: str = Field(description="rate (a fraction), count, score or text.")
    amazon: int | float | str | None = Field(description="Amazon's value; null when absent.")
    tsunagu: int | float | str | None = Field(description="tsunagu's value; null when absent.")
    difference: str = Field(
        description="same, differs, missing_in_amazon or missing_in_tsunagu. Rates and "
        "targets within the tolerance are the same; counts must be equal."
    )


class HealthComparisonOut(BaseModel):
    seller_id: str
    marketplace: str = Field(examples=["JP"])
    report_date: date = Field(description="The snapshot's report date; tsunagu is evaluated on it.")
    evaluated_at: datetime = Field(description="When tsunagu's side was evaluated.")
    rate_tolerance: float = Field(description="Rates closer than this are the same.")
    counts: dict[str, int] = Field(description="How many rows of each difference.")
    snapshot: SnapshotOut
    rows: list[ComparisonRowOut]

    @classmethod
    def of(cls, c: Comparison) -> HealthComparisonOut:
        return cls(
            seller_id=c.seller_id,
            marketplace=c.marketplace,
            report_date=c.report_date,
            evaluated_at=c.evaluated_at,
            rate_tolerance=RATE_TOLERANCE,
            counts=c.counts(),
            snapshot=SnapshotOut.of(c.snapshot),
            rows=[
                ComparisonRowOut(
                    figure=r.figure,
                    kind=r.kind,
                    amazon=r.amazon,
                    tsunagu=r.tsunagu,
                    difference=r.difference,
                )
                for r in c.rows
            ],
        )


class HistoryDayOut(BaseModel):
    day: date = Field(description="A day of the series, in the store's time zone.")
    score: int = Field(ge=0, le=1000)
    band: str = Field(description="healthy, at_risk or unhealthy.")
    fulfilled_orders: int
    order_defect_rate_mfn: float | None = Field(description="A fraction; null when unmeasurable.")
    late_shipment_rate_30: float | None
    pre_fulfillment_cancel_rate: float | None
    valid_tracking_rate: float | None

    @classmethod
    def of(cls, h: StoreHealth) -> HistoryDayOut:
        def value(name: str) -> float | None:
            m = h.metrics.get(name)
            return None if m is None else m.rate

        return cls(
            day=h.day,
            score=h.rating.score,
            band=h.rating.band,
            fulfilled_orders=h.fulfilled_orders,
            order_defect_rate_mfn=value("order_defect_rate_mfn"),
            late_shipment_rate_30=value("late_shipment_rate_30"),
            pre_fulfillment_cancel_rate=value("pre_fulfillment_cancel_rate"),
            valid_tracking_rate=value("valid_tracking_rate"),
        )


class StoreHistoryOut(BaseModel):
    seller_id: str
    marketplace: str = Field(examples=["JP"])
    start: date = Field(description="The first day of the series.")
    end: date = Field(description="The last day of the series.")
    days: list[HistoryDayOut] = Field(
        description="Every day, each evaluated at the earlier of now and the end of that day."
    )

    @classmethod
    def of(
        cls, seller_id: str, marketplace: str, start: date, end: date, days: list[StoreHealth]
    ) -> StoreHistoryOut:
        return cls(
            seller_id=seller_id,
            marketplace=marketplace,
            start=start,
            end=end,
            days=[HistoryDayOut.of(h) for h in days],
        )


class AlertOut(BaseModel):
    """A health alert: raised once when its condition starts, cleared when it ends."""

    id: str = Field(examples=["alr_01jd5m3q7x8k2v4b9c6n0p1r2s"])
    seller_id: str
    marketplace: str = Field(examples=["JP"])
    kind: str = Field(
        description="metric_margin (a metric near or past its target), band_drop (the rating "
        "entered a lower band) or band_forecast (it will within the forecast horizon).",
        examples=["metric_margin"],
    )
    subject: str = Field(
        description="The metric name, or the band entered.", examples=["late_shipment_rate_30"]
    )
    raised_on: date = Field(description="The day the condition was found, in the store's zone.")
    raised_at: datetime = Field(description="When it was recorded (UTC).")
    cleared_on: date | None = Field(description="The day it was found over; null while active.")
    active: bool
    details: dict[str, Any] = Field(
        description="value, threshold and comparison (metric_margin); band, score, "
        "previous_band (band_drop); band, forecast_day, days_ahead (band_forecast).",
        examples=[
            {
                "metric": "late_shipment_rate_30",
                "value": 0.0312,
                "threshold": 0.03,
                "comparison": ">=",
                "score": 200,
                "band": "healthy",
            }
        ],
    )

    @classmethod
    def of(cls, a: HealthAlert) -> AlertOut:
        return cls(
            id=a.id,
            seller_id=a.seller_id,
            marketplace=a.marketplace,
            kind=a.kind,
            subject=a.subject,
            raised_on=date.fromisoformat(a.raised_on),
            raised_at=a.raised_at,
            cleared_on=None if a.cleared_on is None else date.fromisoformat(a.cleared_on),
            active=a.cleared_on is None,
            details=dict(a.details),
        )


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page.")


class AlertCheckOut(BaseModel):
    marketplace: str = Field(examples=["JP"])
    day: date = Field(description="The store's local day that was checked.")
    raised: list[AlertOut] = Field(description="Alerts whose condition started that day.")
    cleared: list[AlertOut] = Field(description="Alerts whose condition ended that day.")
    active: int = Field(description="Alerts of the store still active after the check.")

    @classmethod
    def of(cls, c: AlertCheck) -> AlertCheckOut:
        return cls(
            marketplace=c.marketplace,
            day=c.day,
            raised=[AlertOut.of(a) for a in c.raised],
            cleared=[AlertOut.of(a) for a in c.cleared],
            active=len(c.active),
        )
