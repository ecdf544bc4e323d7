"""A contract type for import-linter that import-linter does not have: no slice reaches into
another slice's private names (``from tsunagu.events.repo import _in_list``, or
``repo._in_list`` on a module imported from another slice).

``make lint`` puts ``scripts/`` on the path; pyproject's ``[tool.importlinter]`` names the type.
A slice is the second part of a module's dotted name (``tsunagu.events.repo`` is in ``events``);
names starting with one underscore are private; dunders and gettext's ``_`` are not.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from importlinter import Contract, ContractCheck, fields, output


def _slice(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _private(name: str) -> bool:
    return name != "_" and name.startswith("_") and not name.startswith("__")


def _source(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)


def _resolve(importer: str, node: ast.ImportFrom, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def violations(importer: str, tree: ast.AST, is_package: bool) -> list[tuple[int, str]]:
    """``(line, text)`` for each private name of another slice that ``importer`` uses."""
    found: list[tuple[int, str]] = []
    aliases: dict[str, str] = {}  # local name -> module of another slice
    home = _slice(importer)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _resolve(importer, node, is_package)
            if not source.startswith("tsunagu.") or _slice(source) == home:
                continue
            for alias in node.names:
                if _private(alias.name):
                    found.append((node.lineno, f"from {source} import {alias.name}"))
                else:
                    aliases[alias.asname or alias.name] = f"{source}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("tsunagu.") and _slice(alias.name) != home:
                    aliases[alias.asname or alias.name] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and _private(node.attr)
        ):
            found.append((node.lineno, f"{aliases[node.value.id]}.{node.attr}"))
    return sorted(found)


class PrivateNamesContract(Contract):
    """Modules under ``containers`` use no private name of another slice."""

    containers = fields.ListField(subfield=fields.StringField())

    def check(self, graph, verbose: bool) -> ContractCheck:  # type: ignore[no-untyped-def]
        problems: list[str] = []
        for module in sorted(graph.modules):
            if not any(module == c or module.startswith(c + ".") for c in self.containers):
                continue
            path = _source(module)
            if path is None:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for line, text in violations(module, tree, path.name == "__init__.py"):
                problems.append(f"{module}:{line} uses {text}")
        return ContractCheck(kept=not problems, metadata={"problems": problems})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for problem in check.metadata["problems"]:
            output.print_error(f"- {problem}")
            output.new_line()
