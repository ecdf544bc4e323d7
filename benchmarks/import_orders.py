"""Import speed of Amazon All Orders files, against a bare reference on the same files.

    python -m benchmarks.import_orders [--rows 1000000] [--sellers 1000] [--seed 1] [--json]

Generates one All Orders file per seller (``--rows`` rows in all, US layout, tab-separated), then
measures in the same run, each in its own child process so peak memory is its own:

* reference: the ``csv`` module reads every file and ``sqlite3`` ``executemany`` inserts every row
  into one table (the least work any importer has to do);
* tsunagu: ``import amazon-orders`` for every seller into a fresh SQLite database (grouping,
  events, idempotency checks, order projection, personal data).

Prints rows/s of both, their ratio (target ≥ 0.33) and tsunagu's peak RSS (target < 500 MB);
``--json`` prints the same as JSON (``python -m benchmarks`` reads it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.rows import error_line

HEADER = [
    "amazon-order-id",
    "merchant-order-id",
    "purchase-date",
    "last-updated-date",
    "order-status",
    "fulfillment-channel",
    "sales-channel",
    "order-channel",
    "url",
    "ship-service-level",
    "product-name",
    "sku",
    "asin",
    "item-status",
    "quantity",
    "currency",
    "item-price",
    "item-tax",
    "shipping-price",
    "shipping-tax",
    "gift-wrap-price",
    "gift-wrap-tax",
    "item-promotion-discount",
    "ship-promotion-discount",
    "ship-city",
    "ship-state",
    "ship-postal-code",
    "ship-country",
    "promotion-ids",
    "is-business-order",
    "purchase-order-number",
    "price-designation",
    "is-iba",
]
STATUSES = ["Shipped"] * 80 + ["Unshipped"] * 8 + ["Cancelled"] * 6 + ["Pending"] * 6
CITIES = [
    ("Seattle", "WA", "98101"),
    ("Boston", "MA", "02108"),
    ("Austin", "TX", "73301"),
    ("Denver", "CO", "80202"),
    ("Portland", "OR", "97201"),
]


def generate(folder: Path, rows: int, sellers: int, seed: int) -> list[Path]:
    """One file per seller; about 1.25 item rows per order; seeded, so every run is the same."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    start = datetime(2026, 6, 1, tzinfo=UTC)
    per_seller = rows // sellers
    paths = []
    for s in range(sellers):
        path = folder / f"orders-{s:04d}.txt"
        lines = ["\t".join(HEADER)]
        written = 0
        n = 0
        while written < per_seller:
            n += 1
            # Amazon's 3-7-7 digits (anything else is refused): seller and order number in the middle
            order_id = f"11{s % 10}-{s % 1000:03d}{n % 10_000:04d}-{rng.randrange(10**7):07d}"
            when = start + timedelta(seconds=rng.randrange(150 * 86400))
            status = rng.choice(STATUSES)
            channel = "Merchant" if rng.random() < 0.7 else "Amazon"
            city, state, postal = rng.choice(CITIES)
            items = 1 if rng.random() < 0.8 else 2
            for i in range(min(items, per_seller - written)):
                price = "" if status == "Pending" else f"{rng.randrange(500, 20000) / 100:.2f}"
                tax = "" if status == "Pending" else f"{rng.randrange(0, 900) / 100:.2f}"
                stamp = when.strftime("%Y-%m-%dT%H:%M:%S+00:00")
                lines.append(
                    "\t".join(
                        [
                            order_id,
                            "",
                            stamp,
                            stamp,
                            status,
                            channel,
                            "Amazon.com",
                            "",
                            "",
                            "Standard",
                            f"Product {i}",
                            f"SKU-{rng.randrange(500):04d}-{i}",
                            f"B0{rng.randrange(10**8):08d}",
                            status,
                            "1",
                            "USD",
                            price,
                            tax,
                            "0.00",
                            "0.00",
                            "",
                            "",
                            "",
                            "",
                            city,
                            state,
                            postal,
                            "US",
                            "",
                            "false",
                            "",
                            "",
                            "false",
                        ]
                    )
                )
                written += 1
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_reference(folder: Path, db_path: Path) -> dict[str, float]:
    import csv

    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    cols = ", ".join(f'"{c}" TEXT' for c in HEADER)
    conn.execute(f"CREATE TABLE all_orders ({cols})")
    marks = ", ".join("?" * len(HEADER))
    rows = 0
    started = time.perf_counter()
    for path in sorted(folder.glob("orders-*.txt")):
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
            next(reader)
            batch = list(reader)
        conn.executemany(f"INSERT INTO all_orders VALUES ({marks})", batch)
        conn.commit()
        rows += len(batch)
    seconds = time.perf_counter() - started
    conn.close()
    return {"rows": rows, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}


def child_tsunagu(folder: Path, db_path: Path) -> dict[str, float]:
    from tsunagu.connectors.amazon.service import import_file
    from tsunagu.core.db import make_engine, make_sessionmaker, unit_of_work, upgrade
    from tsunagu.core.runtime import tune_gc_for_batch_work
    from tsunagu.marketplaces.registry import load_registry
    from tsunagu.sellers.service import create_seller

    tune_gc_for_batch_work()  # what the `tsunagu` command does at start-up
    engine = make_engine(f"sqlite:///{db_path}")
    upgrade(engine)
    factory = make_sessionmaker(engine)
    registry = load_registry(None)
    us = registry.require("US")
    now = datetime.now(UTC)
    files = sorted(folder.glob("orders-*.txt"))
    with unit_of_work(factory) as session:
        sellers = [
            create_seller(
                session, name=f"bench {n}", marketplaces=["US"], registry=registry, now=now
            ).id
            for n in range(len(files))
        ]
    rows = stored = rejected = 0
    started = time.perf_counter()
    for seller_id, path in zip(sellers, files, strict=True):
        result = import_file(
            factory, "orders", path, seller_id=seller_id, marketplace=us, registry=registry, now=now
        )
        data = result.as_dict("en")
        rows += int(data["file"]["rows"])
        stored += int(data["stored"])
        rejected += int(data["rejected"])
    seconds = time.perf_counter() - started
    return {
        "rows": rows,
        "events_stored": stored,
        "rejected": rejected,
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
    }


def run_child(kind: str, folder: Path, db_path: Path) -> dict[str, Any]:
    """One importer in its own process; its report, or ``{"error": ...}`` if it failed."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.import_orders",
            "--child",
            kind,
            "--folder",
            str(folder),
            "--db",
            str(db_path),
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        why = error_line(out.stderr.splitlines())
        return {"error": f"{kind} importer exited with status {out.returncode}: {why}"}
    return dict(json.loads(lines[-1]))


def measure(rows: int, sellers: int, seed: int) -> dict[str, Any]:
    """Generate the files, run both importers on them, return what each reported."""
    with tempfile.TemporaryDirectory(prefix="tsunagu-bench-") as tmp:
        folder = Path(tmp) / "files"
        t0 = time.perf_counter()
        generate(folder, rows, sellers, seed)
        gen_seconds = time.perf_counter() - t0
        size_mb = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
        ref = run_child("reference", folder, Path(tmp) / "reference.db")
        ours = run_child("tsunagu", folder, Path(tmp) / "tsunagu.db")
    result: dict[str, Any] = {
        "rows": rows,
        "sellers": sellers,
        "files_mb": size_mb,
        "generate_seconds": gen_seconds,
        "reference": ref,
        "tsunagu": ours,
    }
    for side in (ref, ours):
        if "error" not in side:
            side["rows_per_second"] = side["rows"] / side["seconds"]
    if "error" not in ref and "error" not in ours:
        result["ratio"] = ours["rows_per_second"] / ref["rows_per_second"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sellers", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--child", choices=["reference", "tsunagu"])
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--db", type=Path)
    args = parser.parse_args()
    if args.child:
        fn = child_reference if args.child == "reference" else child_tsunagu
        print(json.dumps(fn(args.folder, args.db)))
        return
    result = measure(args.rows, args.sellers, args.seed)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        report(result)
    if "ratio" not in result:
        sys.exit(1)


def report(result: dict[str, Any]) -> None:
    ref, ours = result["reference"], result["tsunagu"]
    print(
        f"All Orders import: {result['rows']:,} rows in {result['sellers']:,} seller files "
        f"({result['files_mb']:.0f} MB, generated in {result['generate_seconds']:.1f} s), "
        f"SQLite, {os.cpu_count()} cores"
    )
    print()
    print("| importer | rows | seconds | rows/s | peak RSS |")
    print("|---|---:|---:|---:|---:|")
    for label, side in (
        ("reference: csv + sqlite3 executemany, one table", ref),
        ("tsunagu import amazon-orders", ours),
    ):
        if "error" in side:
            print(f"| {label} | {side['error']} | | | |")
            continue
        print(
            f"| {label} | {side['rows']:,.0f} | {side['seconds']:.1f} | "
            f"{side['rows_per_second']:,.0f} | {side['peak_rss_mb']:.0f} MB |"
        )
    if "ratio" not in result:
        return
    print()
    print(
        f"ratio tsunagu / reference: {result['ratio']:.2f} (target ≥ 0.33); "
        f"tsunagu peak RSS {ours['peak_rss_mb']:.0f} MB (target < 500 MB); "
        f"events stored {ours['events_stored']:,.0f}, rows rejected {ours['rejected']:,.0f}"
    )


if __name__ == "__main__":
    main()
