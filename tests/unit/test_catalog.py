"""The Japanese catalog covers the source, keeps placeholders, and is what ``translate`` serves.

Extraction is the same code ``scripts/update_catalog.py`` runs (``tsunagu.core.catalog_tools``), so
"translated" here means exactly what ``update_catalog.py --check`` means.
"""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog

from tsunagu.core import catalog_tools as ct
from tsunagu.core.i18n import normalise, translate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template() -> Catalog:
    return ct.extract(ROOT)


@pytest.fixture(scope="module")
def ja() -> Catalog:
    path = ct.po_path(ROOT, "ja")
    assert path.is_file(), f"{path} is missing; run .venv/bin/python scripts/update_catalog.py"
    return ct.load(path, "ja")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_extraction_sees_python_and_templates(template: Catalog) -> None:
    files = {path for m in template if m.id for path, _ in m.locations}
    assert any(f.endswith(".py") for f in files), "no message extracted from Python code"
    assert any(f.endswith(".html") for f in files), "no message extracted from the templates"


def test_every_source_message_has_a_japanese_translation(template: Catalog, ja: Catalog) -> None:
    missing = ct.untranslated(template, ja)
    assert not missing, (
        "untranslated (missing, empty or fuzzy) in ja/messages.po — run "
        f".venv/bin/python scripts/update_catalog.py and translate: {missing}"
    )


def test_untranslated_counts_empty_fuzzy_and_absent_entries() -> None:
    template = Catalog()
    for msgid in ("done", "empty", "fuzzy", "absent"):
        template.add(msgid)
    po = Catalog(locale="ja")
    po.add("done", "完了")
    po.add("empty", "")
    po.add("fuzzy", "あいまい", flags=["fuzzy"])
    assert ct.untranslated(template, po) == ["empty", "fuzzy", "absent"]


def test_translations_keep_exactly_the_placeholders(ja: Catalog) -> None:
    checked, wrong = 0, []
    for m in ja:
        if not m.id or not m.string or m.fuzzy:
            continue
        msgid, text = str(m.id), str(m.string)
        expected, got = _fields(msgid), _fields(text)
        checked += bool(expected)
        if expected != got:
            wrong.append(f"{msgid!r}: id has {sorted(expected)}, translation has {sorted(got)}")
            continue
        text.format(**dict.fromkeys(expected, "x"))  # and the translation formats cleanly
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)
    assert checked, "no translated message with placeholders; the check saw nothing"


def test_placeholder_helper_flags_renamed_and_dropped_fields() -> None:
    po = Catalog(locale="ja")
    po.add("Seller {seller_id} in {marketplace}", "{marketplace} のセラー {seller}")
    po.add("{count} orders", "注文 件")
    po.add("{a} and {b}", "{b} と {a}")  # reordering is fine
    assert [msgid for msgid, _, _ in ct.placeholder_mismatches(po)] == [
        "Seller {seller_id} in {marketplace}",
        "{count} orders",
    ]


def test_literal_marker_calls_are_all_extracted(template: Catalog) -> None:
    """`_("x")` hidden where the extractor cannot see it (e.g. inside an f-string on Python 3.11)
    or `N_(variable)` would stay English in Japanese without --check noticing."""
    extracted = {str(m.id) for m in template if m.id}
    problems = []
    for path in sorted((ROOT / "src").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "N_")
                and node.args
            ):
                continue
            arg, where = node.args[0], f"{path.relative_to(ROOT)}:{node.lineno}"
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                if arg.value not in extracted:
                    problems.append(f"{where}: {node.func.id}({arg.value!r}) is not extracted")
            elif node.func.id == "N_":
                problems.append(f"{where}: N_() needs a string literal to mark anything")
    assert not problems, "\n".join(problems)


def test_translate_serves_the_catalog(ja: Catalog) -> None:
    japanese = ja.get("Sellers")
    assert japanese is not None
    assert japanese.string == "セラー"
    assert translate("Sellers", "ja") == "セラー"
    assert translate("Sellers", "en") == "Sellers"


def test_normalise() -> None:
    assert normalise("ja_JP.UTF-8") == "ja"
    assert normalise("fr") == "en"
