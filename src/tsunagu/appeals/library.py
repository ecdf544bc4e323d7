"""The editable word lists behind the plan checker and the drafts (ADR 0028), and the text tools
both use. Pure: no database, no clock.

Three TOML files ship in ``appeals/data``: ``lexicon.toml`` (apology wording, promises, what
makes a promise concrete, named tools), ``actions.toml`` (which kinds of action answer which
issue, and which issues need evidence) and ``templates.toml`` (names of issues, causes and
policies, and the draft wording). Their comments say how an entry matches.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"

#: sentence ends: Japanese 。！？ (no space follows them), English .!? before white space, and
#: line breaks (one bullet per line is one sentence)
_SENTENCE_BREAK = re.compile(r"(?<=[。！？!?])|(?<=[.!?])\s+|\s*\n\s*")
_BULLET = re.compile(r"^(?:[-*•・●]\s*|\d{1,2}[.)]\s+|[（(]\d{1,2}[)）]\s*)")
_ASCII = re.compile(r"[\x00-\x7f]*")
_EDGE = "a-z0-9_\\-"


def normalise(text: str) -> str:
    """The form text is matched in: NFKC (full-width letters and digits become ASCII, half-width
    kana become full-width) and case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` as written (stripped, bullets removed), in order."""
    found = []
    for piece in _SENTENCE_BREAK.split(text):
        piece = _BULLET.sub("", piece.strip()).strip()
        if piece:
            found.append(piece)
    return found


def _pattern(entry: str) -> str:
    entry = normalise(entry.strip())
    if not _ASCII.fullmatch(entry):
        return re.escape(entry)
    star = entry.endswith("*")
    words = entry.rstrip("*").split()
    body = r"[\s\-]+".join(re.escape(word) for word in words)
    tail = r"[a-z]*" if star else ""
    return rf"(?<![{_EDGE}]){body}{tail}(?![{_EDGE}])"


@dataclass(frozen=True)
class Phrases:
    """A list of phrases matched as ``lexicon.toml`` describes."""

    entries: tuple[str, ...]

    @property
    def regex(self) -> re.Pattern[str]:
        return _compiled(self.entries)

    def find(self, text: str) -> list[str]:
        """The phrases found in ``text`` (already :func:`normalise`-d), as they appear."""
        if not self.entries:
            return []
        return [m.group(0) for m in self.regex.finditer(text)]

    def search(self, text: str) -> bool:
        return bool(self.entries) and self.regex.search(text) is not None


@cache
def _compiled(entries: tuple[str, ...]) -> re.Pattern[str]:
    # the longest first, so "deeply regret" wins over "regret"
    ordered = sorted({e for e in entries if e.strip()}, key=lambda e: (-len(e), e))
    return re.compile("|".join(_pattern(e) for e in ordered))


def read_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


@cache
def default(name: str) -> Mapping[str, Any]:
    """One of the shipped files (``lexicon``, ``actions``, ``templates``), parsed once."""
    return read_toml(DATA / f"{name}.toml")


def phrases(values: object) -> Phrases:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError("a list of strings")
    return Phrases(tuple(values))


# -- what actions answer which issue --------------------------------------------------------


@dataclass(frozen=True)
class Family:
    """One kind of action (``actions.toml``): its names, its phrases, what it answers."""

    id: str
    names: Mapping[str, str]
    phrases: Phrases
    answers: tuple[str, ...]

    def answers_issue(self, code: str, causes: Iterable[str]) -> bool:
        """Whether this kind of action answers ``code`` with any of ``causes``: an answer
        ``"CODE"`` answers every cause, ``"CODE:cause"`` only that cause (or an issue that names
        no cause at all)."""
        wanted = {f"{code}:{cause}" for cause in causes}
        for answer in self.answers:
            if answer == code or answer in wanted:
                return True
            if not wanted and answer.startswith(f"{code}:"):
                return True
        return False


@dataclass(frozen=True)
class EvidenceNeed:
    id: str
    names: Mapping[str, str]
    needed_by: tuple[str, ...]

    def needed(self, code: str, causes: Iterable[str]) -> bool:
        wanted = {f"{code}:{cause}" for cause in causes}
        return any(need == code or need in wanted for need in self.needed_by)


@dataclass(frozen=True)
class ActionMap:
    families: tuple[Family, ...]
    evidence: tuple[EvidenceNeed, ...]

    def family(self, family_id: str) -> Family | None:
        return next((f for f in self.families if f.id == family_id), None)

    def answering(self, code: str, causes: Iterable[str]) -> tuple[Family, ...]:
        causes = tuple(causes)
        return tuple(f for f in self.families if f.answers_issue(code, causes))


def _names(table: Mapping[str, Any]) -> dict[str, str]:
    return {lang: str(table[lang]) for lang in ("en", "ja") if lang in table}


@cache
def action_map() -> ActionMap:
    data = default("actions")
    families = tuple(
        Family(
            id=key,
            names=_names(table),
            phrases=phrases(table.get("phrases", [])),
            answers=tuple(table.get("answers", ())),
        )
        for key, table in data.get("families", {}).items()
    )
    evidence = tuple(
        EvidenceNeed(id=key, names=_names(table), needed_by=tuple(table.get("needed_by", ())))
        for key, table in data.get("evidence", {}).items()
    )
    return ActionMap(families, evidence)


# -- names shown to sellers ----------------------------------------------------------------

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def humanise(raw: str) -> str:
    """A readable name for a value no table names: ``out_of_stock`` → ``out of stock``,
    ``listingPolicyViolations`` → ``listing policy violations``. Never shows the raw value."""
    words = _CAMEL.sub(" ", raw).replace("_", " ").replace("-", " ").split()
    return " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in words) or raw


def name_of(kind: str, key: str, lang: str, tables: Mapping[str, Any] | None = None) -> str:
    """The name of an issue code, cause, policy, family or evidence in ``lang``, from the
    templates (``kind`` = ``issues``, ``causes``, ``policies``) or the action map
    (``families``, ``evidence``); a humanised form of ``key`` when none names it."""
    if kind in ("families", "evidence"):
        source = default("actions").get(kind, {})
    else:
        source = (tables if tables is not None else default("templates")).get(kind, {})
    entry = source.get(key)
    if isinstance(entry, Mapping):
        text = entry.get(lang) or entry.get("en")
        if isinstance(text, str) and text:
            return text
    return humanise(key)


def join(items: Sequence[str], lang: str, *, conjunction: bool = True) -> str:
    """``a, b and c`` in English, ``a、b、c`` in Japanese (``conjunction=False``: commas only)."""
    items = [i for i in items if i]
    if lang == "ja":
        return "、".join(items)
    if not conjunction or len(items) < 2:
        return ", ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
