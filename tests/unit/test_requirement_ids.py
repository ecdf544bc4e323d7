"""Every requirement id cited in the repository is defined in docs/requirements.md (issue 12).

Comments, tests, ADRs and the README cite ids such as ``AUTH-13`` or ``IMP-04``; the list that
defines them lives outside the repository, so ``docs/requirements.md`` restates each one under a
heading of its own. A citation without that heading points nowhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "docs" / "requirements.md"
#: where ids are cited: directories searched recursively, and single files
SEARCHED = ("src", "tests", "benchmarks", "docs", "README.md")
#: build output and caches, not sources
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis"}

FAMILIES = ("AUTH", "API", "LED", "IMP", "PRIV", "SH")
ID = re.compile(r"\b(?:" + "|".join(FAMILIES) + r")-[0-9]+[a-z]?\b")
#: a heading that defines an id: "### AUTH-13" (a title may follow the id)
HEADING = re.compile(r"^#{2,4}[ \t]+(" + ID.pattern + r")(?=[ \t]|$)", re.MULTILINE)


def _files() -> Iterator[Path]:
    for name in SEARCHED:
        top = ROOT / name
        if top.is_file():
            yield top
            continue
        for path in sorted(top.rglob("*")):
            parts = set(path.relative_to(ROOT).parts)
            if not path.is_file() or parts & SKIPPED_DIRS:
                continue
            if any(part.endswith(".egg-info") for part in parts):
                continue
            yield path


def cited_ids() -> dict[str, set[str]]:
    """id → the files that cite it (text files only; images and other binaries are skipped)."""
    found: dict[str, set[str]] = {}
    for path in _files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for match in ID.finditer(text):
            found.setdefault(match.group(0), set()).add(str(path.relative_to(ROOT)))
    return found


def defined_ids(text: str | None = None) -> set[str]:
    text = REQUIREMENTS.read_text(encoding="utf-8") if text is None else text
    return {match.group(1) for match in HEADING.finditer(text)}


def test_every_cited_requirement_id_is_defined():
    cited = cited_ids()
    assert cited, "no requirement id found anywhere: the search itself is broken"
    unresolved = set(cited) - defined_ids()
    assert unresolved == set(), (
        "Requirement ids cited but without a heading ('### ID') in docs/requirements.md:\n"
        + "\n".join(
            f"  {rid}  cited in {', '.join(sorted(cited[rid])[:4])}" for rid in sorted(unresolved)
        )
    )


def test_each_id_has_one_heading():
    text = REQUIREMENTS.read_text(encoding="utf-8")
    headings = [m.group(1) for m in HEADING.finditer(text)]
    repeated = sorted({h for h in headings if headings.count(h) > 1})
    assert repeated == [], f"ids defined more than once in docs/requirements.md: {repeated}"


def test_the_parsers():
    # ids are put together here so that this file cites none of its own
    made_up, other = "AUTH" + "-99", "IMP" + "-7b"
    text = f"# Title\n\n### {made_up}\n\nmentions {other} in prose\n#### {other} — a title\n"
    assert defined_ids(text) == {made_up, other}
    assert defined_ids(f"prose {made_up}\n") == set()
    assert ID.findall(f"see {made_up}, not SHA-256 nor XAPI-1") == [made_up]
