"""Importing many Amazon files at once: ``tsunagu import auto``, ``POST …/imports/auto`` and the
dashboard's multi-file upload.

:func:`plan` looks at every file (:mod:`tsunagu.connectors.amazon.detect`): its kind from its
header, its marketplace from its own columns. A file that names no marketplace (the Feedback
report) belongs to the store whose orders it names, counting the orders already stored for the
seller and those of the order files sent in the same call; with none known it goes to the
``marketplace`` given, else to the seller's only store, else it is refused
(``marketplace_undetermined``); orders in several stores refuse it too
(``marketplace_ambiguous``). A file whose marketplace contradicts the one given is refused as a
whole, with one error (``file_marketplace_mismatch``), and nothing of it is written.

:func:`run` imports the planned files in dependency order (orders first, then what refers to
them, the V2 account health JSON last), each through :func:`tsunagu.events.imports.import_file`
(or, for the JSON, the health snapshot import) so each is recorded in ``import_runs``. A file
that fails does not stop the others, except with ``strict``: then a refused file means nothing
is imported. Like :mod:`tsunagu.events.imports`, these own their transactions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tsunagu.connectors.amazon import detect
from tsunagu.connectors.amazon.health_report import parse_v2_report
from tsunagu.connectors.amazon.tsv import read_report
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import TsunaguError, UsageError
from tsunagu.core.i18n import N_
from tsunagu.events import imports, repo
from tsunagu.health import snapshots
from tsunagu.health.schemas import SnapshotImportOut
from tsunagu.marketplaces.registry import Marketplace, Registry
from tsunagu.sellers.service import get_seller, require_store

#: at most this many files in one call (the API and the page refuse more: ``too_many_files``)
MAX_FILES = 30
#: how far into a file its kind is looked for when telling JSON from a flat file
SNIFF = 64

#: how a file's store was found: ``file`` (its own columns), ``orders`` (the orders it names),
#: ``option`` (the marketplace given), ``only_store`` (the seller has one store)
ATTRIBUTIONS = ("file", "orders", "option", "only_store")
#: what became of a file: ``ready`` (detection only), ``imported``, ``checked`` (dry run),
#: ``refused`` (a file-level problem found before importing), ``failed`` (the import raised),
#: ``skipped`` (strict, and another file was refused)
STATUSES = ("ready", "imported", "checked", "refused", "failed", "skipped")

#: each kind in words (pages and the command line show these, never the kind itself)
KIND_NAMES: dict[str, str] = {
    "orders": N_("All Orders report"),
    "unshipped": N_("Unshipped Orders report"),
    "feedback": N_("Seller Feedback report"),
    "settlement": N_("Settlement report"),
    "returns": N_("Returns report"),
    "shipconfirm": N_("Shipping confirmation file"),
    "afn-shipments": N_("Amazon-fulfilled shipments report"),
    detect.HEALTH: N_("Account health report (V2)"),
}
#: how the store was found, in words
ATTRIBUTION_NAMES: dict[str, str] = {
    "file": N_("named in the file"),
    "orders": N_("found from its orders"),
    "option": N_("as chosen"),
    "only_store": N_("the seller's only store"),
}
#: what became of a file, in words
STATUS_NAMES: dict[str, str] = {
    "ready": N_("ready to import"),
    "imported": N_("imported"),
    "checked": N_("checked (dry run)"),
    "refused": N_("refused"),
    "failed": N_("failed"),
    "skipped": N_("not imported: another file was refused"),
}


@dataclass(frozen=True)
class Upload:
    """A file to import: where it is and the name its sender knows it by."""

    path: Path
    name: str


@dataclass
class PlannedFile:
    """One file (for the V2 JSON: one store of it) as planned."""

    position: int
    name: str
    path: Path
    kind: str | None = None
    rows: int | None = None
    marketplace: str | None = None
    attributed_by: str | None = None
    encoding: str | None = None
    problems: list[TsunaguError] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return self.kind is not None and self.marketplace is not None and not self.problems

    @property
    def import_kind(self) -> str | None:
        """``import_runs.kind``: ``amazon-<kind>``."""
        return f"amazon-{self.kind}" if self.kind is not None else None


@dataclass
class FileOutcome:
    planned: PlannedFile
    status: str
    import_id: str | None = None
    report: dict[str, Any] | None = None
    problems: list[TsunaguError] = field(default_factory=list)

    def as_dict(self, lang: str | None = None) -> dict[str, Any]:
        p = self.planned
        return {
            "name": p.name,
            "kind": p.kind,
            "marketplace": p.marketplace,
            "attributed_by": p.attributed_by,
            "rows": p.rows,
            "status": self.status,
            "import_id": self.import_id,
            "problems": [_problem(e, lang) for e in self.problems],
            "report": self.report,
        }


def _problem(error: TsunaguError, lang: str | None) -> dict[str, Any]:
    return {"code": error.code, "message": error.message(lang), "details": error.details}


@dataclass
class AutoResult:
    dry_run: bool
    files: list[FileOutcome]

    @property
    def totals(self) -> dict[str, int]:
        counts = dict.fromkeys(("read", "stored", "duplicates", "rejected", "waiting_for_order"), 0)
        for outcome in self.files:
            for key in counts:
                value = (outcome.report or {}).get(key, 0)
                counts[key] += value if isinstance(value, int) else 0
        statuses = [o.status for o in self.files]
        return {
            "files": len(self.files),
            "imported": sum(s in ("imported", "checked") for s in statuses),
            "refused": sum(s in ("refused", "skipped") for s in statuses),
            "failed": statuses.count("failed"),
            **counts,
        }

    @property
    def clean(self) -> bool:
        """Every file imported and no row rejected."""
        totals = self.totals
        return not (totals["refused"] or totals["failed"] or totals["rejected"])

    def as_dict(self, lang: str | None = None) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "files": [o.as_dict(lang) for o in self.files],
            "totals": self.totals,
        }


# -- planning ----------------------------------------------------------------------------------


def _shown(error: TsunaguError, path: Path, name: str) -> TsunaguError:
    """The error as its sender should read it: our saved file's path replaced by its name."""
    for mapping in (error.params, error.details):
        for key, value in mapping.items():
            if isinstance(value, str | Path) and str(path) in str(value):
                mapping[key] = str(value).replace(str(path), name)
    return error


def inspect_file(upload: Upload, registry: Registry) -> detect.FileFacts:
    """Read and detect one file (``UsageError`` when it cannot be read or fits no kind)."""
    try:
        with upload.path.open("rb") as fh:
            head = fh.read(SNIFF)
    except OSError as exc:
        raise UsageError(
            N_("Cannot read {path}: {reason}"),
            code="unreadable_file",
            path=upload.name,
            reason=exc.strerror or type(exc).__name__,
            details={"path": upload.name},
        ) from exc
    if detect.looks_like_json(head):
        data = upload.path.read_bytes()
        return detect.facts_of_json(upload.name, data, registry)
    report = read_report(upload.path, ())
    try:
        return detect.facts_of_report(upload.name, report, registry)
    except UsageError as exc:
        if exc.code != detect.UNKNOWN_KIND:
            raise
        # a shipping confirmation file may start with template lines above its header
        reader = detect.preamble_reader()
        if reader is None:
            raise
        try:
            again = reader(upload.path)
        except TsunaguError:
            raise exc from None
        return detect.facts_of_report(upload.name, again, registry)


def _mismatch(name: str, found: Sequence[str], expected: str) -> UsageError:
    return UsageError(
        N_("{file} is for {found}, but this import is for {expected}: nothing of it was imported"),
        code="file_marketplace_mismatch",
        file=name,
        found=", ".join(found),
        expected=expected,
        details={"file": name, "found": list(found), "expected": expected},
    )


def _no_store(name: str, found: Sequence[str]) -> UsageError:
    return UsageError(
        N_("{file} is for {found}, where this seller has no store"),
        code="marketplace_not_enabled",
        file=name,
        found=", ".join(found),
        details={"file": name, "found": list(found)},
    )


def _resolve_named(
    item: PlannedFile,
    facts: detect.FileFacts,
    stores: Sequence[str],
    chosen: Marketplace | None,
) -> list[PlannedFile]:
    """Attribute a file that names its marketplace (the V2 JSON may give one entry per store)."""
    candidates = sorted(facts.candidates or ())
    if not candidates:
        item.problems.append(
            UsageError(
                N_("{file} names a marketplace tsunagu does not know: {values}"),
                code="unknown_file_marketplace",
                file=item.name,
                values=", ".join(facts.unknown),
                details={"file": item.name, "values": list(facts.unknown)},
            )
        )
        return [item]
    if chosen is not None:
        if chosen.code not in candidates:
            item.problems.append(_mismatch(item.name, candidates, chosen.code))
        else:
            item.marketplace, item.attributed_by = chosen.code, "option"
            if facts.kind != detect.HEALTH and len(candidates) == 1:
                item.attributed_by = "file"
        return [item]
    if facts.mixed and facts.kind != detect.HEALTH and facts.named_by != "currency":
        item.problems.append(
            UsageError(
                N_(
                    "{file} holds rows of several marketplaces ({found}); import one file per store"
                ),
                code="mixed_marketplaces",
                file=item.name,
                found=", ".join(candidates),
                details={"file": item.name, "found": candidates},
            )
        )
        return [item]
    mine = [code for code in candidates if code in stores]
    if not mine:
        item.problems.append(_no_store(item.name, candidates))
        return [item]
    if len(mine) == 1:
        item.marketplace, item.attributed_by = mine[0], "file"
        return [item]
    if facts.kind == detect.HEALTH:  # one report, several stores: a snapshot for each
        copies = []
        for code in mine:
            copy = PlannedFile(
                item.position, item.name, item.path, item.kind, item.rows, code, "file"
            )
            copy.encoding = item.encoding
            copies.append(copy)
        return copies
    return [item]  # a currency several stores trade in: the orders decide (below)


def _resolve_by_orders(
    session: Session,
    item: PlannedFile,
    facts: detect.FileFacts,
    seller_id: str,
    stores: Sequence[str],
    chosen: Marketplace | None,
    in_call: dict[str, set[str]],
) -> None:
    """Attribute a file that names no marketplace (or a currency several stores share) to the
    store whose orders it names."""
    allowed = [c for c in stores if facts.candidates is None or c in facts.candidates]
    ids = sorted(facts.order_ids)
    counts: dict[str, int] = {}
    for code in allowed:
        here = in_call.get(code, set())
        known = {i for i in ids if i in here}
        rest = [i for i in ids if i not in here]
        if rest:
            known |= repo.existing_orders(session, seller_id, code, rest)
        if known:
            counts[code] = len(known)
    if chosen is not None:
        if counts and chosen.code not in counts:
            item.problems.append(_mismatch(item.name, sorted(counts), chosen.code))
        else:
            item.marketplace, item.attributed_by = chosen.code, "option"
        return
    if len(counts) == 1:
        item.marketplace, item.attributed_by = next(iter(counts)), "orders"
    elif counts:
        item.problems.append(
            UsageError(
                N_(
                    "{file} names no marketplace, and its orders are in several stores "
                    "({found}); import it with its marketplace chosen"
                ),
                code="marketplace_ambiguous",
                file=item.name,
                found=", ".join(f"{code} ({n})" for code, n in sorted(counts.items())),
                details={"file": item.name, "orders_by_store": dict(sorted(counts.items()))},
            )
        )
    elif len(allowed) == 1:
        item.marketplace, item.attributed_by = allowed[0], "only_store"
    else:
        item.problems.append(
            UsageError(
                N_(
                    "{file} names no marketplace and none of its orders is known in any of "
                    "this seller's stores; choose its marketplace, or import its orders with it"
                ),
                code="marketplace_undetermined",
                file=item.name,
                details={"file": item.name, "orders": len(ids)},
            )
        )


def plan(
    session: Session,
    uploads: Sequence[Upload],
    *,
    seller_id: str,
    registry: Registry,
    marketplace: Marketplace | None = None,
) -> list[PlannedFile]:
    """Every file's kind and store, in the order they would be imported (see the module).
    Raises for the call as a whole only: an unknown seller, a ``marketplace`` the seller has no
    store in, too many files."""
    if len(uploads) > MAX_FILES:
        raise UsageError(
            N_("At most {max} files at once"),
            code="too_many_files",
            max=MAX_FILES,
            details={"max": MAX_FILES, "files": len(uploads)},
        )
    seller = get_seller(session, seller_id)
    stores = sorted(s.marketplace for s in seller.stores)
    if marketplace is not None:
        require_store(session, seller_id, marketplace.code)
    planned: list[PlannedFile] = []
    facts_of: dict[int, detect.FileFacts] = {}
    for position, upload in enumerate(uploads):
        item = PlannedFile(position, upload.name, upload.path)
        try:
            facts = inspect_file(upload, registry)
        except TsunaguError as exc:
            item.problems.append(_shown(exc, upload.path, upload.name))
            planned.append(item)
            continue
        item.kind, item.rows, item.encoding = facts.kind, facts.rows, facts.encoding
        facts_of[position] = facts
        if facts.candidates is None:
            planned.append(item)
        else:
            planned.extend(_resolve_named(item, facts, stores, marketplace))
    # the order files' orders count for the files that name no marketplace
    in_call: dict[str, set[str]] = {}
    for item in planned:
        if item.kind == "orders" and item.ready and item.marketplace is not None:
            in_call.setdefault(item.marketplace, set()).update(facts_of[item.position].order_ids)
    for item in planned:
        if item.kind is None or item.marketplace is not None or item.problems:
            continue
        facts = facts_of[item.position]
        _resolve_by_orders(session, item, facts, seller_id, stores, marketplace, in_call)
    return sorted(planned, key=_order)


def _order(item: PlannedFile) -> tuple[bool, int, str, str, int]:
    """Refused files last; the others by dependency rank, store and name (the order the files
    were given in does not matter)."""
    rank = detect.rank_of(item.kind) if item.kind is not None else detect.HEALTH_RANK + 1
    return (not item.ready, rank, item.marketplace or "", item.name, item.position)


# -- running -----------------------------------------------------------------------------------


def _health_work(
    factory: sessionmaker[Session],
    item: PlannedFile,
    seller_id: str,
    market: Marketplace,
    dry_run: bool,
    clock: Callable[[], datetime],
) -> Callable[[], dict[str, Any]]:
    def work() -> dict[str, Any]:
        data = item.path.read_bytes()
        counts: dict[str, Any] = {
            "read": 1,
            "stored": 0,
            "duplicates": 0,
            "rejected": 0,
            "waiting_for_order": 0,
            "errors": [],
        }
        if dry_run:
            parse_v2_report(data, market.marketplace_id, zone=market.tz)
            return counts
        with unit_of_work(factory) as session:
            result = snapshots.import_snapshot(
                session,
                seller_id=seller_id,
                marketplace=market,
                data=data,
                source_name=item.name,
                now=clock(),
            )
            shown = SnapshotImportOut.of(result).model_dump(mode="json")
        stored = int(result.outcome == "stored")
        return {**counts, "stored": stored, "duplicates": 1 - stored, **shown}

    return work


def _import_one(
    factory: sessionmaker[Session],
    item: PlannedFile,
    *,
    seller_id: str,
    registry: Registry,
    read_factory: sessionmaker[Session] | None,
    strict: bool,
    dry_run: bool,
    chunk_size: int,
    lang: str | None,
    clock: Callable[[], datetime],
) -> imports.Imported:
    market = registry.require(item.marketplace or "", UsageError)
    if item.kind == detect.HEALTH:
        return imports.recorded(
            factory,
            kind="amazon-health",
            path=item.path,
            name=item.name,
            seller_id=seller_id,
            marketplace=market.code,
            mode="strict",
            dry_run=dry_run,
            clock=clock,
            work=_health_work(factory, item, seller_id, market, dry_run, clock),
        )
    return imports.import_file(
        factory,
        imports.FileImport(
            item.import_kind or "",
            item.path,
            item.name,
            seller_id=seller_id,
            marketplace=market,
            strict=strict,
            dry_run=dry_run,
            chunk_size=chunk_size,
        ),
        registry=registry,
        read_factory=read_factory,
        lang=lang,
        clock=clock,
    )


def run(
    factory: sessionmaker[Session],
    planned: Sequence[PlannedFile],
    *,
    seller_id: str,
    registry: Registry,
    read_factory: sessionmaker[Session] | None = None,
    strict: bool = False,
    dry_run: bool = False,
    chunk_size: int = 5000,
    lang: str | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> AutoResult:
    """Import the planned files in their order (see the module)."""
    refused = any(not item.ready for item in planned)
    outcomes: list[FileOutcome] = []
    for item in planned:
        if not item.ready:
            outcomes.append(FileOutcome(item, "refused", problems=list(item.problems)))
            continue
        if strict and refused:
            outcomes.append(FileOutcome(item, "skipped"))
            continue
        try:
            found = _import_one(
                factory,
                item,
                seller_id=seller_id,
                registry=registry,
                read_factory=read_factory,
                strict=strict,
                dry_run=dry_run,
                chunk_size=chunk_size,
                lang=lang,
                clock=clock,
            )
        except TsunaguError as exc:
            outcomes.append(
                FileOutcome(item, "failed", problems=[_shown(exc, item.path, item.name)])
            )
            continue
        status = "checked" if dry_run else "imported"
        outcomes.append(FileOutcome(item, status, found.run_id, found.report))
    return AutoResult(dry_run, outcomes)


def detect_files(
    read_factory: sessionmaker[Session],
    uploads: Sequence[Upload],
    *,
    seller_id: str,
    registry: Registry,
    marketplace: Marketplace | None = None,
) -> AutoResult:
    """Detection only: each file as it would be imported (``ready``) or why not (``refused``);
    nothing is written."""
    with read_factory() as session:
        planned = plan(
            session, uploads, seller_id=seller_id, registry=registry, marketplace=marketplace
        )
        session.rollback()
    return AutoResult(
        True,
        [
            FileOutcome(p, "ready" if p.ready else "refused", problems=list(p.problems))
            for p in planned
        ],
    )


def import_auto(
    factory: sessionmaker[Session],
    uploads: Sequence[Upload],
    *,
    seller_id: str,
    registry: Registry,
    marketplace: Marketplace | None = None,
    read_factory: sessionmaker[Session] | None = None,
    strict: bool = False,
    dry_run: bool = False,
    chunk_size: int = 5000,
    lang: str | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> AutoResult:
    """Plan, then run (see the module)."""
    with (read_factory or factory)() as session:
        planned = plan(
            session, uploads, seller_id=seller_id, registry=registry, marketplace=marketplace
        )
        session.rollback()
    return run(
        factory,
        planned,
        seller_id=seller_id,
        registry=registry,
        read_factory=read_factory,
        strict=strict,
        dry_run=dry_run,
        chunk_size=chunk_size,
        lang=lang,
        clock=clock,
    )
