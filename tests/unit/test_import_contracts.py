"""The contract type ``make lint`` adds to import-linter: no slice uses another slice's private
names (issue 12: ``orders/repo.py`` used ``events.repo._in_list``)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from import_contracts import violations


def found(module: str, source: str, *, package: bool = False) -> list[str]:
    return [text for _, text in violations(module, ast.parse(source), package)]


def test_a_private_name_imported_from_another_slice_is_a_violation():
    assert found("tsunagu.orders.repo", "from tsunagu.events.repo import _in_list, batched") == [
        "from tsunagu.events.repo import _in_list"
    ]


def test_a_private_attribute_of_another_slices_module_is_a_violation():
    source = "from tsunagu.events import repo\nrepo._in_list(1)\nrepo.batched(2)\n"
    assert found("tsunagu.orders.repo", source) == ["tsunagu.events.repo._in_list"]
    source = "import tsunagu.events.repo as r\nr._hidden\n"
    assert found("tsunagu.orders.service", source) == ["tsunagu.events.repo._hidden"]


def test_relative_imports_resolve_to_their_slice():
    assert found("tsunagu.orders.repo", "from ..events.repo import _in_list") == [
        "from tsunagu.events.repo import _in_list"
    ]
    assert found("tsunagu.orders.repo", "from .rules import _fold") == []


def test_own_slice_public_names_dunders_and_gettext_are_allowed():
    assert found("tsunagu.events.service", "from tsunagu.events.repo import _in_list") == []
    assert found("tsunagu.cli.main", "from tsunagu.core.i18n import N_, _") == []
    assert found("tsunagu.web.pages", "from tsunagu.health import rules\nrules.__doc__") == []
    assert found("tsunagu.orders.repo", "from sqlalchemy import _private") == []
