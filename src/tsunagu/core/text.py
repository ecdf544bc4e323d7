"""Hostile text (API-10): what tsunagu accepts in a value, and how it shows one on a terminal.

Three kinds of text, one rule each:

* **identifiers** (order ids, SKUs, event ids, seller ids, ids in a path) are *printable*: what
  :meth:`str.isprintable` says, i.e. no control, format (bidi overrides, zero-width marks),
  surrogate, private-use or unassigned character and no separator but the ASCII space. ``/`` and
  ``..`` are printable and allowed: no identifier ever becomes a file path;
* **text** (a seller's name, a carrier, a column name) holds no control character (Unicode
  category Cc: C0, DEL and C1);
* **free text** (message subjects and bodies, the strings of unknown event fields) may also
  hold tab, line feed and carriage return, and no other control character. (A cell of a
  tab-separated report, a feedback comment included, cannot hold a tab or a line break of its
  own: any control character in one is refused.)

PostgreSQL refuses NUL in text outright; the other control characters are refused as well
because they reach terminals and logs, where ``ESC [2J`` clears a screen. What reaches a
terminal anyway (data stored before these rules) goes through :func:`for_terminal`.

Files are sniffed before they are decoded: :func:`not_text` tells a compressed, UTF-16 or binary
file from text, so that it is refused once, as a file, instead of once per line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import N_

#: Unicode category Cc: C0 controls, DEL and the C1 controls.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
#: Cc without tab, line feed and carriage return.
_CONTROL_IN_FREE_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: What a terminal must never receive raw: Cc but tab and line feed (layout), and the
#: bidirectional controls that reorder what the reader sees.
_TERMINAL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: In JSON output control characters below U+0020 are escaped by the encoder already; these are
#: the ones JSON allows raw but a terminal may act on.
_JSON_RAW = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

#: The first bytes of compressed or archive files (gzip, zip, bzip2, xz, zstd, 7-Zip).
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"PK\x03\x04", "zip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
)
#: Byte-order marks of UTF-16 and UTF-32 (UTF-32 LE first: it starts like UTF-16 LE).
_WIDE_BOMS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff", b"\xff\xfe", b"\xfe\xff")
#: How much of a file :func:`not_text` looks at.
SNIFF_BYTES = 8192


def control_character(value: str, *, free_text: bool = False) -> str | None:
    """The first control character of ``value`` (tab and line breaks allowed in free text)."""
    found = (_CONTROL_IN_FREE_TEXT if free_text else _CONTROL).search(value)
    return found.group() if found else None


def any_control_character(values: Iterable[str]) -> bool:
    """Whether any of ``values`` holds a control character: one search over them all, for the
    rows of big files where nearly every row has none."""
    return _CONTROL.search(" ".join(values)) is not None


def is_printable(value: str) -> bool:
    """Whether ``value`` may be an identifier (see the module docstring)."""
    return value.isprintable()


def _visible(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def for_terminal(value: str) -> str:
    """``value`` with every character a terminal could act on written as ``\\u001b`` etc.

    Tab and line feed stay: they are layout, not commands.
    """
    return _TERMINAL.sub(_visible, value)


def json_for_terminal(encoded: str) -> str:
    """JSON text with DEL, C1 and bidi controls escaped too (``\\u009b``); same JSON value."""
    return _JSON_RAW.sub(_visible, encoded)


def not_text(head: bytes, *, nul_is_binary: bool = True) -> str | None:
    """Why the file starting with ``head`` is not text: ``compressed:<format>``, ``utf-16`` or
    ``binary`` (a NUL byte, unless ``nul_is_binary`` is false); ``None`` when it may be text.

    UTF-16 is told by its byte-order mark (Excel's "Unicode text" export writes one); a UTF-16
    file without one has a NUL in nearly every other byte and counts as binary here. A reader
    that reports a stray NUL per row (tab-separated reports) passes ``nul_is_binary=False``.
    """
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return f"compressed:{name}"
    if head.startswith(_WIDE_BOMS):
        return "utf-16"
    if nul_is_binary and b"\x00" in head:
        return "binary"
    return None


def require_text(head: bytes, shown: str, *, nul_is_binary: bool = True) -> None:
    """Raise ``unreadable_file`` (a :class:`UsageError`: the CLI exits 2) naming why the file
    ``shown`` is not text, judged by its first bytes ``head`` (see :func:`not_text`)."""
    reason = not_text(head, nul_is_binary=nul_is_binary)
    if reason is not None:
        raise not_text_error(reason, shown)


def not_text_error(reason: str, shown: str) -> UsageError:
    """The ``unreadable_file`` error for a :func:`not_text` reason."""
    kind, _, name = reason.partition(":")
    details = {"path": shown, "reason": kind}
    if kind == "compressed":
        return UsageError(
            N_("{path} is a compressed file ({format}); unpack it and import the file inside"),
            code="unreadable_file",
            path=shown,
            format=name,
            details={**details, "format": name},
        )
    if kind == "utf-16":
        return UsageError(
            N_("{path} is UTF-16 text; save it as UTF-8 and import it again"),
            code="unreadable_file",
            path=shown,
            details=details,
        )
    return UsageError(
        N_("{path} is not a text file: it holds NUL bytes"),
        code="unreadable_file",
        path=shown,
        details=details,
    )
