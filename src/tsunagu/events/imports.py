"""Importing a file: the one use case behind ``tsunagu import amazon-…``, ``tsunagu events
import``, ``tsunagu demo load``, the API's import routes and the dashboard's upload.

:func:`import_file` records the run in ``import_runs`` (not on a dry run), imports the file through
the pipeline (an events file of JSON lines, or an Amazon report through its connector) and then
brings the health rollups up to date, so the store's figures include what was stored.
:func:`load` is the same without the record; :func:`recorded` is the record around an import that
does not go through the pipeline (Amazon's health report). Like :mod:`tsunagu.events.ingest`,
these own their transactions. :func:`saved_upload` keeps an uploaded file under a name tsunagu
chooses while it is imported.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.orm import Session, sessionmaker

from tsunagu.connectors.amazon import service as amazon
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import TsunaguError
from tsunagu.core.uploads import SAVED_NAME
from tsunagu.events import ingest, runs
from tsunagu.events.jsonl import jsonl_source
from tsunagu.health import alert_service, refresh
from tsunagu.marketplaces.registry import Marketplace, Registry
from tsunagu.points import sync as points_sync

#: ``import_runs.kind`` of an events file; an Amazon report's is ``amazon-<report>``
EVENTS = "events"

#: opens the progress bar of an import (the command line's; none elsewhere)
Bar = Callable[[], AbstractContextManager[ingest.Progress | None]]


def no_bar() -> AbstractContextManager[ingest.Progress | None]:
    return nullcontext()


@dataclass(frozen=True)
class FileImport:
    """One file to import, and how."""

    #: :data:`EVENTS` or ``amazon-orders``, ``amazon-unshipped``, ``amazon-feedback``
    kind: str
    path: Path
    #: the file's name as its sender knows it: the record keeps it
    name: str
    #: the seller the run is recorded for; an events file may then carry only that seller's
    #: events (``None``: anyone's, as from the command line). Amazon reports need one.
    seller_id: str | None = None
    #: the store's marketplace (Amazon reports)
    marketplace: Marketplace | None = None
    strict: bool = False
    dry_run: bool = False
    #: who sent an events file (``file``, ``web``, ``demo``); kept with each event stored
    label: str = "file"
    chunk_size: int = 5000

    @property
    def mode(self) -> str:
        return "strict" if self.strict else "partial"


@dataclass(frozen=True)
class Imported:
    """The recorded run (``None`` for a dry run) and the import report (what ``--json`` prints)."""

    run_id: str | None
    report: dict[str, Any]


def import_file(
    factory: sessionmaker[Session],
    job: FileImport,
    *,
    registry: Registry,
    read_factory: sessionmaker[Session] | None = None,
    lang: str | None = None,
    bar: Bar = no_bar,
    clock: Callable[[], datetime] = utcnow,
) -> Imported:
    """Record the run, import the file, refresh the health rollups (see :func:`load`)."""
    return recorded(
        factory,
        kind=job.kind,
        path=job.path,
        name=job.name,
        seller_id=job.seller_id,
        marketplace=job.marketplace.code if job.marketplace is not None else None,
        mode=job.mode,
        dry_run=job.dry_run,
        clock=clock,
        work=lambda: load(
            factory,
            job,
            registry=registry,
            read_factory=read_factory,
            lang=lang,
            bar=bar,
            clock=clock,
        ),
    )


def load(
    factory: sessionmaker[Session],
    job: FileImport,
    *,
    registry: Registry,
    read_factory: sessionmaker[Session] | None = None,
    lang: str | None = None,
    bar: Bar = no_bar,
    clock: Callable[[], datetime] = utcnow,
) -> dict[str, Any]:
    """Import the file through the pipeline (the bar shows while it runs), then bring the
    health rollups and the points grants up to date unless it was a dry run; the report as a
    dict. (Points become *available* only through the ``points.settle`` job; the grants read
    here are pending, voided or clawed back as the imported events say.)"""
    with bar() as progress:
        result = _through_pipeline(factory, job, registry, clock(), progress, read_factory)
    if not job.dry_run:
        refreshed = refresh.refresh_all(factory, registry, clock())
        alert_service.check_everything(factory, registry, clock(), stores=refreshed)  # issue 16
        with unit_of_work(factory) as session:
            points_sync.sync_all(session, registry=registry, now=clock())
    return result.as_dict(lang)


def _through_pipeline(
    factory: sessionmaker[Session],
    job: FileImport,
    registry: Registry,
    now: datetime,
    progress: ingest.Progress | None,
    read_factory: sessionmaker[Session] | None,
) -> ingest.Report | amazon.ImportResult:
    if job.kind == EVENTS:
        seller_id = job.seller_id
        return ingest.run(
            factory,
            jsonl_source(job.path),
            registry=registry,
            now=now,
            source_label=job.label,
            strict=job.strict,
            dry_run=job.dry_run,
            chunk_size=job.chunk_size,
            progress=progress,
            can_access=(lambda seller: seller == seller_id) if seller_id else _anyone,
            read_factory=read_factory,
        )
    if job.seller_id is None or job.marketplace is None:
        raise ValueError(f"an {job.kind} import needs a seller and a marketplace")
    return amazon.import_file(
        factory,
        job.kind.removeprefix("amazon-"),
        job.path,
        seller_id=job.seller_id,
        marketplace=job.marketplace,
        registry=registry,
        now=now,
        strict=job.strict,
        dry_run=job.dry_run,
        chunk_size=job.chunk_size,
        progress=progress,
        read_factory=read_factory,
    )


def _anyone(_seller: str) -> bool:
    return True


def recorded(
    factory: sessionmaker[Session],
    *,
    kind: str,
    path: Path,
    name: str,
    seller_id: str | None,
    marketplace: str | None,
    mode: str,
    dry_run: bool,
    work: Callable[[], dict[str, Any]],
    clock: Callable[[], datetime] = utcnow,
) -> Imported:
    """Run ``work`` (an import answering its report dict) inside a record in ``import_runs``
    with the file's name and SHA-256 (:func:`tsunagu.events.runs.recorded`); a dry run is not
    recorded."""
    if dry_run:
        return Imported(None, work())
    run_id, report = runs.recorded(
        factory,
        kind=kind,
        source_name=name,
        sha256=sha256_of(path),
        seller_id=seller_id,
        marketplace=marketplace,
        mode=mode,
        clock=clock,
        work=work,
    )
    return Imported(run_id, report)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def saved_upload(content: bytes | BinaryIO, name: str) -> Iterator[Path]:
    """The uploaded file saved as :data:`~tsunagu.core.uploads.SAVED_NAME` in a fresh folder,
    removed afterwards. An error raised inside names the file ``name`` instead of that path."""
    with tempfile.TemporaryDirectory(prefix="tsunagu-upload-") as folder:
        path = Path(folder) / SAVED_NAME
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            with path.open("wb") as out:
                shutil.copyfileobj(content, out)
        try:
            yield path
        except TsunaguError as exc:
            _hide_folder(exc, folder, name)
            raise


def _hide_folder(exc: TsunaguError, folder: str, name: str) -> None:
    """File-level errors name the file they read; show the sender's file name, not ours."""
    for mapping in (exc.params, exc.details):
        for key, value in mapping.items():
            if isinstance(value, str) and folder in value:
                mapping[key] = name
