"""Plan-of-Action drafts from the seller's own records (issue 14 item 7, ADR 0028).

One section per issue: the root cause told with the store's counts, dates, ratios and examples
(:class:`Facts`, gathered by :func:`tsunagu.appeals.facts.gather`), and suggested corrective and
preventive actions per issue and cause from the template library (``data/templates.toml``, or a
file of the seller's own: ``[appeals] templates``). A draft is the templates filled with facts:
the same facts give the same text, in English or Japanese, and the seller edits it before
submitting. Every shipped template passes the plan checker and is long enough for
:func:`~tsunagu.appeals.plan.missing_parts` (tests/unit/test_appeal_drafts.py proves both over
generated facts). Pure: no database, no clock.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from babel.numbers import format_decimal, format_percent

from tsunagu.appeals.library import default, humanise, join, read_toml
from tsunagu.appeals.plan import Plan, Section
from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import N_
from tsunagu.core.i18n import normalise as normalise_lang
from tsunagu.enforcement.rules import (
    CANCELLATION_RATE,
    LATE_SHIPMENT_RATE,
    LOW_ACCOUNT_HEALTH,
    ORDER_DEFECT_RATE,
    POLICY_VIOLATION,
    RELATED_ACCOUNT,
    VALID_TRACKING_RATE,
    Issue,
)

#: how many example ids a draft quotes
EXAMPLES = 3


# -- facts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    """A value (a SKU, a ship service, a policy) and how many records have it."""

    name: str
    count: int


@dataclass(frozen=True)
class CauseFacts:
    """The records behind one cause of an issue (a claim or cancellation reason,
    ``negative_feedback``, ``chargeback``, a policy)."""

    cause: str
    count: int
    #: the SKUs most of these orders concern, and how many of the orders concern them
    skus: tuple[Tally, ...] = ()
    sku_orders: int = 0
    #: of these orders: not delivered by the promised date, by ship service; without tracking
    undelivered: int = 0
    undelivered_services: tuple[Tally, ...] = ()
    untracked: int = 0


@dataclass(frozen=True)
class IssueFacts:
    """What the seller's records say about one issue of a deactivation."""

    code: str
    #: the window of the metric (local days of the store's marketplace)
    start: date | None = None
    end: date | None = None
    #: the orders in the window (the metric's denominator) and the records behind the issue
    total: int = 0
    affected: int = 0
    #: the metric (a fraction; the rating for LOW_ACCOUNT_HEALTH) and its target
    value: float | None = None
    target: float | None = None
    causes: tuple[CauseFacts, ...] = ()
    skus: tuple[Tally, ...] = ()
    sku_orders: int = 0
    #: ship services of the affected orders, the most frequent first
    services: tuple[Tally, ...] = ()
    #: LATE_SHIPMENT_RATE: the median delay, in days
    late_days: int | None = None
    #: a few order ids behind the issue
    examples: tuple[str, ...] = ()
    #: POLICY_VIOLATION, LOW_ACCOUNT_HEALTH: the ASINs of the violations
    asins: tuple[str, ...] = ()
    #: RELATED_ACCOUNT: the marketplace (its name) of the store that caused it, and its issues
    related_marketplace: str | None = None
    related_issues: tuple[str, ...] = ()


@dataclass(frozen=True)
class Facts:
    """The facts of one deactivation, one :class:`IssueFacts` per issue."""

    seller_id: str
    marketplace: str
    marketplace_name: str
    #: the local day the store was deactivated
    day: date
    issues: tuple[IssueFacts, ...] = field(default=())

    def of(self, code: str) -> IssueFacts | None:
        return next((f for f in self.issues if f.code == code), None)


# -- the template library ------------------------------------------------------------------


@dataclass(frozen=True)
class Templates:
    """The draft wording: the shipped ``templates.toml`` with a seller's file over it."""

    tables: Mapping[str, Any]

    def entry(self, kind: str, key: str) -> Mapping[str, Any]:
        table = self.tables.get(kind, {}).get(key)
        return table if isinstance(table, Mapping) else {}


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _check(tables: Mapping[str, Any], path: Path, where: str = "") -> None:
    for key, value in tables.items():
        here = f"{where}.{key}" if where else str(key)
        if isinstance(value, Mapping):
            _check(value, path, here)
            continue
        if not isinstance(value, str):
            raise UsageError(
                N_("{path}: {key} must be a text"), code="invalid_config", path=path, key=here
            )
        try:
            list(string.Formatter().parse(value))
        except ValueError as exc:
            raise UsageError(
                N_("{path}: {key} is not a valid template ({reason})"),
                code="invalid_config",
                path=path,
                key=here,
                reason=str(exc),
            ) from exc


def load_templates(path: Path | str | None = None) -> Templates:
    """The shipped templates, with the tables of ``path`` (the ``[appeals] templates`` setting)
    laid over them key by key. ``invalid_config`` when the file cannot be read or a text in it
    is not a string or not a valid template."""
    if path is None:
        return Templates(default("templates"))
    path = Path(path)
    try:
        own = read_toml(path)
    except (OSError, ValueError) as exc:
        raise UsageError(
            N_("{path}: the appeal templates cannot be read ({reason})"),
            code="invalid_config",
            path=path,
            reason=str(exc),
        ) from exc
    _check(own, path)
    return Templates(_merge(default("templates"), own))


# -- formatting ----------------------------------------------------------------------------


def number(n: int, lang: str) -> str:
    return format_decimal(n, locale="ja_JP" if lang == "ja" else "en_US")


def percent(value: float, lang: str) -> str:
    return format_percent(value, "#,##0.##%", locale="ja_JP" if lang == "ja" else "en_US")


def day_text(day: date, lang: str) -> str:
    """2026-09-01 in English (as Seller Central's reports write it), 2026年9月1日 in Japanese."""
    if lang == "ja":
        return f"{day.year}年{day.month}月{day.day}日"
    return day.isoformat()


class _Keep(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class _Writer:
    """Fills the templates of one language."""

    def __init__(self, templates: Templates, lang: str) -> None:
        self.templates = templates
        self.lang = lang

    def pick(self, entry: Mapping[str, Any], name: str, count: int | None = None) -> str:
        keys = [f"{name}_one"] if count == 1 else []
        keys.append(name)
        for key in keys:
            text = entry.get(key)
            if isinstance(text, str):
                return text
        return ""

    def fill(self, text: str, **params: object) -> str:
        try:
            return text.format_map(_Keep(params))
        except (ValueError, IndexError, AttributeError):
            return text

    def sentence(self, key: str, count: int | None = None, /, **params: object) -> str:
        text = self.pick(self.templates.entry("sentences", key), self.lang, count)
        if not text and self.lang != "en":
            text = self.pick(self.templates.entry("sentences", key), "en", count)
        return self.fill(text, **params)

    def name(self, kind: str, key: str) -> str:
        entry = self.templates.entry(kind, key)
        text = entry.get(self.lang) or entry.get("en")
        return text if isinstance(text, str) and text else humanise(key)

    def cause_text(self, cause: str, form: str, count: int) -> str:
        """A cause as a cancellation reason (``reason``) or a counted defect (``defect``)."""
        entry = self.templates.entry("causes", cause)
        text = self.pick(entry, f"{form}_{self.lang}", count)
        if text:
            return self.fill(text, n=number(count, self.lang))
        label = self.name("causes", cause)
        if form == "reason":
            return f"{label}のため" if self.lang == "ja" else f"because of {label}"
        return self.sentence("defect_item", count, n=number(count, self.lang), cause=label)

    def number(self, n: int) -> str:
        return number(n, self.lang)

    def tallies(self, items: Sequence[Tally], *, always: bool = False) -> str:
        """``SAL (5) and surface mail (2)``; one name alone has no count unless ``always``."""
        named = [t for t in items if t.name]
        if len(named) == 1 and not always:
            return join([t.name for t in named], self.lang)
        if self.lang == "ja":
            return join([f"{t.name}（{self.number(t.count)}件）" for t in named], "ja")
        return join([f"{t.name} ({self.number(t.count)})" for t in named], "en")

    def ids(self, items: Sequence[str]) -> str:
        return join(list(items), self.lang, conjunction=False)

    def joined(self, parts: Sequence[str]) -> str:
        return ("" if self.lang == "ja" else " ").join(p for p in parts if p)


# -- the draft ------------------------------------------------------------------------------


def draft_plan(
    issues: Sequence[Issue],
    facts: Facts,
    *,
    lang: str,
    templates: Templates | None = None,
) -> Plan:
    """A first draft of every section, in ``lang`` (``en`` or ``ja``): one section per issue, in
    the order of ``issues``, with no evidence (the seller attaches it)."""
    writer = _Writer(templates or load_templates(), normalise_lang(lang))
    sections: list[Section] = []
    seen: set[str] = set()
    for issue in issues:
        if issue.code in seen:
            continue
        seen.add(issue.code)
        found = _with_issue(facts.of(issue.code), issue)
        sections.append(
            Section(
                issue=issue.code,
                root_cause=writer.joined(_root_cause(writer, found, facts)),
                actions=writer.joined(_suggested(writer, found, "actions")),
                prevention=writer.joined(_suggested(writer, found, "prevention")),
            )
        )
    return Plan(tuple(sections))


def _with_issue(found: IssueFacts | None, issue: Issue) -> IssueFacts:
    """The gathered facts completed by the issue: its value and target, and the causes it
    names that the records did not show (with the issue's counts)."""
    base = found or IssueFacts(code=issue.code)
    known = {c.cause for c in base.causes}
    extra = tuple(
        CauseFacts(cause, count)
        for cause, count in sorted(issue.causes.items(), key=lambda p: (-p[1], p[0]))
        if count > 0 and cause not in known
    )
    value = base.value if base.value is not None else _float(issue.value)
    target = base.target if base.target is not None else _float(issue.target)
    return replace(
        base,
        causes=base.causes + extra,
        value=value,
        target=target,
    )


def _float(value: float | int | None) -> float | None:
    return None if value is None else float(value)


def _window(w: _Writer, f: IssueFacts, facts: Facts) -> dict[str, str]:
    start = f.start or f.end or facts.day
    end = f.end or f.start or facts.day
    return {
        "start": day_text(start, w.lang),
        "end": day_text(end, w.lang),
        "day": day_text(facts.day, w.lang),
        "total": w.number(max(f.total, f.affected)),
        "affected": w.number(f.affected),
    }


def _rate(w: _Writer, f: IssueFacts) -> str:
    if f.value is None or f.target is None:
        return ""
    return w.sentence(
        f"rate_{f.code}", value=percent(f.value, w.lang), target=percent(f.target, w.lang)
    )


def _skus(w: _Writer, skus: Sequence[Tally], sku_orders: int, affected: int) -> str:
    if not skus:
        return ""
    key = "skus_all" if sku_orders >= affected else "skus"
    return w.sentence(
        key,
        len(skus),
        skus=w.ids([s.name for s in skus]),
        sku_count=w.number(len(skus)),
        sku_orders=w.number(sku_orders),
    )


def _examples(w: _Writer, f: IssueFacts) -> str:
    if not f.examples:
        return ""
    shown = f.examples[:EXAMPLES]
    return w.sentence("examples", len(shown), examples=w.ids(shown))


def _no_records(w: _Writer, f: IssueFacts) -> list[str]:
    return [_rate(w, f), w.sentence("no_records", issue=w.name("issues", f.code))]


def _root_cause(w: _Writer, f: IssueFacts, facts: Facts) -> list[str]:
    window = _window(w, f, facts)
    if f.code == CANCELLATION_RATE and f.affected:
        return _cancellations(w, f, window)
    if f.code == ORDER_DEFECT_RATE and f.affected:
        return _defects(w, f, window)
    if f.code == LATE_SHIPMENT_RATE and f.affected:
        late = f.late_days
        return [
            w.sentence("lsr_summary", f.affected, **window),
            _rate(w, f),
            w.sentence("late_days", late, late_days=w.number(late)) if late else "",
            _by_service(w, f),
            _examples(w, f),
        ]
    if f.code == VALID_TRACKING_RATE and f.affected:
        return [
            w.sentence("vtr_summary", f.affected, **window),
            _rate(w, f),
            _by_service(w, f),
            _examples(w, f),
        ]
    if f.code == POLICY_VIOLATION and f.affected:
        return [
            w.sentence("policy_summary", f.affected, **window, breakdown=_policies(w, f)),
            w.sentence("policy_cause", f.affected),
            _asins(w, f),
        ]
    if f.code == LOW_ACCOUNT_HEALTH:
        return _low_health(w, f, window)
    if f.code == RELATED_ACCOUNT:
        return _related(w, f, window)
    return _no_records(w, f)


def _cancellations(w: _Writer, f: IssueFacts, window: Mapping[str, str]) -> list[str]:
    causes = f.causes or (CauseFacts("other", f.affected),)
    if len(causes) == 1:
        reason = w.cause_text(causes[0].cause, "reason", causes[0].count)
        summary = w.sentence("cancel_single", f.affected, **window, reason=reason)
    else:
        items = [
            w.sentence(
                "cancel_item",
                c.count,
                n=w.number(c.count),
                reason=w.cause_text(c.cause, "reason", c.count),
                cause=w.name("causes", c.cause),
            )
            for c in causes
        ]
        summary = w.sentence("cancel_multi", f.affected, **window, breakdown=join(items, w.lang))
    return [summary, _skus(w, f.skus, f.sku_orders, f.affected), _rate(w, f), _examples(w, f)]


def _defects(w: _Writer, f: IssueFacts, window: Mapping[str, str]) -> list[str]:
    items = [w.cause_text(c.cause, "defect", c.count) for c in f.causes]
    breakdown = join(items, w.lang) if items else w.name("issues", f.code)
    found = [
        w.sentence("odr_summary", f.affected, **window, breakdown=breakdown),
        _skus(w, f.skus, f.sku_orders, f.affected),
        _rate(w, f),
    ]
    for cause in f.causes:
        if cause.undelivered:
            if any(s.name for s in cause.undelivered_services):
                found.append(
                    w.sentence(
                        "undelivered",
                        cause.undelivered,
                        undelivered=w.number(cause.undelivered),
                        services=w.tallies(cause.undelivered_services),
                    )
                )
            else:
                found.append(
                    w.sentence(
                        "undelivered_no_service",
                        cause.undelivered,
                        undelivered=w.number(cause.undelivered),
                    )
                )
        if cause.untracked:
            found.append(
                w.sentence("untracked", cause.untracked, untracked=w.number(cause.untracked))
            )
    found.append(_examples(w, f))
    return found


def _by_service(w: _Writer, f: IssueFacts) -> str:
    named = tuple(s for s in f.services if s.name)
    if not named:
        return ""
    return w.sentence("by_service", services=w.tallies(named, always=True))


def _policies(w: _Writer, f: IssueFacts) -> str:
    items = [
        w.sentence("policy_item", c.count, policy=w.name("policies", c.cause), n=w.number(c.count))
        for c in f.causes
    ]
    return join(items, w.lang, conjunction=False)


def _asins(w: _Writer, f: IssueFacts) -> str:
    if not f.asins:
        return ""
    return w.sentence(
        "asins", len(f.asins), asins=w.ids(f.asins), asin_count=w.number(len(f.asins))
    )


def _low_health(w: _Writer, f: IssueFacts, window: Mapping[str, str]) -> list[str]:
    found = []
    if f.value is not None:
        target = w.number(int(f.target)) if f.target is not None else w.number(200)
        found.append(
            w.sentence("ahr_summary", **window, value=w.number(int(f.value)), target=target)
        )
    else:
        found.append(w.sentence("ahr_low", **window))
    if f.affected:
        found.append(w.sentence("ahr_violations", f.affected, **window, breakdown=_policies(w, f)))
        found.append(_asins(w, f))
    else:
        found.append(w.sentence("ahr_no_violations", **window))
    return found


def _related(w: _Writer, f: IssueFacts, window: Mapping[str, str]) -> list[str]:
    issues = [w.name("issues", code) for code in f.related_issues]
    related = w.sentence("related_issues", issues=join(issues, w.lang)) if issues else ""
    return [
        w.sentence(
            "related_summary",
            **window,
            related_marketplace=_related_marketplace(w, f),
            related_issues=related,
        ),
        w.sentence("related_scope"),
    ]


def _related_marketplace(w: _Writer, f: IssueFacts) -> str:
    return f.related_marketplace or w.sentence("related_unknown")


# -- suggested actions ---------------------------------------------------------------------


def _suggested(w: _Writer, f: IssueFacts, part: str) -> list[str]:
    table = w.templates.tables.get("suggestions", {}).get(f.code, {})
    if not isinstance(table, Mapping):
        return []
    keys = ["common"] if "common" in table else []
    by_cause = [c for c in f.causes if c.cause in table and c.cause not in ("common", "fallback")]
    if by_cause:
        keys.extend(c.cause for c in by_cause)
    elif "fallback" in table:
        keys.append("fallback")
    found = []
    for key in keys:
        entry = table.get(key)
        if not isinstance(entry, Mapping):
            continue
        cause = next((c for c in f.causes if c.cause == key), None)
        text = w.pick(entry, f"{part}_{w.lang}") or w.pick(entry, f"{part}_en")
        found.append(w.fill(text, **_suggestion_params(w, f, cause)))
    return found


def _suggestion_params(w: _Writer, f: IssueFacts, cause: CauseFacts | None) -> dict[str, str]:
    skus = cause.skus if cause is not None and cause.skus else f.skus
    if skus:
        names = w.ids([s.name for s in skus])
        sku_phrase = w.sentence("sku_phrase", len(skus), skus=names, sku_count=w.number(len(skus)))
    else:
        sku_phrase = w.sentence("sku_phrase_none")
    services = cause.undelivered_services if cause is not None else ()
    named = [s.name for s in services if s.name]
    listings = (
        w.sentence("listings", len(f.asins), asins=w.ids(f.asins))
        if f.asins
        else w.sentence("listings_none")
    )
    return {
        "sku_phrase": sku_phrase,
        "services_plain": join(named, w.lang) if named else w.sentence("services_none"),
        "listings": listings,
        "related_marketplace": _related_marketplace(w, f),
    }
