"""A Plan of Action: one section per issue, each answering root cause, actions taken and
preventive measures (amazon-domain.md §5.1). Pure: shared by the appeal lifecycle, the plan
checker and the drafts.

The JSON shape is public (``tsunagu appeals set --plan FILE``)::

    {"sections": [{"issue": CODE, "root_cause": …, "actions": …, "prevention": …,
                   "evidence": [paths or attachment ids…]}]}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: the three parts every section must fill, in the order a reviewer reads them
PARTS = ("root_cause", "actions", "prevention")
#: ``Missing.part`` when the plan has no section at all for an issue
SECTION = "section"
#: the default shortest part, in characters (configurable: ``[appeals] min_part_chars``)
MIN_PART_CHARS = 50


@dataclass(frozen=True)
class Section:
    issue: str
    root_cause: str = ""
    actions: str = ""
    prevention: str = ""
    evidence: tuple[str, ...] = ()

    def part(self, name: str) -> str:
        text: str = getattr(self, name)
        return text


@dataclass(frozen=True)
class Plan:
    sections: tuple[Section, ...] = ()

    def section(self, issue: str) -> Section | None:
        return next((s for s in self.sections if s.issue == issue), None)


@dataclass(frozen=True)
class Missing:
    """What keeps a plan from being complete: a whole section, or one part that is empty or
    shorter than the minimum."""

    issue: str
    part: str


def missing_parts(
    plan: Plan, issues: Sequence[str], min_chars: int = MIN_PART_CHARS
) -> list[Missing]:
    """Every issue without a section, and every part of a section that is empty or shorter
    than ``min_chars`` characters (surrounding white space not counted), in the order of
    ``issues`` and :data:`PARTS`. An empty list means the plan is complete."""
    found: list[Missing] = []
    for issue in issues:
        section = plan.section(issue)
        if section is None:
            found.append(Missing(issue, SECTION))
            continue
        found.extend(
            Missing(issue, part)
            for part in PARTS
            if len(section.part(part).strip()) < max(min_chars, 1)
        )
    return found
