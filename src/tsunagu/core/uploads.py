"""Client-supplied file names are labels, never paths (API-10).

An uploaded file is saved under a name tsunagu chooses (:data:`SAVED_NAME`, inside a fresh
temporary folder); the name the client gave is kept only as data, for the import report and the
``import_runs`` record. ``..``, ``a/..`` or a name longer than the file system allows are then
just text, and a name cannot reach outside the folder or fail to be created.
"""

from __future__ import annotations

import unicodedata

from tsunagu.core.errors import InvalidInput
from tsunagu.core.i18n import N_

#: the name every upload is saved under inside its own temporary folder
SAVED_NAME = "upload"
#: labels longer than this are cut (with an ellipsis): a report heading, not a file system
MAX_LABEL = 200
_LINE_BREAKING = {"\u2028", "\u2029"}


def _bad(ch: str) -> bool:
    """Control characters (C0, DEL, C1), the Unicode line breaks and lone surrogates: they
    could forge lines in a log or terminal, PostgreSQL refuses NUL, UTF-8 refuses surrogates."""
    return unicodedata.category(ch) in ("Cc", "Cs") or ch in _LINE_BREAKING


def file_label(name: str | None, *, fallback: str, field: str = "filename") -> str:
    """The client's file name as a label: ``fallback`` when blank, cut to :data:`MAX_LABEL`
    characters; a name with a control character is refused (``invalid_file_name``, 422)."""
    text = (name or "").strip()
    if any(_bad(ch) for ch in text):
        raise InvalidInput(
            N_("The file name must not contain control characters."),
            code="invalid_file_name",
            details={"field": field},
        )
    if not text:
        return fallback
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"
