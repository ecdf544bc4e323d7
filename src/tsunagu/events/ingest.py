"""Running an import: check everything, then store in chunks.

Pass 1 reads the whole source inside one read-only transaction and decides every item: stored,
duplicate (same ``event_id``, same canonical body) or rejected (with line, field, code and value).
An event about an order that is neither stored nor placed in the same source is stored all the
same and *waits for its order* (ADR 0030): the order's projection is a fold of all its events, so
when the order arrives, in this file or a later one, the waiting events are part of it, and files
imported in either order end in the same state. The report counts them (``waiting_for_order``).
Whole-source knowledge lets ``--strict`` store nothing and ``--dry-run`` report exactly what a
real run would.

Pass 2 stores the accepted items in chunks, one transaction each (see ``events.service``). Like a
job, this module owns its transactions; services below it never commit. A kill at any point loses
at most the chunk in flight, and a re-run sees the stored events as duplicates.

Another import may store some of the same events between the two passes. Each chunk is checked
again under the sellers' write lock, and the report counts what was really written: events stored
meanwhile are duplicates, or ``event_conflict`` rejections when their stored body differs, exactly
as if they had been stored before the import began. A ``strict`` import stops at such a chunk,
which is rolled back; the chunks before it stay stored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from dataclasses import field as dc_field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tsunagu.core.db import unit_of_work
from tsunagu.core.i18n import N_, translate
from tsunagu.events import repo
from tsunagu.events.rules import Candidate, Problem, needs_order, validate
from tsunagu.events.service import ChunkResult, store_chunk
from tsunagu.marketplaces.registry import Registry
from tsunagu.sellers.models import Seller, Store

#: Above this many accepted events, pass 2 re-reads the source instead of keeping them in memory.
CACHE_LIMIT = 200_000


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    field: str
    code: str
    value: object
    message: str
    params: Mapping[str, object] = dc_field(default_factory=dict)

    def to_dict(self, lang: str | None = None) -> dict[str, Any]:
        text = translate(self.message, lang, field=self.field, value=self.value, **self.params)
        return {
            "line": self.line,
            "field": self.field,
            "code": self.code,
            "value": _jsonable(self.value),
            "message": text,
        }

    @classmethod
    def from_problem(cls, line: int, p: Problem) -> RowError:
        return cls(line, p.field, p.code, p.value, p.message, dict(p.params))


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


#: What a source yields: (line, raw object | prebuilt Candidate | RowError).
Item = tuple[int, object]
Source = Callable[[], Iterable[Item]]
Progress = Callable[[str, int], None]


@dataclass
class Report:
    read: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    #: events stored (or already stored) whose order tsunagu has not seen yet: they are kept and
    #: become part of the order when it arrives
    waiting_for_order: int = 0
    errors: list[RowError] = field(default_factory=list)
    #: outcome per item number (0-based position in the source): stored | duplicate | rejected
    outcomes: dict[int, str] = field(default_factory=dict)
    #: errors keyed by item number, for per-item answers (API)
    item_errors: dict[int, list[RowError]] = field(default_factory=dict)

    def as_dict(self, lang: str | None = None) -> dict[str, Any]:
        return {
            "read": self.read,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "waiting_for_order": self.waiting_for_order,
            "errors": [
                e.to_dict(lang) for e in sorted(self.errors, key=lambda e: (e.line, e.field))
            ],
        }


@dataclass
class _Checker:
    session: Session
    registry: Registry
    can_access: Callable[[str], bool]
    chunk_size: int
    report: Report = field(default_factory=Report)
    stores: dict[str, frozenset[str] | None] = field(default_factory=dict)
    first_seen: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    in_file_dups: list[tuple[int, int, int]] = field(default_factory=list)  # (n, line, first_n)
    pending: list[tuple[int, int, Candidate]] = field(default_factory=list)
    accepted: dict[int, Candidate] = field(default_factory=dict)
    accepted_lines: dict[int, int] = field(default_factory=dict)
    cache_overflow: bool = False
    placed: set[tuple[str, str, str]] = field(default_factory=set)
    wants_order: list[tuple[int, int, tuple[str, str, str]]] = field(default_factory=list)
    #: order keys of events already stored that need their order (a file imported again)
    stored_wants_order: list[tuple[str, str, str]] = field(default_factory=list)

    def reject(self, n: int, errors: list[RowError]) -> None:
        self.report.rejected += 1
        self.report.errors.extend(errors)
        self.report.outcomes[n] = "rejected"
        self.report.item_errors[n] = errors

    def add(self, n: int, line: int, item: object) -> None:
        self.report.read += 1
        if isinstance(item, RowError):
            self.reject(n, [item])
            return
        checked = item if isinstance(item, Candidate) else validate(item, self.registry)
        if not isinstance(checked, Candidate):
            self.reject(n, [RowError.from_problem(line, p) for p in checked])
            return
        problem = self._store_problem(checked)
        if problem is not None:
            self.reject(n, [RowError.from_problem(line, problem)])
            return
        key = (checked.seller_id, checked.event_id)
        seen = self.first_seen.get(key)
        if seen is not None:
            body_hash, first_n = seen
            if body_hash == checked.body_hash:
                self.in_file_dups.append((n, line, first_n))
            else:
                self.reject(
                    n,
                    [
                        RowError(
                            line,
                            "event_id",
                            "event_conflict",
                            checked.event_id,
                            N_("event {value} was already given with a different body"),
                        )
                    ],
                )
            return
        self.first_seen[key] = (checked.body_hash, n)
        self.pending.append((n, line, checked))
        if len(self.pending) >= self.chunk_size:
            self.flush()

    def _store_problem(self, c: Candidate) -> Problem | None:
        if c.seller_id not in self.stores:
            found: frozenset[str] | None = None
            if self.can_access(c.seller_id) and self.session.get(Seller, c.seller_id) is not None:
                rows = self.session.query(Store.marketplace).filter(Store.seller_id == c.seller_id)
                found = frozenset(r[0] for r in rows)
            self.stores[c.seller_id] = found
        markets = self.stores[c.seller_id]
        if markets is None:
            return Problem("seller", "unknown_seller", c.seller_id, N_("unknown seller {value}"))
        if c.marketplace not in markets:
            return Problem(
                "marketplace",
                "marketplace_not_enabled",
                c.marketplace,
                N_("seller {seller} has no store in marketplace {value}"),
                {"seller": c.seller_id},
            )
        return None

    def flush(self) -> None:
        by_seller: dict[str, list[tuple[int, int, Candidate]]] = defaultdict(list)
        for entry in self.pending:
            by_seller[entry[2].seller_id].append(entry)
        self.pending = []
        for seller_id, entries in by_seller.items():
            stored = repo.existing_hashes(
                self.session, seller_id, [c.event_id for _, _, c in entries]
            )
            for n, line, c in entries:
                have = stored.get(c.event_id)
                if have is None:
                    self._accept(n, line, c)
                elif have == c.body_hash:
                    self.report.duplicates += 1
                    self.report.outcomes[n] = "duplicate"
                    if c.type == "order_placed" and c.order_key is not None:
                        self.placed.add(c.order_key)
                    elif needs_order(c) and c.order_key is not None:
                        self.stored_wants_order.append(c.order_key)
                else:
                    self.reject(n, [_stored_conflict(line, c.event_id)])

    def late_conflict(self, n: int, event_id: str) -> None:
        """Pass 2 found ``n`` stored meanwhile with another body: reject it, and the copies of
        it later in the source that pass 1 counted as duplicates of it."""
        error = _stored_conflict(self.accepted_lines[n], event_id)
        self.reject(n, [error])
        for copy, line, first_n in self.in_file_dups:
            if first_n == n and self.report.outcomes.get(copy) == "duplicate":
                self.report.duplicates -= 1
                self.reject(copy, [_stored_conflict(line, event_id)])

    def _accept(self, n: int, line: int, c: Candidate) -> None:
        self.accepted_lines[n] = line
        if not self.cache_overflow:
            self.accepted[n] = c
            if len(self.accepted) > CACHE_LIMIT:
                self.cache_overflow = True
                self.accepted.clear()
        if c.type == "order_placed" and c.order_key is not None:
            self.placed.add(c.order_key)
        elif needs_order(c) and c.order_key is not None:
            self.wants_order.append((n, line, c.order_key))

    def finish(self) -> None:
        self.flush()
        keys = [key for _, _, key in self.wants_order] + self.stored_wants_order
        missing = [key for key in keys if key not in self.placed]
        by_store: dict[tuple[str, str], set[str]] = defaultdict(set)
        for seller_id, mp, order_id in missing:
            by_store[(seller_id, mp)].add(order_id)
        known: set[tuple[str, str, str]] = set()
        for (seller_id, mp), order_ids in by_store.items():
            for order_id in repo.existing_orders(self.session, seller_id, mp, sorted(order_ids)):
                known.add((seller_id, mp, order_id))
        # kept, not rejected: the order's fold takes them in when it arrives (ADR 0030)
        self.report.waiting_for_order = sum(1 for key in missing if key not in known)
        for n, line, first_n in self.in_file_dups:
            first = self.report.outcomes.get(first_n)
            if first == "rejected":
                self.reject(
                    n,
                    [
                        RowError(line, e.field, e.code, e.value, e.message, e.params)
                        for e in self.report.item_errors[first_n]
                    ],
                )
            else:
                self.report.duplicates += 1
                self.report.outcomes[n] = "duplicate"


def _stored_conflict(line: int, event_id: str) -> RowError:
    return RowError(
        line,
        "event_id",
        "event_conflict",
        event_id,
        N_("event {value} is already stored with a different body"),
    )


def _numbered(source: Source) -> Iterator[tuple[int, int, object]]:
    for n, (line, item) in enumerate(source()):
        yield n, line, item


def check(
    factory: sessionmaker[Session],
    source: Source,
    *,
    registry: Registry,
    chunk_size: int,
    can_access: Callable[[str], bool] = lambda _seller: True,
    progress: Progress | None = None,
) -> _Checker:
    """Pass 1: decide every item without writing anything."""
    with factory() as session:
        checker = _Checker(session, registry, can_access, chunk_size)
        for n, line, item in _numbered(source):
            checker.add(n, line, item)
            if progress is not None:
                progress("check", 1)
        checker.finish()
        session.rollback()
    return checker


def _accepted_candidates(
    checker: _Checker, source: Source, registry: Registry
) -> Iterator[tuple[int, Candidate]]:
    if not checker.cache_overflow:
        for n in sorted(checker.accepted):
            yield n, checker.accepted[n]
        return
    wanted = checker.accepted_lines
    for n, _line, item in _numbered(source):
        if n not in wanted:
            continue
        c = item if isinstance(item, Candidate) else validate(item, registry)
        assert isinstance(c, Candidate)
        yield n, c


def run(
    factory: sessionmaker[Session],
    source: Source,
    *,
    registry: Registry,
    now: datetime,
    source_label: str,
    strict: bool = False,
    dry_run: bool = False,
    chunk_size: int = 5000,
    can_access: Callable[[str], bool] = lambda _seller: True,
    progress: Progress | None = None,
    finish: Callable[[Session], None] | None = None,
    read_factory: sessionmaker[Session] | None = None,
) -> Report:
    """Check the source, then store what it accepts.

    ``finish`` runs inside the transaction of the last chunk (or its own, when nothing is new):
    connectors write the personal data they found there, so it commits with the last events.
    It does not run for dry runs or strict runs with rejections. ``read_factory`` (a read-only
    engine's sessions) serves pass 1, so checking a big file never holds SQLite's write lock.
    """
    checker = check(
        read_factory or factory,
        source,
        registry=registry,
        chunk_size=chunk_size,
        can_access=can_access,
        progress=progress,
    )
    report = checker.report
    if dry_run or (strict and report.rejected):
        # nothing is written; the report says what a real run would have stored
        report.stored = len(checker.accepted_lines)
        if strict and report.rejected:
            report.stored = 0
        for n in checker.accepted_lines:
            report.outcomes[n] = "stored" if not (strict and report.rejected) else "not_stored"
        return report
    writer = _Writer(factory, checker, source_label, now, strict, progress)
    chunk: list[tuple[int, Candidate]] = []
    for entry in _accepted_candidates(checker, source, registry):
        if len(chunk) >= chunk_size:
            if not writer.write(chunk):
                break
            chunk = []
        chunk.append(entry)
    else:
        writer.write(chunk, finish)
    if writer.stopped:
        for n in checker.accepted_lines:
            report.outcomes.setdefault(n, "not_stored")
        if finish is not None and report.stored:
            with unit_of_work(factory) as session:
                finish(session)  # the personal data of what the earlier chunks stored
    return report


class _StrictStop(Exception):
    """A strict import met an event stored meanwhile with another body: roll the chunk back."""

    def __init__(self, result: ChunkResult) -> None:
        super().__init__("strict import stopped")
        self.result = result


@dataclass
class _Writer:
    """Pass 2: one transaction per chunk, and the report of what each one really wrote."""

    factory: sessionmaker[Session]
    checker: _Checker
    source_label: str
    now: datetime
    strict: bool
    progress: Progress | None
    stopped: bool = False

    def write(
        self, chunk: list[tuple[int, Candidate]], finish: Callable[[Session], None] | None = None
    ) -> bool:
        """Store one chunk; false when a strict import must stop here."""
        if not chunk and finish is None:
            return True
        candidates = [c for _, c in chunk]
        try:
            with unit_of_work(self.factory) as session:
                result = store_chunk(session, candidates, source=self.source_label, now=self.now)
                if self.strict and result.conflicts:
                    raise _StrictStop(result)
                if finish is not None:
                    finish(session)
        except _StrictStop as stop:
            self.stopped = True
            self._count(chunk, stop.result, written=False)
            return False
        self._count(chunk, result, written=True)
        if self.progress is not None:
            self.progress("store", len(result.stored))
        return True

    def _count(
        self, chunk: list[tuple[int, Candidate]], result: ChunkResult, *, written: bool
    ) -> None:
        report = self.checker.report
        for i in result.stored:
            report.outcomes[chunk[i][0]] = "stored" if written else "not_stored"
        if written:
            report.stored += len(result.stored)
        for i in result.duplicates:
            report.duplicates += 1
            report.outcomes[chunk[i][0]] = "duplicate"
        for i in result.conflicts:
            n, candidate = chunk[i]
            self.checker.late_conflict(n, candidate.event_id)
