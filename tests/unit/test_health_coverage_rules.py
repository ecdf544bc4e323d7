"""The pure rules of coverage (ADR 0033): which kinds of data an event brings, when a source is
present for a window, and what a missing source makes of a metric."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from tsunagu.health.coverage import (
    AmazonFigure,
    CoverageConfig,
    Evidence,
    evidence_of,
    metric_coverage,
    source_state,
    sources_of_event,
    usable,
)

TOKYO = ZoneInfo("Asia/Tokyo")
START = datetime(2026, 9, 1, 15, 0, tzinfo=UTC)  # 2026-09-02 00:00 in Tokyo


def test_an_amazon_file_brings_only_what_it_carries() -> None:
    # the All Orders report's "shipped" has no ship time and no tracking number
    assert sources_of_event("order_shipped", "amazon-orders") == frozenset()
    assert sources_of_event("order_placed", "amazon-orders") == {"orders"}
    # the same event from the store's event feed brings shipments and tracking
    assert sources_of_event("order_shipped", "api") == {"shipments", "tracking"}
    assert sources_of_event("claim_filed", "amazon-settlement") == {"claims"}
    assert sources_of_event("refund_issued", "demo") == frozenset()


def test_evidence_keeps_the_latest_instant_of_each_kind() -> None:
    early = datetime(2026, 9, 3, tzinfo=UTC)
    late = datetime(2026, 10, 3, tzinfo=UTC)
    found = evidence_of(
        [
            ("claim_filed", "amazon-settlement", early),
            ("claim_decided", "amazon-settlement", late),
            ("feedback_posted", "amazon-feedback", early),
        ],
        [("amazon-unshipped", late), ("amazon-unknown", late)],
    )
    assert found.events == {"claims": late, "feedback": early}
    assert found.feed is None  # every event came from an Amazon file
    assert found.imports == {"promises": late}


def test_present_by_events_import_or_feed_and_missing_otherwise() -> None:
    before = datetime(2026, 9, 1, 14, 59, tzinfo=UTC)  # the last minute of 09-01 in Tokyo
    evidence = Evidence(
        events={"claims": START, "feedback": before},
        feed=None,
        imports={"returns": START},
    )
    assert source_state("claims", START, evidence) == "events"
    assert source_state("feedback", START, evidence) == "missing"  # only before the window
    assert source_state("returns", START, evidence) == "import"
    assert source_state("messages", START, evidence) == "missing"
    fed = Evidence(feed=START)
    assert source_state("messages", START, fed) == "feed"
    assert source_state("messages", START, fed, CoverageConfig(event_feed_is_complete=False)) == (
        "missing"
    )


def test_a_missing_source_makes_the_metric_incomplete() -> None:
    evidence = Evidence(events={"orders": START, "feedback": START})
    found = metric_coverage(
        "order_defect_rate_mfn",
        ("orders", "feedback", "claims", "chargebacks"),
        (date(2026, 9, 2), date(2026, 10, 31)),
        TOKYO,
        evidence,
        None,
    )
    assert found.verdict == "incomplete"
    assert found.missing == ("claims", "chargebacks")


def test_amazon_stands_in_with_its_component_counts() -> None:
    evidence = Evidence(events={"orders": START, "feedback": START})
    amazon = AmazonFigure(
        rate=0.0333,
        numerator=3,
        denominator=90,
        status="BAD",
        target=0.01,
        components={"claims": 1, "chargebacks": 0, "negativeFeedback": 2},
    )
    found = metric_coverage(
        "order_defect_rate_mfn",
        ("orders", "feedback", "claims", "chargebacks"),
        (date(2026, 9, 2), date(2026, 10, 31)),
        TOKYO,
        evidence,
        amazon,
    )
    assert found.verdict == "from_amazon"
    assert [(s.source, s.state, s.amazon_count) for s in found.sources] == [
        ("orders", "events", None),
        ("feedback", "events", None),
        ("claims", "amazon", 1),
        ("chargebacks", "amazon", 0),
    ]


def test_an_amazon_report_without_the_figure_does_not_stand_in() -> None:
    empty = AmazonFigure(None, None, None, None, None, {})
    found = metric_coverage(
        "contact_response",
        ("messages",),
        (date(2026, 10, 2), date(2026, 10, 31)),
        TOKYO,
        Evidence(),
        empty,
    )
    assert found.verdict == "incomplete"


def test_a_report_stands_in_up_to_fourteen_days_after_its_date() -> None:
    day = date(2026, 10, 31)
    assert usable(date(2026, 10, 17), day)
    assert not usable(date(2026, 10, 16), day)
    assert not usable(date(2026, 11, 1), day)  # a report after the day is not used for it
