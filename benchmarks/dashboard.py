"""Dashboard page time against the same data as JSON from the API, in one run on one server.

    python -m benchmarks.dashboard [--orders 6000] [--repeat 30]

Loads the demo (``tsunagu demo run --no-serve``; its largest seller, Kumo & Co., has about
5,000 orders over a JP and a US store) into a fresh SQLite file, serves it with one uvicorn
process, and times on localhost, one request at a time after a warm-up:

* the overview page ``/sellers/{id}`` beside ``GET /v1/sellers/{id}/health`` (every store);
* the JP store page ``/sellers/{id}/stores/JP`` beside the API calls that carry the same data:
  ``/health/JP/explain`` (terms and the ids behind each metric), ``/health/JP/history`` (180
  days) and ``/health/JP/forecast`` (90 days), timed one after the other.

Reports the median and p90 of each and the page ÷ JSON ratio (target ≤ 2×). Times are measured
from the client, so they include the local HTTP round trip on both sides alike.
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
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import httpx

from tsunagu.demo.load import DEMO_EMAIL, DEMO_PASSWORD

SELLER = "sel_demo7_03"  # Kumo & Co.: the demo's largest seller


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TSUNAGU_DATABASE_URL=f"sqlite:///{folder}/tsunagu.db", TSUNAGU_LANG="en")
    return subprocess.run(
        [sys.executable, "-m", "tsunagu.cli", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=6000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tsunagu-dashboard-bench-") as tmp:
        folder = Path(tmp)
        _run(folder, "demo", "run", "--no-serve", "--orders", str(args.orders), "--json")
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
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start")
                time.sleep(0.2)
            today = date.today()
            first = (today - timedelta(days=179)).isoformat()
            api = f"/v1/sellers/{SELLER}/health"
            pairs = [
                ("overview page", [f"/sellers/{SELLER}"], "GET /v1/sellers/{id}/health", [api]),
                (
                    "JP store page",
                    [f"/sellers/{SELLER}/stores/JP"],
                    "explain + history + forecast (JSON)",
                    [
                        f"{api}/JP/explain",
                        f"{api}/JP/history?from={first}&to={today.isoformat()}",
                        f"{api}/JP/forecast?days=90",
                    ],
                ),
            ]
            rows = []
            signed_in = httpx.post(
                f"{base}/v1/auth/sign-in",
                json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD},
                timeout=60,
            )
            signed_in.raise_for_status()
            auth = {"Authorization": f"Bearer {signed_in.json()['token']}"}
            with httpx.Client(base_url=base, timeout=60, headers=auth) as client:
                for page_name, page_paths, api_name, api_paths in pairs:
                    page = _time(client, page_paths, args.repeat)
                    data = _time(client, api_paths, args.repeat)
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
        finally:
            server.terminate()
            server.wait(timeout=10)

    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(
        f"Dashboard vs API, demo largest seller ({SELLER}), {args.orders:,} demo orders, "
        f"{args.repeat} requests each after warm-up, one uvicorn process, {os.cpu_count()} cores"
    )
    print()
    print("| page | median ms | p90 ms | same data as JSON | median ms | p90 ms | page ÷ JSON |")
    print("|---|---:|---:|---|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['page']} | {r['page_median_ms']:.1f} | {r['page_p90_ms']:.1f} | {r['json']} | "
            f"{r['json_median_ms']:.1f} | {r['json_p90_ms']:.1f} | {r['ratio']:.2f} (target ≤ 2) |"
        )


if __name__ == "__main__":
    main()
