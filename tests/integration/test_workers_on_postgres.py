"""Several ``tsunagu worker`` processes on one PostgreSQL database (issue 13, item 4): every due
job runs exactly once and none is left ``running``. The claim is a conditional ``UPDATE`` on the
job's status and attempts (``jobs.service._claim``), so two processes can never both win it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import Db
from tests.factories import make_seller
from tsunagu.core.db import unit_of_work
from tsunagu.jobs.models import Job
from tsunagu.jobs.service import enqueue

JOBS = 1000
WORKERS = 4
#: what ``tsunagu worker`` prints for each job it ran
RAN = re.compile(r"^\S+ \S+ (?P<kind>\S+) \[(?P<key>[^\]]+)\]: (?P<status>\w+)$")


@pytest.mark.pg
def test_four_workers_run_each_of_a_thousand_due_jobs_exactly_once(pg_db: Db, tmp_path: Path):
    make_seller(pg_db)  # a JP and a US store: every alert job checks both
    first = date(2023, 1, 1)
    with unit_of_work(pg_db.factory) as session:
        for n in range(JOBS):
            key = (first + timedelta(days=n)).isoformat()
            due = datetime(2023, 1, 1, tzinfo=UTC)
            assert enqueue(session, kind="health.alerts", key=key, due_at=due)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGU_")}
    env.update({"TSUNAGU_DATABASE_URL": pg_db.url, "TSUNAGU_LANG": "en"})
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tsunagu.cli", "worker", "--loops", "1", "--interval", "0"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(WORKERS)
    ]
    outputs = [w.communicate(timeout=600) for w in workers]
    assert [w.returncode for w in workers] == [0] * WORKERS, [err for _, err in outputs]

    runs = [RAN.match(line) for out, _ in outputs for line in out.splitlines()]
    ran = Counter(m["key"] for m in runs if m and m["kind"] == "health.alerts")
    assert sum(1 for m in runs if m and m["status"] != "done") == 0
    with pg_db.session() as session:
        keys = set(session.execute(select(Job.key).where(Job.kind == "health.alerts")).scalars())
        # every job, the other slices' periodic ones (one period each) included
        counted = session.execute(select(Job.status, func.count()).group_by(Job.status)).all()
        statuses = {str(status): int(count) for status, count in counted}
        attempts = set(session.execute(select(Job.attempts)).scalars())
        total = session.execute(select(func.count()).select_from(Job)).scalar_one()
    # each job ran once, by one of the processes, and the work was shared
    assert set(ran) == keys
    assert len(keys) >= JOBS
    assert set(ran.values()) == {1}
    assert statuses == {"done": total}
    assert attempts == {1}
    busy = [sum(1 for line in out.splitlines() if RAN.match(line)) for out, _ in outputs]
    assert sum(busy) == total
    assert sum(1 for n in busy if n > 0) >= 2, busy
