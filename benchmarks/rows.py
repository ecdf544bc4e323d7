"""The rows of issue 13's table, from each benchmark's ``--json`` result.

One function per benchmark; each takes the parsed JSON (or None and the reason it is missing)
and returns its rows in the issue's order. Pure: nothing here runs or times anything.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from benchmarks.table import Row, Target, not_measured

HEALTH_ROUTE = "/v1/sellers/{id}/health/{mp}"

STORE_VS_OVERVIEW = "JP store page vs overview page, largest demo seller"
STORE_VS_JSON = "JP store page vs the same data as JSON"
ABSORB = "1,000 new events absorbed vs full recompute"
HISTORY_VS_FULL = "history chains and summaries built from nothing vs full recompute"
FULL_VS_SQL = "every store's health today: full recompute vs SQL"
ROLLUPS_VS_SQL = "every store's health today from rollups vs SQL"
BUILT_VS_FULL = "rollups built from nothing vs full recompute"
P99 = "health route p99 vs /healthz p99, open-loop load"
ERRORS = "health load test: failed requests"
IMPORT_RATE = "import amazon-orders rows/s vs csv + executemany"
IMPORT_RSS = "import amazon-orders peak RSS"

T_STORE_VS_OVERVIEW = Target("<=", 3)
T_STORE_VS_JSON = Target("<=", 2)
T_ABSORB = Target(">=", 100)
T_ROLLUPS_VS_SQL = Target("<=", 1.5)
T_BUILT_VS_FULL = Target("<=", 1)
T_P99 = Target("<=", 3)
T_ERRORS = Target("==", 0, on="tsunagu")
T_IMPORT_RATE = Target(">=", 0.33)
T_IMPORT_RSS = Target("<", 500, on="tsunagu")


_ERROR = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b")


def error_line(lines: Sequence[str], limit: int = 240) -> str:
    """The line of a failed process's stderr that names the error: the last one shaped like
    ``SomeError: message``, else the last line that is not a pointer to help; shortened."""
    stripped = (line.strip().strip("│╭╮╰╯─").strip() for line in lines)  # boxed CLI errors
    kept = [line for line in stripped if line and not line.startswith("(Background on this error")]
    named = [line for line in kept if _ERROR.match(line)]
    found = (named or kept or ["no output"])[-1]
    return found if len(found) <= limit else found[: limit - 1] + "…"


def dashboard_rows(result: Mapping[str, Any] | None, reason: str = "") -> list[Row]:
    """The store page against the overview page, and against the same data as JSON."""
    if result is None:
        return [
            not_measured(STORE_VS_OVERVIEW, reason, unit="ms", target=T_STORE_VS_OVERVIEW),
            not_measured(STORE_VS_JSON, reason, unit="ms", target=T_STORE_VS_JSON),
        ]
    seller = result["seller"]
    pages = {r["page"]: r for r in result["rows"]}
    overview, store = pages["overview page"], pages["JP store page"]
    stores = ", ".join(f"{mp} {n:,}" for mp, n in sorted(seller["stores"].items()))
    note = (
        f"{seller['name']} ({seller['id']}), {seller['orders']:,} of the demo's "
        f"{result['orders']:,} orders ({stores}); median of {result['repeat']} requests after "
        "a warm-up, one server process; the overview page reads today's rollups"
    )
    rss = result.get("server_peak_rss_mb")
    return [
        Row(
            STORE_VS_OVERVIEW,
            store["page_median_ms"],
            "ms",
            reference=overview["page_median_ms"],
            reference_label="overview page",
            target=T_STORE_VS_OVERVIEW,
            peak_rss_mb=rss,
            note=note,
        ),
        Row(
            STORE_VS_JSON,
            store["page_median_ms"],
            "ms",
            reference=store["json_median_ms"],
            reference_label="JSON",
            target=T_STORE_VS_JSON,
            peak_rss_mb=rss,
            note="JSON: the store's explain, 180-day history and 90-day forecast, one after "
            "the other",
        ),
    ]


def health_rows(result: Mapping[str, Any] | None, reason: str = "") -> list[Row]:
    """Incremental absorption, every store's health three ways, and the load test."""
    if result is None:
        return [
            not_measured(ABSORB, reason, unit="s", target=T_ABSORB),
            not_measured(FULL_VS_SQL, reason, unit="s"),
            not_measured(ROLLUPS_VS_SQL, reason, unit="s", target=T_ROLLUPS_VS_SQL),
            not_measured(BUILT_VS_FULL, reason, unit="s", target=T_BUILT_VS_FULL),
            *load_rows(None, reason),
        ]
    steps = {s["key"]: s for s in result["steps"]}
    full, sqlite = steps["full"], steps["sqlite"]
    size = f"{result['sellers']:,} sellers × 2 stores, {result['orders']:,} orders"
    absorbed = steps.get("absorb_spread")
    if absorbed is None:
        absorb = not_measured(ABSORB, "no incremental step in the result", target=T_ABSORB)
    else:
        stored = steps.get("store_spread")
        spread = [i for i in result.get("incremental", []) if i["where"] == "random stores"]
        stores = spread[0]["stores"] if spread else None
        note = size if stores is None else f"{stores:,} stores touched; {size}"
        if stored is not None:
            note += f"; storing the events took {stored['seconds']:.2f} s more"
        caught_up = steps.get("history_spread")
        if caught_up is not None:
            note += (
                f"; the second stage (history chains, summaries) then took "
                f"{caught_up['seconds']:.2f} s"
            )
        absorb = Row(
            ABSORB,
            absorbed["seconds"],
            "s",
            reference=full["seconds"],
            reference_label="full recompute",
            target=T_ABSORB,
            faster=True,
            peak_rss_mb=absorbed["peak_rss_mb"],
            note=note,
        )
    return [
        absorb,
        Row(
            FULL_VS_SQL,
            full["seconds"],
            "s",
            reference=sqlite["seconds"],
            reference_label="SQLite GROUP BY",
            peak_rss_mb=full["peak_rss_mb"],
            note=f"{size}, {result['events']:,} events; {_checked(result)}",
        ),
        Row(
            ROLLUPS_VS_SQL,
            steps["rollups_read"]["seconds"],
            "s",
            reference=sqlite["seconds"],
            reference_label="SQLite GROUP BY",
            target=T_ROLLUPS_VS_SQL,
            peak_rss_mb=steps["rollups_read"]["peak_rss_mb"],
        ),
        Row(
            BUILT_VS_FULL,
            steps["rollups_built"]["seconds"],
            "s",
            reference=full["seconds"],
            reference_label="full recompute",
            target=T_BUILT_VS_FULL,
            peak_rss_mb=steps["rollups_built"]["peak_rss_mb"],
        ),
        *_history_rows(steps, full),
        *load_rows(result, reason),
    ]


def _history_rows(steps: Mapping[str, Any], full: Mapping[str, Any]) -> list[Row]:
    """The second stage, reported without a target of its own (ADR 0021)."""
    built = steps.get("history_built")
    if built is None:
        return []
    return [
        Row(
            HISTORY_VS_FULL,
            built["seconds"],
            "s",
            reference=full["seconds"],
            reference_label="full recompute",
            peak_rss_mb=built["peak_rss_mb"],
            note="once per store; after that only the days whose instants passed",
        )
    ]


def _checked(result: Mapping[str, Any]) -> str:
    differ = len(result.get("mismatches", []))
    if differ:
        return f"COUNTS DIFFER from the reference in {differ} checks"
    return "every store's counts equal the reference's"


def _ms(route: Mapping[str, Any], key: str) -> str:
    value = route.get(key)
    return "timeout" if value is None else f"{value:.1f} ms"


def _p99(route: Mapping[str, Any]) -> float:
    """A p99 of null means it fell on a failed or unanswered request: infinitely slow."""
    value = route.get("p99_ms")
    return math.inf if value is None else float(value)


def load_rows(result: Mapping[str, Any] | None, reason: str = "") -> list[Row]:
    """The health route's p99 against ``/healthz``'s in the same load, and the failures."""
    load = {} if result is None else result.get("load") or {}
    if result is None or HEALTH_ROUTE not in load or "/healthz" not in load:
        if result is not None:
            reason = result.get("load_error") or "load test not run (--seconds 0)"
        return [
            not_measured(P99, reason, unit="ms", target=T_P99),
            not_measured(ERRORS, reason, target=T_ERRORS),
        ]
    health, healthz = load[HEALTH_ROUTE], load["/healthz"]
    sent = sum(r["sent"] for r in load.values())
    failed = sum(r["errors"] + r["unfinished"] for r in load.values())
    rss = result.get("server_peak_rss_mb")
    return [
        Row(
            P99,
            _p99(health),
            "ms",
            reference=_p99(healthz),
            reference_label="/healthz p99",
            target=T_P99,
            peak_rss_mb=rss,
            note=(
                f"{result['rate']:,.0f} requests/s for {result['seconds']:,.0f} s, half to each "
                f"route, one server process; p50 {_ms(health, 'p50_ms')} against "
                f"{_ms(healthz, 'p50_ms')}; client send lag p99 "
                f"{healthz['client_send_lag_p99_ms']:.1f} ms"
            ),
        ),
        Row(
            ERRORS,
            failed,
            "",
            reference_label=f"of {sent:,} sent",
            target=T_ERRORS,
            peak_rss_mb=rss,
            note=f"server log: {result.get('server_log', 'n/a')}" if failed else "",
        ),
    ]


def import_rows(result: Mapping[str, Any] | None, reason: str = "") -> list[Row]:
    """Rows per second against the bare reference on the same files, and peak memory."""
    if result is not None:
        errors = [
            side["error"] for side in (result["reference"], result["tsunagu"]) if "error" in side
        ]
        if errors:
            result, reason = None, "; ".join(errors)
    if result is None:
        return [
            not_measured(IMPORT_RATE, reason, unit="rows/s", target=T_IMPORT_RATE),
            not_measured(IMPORT_RSS, reason, unit="MB", target=T_IMPORT_RSS),
        ]
    ours, ref = result["tsunagu"], result["reference"]
    return [
        Row(
            IMPORT_RATE,
            ours["rows_per_second"],
            "rows/s",
            reference=ref["rows_per_second"],
            reference_label="csv + executemany",
            target=T_IMPORT_RATE,
            peak_rss_mb=ours["peak_rss_mb"],
            note=(
                f"{result['rows']:,} rows in {result['sellers']:,} files "
                f"({result['files_mb']:,.0f} MB); tsunagu {ours['seconds']:,.1f} s, "
                f"reference {ref['seconds']:,.1f} s, each in its own process"
            ),
        ),
        Row(
            IMPORT_RSS,
            ours["peak_rss_mb"],
            "MB",
            reference_label=f"reference importer: {ref['peak_rss_mb']:,.0f} MB",
            target=T_IMPORT_RSS,
            peak_rss_mb=ours["peak_rss_mb"],
        ),
    ]
