"""English/Japanese text for sellers.

Source strings are English and are the catalog keys; Japanese lives in
``tsunagu/locale/ja/LC_MESSAGES/messages.po``. The .po file is read directly with Babel at first
use, so there is no compiled .mo file that could drift from its source.

``N_`` marks a string for extraction without translating it (used where the language is only known
later, e.g. error messages rendered for the API caller or the CLI user). ``_`` translates now, in the
language of the current context.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

SUPPORTED = ("en", "ja")
_LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
_current: ContextVar[str | None] = ContextVar("tsunagu_lang", default=None)


def normalise(tag: str | None) -> str:
    """Map ``ja_JP.UTF-8``, ``ja-JP``, ``JA`` … to a supported language, English otherwise."""
    if not tag:
        return "en"
    head = tag.strip().lower().replace("-", "_").split(".")[0].split("_")[0]
    return head if head in SUPPORTED else "en"


def language_from_env() -> str:
    for name in ("TSUNAGU_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return normalise(value)
    return "en"


def current_language() -> str:
    lang = _current.get()
    return lang if lang is not None else language_from_env()


def set_language(lang: str | None) -> None:
    _current.set(normalise(lang) if lang else None)


@cache
def catalog(lang: str) -> dict[str, str]:
    if lang == "en":
        return {}
    path = _LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        po = read_po(fh, locale=lang)
    return {str(m.id): str(m.string) for m in po if m.id and m.string and not m.fuzzy}


class _Keep(dict[str, object]):
    """Leaves unknown ``{placeholders}`` as they are instead of failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def translate(msgid: str, lang: str | None = None, /, **params: object) -> str:
    text = catalog(lang or current_language()).get(msgid, msgid)
    if not params:
        return text
    try:
        return text.format_map(_Keep(params))
    except (ValueError, IndexError, AttributeError):
        return text


def _(msgid: str, /, **params: object) -> str:
    return translate(msgid, None, **params)


def N_(msgid: str) -> str:
    return msgid


@cache
def plural_catalog(lang: str) -> dict[str, tuple[str, ...]]:
    """The plural messages of ``lang``'s catalog: the singular id → every form."""
    if lang == "en":
        return {}
    path = _LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        po = read_po(fh, locale=lang)
    return {
        str(m.id[0]): tuple(str(s) for s in m.string)
        for m in po
        if isinstance(m.id, tuple) and isinstance(m.string, tuple) and all(m.string)
        if not m.fuzzy
    }


def ngettext(
    singular: str, plural: str, n: int, lang: str | None = None, /, **params: object
) -> str:
    """``singular`` or ``plural`` by ``n`` (``{n}`` is filled in), in ``lang``: Japanese has one
    form; English the singular for exactly 1."""
    chosen = lang or current_language()
    forms = plural_catalog(chosen).get(singular)
    if forms:
        text = forms[0] if len(forms) == 1 else forms[0 if n == 1 else 1]
    else:
        text = singular if n == 1 else plural
    try:
        return text.format_map(_Keep({"n": n, **params}))
    except (ValueError, IndexError, AttributeError):
        return text
