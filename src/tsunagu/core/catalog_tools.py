"""Maintenance of the message catalogs: extract, merge, check (a development tool).

Used by ``scripts/update_catalog.py`` and by the catalog tests, so both see exactly the same set of
messages. Extraction follows ``babel.cfg`` at the project root (Python ``_``/``N_`` plus template
``t``); every path here is relative to that root, which callers pass in.
"""

from __future__ import annotations

import io
import string
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from tsunagu import __version__

MAPPING_FILE = "babel.cfg"
LOCALE_DIR = Path("src/tsunagu/locale")
TEMPLATE_FILE = LOCALE_DIR / "messages.pot"
# `_` and `N_` are Babel defaults; `t` is the template helper (see babel.cfg).
KEYWORDS = {**DEFAULT_KEYWORDS, "t": None}
COMMENT_TAGS = ("Translators:",)
PROJECT = "tsunagu"
_HEADER_COMMENT = """\
# tsunagu message catalog. English source strings are the message ids.
# Refresh with: .venv/bin/python scripts/update_catalog.py (extraction rules: babel.cfg).
# Translate msgstr only; keep every {placeholder} of the msgid.
#"""
_VOLATILE_HEADERS = (b'"POT-Creation-Date:', b'"PO-Revision-Date:')


def po_path(root: Path, lang: str) -> Path:
    return root / LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"


def extract(root: Path) -> Catalog:
    """All marked messages under ``root`` per ``babel.cfg``, as a template catalog."""
    with (root / MAPPING_FILE).open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, MAPPING_FILE)  # type: ignore[no-untyped-call]
    template = Catalog(
        project=PROJECT,
        version=__version__,
        charset="utf-8",
        fuzzy=False,
        header_comment=_HEADER_COMMENT,
    )
    for filename, lineno, message, comments, context in extract_from_dir(
        root,
        method_map,
        options_map,
        keywords=KEYWORDS,
        comment_tags=COMMENT_TAGS,
        strip_comment_tags=True,
    ):
        template.add(
            message,
            None,
            [(Path(filename).as_posix(), lineno)],
            auto_comments=comments,
            context=context,
        )
    return template


def load(path: Path, lang: str) -> Catalog:
    """The catalog at ``path`` (obsolete entries included), or an empty one for ``lang``."""
    if not path.is_file():
        return Catalog(
            locale=lang,
            project=PROJECT,
            version=__version__,
            fuzzy=False,
            last_translator="tsunagu maintainers",
            language_team=lang,
            header_comment=_HEADER_COMMENT,
        )
    with path.open("rb") as fh:
        return read_po(fh, locale=lang)


def merge(template: Catalog, catalog: Catalog) -> Catalog:
    """Bring ``catalog`` in line with ``template``: translations kept, new ids added empty (or as a
    fuzzy guess from a similar old id), vanished ids moved to the obsolete section. An obsolete
    entry whose id comes back is revived with its translation."""
    for key, old in list(catalog.obsolete.items()):
        if template.get(old.id, context=old.context) is not None:
            del catalog.obsolete[key]
            catalog[old.id] = old
    catalog.update(template, update_creation_date=True)
    for message in catalog:
        if not message.fuzzy:  # "#| msgid" only helps while a guess awaits review
            message.previous_id = []
    catalog.project, catalog.version = PROJECT, __version__
    catalog.fuzzy = False
    return catalog


def render(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    # File names without line numbers: the catalog does not churn each time code moves.
    write_po(buf, catalog, include_previous=True, include_lineno=False)
    return buf.getvalue()


def write_if_changed(catalog: Catalog, path: Path) -> bool:
    """Write ``catalog`` unless only its timestamps would change; report whether it wrote."""
    data = render(catalog)
    if path.is_file() and _stable(path.read_bytes()) == _stable(data):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def update(root: Path, lang: str = "ja") -> tuple[Catalog, Catalog, bool, bool]:
    """Extract, write the template and merge it into ``lang``; returns both catalogs and whether
    each file was rewritten."""
    template = extract(root)
    catalog = merge(template, load(po_path(root, lang), lang))
    return (
        template,
        catalog,
        write_if_changed(template, root / TEMPLATE_FILE),
        write_if_changed(catalog, po_path(root, lang)),
    )


def is_translated(message: Message | None) -> bool:
    if message is None or message.fuzzy:
        return False
    texts = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
    return all(bool(text and text.strip()) for text in texts)


def untranslated(template: Catalog, catalog: Catalog) -> list[str]:
    """Ids in ``template`` that ``catalog`` lacks, leaves empty or marks fuzzy."""
    return [
        _id(m.id)
        for m in template
        if m.id and not is_translated(catalog.get(m.id, context=m.context))
    ]


def placeholders(text: str) -> set[str]:
    """Field names of the ``str.format`` replacement fields in ``text``."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def placeholder_mismatches(catalog: Catalog) -> list[tuple[str, set[str], set[str]]]:
    """(msgid, placeholders of the id, placeholders of the translation) wherever they differ."""
    problems = []
    for message in catalog:
        if not message.id or not is_translated(message):
            continue
        ids = _texts(message.id)
        for text in _texts(message.string):
            expected, got = placeholders(ids[-1]), placeholders(text)
            if expected != got:
                problems.append((_id(message.id), expected, got))
    return problems


def _texts(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _id(msgid: str | Iterable[str]) -> str:
    return msgid if isinstance(msgid, str) else next(iter(msgid))


def _stable(data: bytes) -> bytes:
    return b"\n".join(line for line in data.splitlines() if not line.startswith(_VOLATILE_HEADERS))
