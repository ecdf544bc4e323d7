"""What the store page and the overview show of coverage (ADR 0033), of the metrics over their
target (issue 16 item 5) and of Amazon's own report beside tsunagu's figures. Words only: every
code is turned into a label here."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tsunagu.core.i18n import N_, translate
from tsunagu.health import snapshots as health_snapshots
from tsunagu.health import words as health_words
from tsunagu.health.coverage import MetricCoverage, StoreCoverage, effective
from tsunagu.health.rules import StoreHealth
from tsunagu.marketplaces.registry import Marketplace
from tsunagu.web import format as fmt
from tsunagu.web import labels

#: the kinds of data, in words (shared with the command line)
SOURCE_LABELS: Mapping[str, str] = health_words.SOURCES

STATE_LABELS: Mapping[str, str] = {
    "events": N_("received for these days"),
    "import": N_("a file was imported for these days"),
    "feed": N_("the store's event feed covers these days"),
    "amazon": N_("from Amazon's report"),
    "missing": N_("missing"),
}

VERDICT_LABELS: Mapping[str, str] = {
    "complete": N_("all sources present"),
    "from_amazon": N_("partly from Amazon's report"),
    "incomplete": N_("incomplete data"),
}

#: what Amazon may do when a metric stays over its target, and what the seller can do next
ADVICE: Mapping[str, tuple[str, str]] = {
    "order_defect_rate_mfn": (
        N_("Amazon may deactivate the account when the order defect rate stays at 1% or more."),
        N_(
            "Answer A-to-z claims and chargebacks quickly, ask buyers about negative feedback, "
            "and find the products behind the defects."
        ),
    ),
    "order_defect_rate_afn": (
        N_("Amazon may deactivate the account when the order defect rate stays at 1% or more."),
        N_(
            "Check the listings and product quality behind the claims and negative feedback on "
            "orders fulfilled by Amazon."
        ),
    ),
    "late_shipment_rate_10": (
        N_("Amazon may restrict or deactivate the account when late shipments stay at 4% or more."),
        N_("Confirm shipment before the ship-by date; lengthen the handling time if needed."),
    ),
    "late_shipment_rate_30": (
        N_("Amazon may restrict or deactivate the account when late shipments stay at 4% or more."),
        N_("Confirm shipment before the ship-by date; lengthen the handling time if needed."),
    ),
    "pre_fulfillment_cancel_rate": (
        N_("Amazon may deactivate the account when seller cancellations stay at 2.5% or more."),
        N_("Keep stock counts right so that orders are not cancelled for lack of stock."),
    ),
    "valid_tracking_rate": (
        N_(
            "Amazon may restrict selling in some categories when fewer than 95% of shipments "
            "have valid tracking."
        ),
        N_("Give a tracking number the carrier scans with every ship confirmation."),
    ),
    "on_time_delivery_rate": (
        N_("Amazon may shorten the delivery promise shown to buyers or remove shipping options."),
        N_("Use faster services or set transit times that the carrier can keep."),
    ),
    "contact_response": (
        N_(
            "Amazon expects answers to buyer messages within 24 hours; slow answers hurt the account."
        ),
        N_("Answer every buyer message within 24 hours, weekends included."),
    ),
    "return_dissatisfaction_rate": (
        N_("Amazon may act on the account when return dissatisfaction stays at 10% or more."),
        N_("Authorise or answer return requests within 48 hours and never reject them wrongly."),
    ),
    "customer_service_dissatisfaction_rate": (
        N_("Amazon watches this rate; buyers who are not helped file claims and leave feedback."),
        N_("Read the answers marked unhelpful and improve the replies behind them."),
    ),
    "invoice_defect_rate": (
        N_("Amazon may stop showing the offers to business buyers."),
        N_("Upload an invoice by the next business day after shipment for every business order."),
    ),
}


def _sources(names: list[str], lang: str) -> str:
    return ", ".join(translate(SOURCE_LABELS.get(n, N_("other data")), lang) for n in names)


def metric_notes(c: MetricCoverage, report_day: Any, lang: str) -> list[str]:
    """One sentence for each source of the metric that tsunagu lacks for the window."""
    days = (c.window_to - c.window_from).days + 1
    notes: list[str] = []
    for s in c.sources:
        what = translate(SOURCE_LABELS.get(s.source, N_("other data")), lang)
        if s.state == "missing":
            notes.append(
                translate(
                    N_("No source of {what} for these {days} days: {what} are not counted."),
                    lang,
                    what=what,
                    days=days,
                )
            )
        elif s.state == "amazon" and s.amazon_count is not None:
            notes.append(
                translate(
                    N_(
                        "No source of {what} for these {days} days: Amazon counts {count} "
                        "(from Amazon's report of {day})."
                    ),
                    lang,
                    what=what,
                    days=days,
                    count=fmt.number(s.amazon_count, lang),
                    day=fmt.day(report_day, lang),
                )
            )
        elif s.state == "amazon":
            notes.append(
                translate(
                    N_(
                        "No source of {what} for these {days} days: Amazon's figure is shown "
                        "instead (from Amazon's report of {day})."
                    ),
                    lang,
                    what=what,
                    days=days,
                    day=fmt.day(report_day, lang),
                )
            )
    return notes


def coverage_row(c: MetricCoverage, report_day: Any, lang: str) -> dict[str, Any]:
    present = [s.source for s in c.sources if s.present]
    amazon = c.amazon if c.verdict == "from_amazon" else None
    return {
        "verdict": c.verdict,
        "verdict_label": translate(VERDICT_LABELS[c.verdict], lang),
        "fed_by": _sources([s.source for s in c.sources], lang),
        "present": _sources(present, lang) if present else "",
        "notes": metric_notes(c, report_day, lang),
        "amazon_rate": None if amazon is None else amazon.rate,
        "amazon_counts": (
            None
            if amazon is None or amazon.numerator is None or amazon.denominator is None
            else f"{fmt.number(amazon.numerator, lang)}/{fmt.number(amazon.denominator, lang)}"
        ),
        "report_day": report_day,
    }


def apply_coverage(summary: dict[str, Any], cov: StoreCoverage, lang: str) -> None:
    """Adds the coverage to a store summary of :func:`~tsunagu.web.seller_pages.store_summary`:
    ``data_status`` and its label, and each metric's ``coverage`` row."""
    summary["data_status"] = cov.data_status
    summary["data_status_label"] = translate(
        N_("incomplete data") if cov.incomplete else N_("complete data"), lang
    )
    summary["incomplete_metrics"] = [
        translate(labels.METRICS.get(n, N_("other metric")), lang) for n in cov.incomplete_metrics()
    ]
    if cov.incomplete and summary.get("band") == "healthy":
        # never "healthy" on data that cannot show otherwise
        summary["band_label"] = summary["data_status_label"]
        summary["band_class"] = "at_risk"
    else:
        summary["band_class"] = summary.get("band")
    summary["rating_coverage"] = coverage_row(cov.rating, cov.snapshot_date, lang)
    for row in summary["metrics"]:
        c = cov.metrics.get(row["name"])
        if c is not None:
            row["coverage"] = coverage_row(c, cov.snapshot_date, lang)


def metric_banners(h: StoreHealth, cov: StoreCoverage | None, lang: str) -> list[dict[str, Any]]:
    """A banner for every metric over its target (Amazon's figure where it stands in)."""
    found: list[dict[str, Any]] = []
    for name, m in h.metrics.items():
        c = cov.metrics.get(name) if cov is not None else None
        rate, status = effective(m, c)
        if status != "BAD":
            continue
        consequence, step = ADVICE.get(name, (N_("Amazon may act on the account."), ""))
        comparison = {"<": "<", ">=": "≥", ">": ">"}.get(m.comparison, "")
        found.append(
            {
                "name": name,
                "label": translate(labels.METRICS.get(name, N_("other metric")), lang),
                "value": fmt.percent(rate, lang),
                "target": f"{comparison} {fmt.percent(m.target, lang)}",
                "consequence": translate(consequence, lang),
                "next_step": translate(step, lang) if step else "",
                "from_amazon": c is not None and c.verdict == "from_amazon",
            }
        )
    return found


# --------------------------------------------------------------------------- Amazon's side

_FIELDS = ("rate", "numerator", "denominator")


def _counts(n: Any, d: Any, lang: str) -> str:
    if n is None or d is None:
        return "–"
    return f"{fmt.number(n, lang)}/{fmt.number(d, lang)}"


def difference_words(
    amazon: Mapping[str, Any], ours: Mapping[str, Any], comparison: str, lang: str
) -> str:
    """How tsunagu's figure for one metric differs from Amazon's, in a sentence."""
    a_rate, t_rate = amazon.get("rate"), ours.get("rate")
    a_counts = _counts(amazon.get("numerator"), amazon.get("denominator"), lang)
    t_counts = _counts(ours.get("numerator"), ours.get("denominator"), lang)
    if a_rate is None and t_rate is None:
        return translate(N_("Neither side has anything to measure."), lang)
    if a_rate is None:
        return translate(N_("Amazon's report does not give this figure."), lang)
    if t_rate is None:
        return translate(
            N_("tsunagu has nothing to measure for these days; Amazon counts {amazon}."),
            lang,
            amazon=a_counts,
        )
    if health_snapshots.difference("rate", a_rate, t_rate) == "same":
        if a_counts == t_counts:
            return translate(N_("Same as Amazon."), lang)
        return translate(
            N_("Same rate; tsunagu counts {ours}, Amazon {amazon}."),
            lang,
            ours=t_counts,
            amazon=a_counts,
        )
    gap = fmt.percent(abs(t_rate - a_rate), lang)
    worse = t_rate > a_rate if comparison == "<" else t_rate < a_rate
    sentence = (
        N_("tsunagu's figure is {gap} worse than Amazon's: tsunagu counts {ours}, Amazon {amazon}.")
        if worse
        else N_(
            "tsunagu's figure is {gap} better than Amazon's: tsunagu counts {ours}, "
            "Amazon {amazon}."
        )
    )
    return translate(sentence, lang, gap=gap, ours=t_counts, amazon=a_counts)


def amazon_side(
    session: Session,
    *,
    seller_id: str,
    marketplace: Marketplace,
    h: StoreHealth,
    now: datetime,
    lang: str,
) -> dict[str, Any] | None:
    """Amazon's figures from the latest report beside tsunagu's for the report's date, one row
    per metric either side has; ``None`` without a report."""
    snapshot = health_snapshots.latest_snapshot(
        session, seller_id=seller_id, marketplace=marketplace.code, on_or_before=h.day
    )
    if snapshot is None:
        return None
    comparison = health_snapshots.compare(
        session, seller_id=seller_id, marketplace=marketplace, as_of=h.day, now=now
    )
    values: dict[str, dict[str, dict[str, Any]]] = {}
    for row in comparison.rows:
        name, _, figure = row.figure.partition(".")
        if figure in _FIELDS:
            entry = values.setdefault(name, {"amazon": {}, "ours": {}})
            entry["amazon"][figure] = row.amazon
            entry["ours"][figure] = row.tsunagu
    rows = []
    for name in h.metrics:
        if name not in values:
            continue
        entry = values[name]
        a, t = entry["amazon"], entry["ours"]
        rows.append(
            {
                "name": name,
                "label": translate(labels.METRICS.get(name, N_("other metric")), lang),
                "amazon": fmt.percent(a.get("rate"), lang),
                "amazon_counts": _counts(a.get("numerator"), a.get("denominator"), lang),
                "ours": fmt.percent(t.get("rate"), lang),
                "ours_counts": _counts(t.get("numerator"), t.get("denominator"), lang),
                "difference": difference_words(a, t, h.metrics[name].comparison, lang),
            }
        )
    figures = snapshot.figures
    ahr = figures.get("ahr") or {}
    return {
        "report_day": comparison.report_date,
        "source_name": snapshot.source_name,
        "amazon_score": ahr.get("score"),
        "rows": rows,
    }
