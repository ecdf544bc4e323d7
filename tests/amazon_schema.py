"""Amazon's published JSON schema of the V2 seller performance report, as a test assertion.

``GET_V2_SELLER_PERFORMANCE_REPORT`` is described by ``schemas/reports/
accountHealthReport-2020-11-18.json`` in Amazon's ``amzn/selling-partner-api-models``
repository; an unmodified copy lives in ``tests/fixtures/amazon`` (see README-schema.md there).
tsunagu's own report (``tsunagu.health.report.v2_report``) must validate against it.

The report is serialised to JSON and read back before it is validated, so what is checked is
what ``tsunagu health report`` prints, not the Python objects behind it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson

SCHEMA_PATH = Path(__file__).parent / "fixtures" / "amazon" / "accountHealthReport-2020-11-18.json"


@cache
def _validator() -> jsonschema_rs.Draft7Validator:
    # the file says draft-07 (``$schema``); name the draft rather than rely on detection
    return jsonschema_rs.Draft7Validator(orjson.loads(SCHEMA_PATH.read_bytes()))


def v2_report_errors(report: Any) -> list[str]:
    """Every way ``report`` breaks the schema, one ``path: message`` line each (sorted)."""
    wire = orjson.loads(orjson.dumps(report))
    return sorted(
        f"/{'/'.join(str(p) for p in error.instance_path)}: {error.message}"
        for error in _validator().iter_errors(wire)
    )


def assert_valid_v2_report(report: Any) -> None:
    """Fail with the list of schema errors unless ``report`` is a valid V2 report."""
    errors = v2_report_errors(report)
    assert not errors, "not a valid V2 seller performance report:\n" + "\n".join(errors)
