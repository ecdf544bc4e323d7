"""Points redemptions on PostgreSQL, against pgbench running the same SQL (issue 15, item 7).

    python -m benchmarks.points [--seconds 60] [--clients 16] [--customers 1000]
                                [--pg URL] [--modes processes,threads] [--keep] [--json]

On a fresh database (created on the server of ``--pg``, default ``$TSUNAGU_BENCH_PG_URL`` or
``postgresql://postgres@127.0.0.1:5432/postgres``, migrated, dropped at the end):

1. **Set-up**: ``--customers`` JP customers with chosen ids (``cus_bench_0001`` …, orders'
   ``bench-0001`` …), each given 1,000,000 points through ``service.earn`` (real ledger entries).
2. **Capture**: one ``redemptions.redeem`` on the real code path, every statement and its
   parameters recorded by a ``before_cursor_execute`` listener, the transactions by ``begin`` /
   ``commit``. The pool's pre-ping (``make_engine`` sets it) sends an empty query (``;``) on each
   checkout, outside SQLAlchemy's cursor events; the script sends it too.
3. **pgbench script** (:func:`pgbench_script`): those statements, in the same two transactions
   (claim, then spend), with the captured customer, key, order and redemption id replaced by
   pgbench expressions: ``\\set cust random(1, customers)`` picks the customer (ids are
   ``'cus_bench_' || lpad(:cust::text, 4, '0')``); the key and the redemption id are
   ``run-client_id-n``, where ``n`` is the client's own counter (``\\set n :n + 1``, started by
   ``-D n=0``; pgbench keeps a client's variables from one transaction to the next) and ``run``
   is a number given per pgbench run (``-D run=R``), so no two redemptions of any run share a
   key and no claim conflicts. Other values (timestamps, the request hash, the stored reply)
   stay the captured literals: the same sizes, the same work for the server.
4. **Runs**, alternating, ``--seconds`` each, ``--clients`` clients, random customers, 1 point
   per redemption: pgbench ``-M simple``, tsunagu in ``--clients`` processes (one client
   each), pgbench ``-M prepared`` (psycopg prepares a statement on its fifth use), tsunagu in
   one process with ``--clients`` threads (``--modes`` picks these ways, and ``mixed``: one
   process per core with threads in each). A tsunagu client calls ``check_request`` and
   ``redeem(factory, request)`` with its own engine, as the API does. One pgbench transaction
   is one run of the script: one redemption, two database transactions, as for tsunagu. The
   row compares the better of tsunagu's ways with the better of pgbench's (target ≥ 0.5).
5. **Checks** after every run: the balances went down by exactly the number of redemptions
   that succeeded, which equals the ``redeem`` entries and points written and the claims
   finished (tsunagu's runs also customer by customer), no claim is left in flight, no balance
   is negative, and at the end ``service.reconcile`` is ok (entries sum to zero, cached
   balances equal their entries). Any difference is a lost update or an overdraft: the row's
   count, and exit status 1.
6. **TPC-B** for scale: ``pgbench -i -s 10`` in a scratch database, then the standard script
   with the same clients for the same time.

Prints the rows of ``make bench`` (:func:`points_rows`); ``--json`` prints the results.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.rss import own_peak_mb
from benchmarks.table import Row, Target, markdown, not_measured, summary

ADMIN_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"
BALANCE = 1_000_000
MARKET = "JP"
WARMUP = 10  # redemptions per client before the clock starts (connections, prepared statements)
TPCB_SCALE = 10

REDEEM = "points redemptions/s on PostgreSQL vs pgbench running the same SQL"
LEDGER = "points ledger after the runs: overdrafts and lost updates"
TPCB = "points redemptions/s vs plain TPC-B transactions/s (for scale)"
REDEEM_F = "points redemptions/s vs `pgbench -f` as issue 15 names it (simple protocol)"
T_REDEEM = Target(">=", 0.5)
T_LEDGER = Target("==", 0, on="tsunagu")


# --------------------------------------------------------------------------- the pgbench script


@dataclass(frozen=True)
class Statement:
    """One statement as SQLAlchemy sent it: ``%(name)s`` placeholders and their values."""

    sql: str
    params: Mapping[str, Any] = field(default_factory=dict)


PING = Statement(";")  # what the pool's pre-ping sends (psycopg: an empty query, autocommit)
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")
#: a pgbench variable reference: what pgbench would replace (its parseVariable())
_VARIABLE = re.compile(r":([A-Za-z_\x80-\uffff][A-Za-z0-9_\x80-\uffff]*)")


def width(customers: int) -> int:
    return max(4, len(str(customers)))


def customer_id(number: int, customers: int) -> str:
    return f"cus_bench_{number:0{width(customers)}d}"


def external_id(number: int, customers: int) -> str:
    return f"bench-{number:0{width(customers)}d}"


def substitutions(
    *, customers: int, external: str, customer: str, key: str, order_id: str, redemption_id: str
) -> dict[str, str]:
    """The captured values that differ per redemption → the pgbench SQL that makes each one."""
    pad = f"lpad(:cust::text, {width(customers)}, '0')"
    unique = ":run::text || '-' || :client_id::text || '-' || :n::text"
    return {
        external: f"('bench-' || {pad})",
        customer: f"('cus_bench_' || {pad})",
        key: f"('pgbench-' || {unique})",
        order_id: f"('pgbench-order-' || {unique})",
        redemption_id: f"('red_pgb-' || {unique})",
    }


def literal(text: str) -> str:
    """A SQL string literal pgbench leaves alone: a colon followed by a name would be taken for
    a variable, so the literal is cut right after such a colon (``'a:' || 'b'``)."""
    parts, start = [], 0
    for found in _VARIABLE.finditer(text):
        parts.append(text[start : found.start() + 1])
        start = found.start() + 1
    parts.append(text[start:])
    quoted = ["'" + p.replace("'", "''") + "'" for p in parts]
    return quoted[0] if len(quoted) == 1 else "(" + " || ".join(quoted) + ")"


def text_value(text: str, values: Mapping[str, str]) -> str:
    """A string parameter: the captured per-redemption values in it (longest first) become
    their expressions, the rest stays literal."""
    if not values:
        return literal(text)
    pattern = re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))
    pieces: list[str] = []
    start = 0
    for found in pattern.finditer(text):
        if found.start() > start:
            pieces.append(literal(text[start : found.start()]))
        pieces.append(values[found.group()])
        start = found.end()
    if start < len(text) or not pieces:
        pieces.append(literal(text[start:]))
    return pieces[0] if len(pieces) == 1 else "(" + " || ".join(pieces) + ")"


def sql_value(value: object, values: Mapping[str, str]) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return literal(value.isoformat())
    if isinstance(value, str):
        return text_value(value, values)
    raise TypeError(f"no SQL literal for {type(value).__name__}: {value!r}")


def render(statement: Statement, values: Mapping[str, str]) -> str:
    """The statement with its parameters written in: literals, or pgbench expressions."""

    def one(found: re.Match[str]) -> str:
        if found.group() == "%%":
            return "%"
        return sql_value(statement.params[found.group(1)], values)

    return _PLACEHOLDER.sub(one, statement.sql).strip()


def pgbench_script(
    transactions: Sequence[Sequence[Statement]],
    values: Mapping[str, str],
    *,
    customers: int,
    ping: bool,
) -> str:
    """A pgbench custom script that runs ``transactions`` once per pgbench transaction, each
    between BEGIN and COMMIT (after the pre-ping when ``ping``), the per-redemption values
    replaced by ``values``. Needs ``-D n=0 -D run=R``."""
    lines = [
        "-- one tsunagu points redemption (points.redemptions.redeem), captured on the real code",
        "-- path: cust = a random customer; n = this client's counter (-D n=0); run = the run",
        "-- (-D run=R); client_id = pgbench's client number",
        f"\\set cust random(1, {customers})",
        "\\set n :n + 1",
    ]
    for transaction in transactions:
        if ping:
            lines.append(PING.sql)
        lines.append("BEGIN;")
        lines += [render(s, values) + ";" for s in transaction]
        lines.append("COMMIT;")
    return "\n".join(lines) + "\n"


def variables(script: str) -> set[str]:
    """The pgbench variables a script uses (outside its comments and ``::`` casts)."""
    body = "\n".join(line for line in script.splitlines() if not line.startswith("--"))
    return {m.group(1) for m in _VARIABLE.finditer(body.replace("::", "  "))}


_PROCESSED = re.compile(r"number of transactions actually processed: (\d+)")
_FAILED = re.compile(r"number of failed transactions: (\d+)")
_TPS = re.compile(r"tps = ([\d.]+) \(without initial connection time\)")
_LATENCY = re.compile(r"latency average = ([\d.]+) ms")


def parse_pgbench(output: str) -> dict[str, Any]:
    """pgbench's summary: transactions processed and failed, TPS (connections excluded),
    average latency."""
    tps = _TPS.search(output)
    processed = _PROCESSED.search(output)
    if tps is None or processed is None:
        raise ValueError("no pgbench summary in its output")
    failed = _FAILED.search(output)
    latency = _LATENCY.search(output)
    return {
        "transactions": int(processed.group(1)),
        "failed": int(failed.group(1)) if failed else 0,
        "tps": float(tps.group(1)),
        "latency_ms": float(latency.group(1)) if latency else None,
    }


# --------------------------------------------------------------------------- the table's rows


def _best(sides: Mapping[str, Mapping[str, Any]]) -> tuple[str, Mapping[str, Any]] | None:
    measured = [(name, s) for name, s in sides.items() if "tps" in s]
    return max(measured, key=lambda item: item[1]["tps"]) if measured else None


def _others(sides: Mapping[str, Mapping[str, Any]], best: str, label: str) -> str:
    texts = []
    for name, side in sides.items():
        if name != best:
            value = f"{side['tps']:,.0f}/s" if "tps" in side else f"failed ({side.get('error')})"
            texts.append(f"{label} {name} {value}")
    return "; ".join(texts)


def _layout(side: Mapping[str, Any]) -> str:
    processes, threads = side["processes"], side["threads"]
    if threads == 1:
        return f"{processes} processes"
    return f"{processes} process{'es' if processes > 1 else ''} × {threads} threads"


def points_rows(result: Mapping[str, Any] | None, reason: str = "") -> list[Row]:
    """Redemptions/s against pgbench on the same SQL, the ledger checks, TPC-B for scale."""
    ours = _best(result["tsunagu"]) if result is not None else None
    theirs = _best(result["pgbench"]) if result is not None else None
    if result is None or ours is None or theirs is None:
        if result is not None:
            errors = [s.get("error") for k in ("tsunagu", "pgbench") for s in result[k].values()]
            reason = "; ".join(e for e in errors if e) or "nothing measured"
        return [
            not_measured(REDEEM, reason, unit="tx/s", target=T_REDEEM),
            not_measured(LEDGER, reason, target=T_LEDGER),
            not_measured(TPCB, reason, unit="tx/s"),
            not_measured(REDEEM_F, reason, unit="tx/s", target=T_REDEEM),
        ]
    mode, side = ours
    pg_mode, pg_side = theirs
    loads = [s.get("load_average") for k in ("tsunagu", "pgbench") for s in result[k].values()]
    loads = [x for x in loads if x is not None]
    failed = sum(s.get("failed", 0) for k in ("tsunagu", "pgbench") for s in result[k].values())
    note = (
        f"{result['clients']} clients, {result['customers']:,} customers with "
        f"{result['balance']:,} points each, 1 point per redemption, {result['seconds']:g} s "
        f"per run; a tx is one redemption ({result.get('transactions', 2)} database "
        f"transactions, {result['statements']} statements); tsunagu {mode} ({_layout(side)}), "
        f"{side['redemptions']:,} redemptions in {side['seconds']:.1f} s; "
        + "; ".join(
            t
            for t in (
                _others(result["tsunagu"], mode, "tsunagu"),
                _others(result["pgbench"], pg_mode, "pgbench -M"),
            )
            if t
        )
        + f"; failed redemptions {failed:,}; peak RSS: the largest client process's"
        + (f"; load average after the runs {min(loads):.1f} to {max(loads):.1f}" if loads else "")
    )
    checks = result["checks"]
    broken = checks["overdrafts"] + checks["lost_updates"]
    tpcb = result.get("tpcb") or {}
    tpcb_row = (
        Row(
            TPCB,
            side["tps"],
            "tx/s",
            reference=tpcb["tps"],
            reference_label=f"pgbench TPC-B -s {tpcb['scale']}",
            note=f"TPC-B: {tpcb['transactions']:,} transactions, same clients and seconds",
        )
        if "tps" in tpcb
        else not_measured(TPCB, str(tpcb.get("error", "not run")), unit="tx/s")
    )
    return [
        Row(
            REDEEM,
            side["tps"],
            "tx/s",
            reference=pg_side["tps"],
            reference_label=f"pgbench -M {pg_mode}",
            target=T_REDEEM,
            peak_rss_mb=side.get("peak_rss_mb"),
            note=note,
        ),
        Row(
            LEDGER,
            broken,
            "",
            reference_label=f"of {checks['redemptions']:,} redemptions checked",
            target=T_LEDGER,
            note="reconcile ok" if checks["reconciled"] else "RECONCILE FAILED",
        ),
        tpcb_row,
        _default_mode_row(side, result["pgbench"]),
    ]


def _default_mode_row(side: Mapping[str, Any], pgbench: Mapping[str, Mapping[str, Any]]) -> Row:
    """tsunagu against ``pgbench -f`` run as it runs without ``-M``: the simple protocol. The
    first row compares with the better of pgbench's modes, which is the stricter reading."""
    simple = pgbench.get("simple", {})
    if "tps" not in simple:
        reason = str(simple.get("error", "pgbench -M simple not run"))
        return not_measured(REDEEM_F, reason, unit="tx/s", target=T_REDEEM)
    return Row(
        REDEEM_F,
        side["tps"],
        "tx/s",
        reference=simple["tps"],
        reference_label="pgbench -f (-M simple)",
        target=T_REDEEM,
        note="the same run as the first row; pgbench's default protocol",
    )


# --------------------------------------------------------------------------- databases


def admin_url(given: str | None) -> str:
    return given or os.environ.get("TSUNAGU_BENCH_PG_URL") or ADMIN_DEFAULT


def database_url(admin: str, name: str) -> str:
    base, _, _ = admin.rpartition("/")
    return f"{base}/{name}"


def create_database(admin: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(_sa(admin), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def drop_database(admin: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(_sa(admin), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _sa(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def pgbench(url: str, *args: str) -> str:
    """Run pgbench against ``url``'s database; its output, or RuntimeError with its error."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    where = ["-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432)]
    if parsed.username:
        where += ["-U", parsed.username]
    done = subprocess.run(
        ["pgbench", *where, *args, str(parsed.database)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    output = done.stdout + done.stderr
    if done.returncode != 0:
        errors = [line for line in output.splitlines() if "error" in line.lower()]
        raise RuntimeError(f"pgbench exited {done.returncode}: {(errors or ['no output'])[0]}")
    return output


# --------------------------------------------------------------------------- set-up and capture


def set_up(factory: Any, customers: int, now: datetime) -> None:
    """Customers with chosen ids, each earning ``BALANCE`` points through the service."""
    from sqlalchemy import insert

    from tsunagu.core.db import unit_of_work
    from tsunagu.customers.models import Customer
    from tsunagu.marketplaces.registry import load_registry
    from tsunagu.points import service

    market = load_registry(None).require(MARKET)
    with unit_of_work(factory) as session:
        session.execute(
            insert(Customer),
            [
                {
                    "id": customer_id(i, customers),
                    "marketplace": MARKET,
                    "external_id": external_id(i, customers),
                    "locale": None,
                    "created_at": now,
                }
                for i in range(1, customers + 1)
            ],
        )
    for first in range(1, customers + 1, 100):
        with unit_of_work(factory) as session:
            for i in range(first, min(first + 100, customers + 1)):
                service.earn(
                    session,
                    marketplace=market,
                    customer=external_id(i, customers),
                    points=BALANCE,
                    source="bench",
                    key=f"bench-seed-{i}",
                    now=now,
                )


def capture(engine: Any, factory: Any, customers: int) -> tuple[list[list[Statement]], str]:
    """One real redemption's transactions and statements, and the pgbench script made of them."""
    from sqlalchemy import event

    from tsunagu.marketplaces.registry import load_registry
    from tsunagu.points import redemptions

    market = load_registry(None).require(MARKET)
    tag = secrets.token_hex(4)
    request = redemptions.check_request(
        marketplace=market,
        customer=external_id(1, customers),
        order_id=f"capture-order-{tag}",
        points=1,
        key=f"capture-key-{tag}",
        lines=None,
    )
    transactions: list[list[Statement]] = []
    seen: list[str] = []

    def begin(_conn: Any) -> None:
        transactions.append([])

    def statement(_c: Any, _cur: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        transactions[-1].append(Statement(sql, dict(params or {})))

    def ended(_conn: Any) -> None:
        seen.append("rollback")

    listeners = [("begin", begin), ("before_cursor_execute", statement), ("rollback", ended)]
    for name, fn in listeners:
        event.listen(engine, name, fn)
    try:
        done = redemptions.redeem(factory, request)
    finally:
        for name, fn in listeners:
            event.remove(engine, name, fn)
    if seen or done.replayed or not transactions:
        raise RuntimeError(f"capture: {len(transactions)} transactions, {seen}, {done}")
    values = substitutions(
        customers=customers,
        external=request.customer,
        customer=customer_id(1, customers),
        key=request.key,
        order_id=request.order_id,
        redemption_id=str(done.body["redemption_id"]),
    )
    ping = bool(getattr(engine.pool, "_pre_ping", False))
    return transactions, pgbench_script(transactions, values, customers=customers, ping=ping)


# --------------------------------------------------------------------------- tsunagu's clients


@dataclass
class Client:
    """One client: its own engine, a random customer and a new key per redemption."""

    url: str
    tag: str
    customers: int
    seed: int
    ok: int = 0
    failed: int = 0
    timed: int = 0
    first_error: str = ""
    per_customer: dict[int, int] = field(default_factory=dict)
    started: float = 0.0
    ended: float = 0.0

    def __post_init__(self) -> None:
        from tsunagu.core.db import make_engine, make_sessionmaker
        from tsunagu.marketplaces.registry import load_registry
        from tsunagu.points.redemptions import check_request, redeem

        self.check_request, self.redeem = check_request, redeem
        self.engine = make_engine(self.url)
        self.factory = make_sessionmaker(self.engine)
        self.market = load_registry(None).require(MARKET)
        self.rng = random.Random(self.seed)
        self.n = 0

    def redeem_once(self) -> bool:
        number = self.rng.randint(1, self.customers)
        self.n += 1
        request = self.check_request(
            marketplace=self.market,
            customer=external_id(number, self.customers),
            order_id=f"order-{self.tag}-{self.n}",
            points=1,
            key=f"{self.tag}-{self.n}",
            lines=None,
        )
        try:
            self.redeem(self.factory, request)
        except Exception as exc:
            self.failed += 1
            self.first_error = self.first_error or f"{type(exc).__name__}: {exc}"
            return False
        self.ok += 1
        self.per_customer[number] = self.per_customer.get(number, 0) + 1
        return True

    def run(self, seconds: float) -> None:
        self.started = time.monotonic()
        deadline = self.started + seconds
        while time.monotonic() < deadline:
            if self.redeem_once():
                self.timed += 1
        self.ended = time.monotonic()
        self.engine.dispose()


def _child(
    url: str, tag: str, threads: int, customers: int, seconds: float, ready: Any, out: Any
) -> None:
    """A client process: ``threads`` clients, warmed up, started together with the others."""
    try:
        clients = [
            Client(url, f"{tag}-{t}", customers, seed=secrets.randbits(32)) for t in range(threads)
        ]
        for client in clients:
            for _ in range(WARMUP):
                client.redeem_once()
    except BaseException as exc:
        ready.abort()
        out.put({"error": f"{type(exc).__name__}: {exc}"})
        return
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        out.put({"error": "another client process failed before the start"})
        return
    workers = [threading.Thread(target=c.run, args=(seconds,)) for c in clients]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    per: dict[int, int] = {}
    for c in clients:
        for number, count in c.per_customer.items():
            per[number] = per.get(number, 0) + count
    out.put(
        {
            "ok": sum(c.ok for c in clients),
            "timed": sum(c.timed for c in clients),
            "failed": sum(c.failed for c in clients),
            "first_error": next((c.first_error for c in clients if c.first_error), ""),
            "started": min(c.started for c in clients),
            "ended": max(c.ended for c in clients),
            "per_customer": per,
            "peak_rss_mb": own_peak_mb(),
        }
    )


def client_layouts(clients: int, cores: int) -> dict[str, tuple[int, int]]:
    """Ways to run ``clients`` tsunagu clients: (processes, threads in each). ``mixed``: one
    process per core (the largest divisor of ``clients`` not above ``cores``), threads in each."""
    per_core = max(d for d in range(1, min(clients, cores) + 1) if clients % d == 0)
    return {
        "processes": (clients, 1),
        "threads": (1, clients),
        "mixed": (per_core, clients // per_core),
    }


def run_tsunagu(
    url: str, *, processes: int, threads: int, customers: int, seconds: float, run: str
) -> dict[str, Any]:
    """``processes`` × ``threads`` clients for ``seconds``; redemptions/s once all are ready."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # no connection crosses a fork
    ready = ctx.Barrier(processes + 1)
    out = ctx.Queue()
    children = [
        ctx.Process(
            target=_child, args=(url, f"{run}-{p}", threads, customers, seconds, ready, out)
        )
        for p in range(processes)
    ]
    for child in children:
        child.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a child failed: it says why
        ready.wait(timeout=600)
    results = [out.get(timeout=seconds + 600) for _ in children]
    for child in children:
        child.join(timeout=60)
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        raise RuntimeError(f"a client process failed: {errors[0]}")
    elapsed = max(r["ended"] for r in results) - min(r["started"] for r in results)
    timed = sum(r["timed"] for r in results)
    per: dict[int, int] = {}
    for r in results:
        for number, count in r["per_customer"].items():
            per[number] = per.get(number, 0) + count
    return {
        "processes": processes,
        "threads": threads,
        "redemptions": timed,
        "succeeded": sum(r["ok"] for r in results),  # the warm-ups too
        "failed": sum(r["failed"] for r in results),
        "first_error": next((r["first_error"] for r in results if r["first_error"]), ""),
        "seconds": elapsed,
        "tps": timed / elapsed,
        "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
        "per_customer": per,
    }


# --------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class Ledger:
    """What the checks compare before and after a run."""

    available: dict[str, int]
    redeem_entries: int
    redeemed_points: int
    finished: int
    in_flight: int


def ledger_state(factory: Any) -> Ledger:
    from sqlalchemy import func, select

    from tsunagu.points.models import PointsAccount, PointsEntry, PointsRedemption

    with factory() as session:
        available = {
            str(c): int(a)
            for c, a in session.execute(select(PointsAccount.customer_id, PointsAccount.available))
        }
        entries, points = session.execute(
            select(func.count(), func.coalesce(func.sum(PointsEntry.amount), 0)).where(
                PointsEntry.kind == "redeem"
            )
        ).one()
        states = dict(
            session.execute(
                select(PointsRedemption.state, func.count()).group_by(PointsRedemption.state)
            ).all()
        )
    return Ledger(
        available, int(entries), int(points), states.get("done", 0), states.get("in_flight", 0)
    )


def run_checks(
    name: str,
    before: Ledger,
    after: Ledger,
    succeeded: int,
    per_customer: Mapping[str, int] | None = None,
) -> tuple[list[str], int, int]:
    """The problems a run left, its overdrafts and its lost updates: every count of what the run
    did must equal the redemptions that succeeded."""
    problems: list[str] = []
    counts = {
        "balance decrease": sum(before.available.values()) - sum(after.available.values()),
        "redeem entries": after.redeem_entries - before.redeem_entries,
        "points redeemed": after.redeemed_points - before.redeemed_points,
        "claims finished": after.finished - before.finished,
    }
    lost = 0
    for what, count in counts.items():
        if count != succeeded:
            lost += abs(count - succeeded)
            problems.append(f"{name}: {what} {count:,} but {succeeded:,} redemptions succeeded")
    if per_customer is not None:
        differ = [
            c
            for c in before.available
            if before.available[c] - after.available.get(c, 0) != per_customer.get(c, 0)
        ]
        if differ:
            lost += len(differ)
            c = differ[0]
            problems.append(
                f"{name}: {len(differ)} customers' balances moved by another number than their "
                f"redemptions (e.g. {c}: {before.available[c] - after.available.get(c, 0)} "
                f"against {per_customer.get(c, 0)})"
            )
    if after.in_flight:
        problems.append(f"{name}: {after.in_flight} claims left in flight")
    overdrafts = sum(1 for a in after.available.values() if a < 0)
    if overdrafts:
        problems.append(f"{name}: {overdrafts} negative balances")
    return problems, overdrafts, lost


# --------------------------------------------------------------------------- the run


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from tsunagu.core.clock import utcnow
    from tsunagu.core.db import make_engine, make_sessionmaker, unit_of_work, upgrade
    from tsunagu.points import service

    if shutil.which("pgbench") is None:
        raise RuntimeError("pgbench not found (PostgreSQL's client programs)")
    admin = admin_url(args.pg)
    name = f"tsunagu_bench_points_{secrets.token_hex(4)}"
    url = database_url(admin, name)
    create_database(admin, name)
    print(f"database {name}", file=sys.stderr)
    result: dict[str, Any] = {
        "clients": args.clients,
        "customers": args.customers,
        "balance": BALANCE,
        "seconds": args.seconds,
        "database": name,
        "tsunagu": {},
        "pgbench": {},
    }
    try:
        engine = make_engine(url)
        upgrade(engine)
        factory = make_sessionmaker(engine)
        started = time.perf_counter()
        set_up(factory, args.customers, utcnow())
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
        result["setup_seconds"] = time.perf_counter() - started
        print(f"set-up: {result['setup_seconds']:.1f} s", file=sys.stderr)
        transactions, script = capture(engine, factory, args.customers)
        result["transactions"] = len(transactions)
        result["statements"] = sum(len(t) for t in transactions)
        result["script"] = script
        result["problems"], overdrafts, lost, checked = run_all(args, url, factory, script, result)
        with unit_of_work(factory) as session:
            reconciled = service.reconcile(session, marketplace=MARKET)
        if not reconciled.ok:
            result["problems"].append(
                f"reconcile: total {reconciled.total}, {len(reconciled.mismatches)} cached "
                f"balances differ from their entries, {len(reconciled.negative)} negative"
            )
            overdrafts += len(reconciled.negative)
            lost += len(reconciled.mismatches) + (reconciled.total != 0)
        result["checks"] = {
            "redemptions": checked,
            "overdrafts": overdrafts,
            "lost_updates": lost,
            "reconciled": reconciled.ok,
        }
        engine.dispose()
    finally:
        if args.keep:
            print(f"kept database {name}", file=sys.stderr)
        else:
            drop_database(admin, name)
    result["tpcb"] = tpcb(admin, args.clients, args.seconds)
    return result


def run_all(
    args: argparse.Namespace, url: str, factory: Any, script: str, result: dict[str, Any]
) -> tuple[list[str], int, int, int]:
    """pgbench and tsunagu by turns on the same database, each run checked."""
    problems: list[str] = []
    overdrafts = lost = checked = 0
    run = secrets.randbelow(10**8)
    threads = min(args.clients, os.cpu_count() or 2)
    modes = client_layouts(args.clients, os.cpu_count() or 2)
    wanted = [("tsunagu", m) for m in args.modes.split(",") if m]
    order = [("pgbench", "simple"), *wanted[:1], ("pgbench", "prepared"), *wanted[1:]]
    with tempfile.TemporaryDirectory(prefix="tsunagu-bench-points-") as folder:
        path = Path(folder) / "redemption.sql"
        path.write_text(script, encoding="utf-8")
        for who, mode in order:
            run += 1
            before = ledger_state(factory)
            per: dict[str, int] | None = None
            print(f"{who} {mode}: {args.seconds:g} s", file=sys.stderr)
            try:
                if who == "pgbench":
                    out = pgbench(
                        url,
                        *("-n", "-M", mode, "-f", str(path), "-c", str(args.clients)),
                        *("-j", str(threads), "-T", f"{args.seconds:g}"),
                        *("-D", "n=0", "-D", f"run={run}"),
                    )
                    side = parse_pgbench(out)
                    succeeded = side["transactions"] - side["failed"]
                else:
                    processes, each = modes[mode]
                    side = run_tsunagu(
                        url,
                        processes=processes,
                        threads=each,
                        customers=args.customers,
                        seconds=args.seconds,
                        run=f"ts{run}",
                    )
                    succeeded = side["succeeded"]
                    per = {
                        customer_id(n, args.customers): c
                        for n, c in side.pop("per_customer").items()
                    }
            except Exception as exc:
                result[who][mode] = {"error": f"{type(exc).__name__}: {exc}"}
                print(f"{who} {mode} failed: {exc}", file=sys.stderr)
                continue
            side["load_average"] = os.getloadavg()[0]  # other work on the machine, 1 min
            result[who][mode] = side
            print(f"{who} {mode}: {side['tps']:,.0f} redemptions/s", file=sys.stderr)
            found, negative, missing = run_checks(
                f"{who} {mode}", before, ledger_state(factory), succeeded, per
            )
            problems += found
            overdrafts += negative
            lost += missing
            checked += succeeded
    return problems, overdrafts, lost, checked


def tpcb(admin: str, clients: int, seconds: float) -> dict[str, Any]:
    """Plain TPC-B in a scratch database, for scale."""
    name = f"tsunagu_bench_tpcb_{secrets.token_hex(4)}"
    url = database_url(admin, name)
    print(f"TPC-B: pgbench -i -s {TPCB_SCALE}, then {seconds:g} s", file=sys.stderr)
    try:
        create_database(admin, name)
        pgbench(url, "-i", "-q", "-s", str(TPCB_SCALE))
        threads = min(clients, os.cpu_count() or 2)
        out = pgbench(url, "-c", str(clients), "-j", str(threads), "-T", f"{seconds:g}")
        return {"scale": TPCB_SCALE, **parse_pgbench(out)}
    except Exception as exc:
        return {"scale": TPCB_SCALE, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        drop_database(admin, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each run")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--pg", help=f"PostgreSQL server (a database URL; default {ADMIN_DEFAULT})")
    parser.add_argument(
        "--modes",
        default="processes,threads",
        help="tsunagu's clients, comma-separated: processes (one client each), threads (all "
        "in one process), mixed (a process per core, threads in each)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the redemption database")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    args.seconds = max(1, round(args.seconds))  # pgbench -T takes whole seconds
    unknown = set(args.modes.split(",")) - set(client_layouts(args.clients, 2))
    if unknown:
        parser.error(f"--modes: unknown {', '.join(sorted(unknown))}")
    result = measure(args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        rows = points_rows(result)
        print(
            f"Points redemptions on PostgreSQL, {os.cpu_count()} cores "
            f"(tsunagu's clients and the server share them)"
        )
        print()
        print(markdown(rows))
        print()
        print(summary(rows))
        for problem in result["problems"]:
            print(f"PROBLEM: {problem}")
    if result["problems"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
