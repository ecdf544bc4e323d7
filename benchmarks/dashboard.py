"""Dashboard page time against the same data as JSON from the API, in one run on one server.

    python -m benchmarks.dashboard [--orders 6000] [--repeat 30] [--json]

Loads the demo (``tsunagu demo run --no-serve --json``) into a fresh SQLite file, takes its
largest seller with a JP store from the demo's own summary (the most orders over all its stores;
Kumo & Co. at the default size, about 5,000 orders over a JP and a US store), serves the file with
one uvicorn process, and times on localhost, one request at a time after a warm-up:

* the overview page ``/sellers/{id}`` beside ``GET /v1/sellers/{id}/health`` (every store);
* the JP store page ``/sellers/{id}/stores/JP`` beside the API calls that carry the same data:
  ``/health/JP/explain`` (terms and the ids behind each metric), ``/health/JP/history`` (180
  days) and ``/health/JP/forecast`` (90 days), timed one after the other.

Reports the median and p90 of each, the page ÷ JSON ratio (target ≤ 2×), the JP store page ÷ the
overview page (which reads today's rollups; target ≤ 3×) and the server's peak RSS. Times are
measured from the client, so they include the local HTTP round trip on both sides alike.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from benchmarks.rows import error_line
from benchmarks.rss import peak_mb_of
from tsunagu.demo.load import DEMO_EMAIL, DEMO_PASSWORD


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TSUNAGU_DATABASE_URL=f"sqlite:///{folder}/tsunagu.db", TSUNAGU_LANG="en")
    done = subprocess.run(
        [sys.executable, "-m", "tsunagu.cli", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        why = error_line(done.stderr.splitlines())
        raise SystemExit(f"tsunagu {' '.join(args)} exited with status {done.returncode}: {why}")
    return done


def _time(client: httpx.Client, paths: Sequence[str], repeat: int) -> list[float]:
    """Seconds for fetching every path once, ``repeat`` times (after two warm-ups)."""
    for _ in range(2):
        for path in paths:
            client.get(path).raise_for_status()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        for path in paths:
            r = client.get(path)
            r.raise_for_status()
        samples.append(time.perf_counter() - started)
    return samples


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def largest_seller(summary: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The demo seller with the most orders over all its stores, among those with a JP store
    (rows of ``tsunagu demo run --json``: one per seller and store)."""
    sellers: dict[str, dict[str, Any]] = {}
    for row in summary:
        seller = sellers.setdefault(
            str(row["seller_id"]),
            {"id": str(row["seller_id"]), "name": str(row["name"]), "orders": 0, "stores": {}},
        )
        seller["orders"] += int(row["orders"])
        seller["stores"][str(row["marketplace"])] = int(row["orders"])
    with_jp = [s for s in sellers.values() if "JP" in s["stores"]]
    if not with_jp:
        raise SystemExit("the demo has no seller with a JP store")
    return max(with_jp, key=lambda s: (s["orders"], s["id"]))


def _wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with status {server.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("the server did not start")
        time.sleep(0.2)


def _pairs(seller: str) -> list[tuple[str, list[str], str, list[str]]]:
    """(page, its paths, the same data as JSON, their paths) for the overview and the store."""
    today = date.today()
    first = (today - timedelta(days=179)).isoformat()
    api = f"/v1/sellers/{seller}/health"
    return [
        ("overview page", [f"/sellers/{seller}"], "GET /v1/sellers/{id}/health", [api]),
        (
            "JP store page",
            [f"/sellers/{seller}/stores/JP"],
            "explain + history + forecast (JSON)",
            [
                f"{api}/JP/explain",
                f"{api}/JP/history?from={first}&to={today.isoformat()}",
                f"{api}/JP/forecast?days=90",
            ],
        ),
    ]


def measure(orders: int, repeat: int) -> dict[str, Any]:
    """Load the demo, serve it, time every page beside its JSON; the seller, rows and ratios."""
    with tempfile.TemporaryDirectory(prefix="tsunagu-dashboard-bench-") as tmp:
        folder = Path(tmp)
        loaded = _run(folder, "demo", "run", "--no-serve", "--orders", str(orders), "--json")
        seller = largest_seller(json.loads(loaded.stdout))
        port = _free_port()
        env = dict(os.environ, TSUNAGU_DATABASE_URL=f"sqlite:///{folder}/tsunagu.db")
        server = subprocess.Popen(
            [sys.executable, "-m", "tsunagu.cli", "serve", "--port", str(port)],
            cwd=folder,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        server_rss = None
        try:
            _wait_ready(base, server)
            signed_in = httpx.post(
                f"{base}/v1/auth/sign-in",
                json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD},
                timeout=60,
            )
            signed_in.raise_for_status()
            auth = {"Authorization": f"Bearer {signed_in.json()['token']}"}
            rows: list[dict[str, Any]] = []
            with httpx.Client(base_url=base, timeout=60, headers=auth) as client:
                for page_name, page_paths, api_name, api_paths in _pairs(seller["id"]):
                    page = _time(client, page_paths, repeat)
                    data = _time(client, api_paths, repeat)
                    rows.append(
                        {
                            "page": page_name,
                            "page_median_ms": statistics.median(page) * 1000,
                            "page_p90_ms": _p90(page) * 1000,
                            "json": api_name,
                            "json_median_ms": statistics.median(data) * 1000,
                            "json_p90_ms": _p90(data) * 1000,
                            "ratio": statistics.median(page) / statistics.median(data),
                        }
                    )
            server_rss = peak_mb_of(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=10)
    overview, store = rows
    return {
        "orders": orders,
        "repeat": repeat,
        "seller": seller,
        "rows": rows,
        "store_vs_overview": store["page_median_ms"] / overview["page_median_ms"],
        "server_peak_rss_mb": server_rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=6000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.orders, args.repeat)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    seller = result["seller"]
    print(
        f"Dashboard vs API, the demo's largest seller ({seller['name']}, {seller['id']}, "
        f"{seller['orders']:,} orders: "
        + ", ".join(f"{mp} {n:,}" for mp, n in sorted(seller["stores"].items()))
        + f"), {args.orders:,} demo orders, {args.repeat} requests each after warm-up, "
        f"one uvicorn process, {os.cpu_count()} cores"
    )
    print()
    print("| page | median ms | p90 ms | same data as JSON | median ms | p90 ms | page ÷ JSON |")
    print("|---|---:|---:|---|---:|---:|---:|")
    for r in result["rows"]:
        print(
            f"| {r['page']} | {r['page_median_ms']:.1f} | {r['page_p90_ms']:.1f} | {r['json']} | "
            f"{r['json_median_ms']:.1f} | {r['json_p90_ms']:.1f} | {r['ratio']:.2f} (target ≤ 2) |"
        )
    print()
    print(
        f"JP store page ÷ overview page: {result['store_vs_overview']:.2f} (target ≤ 3); "
        f"server peak RSS: {result['server_peak_rss_mb'] or 0:.0f} MB"
    )


if __name__ == "__main__":
    main()
