"""API-10's three rules for text and how tsunagu shows text on a terminal (core/text.py)."""

from __future__ import annotations

import gzip
import json

import orjson
from hypothesis import given
from hypothesis import strategies as st

from tsunagu.core.text import (
    control_character,
    for_terminal,
    is_printable,
    json_for_terminal,
    not_text,
)

#: what a terminal acts on: C0 but tab and line feed, DEL, C1, the bidi controls
ACTIVE = [chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))] + list(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


@given(st.text())
def test_api_10_nothing_a_terminal_acts_on_survives_for_terminal(text: str):
    shown = for_terminal(text)
    assert not any(char in shown for char in ACTIVE)
    assert shown.count("\n") == text.count("\n")  # layout stays
    assert shown.count("\t") == text.count("\t")


def test_api_10_for_terminal_writes_escapes_readably():
    assert for_terminal("a\x1b[2Jb\x00\x9b\u202e\tc\n") == "a\\u001b[2Jb\\u0000\\u009b\\u202e\tc\n"


@given(st.recursive(st.text(), lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)))
def test_api_10_json_for_terminal_keeps_the_value_and_drops_what_a_terminal_acts_on(value: object):
    encoded = json_for_terminal(orjson.dumps(value).decode())
    assert json.loads(encoded) == value
    assert not any(char in encoded for char in ACTIVE)


def test_api_10_the_three_rules():
    assert control_character("a\x00b") == "\x00"
    assert control_character("tab\there") == "\t"
    assert control_character("line\r\nbreak\tok", free_text=True) is None
    assert control_character("bell\x07", free_text=True) == "\x07"
    assert control_character("京都\u3000茶舗") is None  # a name may hold an ideographic space
    assert is_printable("503-1234567-1234567")
    assert is_printable("../../etc/passwd")  # printable; no id ever becomes a path
    assert not is_printable("503\u202e1")
    assert not is_printable("SKU\u200b")


def test_item_11_files_that_are_not_text_are_told_by_their_first_bytes():
    assert not_text(gzip.compress(b"{}\n")) == "compressed:gzip"
    assert not_text("a\tb\n".encode("utf-16")) == "utf-16"
    assert not_text("a\tb\n".encode("utf-32")) == "utf-16"
    assert not_text("a\tb\n".encode("utf-16-le")) == "binary"
    assert not_text("a\tb\n".encode("utf-16-le"), nul_is_binary=False) is None
    assert not_text("注文\tb\n".encode("cp932")) is None
    assert not_text(b"\xef\xbb\xbfa\tb\n") is None
