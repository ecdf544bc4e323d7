"""Every error code tsunagu can raise is a row of the README's table of stable codes (issue 12).

Codes are part of the public interface (README, "Error codes"), so a code that reaches a user
without a row there is undocumented API. The codes are collected from the source in several
independent ways, so that a new error is found whichever way it is written:

(a) the ``code`` class attribute of every subclass of ``TsunaguError`` defined in tsunagu (all
    modules imported first);
(b) every ``code="..."`` keyword literal in a call anywhere under ``src/tsunagu``;
(c) the envelope codes of ``api/errors.py`` (``_HTTP_CODES`` and its fallback) and every literal
    given to ``envelope(`` — and, more generally, every literal passed positionally into a
    parameter that a tsunagu function or class forwards as an error code (``_Bad("invalid_type",
    ...)``, ``RowError(line, field, "event_conflict", ...)``, ``PasswordRejected(
    "password_too_short", ...)``, ``error_page(..., "http_error")``);
(d) every ``code = "..."`` / ``self.code = "..."`` assignment of a literal.

A second test checks the other direction: every code in the table is produced somewhere.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import tsunagu
from tsunagu.core.errors import TsunaguError

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "tsunagu"
README = ROOT / "README.md"

#: what an error code looks like (marketplace codes such as "JP" are not error codes)
CODE_SHAPE = re.compile(r"^[a-z][a-z0-9_]*$")


# -- the README table --------------------------------------------------------------------------


def documented_codes(text: str | None = None) -> set[str]:
    """Codes in backticks in the first column of the tables of the "## Error codes" section."""
    text = README.read_text(encoding="utf-8") if text is None else text
    start = re.search(r"^## Error codes[ \t]*$", text, re.MULTILINE)
    assert start, "README.md has no '## Error codes' section"
    section = re.split(r"^## ", text[start.end() :], maxsplit=1, flags=re.MULTILINE)[0]
    codes = set()
    for line in section.splitlines():
        match = re.match(r"^\|\s*`([^`]+)`\s*\|", line)
        if match:
            codes.add(match.group(1))
    return codes


# -- (a) the class attributes ------------------------------------------------------------------


def _import_everything() -> None:
    for module in pkgutil.walk_packages(tsunagu.__path__, "tsunagu."):
        name = module.name
        if name.startswith("tsunagu.migrations") or name.rsplit(".", 1)[-1] == "__main__":
            continue  # migrations need Alembic's context; __main__ runs the command line
        importlib.import_module(name)


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def class_codes() -> dict[str, set[str]]:
    _import_everything()
    found: dict[str, set[str]] = {}
    for cls in [TsunaguError, *_subclasses(TsunaguError)]:
        if not cls.__module__.startswith("tsunagu"):
            continue  # a test's own error class is not part of the product
        code = vars(cls).get("code")
        if isinstance(code, str):
            found.setdefault(code, set()).add(f"{cls.__module__}.{cls.__qualname__}")
    return found


# -- (b), (c), (d) the literals in the source --------------------------------------------------


def _trees() -> dict[str, ast.Module]:
    trees = {}
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.relative_to(SRC).parts:
            continue
        trees[str(path.relative_to(ROOT))] = ast.parse(path.read_text("utf-8"), str(path))
    return trees


def _string(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _forwards_as_code(function: ast.FunctionDef, param: str) -> bool:
    """Whether ``function`` hands ``param`` on as an error code: ``code=param`` in a call,
    ``self.code = param`` or ``{"code": param}``."""
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "code" and isinstance(kw.value, ast.Name) and kw.value.id == param:
                    return True
        elif isinstance(node, ast.Assign):
            if isinstance(node.value, ast.Name) and node.value.id == param:
                for target in node.targets:
                    if isinstance(target, ast.Attribute) and target.attr == "code":
                        return True
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if _string(key) == "code" and isinstance(value, ast.Name) and value.id == param:
                    return True
    return False


def _slots(function: ast.FunctionDef, *, method: bool) -> set[int]:
    params = [a.arg for a in function.args.posonlyargs + function.args.args]
    if method and params and params[0] in {"self", "cls"}:
        params = params[1:]
    return {i for i, p in enumerate(params) if _forwards_as_code(function, p)}


def _is_record(node: ast.ClassDef) -> bool:
    """A dataclass or NamedTuple: its annotated fields are its positional parameters."""
    for deco in node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        if isinstance(target, ast.Name | ast.Attribute) and "dataclass" in ast.unparse(target):
            return True
    return any(ast.unparse(base).endswith("NamedTuple") for base in node.bases)


def code_slots(trees: dict[str, ast.Module]) -> dict[str, set[int]]:
    """Callable name → the positions of its arguments that carry an error code."""
    slots: dict[str, set[int]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                        slots.setdefault(node.name, set()).update(_slots(item, method=True))
                if _is_record(node):
                    fields = [
                        item.target.id
                        for item in node.body
                        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
                    ]
                    if "code" in fields:
                        slots.setdefault(node.name, set()).add(fields.index("code"))
            elif isinstance(node, ast.FunctionDef) and node.name != "__init__":
                slots.setdefault(node.name, set()).update(_slots(node, method=True))
    return {name: found for name, found in slots.items() if found}


def literal_codes(trees: dict[str, ast.Module] | None = None) -> dict[str, set[str]]:
    trees = _trees() if trees is None else trees
    slots = code_slots(trees)
    found: dict[str, set[str]] = {}

    def add(value: str | None, where: str) -> None:
        if value is not None and CODE_SHAPE.match(value):
            found.setdefault(value, set()).add(where)

    for path, tree in trees.items():
        # module-level string constants, for ``code=UNKNOWN_KIND`` (b)
        constants = {
            target.id: value
            for stmt in tree.body
            if isinstance(stmt, ast.Assign) and (value := _string(stmt.value)) is not None
            for target in stmt.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            where = f"{path}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call):
                for kw in node.keywords:  # (b)
                    if kw.arg == "code":
                        if isinstance(kw.value, ast.Name):
                            add(constants.get(kw.value.id), where)
                        else:
                            add(_string(kw.value), where)
                for index in slots.get(_callee(node) or "", ()):  # (c)
                    if index < len(node.args):
                        add(_string(node.args[index]), where)
                if (
                    isinstance(node.func, ast.Attribute)
                    and node.func.attr == "get"
                    and ast.unparse(node.func.value) == "_HTTP_CODES"
                    and len(node.args) == 2
                ):
                    add(_string(node.args[1]), where)  # the fallback for other statuses
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    name = target.id if isinstance(target, ast.Name) else None
                    attr = target.attr if isinstance(target, ast.Attribute) else None
                    if "code" in (name, attr):  # (d)
                        add(_string(node.value), where)
                    if name == "_HTTP_CODES" and isinstance(node.value, ast.Dict):  # (c)
                        for value in node.value.values:
                            add(_string(value), where)
    return found


def raised_codes() -> dict[str, set[str]]:
    """Every code tsunagu can produce → where it comes from."""
    found = literal_codes()
    for code, where in class_codes().items():
        found.setdefault(code, set()).update(where)
    return found


def _listing(codes: set[str], where: dict[str, set[str]]) -> str:
    return "\n".join(f"  {c}  ({', '.join(sorted(where.get(c, ()))[:3])})" for c in sorted(codes))


# -- the tests ---------------------------------------------------------------------------------


def test_the_collectors_see_each_kind_of_source():
    """Guards the collectors themselves: one known code per way of writing an error."""
    raised = raised_codes()
    for code in (
        "totp_already_enrolled",  # (a) a class attribute
        "invalid_range",  # (b) a code= keyword
        "unknown_file_kind",  # (b) code= a module-level constant (connectors/amazon/detect.py)
        "rate_limited",  # (c) _HTTP_CODES
        "http_error",  # (c) the _HTTP_CODES fallback and error_page(..., "http_error")
        "busy",  # (c) envelope(503, "busy", ...)
        "password_too_short",  # (c) forwarded: PasswordRejected("password_too_short", ...)
        "event_conflict",  # (c) forwarded: a dataclass field RowError(..., "event_conflict")
        "invalid_type",  # (c) forwarded: _Bad("invalid_type", ...)
    ):
        assert code in raised, f"the collectors no longer find {code!r}"
    assert "JP" not in raised  # a marketplace code is not an error code


def test_every_raised_code_is_in_the_readme_table():
    raised = raised_codes()
    missing = set(raised) - documented_codes()
    assert missing == set(), (
        "Error codes raised by tsunagu but missing from the README table "
        "(section '## Error codes'; add a row with the HTTP status, CLI exit and meaning):\n"
        + _listing(missing, raised)
    )


def test_every_code_in_the_readme_table_is_raised_somewhere():
    """The other direction, kept apart: a row whose code nothing produces any more documents a
    code users will never see. Retire the row (codes are never reused for something else)."""
    unknown = documented_codes() - set(raised_codes())
    assert unknown == set(), (
        "Codes in the README table that no source in src/tsunagu produces:\n"
        + "\n".join(f"  {c}" for c in sorted(unknown))
    )


def test_the_table_parser_reads_first_column_codes_only():
    text = (
        "## Error codes\n\n| code | meaning |\n|---|---|\n| `a_code` | see `not_a_row` |\n"
        "Prose mentioning `prose_code`.\n\n## Next\n\n| `after_section` | x |\n"
    )
    assert documented_codes(text) == {"a_code"}
