"""Plan review before submission (issue 14 item 6, ADR 0028): what weakens a Plan of Action.

Four rules, each finding naming its section (issue), its part and the words at fault:

* ``apology`` — apology and emotional wording instead of facts (``lexicon.toml [apology]``);
* ``vague_promise`` — a sentence that promises (``[commitment]``) with no number, date,
  percentage, frequency or named tool (``[concrete]``, ``[tools]``) a reviewer could check;
* ``action_mismatch`` — actions that do not answer the issue and its causes
  (``actions.toml [families]``): a part whose actions are all of kinds that answer something
  else, a section whose actions answer nothing recognisable, or a cause of the issue that no
  action addresses ("a high ODR may come from both negative feedback and undelivered orders");
* ``missing_evidence`` — an issue that needs documents (``actions.toml [evidence]``) with none
  attached.

English and Japanese wording are both looked for in every plan, whatever its ``lang``: a plan
may mix the two. Findings are advice: they never block a submission (completeness does,
:func:`tsunagu.appeals.plan.missing_parts`). Pure: no database, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from tsunagu.appeals.library import (
    Family,
    Phrases,
    action_map,
    default,
    name_of,
    normalise,
    phrases,
    sentences,
)
from tsunagu.appeals.plan import Plan, Section
from tsunagu.core.i18n import N_, current_language, translate
from tsunagu.core.i18n import normalise as normalise_lang
from tsunagu.enforcement.rules import Issue

APOLOGY = "apology"
VAGUE_PROMISE = "vague_promise"
ACTION_MISMATCH = "action_mismatch"
MISSING_EVIDENCE = "missing_evidence"
RULES = (APOLOGY, VAGUE_PROMISE, ACTION_MISMATCH, MISSING_EVIDENCE)

#: ``Finding.part`` of a missing-evidence finding
EVIDENCE = "evidence"
_WORDED_PARTS = ("root_cause", "actions", "prevention")
_ACTION_PARTS = ("actions", "prevention")
#: the longest excerpt a finding quotes
EXCERPT_CHARS = 200

APOLOGY_WHY = N_(
    "Apologies and emotional wording do not help a reviewer decide. State what happened, with "
    "numbers and dates, and what you changed, instead of how you feel about it."
)
VAGUE_WHY = N_(
    "This promise has no number, date or named tool, so a reviewer cannot check it. Say exactly "
    "what changes, how often or by when, and with which system (for example: stock is "
    "synchronised with the warehouse every 15 minutes)."
)
MISMATCH_WHY = N_(
    "These actions ({found}) do not answer the {issue}. Describe actions that do, such as "
    "{expected}."
)
NO_ACTION_WHY = N_(
    "No action here is recognisably aimed at the {issue}. Describe actions such as {expected}."
)
UNCOVERED_WHY = N_(
    "The actions do not address {cause}, one of the causes of the {issue}; a plan must answer "
    "every root cause. Add actions such as {expected}."
)
MISSING_EVIDENCE_WHY = N_(
    "The {issue} needs evidence attached to this section: {needed}. Attach the documents."
)


@dataclass(frozen=True)
class Finding:
    """One thing that weakens a plan.

    ``explanation`` is an English message template (a catalog key); ``params`` holds the ids it
    names (issue codes, causes, kinds of action, evidence), which :meth:`message` turns into
    names in the reader's language.
    """

    rule: str
    issue: str
    part: str
    text: str
    explanation: str
    params: tuple[tuple[str, str], ...] = ()

    def message(self, lang: str | None = None) -> str:
        """The explanation in ``lang`` (the current language by default), names filled in."""
        lang = normalise_lang(lang) if lang else current_language()
        names = {key: _param_text(key, value, lang) for key, value in self.params}
        return translate(self.explanation, lang, **names)


def _param_text(key: str, value: str, lang: str) -> str:
    ids = [v for v in value.split("|") if v]
    if key == "issue":
        return name_of("issues", value, lang)
    if key == "cause":
        return _cause_name(value, lang)
    kind = "evidence" if key == "needed" else "families"
    names = [name_of(kind, i, lang) for i in ids]
    if lang == "ja":
        return ("、または" if key == "expected" else "、").join(names)
    if len(names) < 2:
        return "".join(names)
    word = " or " if key == "expected" else " and "
    sep = "; " if kind == "evidence" else ", "
    return sep.join(names[:-1]) + word + names[-1]


def _cause_name(cause: str, lang: str) -> str:
    tables = default("templates")
    if cause in tables.get("policies", {}):
        return name_of("policies", cause, lang)
    return name_of("causes", cause, lang)


# -- the word lists --------------------------------------------------------------------------


@dataclass(frozen=True)
class Lexicon:
    apology: Phrases
    commitment: Phrases
    concrete: Phrases
    tools: Phrases


@cache
def lexicon() -> Lexicon:
    data = default("lexicon")

    def words(name: str) -> Phrases:
        return phrases(data.get(name, {}).get("phrases", []))

    return Lexicon(words("apology"), words("commitment"), words("concrete"), words("tools"))


_MONTHS = "january february march april june july august september sept october november december"
_ANCHOR = re.compile(
    r"\d"  # any number, date, time or percentage (full-width digits are ASCII after NFKC)
    rf"|(?<![a-z])(?:{'|'.join(_MONTHS.split())})(?![a-z])"
    # a Japanese number with a counter: 三日, 二十件, 十五分 (not 一日も早く: "as soon as possible")
    r"|[一二三四五六七八九十百千万]+\s*(?:件|日(?!も)|時間|時|分|週間|週|か月|ヶ月|カ月|ヵ月|回|"
    r"名|人|割|営業日|点|個|台|年)"
)


def concrete(sentence: str) -> bool:
    """Whether a sentence says something checkable: a number, a date, a frequency, a named
    tool. ``sentence`` is :func:`normalise`-d."""
    words = lexicon()
    return bool(
        _ANCHOR.search(sentence) or words.concrete.search(sentence) or words.tools.search(sentence)
    )


def excerpt(sentence: str) -> str:
    sentence = " ".join(sentence.split())
    if len(sentence) <= EXCERPT_CHARS:
        return sentence
    return sentence[: EXCERPT_CHARS - 1].rstrip() + "…"


# -- the rules -----------------------------------------------------------------------------


def check_plan(
    plan: Plan,
    issues: Sequence[Issue],
    *,
    lang: str,
    evidence_ok: Callable[[str], bool] | None = None,
) -> list[Finding]:
    """Every finding of every section that answers one of ``issues``, in the order of
    ``issues``, then of the parts (root cause, actions, prevention, evidence).

    ``lang`` is the plan's language: names the checker writes into ``Finding.text`` (an issue,
    a cause) are in it. ``evidence_ok(item)`` says whether an evidence item of a section (an
    attachment id or path) really exists; without it any non-blank item counts.
    """
    lang = normalise_lang(lang)
    found: list[Finding] = []
    seen: set[str] = set()
    for issue in issues:
        if issue.code in seen:
            continue
        seen.add(issue.code)
        section = plan.section(issue.code)
        if section is None:
            continue  # a missing section is completeness (missing_parts), not style
        causes = _causes(issue.causes)
        found.extend(wording(section))
        found.extend(action_mismatch(section, causes, lang))
        found.extend(missing_evidence(section, causes, lang, evidence_ok))
    return found


def _causes(counts: Mapping[str, int]) -> tuple[str, ...]:
    """The causes behind an issue, the most frequent first."""
    present = [(n, cause) for cause, n in counts.items() if n > 0]
    return tuple(cause for n, cause in sorted(present, key=lambda p: (-p[0], p[1])))


def wording(section: Section) -> list[Finding]:
    """``apology`` and ``vague_promise``: one finding per sentence at fault, per rule."""
    words = lexicon()
    found: list[Finding] = []
    for part in _WORDED_PARTS:
        for sentence in sentences(section.part(part)):
            plain = normalise(sentence)
            if words.apology.search(plain):
                found.append(Finding(APOLOGY, section.issue, part, excerpt(sentence), APOLOGY_WHY))
            if words.commitment.search(plain) and not concrete(plain):
                found.append(
                    Finding(VAGUE_PROMISE, section.issue, part, excerpt(sentence), VAGUE_WHY)
                )
    return found


def families_in(text: str) -> list[tuple[Family, str]]:
    """The kinds of action ``text`` mentions, each with the first sentence that does, in the
    order they first appear."""
    found: dict[str, tuple[Family, str]] = {}
    for sentence in sentences(text):
        plain = normalise(sentence)
        for family in action_map().families:
            if family.id not in found and family.phrases.search(plain):
                found[family.id] = (family, sentence)
    return list(found.values())


def _ids(families: Iterable[Family]) -> str:
    return "|".join(f.id for f in families)


def action_mismatch(section: Section, causes: Sequence[str], lang: str) -> list[Finding]:
    """``action_mismatch`` for one section. Silent when the action map knows nothing that
    answers the issue (it cannot tell a good action from a bad one then)."""
    code = section.issue
    amap = action_map()
    answering = amap.answering(code, causes)
    if not answering:
        return []
    wanted = {f.id for f in answering}
    found: list[Finding] = []
    mentioned: set[str] = set()
    for part in _ACTION_PARTS:
        hits = families_in(section.part(part))
        mentioned.update(f.id for f, _ in hits)
        if hits and not any(f.id in wanted for f, _ in hits):
            params = (("found", _ids(f for f, _ in hits)), ("issue", code))
            found.append(
                Finding(
                    ACTION_MISMATCH,
                    code,
                    part,
                    excerpt(hits[0][1]),
                    MISMATCH_WHY,
                    (*params, ("expected", _ids(answering))),
                )
            )
    if not mentioned:
        if section.actions.strip():
            named = (("issue", code), ("expected", _ids(answering)))
            found.append(Finding(ACTION_MISMATCH, code, "actions", "", NO_ACTION_WHY, named))
        return found
    if not mentioned & wanted:
        return found
    for cause in causes:
        needed = amap.answering(code, (cause,))
        if needed and not mentioned & {f.id for f in needed}:
            cause_params = (("cause", cause), ("issue", code), ("expected", _ids(needed)))
            text = _cause_name(cause, lang)
            found.append(
                Finding(ACTION_MISMATCH, code, "actions", text, UNCOVERED_WHY, cause_params)
            )
    return found


def missing_evidence(
    section: Section,
    causes: Sequence[str],
    lang: str,
    evidence_ok: Callable[[str], bool] | None = None,
) -> list[Finding]:
    """``missing_evidence``: the section's issue needs documents and none is attached."""
    needs = [e for e in action_map().evidence if e.needed(section.issue, causes)]
    if not needs:
        return []
    exists = evidence_ok if evidence_ok is not None else (lambda item: bool(item.strip()))
    if any(exists(item) for item in section.evidence):
        return []
    params = (("issue", section.issue), ("needed", "|".join(e.id for e in needs)))
    text = name_of("issues", section.issue, lang)
    return [Finding(MISSING_EVIDENCE, section.issue, EVIDENCE, text, MISSING_EVIDENCE_WHY, params)]
