"""One call that imports an Amazon file, for the CLI, the API and tests.

The steps own their transactions, like :mod:`tsunagu.events.ingest`: the file is prepared in a
read-only session (which also checks that the seller has a store in the marketplace), the pipeline
stores the events in chunks, and the personal data of the orders that exist afterwards is written
in one last transaction. That last step is skipped on a dry run and on a strict run that stored
nothing, so personal data never outlives the import that brought it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tsunagu.connectors.amazon.afn_shipments import prepare_afn_shipments
from tsunagu.connectors.amazon.common import Prepared
from tsunagu.connectors.amazon.feedback import prepare_feedback
from tsunagu.connectors.amazon.orders import prepare_orders
from tsunagu.connectors.amazon.returns import prepare_returns
from tsunagu.connectors.amazon.settlement import prepare_settlement
from tsunagu.connectors.amazon.ship_confirm import prepare_shipconfirm
from tsunagu.connectors.amazon.unshipped import prepare_unshipped
from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import N_
from tsunagu.events import ingest
from tsunagu.marketplaces.registry import Marketplace, Registry
from tsunagu.sellers.service import require_store

Preparer = Callable[..., Prepared]

#: ``tsunagu import amazon-<kind>``
PREPARERS: dict[str, Preparer] = {
    "orders": prepare_orders,
    "unshipped": prepare_unshipped,
    "feedback": prepare_feedback,
    "settlement": prepare_settlement,
    "returns": prepare_returns,
    "shipconfirm": prepare_shipconfirm,
    "afn-shipments": prepare_afn_shipments,
}


#: ``file.warning`` of a report whose file has a header and no data rows. Not an error: Amazon
#: hands out such files when there is nothing to report (no unshipped orders, no negative
#: feedback), so the import succeeds (CLI exit 0, API 200) and says that nothing was in it.
NO_ROWS = "no_rows"


@dataclass
class ImportResult:
    """The pipeline's report plus what the file itself held (``file``: rows, orders, …).

    ``report.read`` counts pipeline items (events and row errors); ``stats["rows"]`` counts the
    file's data rows; ``stats["warning"]`` is :data:`NO_ROWS` when there were none.
    """

    report: ingest.Report
    stats: dict[str, int | str]

    def as_dict(self, lang: str | None = None) -> dict[str, Any]:
        return {**self.report.as_dict(lang), "file": dict(self.stats)}


def import_file(
    factory: sessionmaker[Session],
    kind: str,
    path: Path,
    *,
    seller_id: str,
    marketplace: Marketplace,
    registry: Registry,
    now: datetime,
    strict: bool = False,
    dry_run: bool = False,
    chunk_size: int = 5000,
    progress: ingest.Progress | None = None,
    read_factory: sessionmaker[Session] | None = None,
) -> ImportResult:
    """Import one Amazon report file of ``kind`` (``orders``, ``unshipped``, ``feedback`` or
    ``settlement``)."""
    preparer = PREPARERS.get(kind)
    if preparer is None:
        raise UsageError(
            N_("Unknown Amazon report kind {kind}; known: {known}"),
            code="unknown_report_kind",
            kind=kind,
            known=", ".join(PREPARERS),
            details={"kind": kind},
        )
    with (read_factory or factory)() as session:
        require_store(session, seller_id, marketplace.code)
        prepared = preparer(session, path, seller_id=seller_id, marketplace=marketplace)
        session.rollback()
    written = [0]

    def write_personal(session: Session) -> None:
        # in the transaction of the last events, so both land together or not at all
        written[0] = prepared.write_personal(session, now)

    report = ingest.run(
        factory,
        prepared.source,
        registry=registry,
        now=now,
        source_label=f"amazon-{kind}",
        strict=strict,
        dry_run=dry_run,
        chunk_size=chunk_size,
        progress=progress,
        finish=write_personal,
        read_factory=read_factory,
    )
    stats = dict(prepared.stats)
    stats["personal_values"] = written[0]
    if not stats.get("rows"):
        stats["warning"] = NO_ROWS
    return ImportResult(report=report, stats=stats)
