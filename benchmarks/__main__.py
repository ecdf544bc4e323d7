"""Every benchmark of issues 13 and 15 in one table: ``make bench`` runs ``python -m benchmarks``.

    python -m benchmarks [--quick] [--json] [--save DIR] [--only dashboard,health,import,points]
                         [--rows N] [--import-sellers N] [--sellers N] [--orders N]
                         [--seconds S] [--rate R] [--demo-orders N] [--repeat N]
                         [--points-seconds S]

Runs the four benchmarks one after the other, each in its own process with ``--json`` (so each
one's memory is its own and each stays runnable alone), and prints one Markdown table: what is
measured, tsunagu, the reference measured in the same run on the same data, their ratio, the
target, whether it is met, and tsunagu's peak RSS for that row:

* ``benchmarks.dashboard`` — the JP store page of the demo's largest seller against its overview
  page and against the same data as JSON;
* ``benchmarks.health`` — 1,000 new events absorbed against a full recompute; every store's
  health today by full recompute, from stored rollups, and rollups built from nothing, against a
  bare SQLite ``GROUP BY`` or the full recompute; the health route under open-loop load;
* ``benchmarks.import_orders`` — ``import amazon-orders`` against ``csv`` + ``executemany``;
* ``benchmarks.points`` — points redemptions on PostgreSQL (16 clients, 1,000 balances) against
  ``pgbench -f`` running the same SQL, the ledger's sums checked after every run, and plain
  TPC-B for scale (issue 15; needs the PostgreSQL server of ``$TSUNAGU_BENCH_PG_URL``, default
  ``postgresql://postgres@127.0.0.1:5432/postgres``, and ``pgbench``).

The default sizes are the issues' (1,000,000 orders, 1,000 sellers; the default demo; 60 s per
redemption run); ``--quick`` picks sizes that finish in a few minutes on two cores, databases
built included (the health database is cached by its parameters and schema, so a second run
skips that build). Single sizes
can be set on top of either. A benchmark that fails leaves its rows in the table with the reason. The exit
status is 1 when the health benchmark's counts differ from its reference or the points ledger's
sums show an overdraft or a lost update (correctness failures), else 0: targets not met are
reported, not failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from benchmarks import rows as build
from benchmarks.points import points_rows
from benchmarks.table import Row, document, markdown, summary


@dataclass(frozen=True)
class Sizes:
    rows: int  # import: All Orders rows ...
    import_sellers: int  # ... in this many files
    sellers: int  # health: sellers, each with a JP and a US store ...
    orders: int  # ... and orders over them all
    seconds: float  # health: load test length (0: none)
    rate: float  # health: load test requests/s
    demo_orders: int  # dashboard: `tsunagu demo run --orders`
    repeat: int  # dashboard: timed requests per page
    points_seconds: float  # points: each redemption run (tsunagu and pgbench)


FULL = Sizes(
    rows=1_000_000,
    import_sellers=1000,
    sellers=1000,
    orders=1_000_000,
    seconds=10,
    rate=200,
    demo_orders=6000,
    repeat=30,
    points_seconds=60,
)
#: Same shapes, less data: 1,000 rows per import file as in the full run, and 1,000 sellers, so
#: 1,000 new events still touch about 800 stores; the load keeps its rate, for half as long. The
#: redemption runs keep their clients and customers, for 10 s each.
QUICK = replace(
    FULL,
    rows=100_000,
    import_sellers=100,
    orders=50_000,
    seconds=5,
    repeat=10,
    points_seconds=10,
)

BENCHMARKS = ("dashboard", "health", "import", "points")


@dataclass
class Run:
    """One benchmark's process: its JSON (None if it gave none), why not, and what it cost."""

    name: str
    result: dict[str, Any] | None
    reason: str
    status: int
    seconds: float
    peak_rss_mb: float | None  # the process and its children, the largest of them


def command(name: str, sizes: Sizes) -> list[str]:
    if name == "dashboard":
        args = ["--orders", str(sizes.demo_orders), "--repeat", str(sizes.repeat)]
        return ["benchmarks.dashboard", *args]
    if name == "health":
        args = ["--sellers", str(sizes.sellers), "--orders", str(sizes.orders)]
        args += ["--seconds", str(sizes.seconds), "--rate", str(sizes.rate)]
        return ["benchmarks.health", *args]
    if name == "points":
        return ["benchmarks.points", "--seconds", f"{sizes.points_seconds:g}"]
    return [
        "benchmarks.import_orders",
        "--rows",
        str(sizes.rows),
        "--sellers",
        str(sizes.import_sellers),
    ]


def _tee(stream: IO[str], prefix: str, tail: list[str]) -> None:
    """Echo a child's stderr (its progress) and keep its last lines for the reason."""
    for line in stream:
        sys.stderr.write(f"[{prefix}] {line}")
        tail.append(line.rstrip())
        del tail[:-40]


def run(name: str, sizes: Sizes) -> Run:
    """One benchmark in its own process with ``--json``; stderr passes through."""
    module, *args = command(name, sizes)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *args, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    tail: list[str] = []
    echo = threading.Thread(target=_tee, args=(proc.stderr, name, tail), daemon=True)
    echo.start()
    out = proc.stdout.read()
    _, wait_status, usage = os.wait4(proc.pid, 0)
    proc.returncode = status = os.waitstatus_to_exitcode(wait_status)
    echo.join(timeout=5)
    seconds = time.perf_counter() - started
    peak = usage.ru_maxrss / 1024  # KiB on Linux
    try:
        result = json.loads(out) if out.strip() else None
    except json.JSONDecodeError:
        result = None
    reason = ""
    if result is None:
        reason = f"{module} exited with status {status}: {build.error_line(tail)}"
    return Run(name, result, reason, status, seconds, peak)


def table_rows(runs: Mapping[str, Run], skipped: str = "skipped (--only)") -> list[Row]:
    """The table in the issue's order; a benchmark that did not run keeps its rows."""
    builders: dict[str, Callable[[Mapping[str, Any] | None, str], list[Row]]] = {
        "dashboard": build.dashboard_rows,
        "health": build.health_rows,
        "import": build.import_rows,
        "points": points_rows,
    }
    out: list[Row] = []
    for name in BENCHMARKS:
        done = runs.get(name)
        if done is None:
            out += builders[name](None, skipped)
        else:
            out += builders[name](done.result, done.reason)
    return out


def size_label(sizes: Sizes, quick: bool) -> str:
    """``--quick`` or ``default sizes``, and the sizes set apart from them."""
    base = QUICK if quick else FULL
    label = "--quick" if quick else "default sizes"
    changed = [
        f"--{name.replace('_', '-')} {value:g}"
        for name, value in asdict(sizes).items()
        if value != getattr(base, name)
    ]
    return f"{label}, with {' '.join(changed)}" if changed else label


def _git_head() -> str:
    found = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent,
    )
    return found.stdout.strip() or "unknown"


def _load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def context(
    sizes: Sizes, quick: bool, runs: Mapping[str, Run], wall: float, load_at_start: str
) -> dict[str, Any]:
    health = runs["health"].result if "health" in runs else None
    points = runs["points"].result if "points" in runs else None
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _git_head(),
        "cores": os.cpu_count(),
        "load_average_at_start": load_at_start,
        "load_average_at_end": _load_average(),
        "quick": quick,
        "size_label": size_label(sizes, quick),
        "sizes": asdict(sizes),
        "health_database": None
        if health is None
        else {"path": health["db"], "built_seconds": health["build_seconds"]},
        "wall_seconds": wall,
        "benchmarks": {
            name: {
                "seconds": r.seconds,
                "peak_rss_mb": r.peak_rss_mb,
                "status": r.status,
                "not_measured": r.reason or None,
            }
            for name, r in runs.items()
        },
        "health_mismatches": [] if health is None else health["mismatches"],
        "points_problems": [] if points is None else points["problems"],
    }


def size_text(name: str, sizes: Mapping[str, Any]) -> str:
    if name == "dashboard":
        return (
            f"dashboard: `tsunagu demo run --orders {sizes['demo_orders']:,}`, "
            f"{sizes['repeat']} requests per page"
        )
    if name == "health":
        return (
            f"health: {sizes['sellers']:,} sellers × JP and US, {sizes['orders']:,} orders, load "
            f"{sizes['rate']:,.0f} requests/s for {sizes['seconds']:,.0f} s"
        )
    if name == "points":
        return (
            f"points: 16 clients, 1,000 customers, {sizes['points_seconds']:,.0f} s per "
            "redemption run (two tsunagu, two pgbench, one TPC-B)"
        )
    return f"import: {sizes['rows']:,} rows in {sizes['import_sellers']:,} files"


def report(rows: Sequence[Row], info: Mapping[str, Any]) -> str:
    """The Markdown a note can quote: what ran where, the table, the verdict."""
    sizes = info["sizes"]
    runs = info["benchmarks"]
    wall = ", ".join(f"{name} {r['seconds']:,.0f} s" for name, r in runs.items())
    wall += f"; {info['wall_seconds']:,.0f} s in all"
    if (db := info["health_database"]) is not None:
        built = db["built_seconds"]
        how = "from the cache" if built is None else f"built in {built:,.0f} s"
        wall += f" (health database {how}: {db['path']})"
    lines = [
        f"tsunagu benchmarks ({info['size_label']}), "
        f"{info['when']}, commit {info['commit']}, {info['cores']} cores, "
        f"load average (1, 5, 15 min) {info['load_average_at_start']} at the start, "
        f"{info['load_average_at_end']} at the end",
        "",
        markdown(rows),
        "",
        summary(rows),
        "",
        "Sizes: " + "; ".join(size_text(name, sizes) for name in runs) + ".",
        'Ratio: tsunagu ÷ reference, except "× faster" (reference ÷ tsunagu). Peak RSS: the '
        "server's for page and load rows, the importer's for import rows, the health "
        "benchmark's process during that step for the other health rows, the largest client "
        "process's for the redemption row.",
        f"Wall time: {wall}.",
    ]
    mismatches = info["health_mismatches"]
    if mismatches:
        lines += ["", f"HEALTH COUNTS DIFFER FROM THE REFERENCE ({len(mismatches)}):"]
        lines += [f"  {m}" for m in mismatches[:20]]
    problems = info["points_problems"]
    if problems:
        lines += ["", f"THE POINTS LEDGER'S SUMS DO NOT ADD UP ({len(problems)}):"]
        lines += [f"  {p}" for p in problems[:20]]
    return "\n".join(lines)


def _sizes(args: argparse.Namespace) -> Sizes:
    sizes = QUICK if args.quick else FULL
    chosen = {
        k: v for k, v in vars(args).items() if k in Sizes.__dataclass_fields__ and v is not None
    }
    return replace(sizes, **chosen)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="sizes for development (minutes)")
    parser.add_argument("--json", action="store_true", help="print the table as JSON")
    parser.add_argument("--save", type=Path, help="also write DIR/bench.md and DIR/bench.json")
    parser.add_argument("--only", help="comma-separated: " + ",".join(BENCHMARKS))
    parser.add_argument("--rows", type=int, help="import: All Orders rows")
    parser.add_argument("--import-sellers", type=int, help="import: files (one per seller)")
    parser.add_argument("--sellers", type=int, help="health: sellers")
    parser.add_argument("--orders", type=int, help="health: orders")
    parser.add_argument("--seconds", type=float, help="health: load test seconds (0: none)")
    parser.add_argument("--rate", type=float, help="health: load test requests/s")
    parser.add_argument("--demo-orders", type=int, help="dashboard: demo orders")
    parser.add_argument("--repeat", type=int, help="dashboard: timed requests per page")
    parser.add_argument(
        "--points-seconds", type=float, help="points: seconds of each redemption run"
    )
    args = parser.parse_args(argv)
    sizes = _sizes(args)
    wanted = BENCHMARKS if not args.only else tuple(args.only.split(","))
    unknown = set(wanted) - set(BENCHMARKS)
    if unknown:
        parser.error(f"--only: unknown {', '.join(sorted(unknown))}")

    load_at_start = _load_average()
    started = time.perf_counter()
    runs = {name: run(name, sizes) for name in BENCHMARKS if name in wanted}
    wall = time.perf_counter() - started
    rows = table_rows(runs)
    info = context(sizes, args.quick, runs, wall, load_at_start)
    text = report(rows, info)
    data = document(rows, info)
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        (args.save / "bench.md").write_text(text + "\n", encoding="utf-8")
        (args.save / "bench.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(data, indent=2) if args.json else text)
    if info["health_mismatches"] or info["points_problems"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
