"""Storing checked events and keeping the projection in step. Never commits.

``store_chunk`` writes one chunk of new events and, in the same transaction, recomputes the state
of every order, message and violation they touch from *all* of that entity's events, and marks
the days whose health tallies changed (before and after) dirty. Because the
projection is a pure fold of the stored events, a crash between chunks leaves a consistent
database and a re-run (which skips the stored events as duplicates) ends in the same state.

An import checks its events before it stores them, and another import may store some of the same
ones in between. So ``store_chunk`` takes the sellers' write lock and looks again: only the events
still new are written, folded and marked dirty; the others come back as duplicates (same body) or
conflicts (another body), and the import reports them as such (IMP-04: the counts add up).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from tsunagu.core.errors import Conflict
from tsunagu.core.i18n import N_
from tsunagu.events import repo
from tsunagu.events.rules import Candidate
from tsunagu.health import rollup_repo
from tsunagu.health.rollup_repo import order_instants
from tsunagu.orders import repo as orders_repo
from tsunagu.orders.rules import StoredEvent, fold_message, fold_order
from tsunagu.personal import service as personal
from tsunagu.violations import repo as violations_repo
from tsunagu.violations.rules import fold_violation


@dataclass(frozen=True, slots=True)
class ChunkResult:
    """What became of a chunk's candidates, as positions in the chunk: written now, already
    stored with the same body, already stored with another body."""

    stored: tuple[int, ...]
    duplicates: tuple[int, ...] = ()
    conflicts: tuple[int, ...] = ()


def store_chunk(
    session: Session, candidates: Sequence[Candidate], *, source: str, now: datetime
) -> ChunkResult:
    """Insert the candidates still new (checked before, maybe stored since by another import)
    and refresh the projection for those only."""
    if not candidates:
        return ChunkResult(())
    repo.lock_sellers(session, sorted({c.seller_id for c in candidates}))
    result = _still_new(session, candidates)
    if len(result.stored) < len(candidates):
        candidates = [candidates[i] for i in result.stored]
    written = _store_new(session, candidates, source=source, now=now)
    if written >= 0 and written != len(candidates):
        # every event writer takes the lock above, so this means one that does not
        raise Conflict(
            N_("Another writer stored the same events at the same time; import the file again."),
            code="concurrent_write",
        )
    return result


def _still_new(session: Session, candidates: Sequence[Candidate]) -> ChunkResult:
    """Sort the chunk by what is stored now: one batched lookup per seller, as in the check."""
    by_seller: dict[str, list[int]] = defaultdict(list)
    for index, c in enumerate(candidates):
        by_seller[c.seller_id].append(index)
    stored: list[int] = []
    duplicates: list[int] = []
    conflicts: list[int] = []
    for seller_id, indexes in by_seller.items():
        have = repo.existing_hashes(session, seller_id, [candidates[i].event_id for i in indexes])
        for i in indexes:
            found = have.get(candidates[i].event_id)
            if found is None:
                stored.append(i)
            else:
                (duplicates if found == candidates[i].body_hash else conflicts).append(i)
    return ChunkResult(tuple(sorted(stored)), tuple(duplicates), tuple(conflicts))


def _store_new(
    session: Session, candidates: Sequence[Candidate], *, source: str, now: datetime
) -> int:
    if not candidates:
        return 0
    bodies = [c.data if c.data is not None else orjson.loads(c.body) for c in candidates]
    by_store: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, c in enumerate(candidates):
        by_store[(c.seller_id, c.marketplace)].append(index)

    refs = [repo.ref_id(c, body) for c, body in zip(candidates, bodies, strict=True)]
    for (seller_id, marketplace), indexes in by_store.items():
        _refresh_store(session, seller_id, marketplace, candidates, bodies, refs, indexes)
        _keep_personal(session, seller_id, marketplace, candidates, bodies, indexes, now)
    return repo.insert_events(
        session, zip(candidates, refs, strict=True), source=source, received_at=now
    )


def _refresh_store(
    session: Session,
    seller_id: str,
    marketplace: str,
    candidates: Sequence[Candidate],
    bodies: Sequence[Mapping[str, Any]],
    refs: Sequence[str | None],
    indexes: Sequence[int],
) -> None:
    new_by_order: dict[str, list[StoredEvent]] = defaultdict(list)
    new_by_ref: dict[str, list[StoredEvent]] = defaultdict(list)
    #: instants whose days the health rollups must compute again (each once)
    touched: set[datetime | None] = set()
    for i in indexes:
        c = candidates[i]
        event = StoredEvent(c.type, c.at, c.event_id, bodies[i])
        if c.order_id is not None:
            new_by_order[c.order_id].append(event)
        ref = refs[i]
        if ref is not None:
            new_by_ref[ref].append(event)

    if new_by_order:
        prior = repo.prior_events(session, seller_id, marketplace, "order_id", list(new_by_order))
        states = [
            fold_order(order_id, _union(prior.get(order_id, []), events))
            for order_id, events in new_by_order.items()
        ]
        orders_repo.write_orders(session, seller_id, marketplace, states, replace=list(prior))
        before = [fold_order(order_id, events) for order_id, events in prior.items()]
        for state in (*before, *states):
            touched.update(order_instants(state))
    if new_by_ref:
        prior = repo.prior_events(session, seller_id, marketplace, "ref_id", list(new_by_ref))
        messages, violations = [], []
        for ref, events in new_by_ref.items():
            everything = _union(prior.get(ref, []), events)
            if everything[0].type.startswith("message_"):
                messages.append(fold_message(ref, everything))
                if ref in prior:
                    touched.add(fold_message(ref, prior[ref]).received_at)
                touched.add(messages[-1].received_at)
            else:
                violations.append(fold_violation(ref, everything))
        orders_repo.write_messages(session, seller_id, marketplace, messages)
        violations_repo.write_violations(session, seller_id, marketplace, violations)
    touched.discard(None)
    rollup_repo.mark_dirty(session, seller_id, marketplace, touched)


def _union(stored: list[StoredEvent], new: list[StoredEvent]) -> list[StoredEvent]:
    """Stored plus new events, an event already stored (a concurrent import) counted once."""
    if not stored:
        return new
    seen = {e.event_id for e in stored}
    return stored + [e for e in new if e.event_id not in seen]


def _keep_personal(
    session: Session,
    seller_id: str,
    marketplace: str,
    candidates: Sequence[Candidate],
    bodies: Sequence[Mapping[str, Any]],
    indexes: Sequence[int],
    now: datetime,
) -> None:
    """Message texts lifted out of events go to the personal-data store, keyed by subject."""
    values: dict[str, dict[str, str]] = {}
    pairs: list[tuple[str, str]] = []
    for i in indexes:
        c = candidates[i]
        if not c.personal:
            continue
        body = bodies[i]
        message_id = str(body["message_id"])
        customer = body.get("customer_id")
        subject = (
            str(customer)
            if isinstance(customer, str)
            else personal.pseudonym(session, seller_id, marketplace, "message", message_id)
        )
        fields = values.setdefault(subject, {})
        for name, text in c.personal:
            fields[f"message:{message_id}:{name}"] = text
        if c.order_id is not None:
            pairs.append((c.order_id, subject))
    if pairs:
        personal.link(session, seller_id=seller_id, marketplace=marketplace, pairs=pairs)
    if values:
        personal.record(session, seller_id=seller_id, values=values, source="message", now=now)


def start_run(
    session: Session,
    *,
    kind: str,
    source_name: str,
    sha256: str | None,
    seller_id: str | None,
    marketplace: str | None,
    mode: str,
    now: datetime,
) -> str:
    from tsunagu.core.ids import new_id
    from tsunagu.events.models import ImportRun

    run = ImportRun(
        id=new_id("imp"),
        kind=kind,
        source_name=source_name[:500],
        sha256=sha256,
        seller_id=seller_id,
        marketplace=marketplace,
        mode=mode,
        status="running",
        started_at=now,
        report={},
    )
    session.add(run)
    session.flush()
    return run.id


def finish_run(
    session: Session, run_id: str, *, status: str, counts: dict[str, object], now: datetime
) -> None:
    from tsunagu.events.models import ImportRun

    run = session.get(ImportRun, run_id)
    if run is None:
        return
    run.status = status
    run.finished_at = now
    for name in ("read", "stored", "duplicates", "rejected"):
        value = counts.get(name)
        if isinstance(value, int):
            setattr(run, name, value)
    errors = counts.get("errors")
    run.report = {**counts, "errors": errors[:1000] if isinstance(errors, list) else []}
