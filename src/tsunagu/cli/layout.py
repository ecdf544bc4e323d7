"""Tables and lines that read at any terminal width, 80 columns included (ADR 0037).

Rich squeezes a table that is too wide by narrowing its widest columns, down to one-letter
stubs, and breaks words (and ids) wherever the column ends. Here the layout is decided before
Rich draws anything:

- every cell is cut into *atoms* that are never broken: a run of Latin letters, digits and
  punctuation (a word, an id, a figure), or one East Asian character, with the punctuation that
  must not start or end a line kept beside its neighbour;
- a column marked ``whole`` (ids, figures, dates) is never wrapped at all;
- when the columns' natural widths fit, the table is drawn as it is; when only their narrowest
  widths (the longest atom of each column) fit, the spare room goes to the columns that want it
  most and the other cells wrap between atoms;
- when not even that fits, each row is printed as a block of ``key  value`` lines.

Widths are counted in terminal cells (a Japanese character takes two). Cells are plain text:
Rich markup in them is shown as it is, never interpreted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from tsunagu.cli.context import out
from tsunagu.core.text import for_terminal

#: a table's width is its columns' widths plus this per column, plus one (borders, padding)
_PER_COLUMN = 3
#: East Asian text is kept on one line up to this many cells when a column can afford it
_EAST_ASIAN_RUN = 10
#: … and a header up to this many (headers give way first)
_EAST_ASIAN_HEADER_RUN = 6
#: East Asian punctuation that must not start a line (it stays with the atom before it)
_NO_START = set("、。，．・：；！？）」』】〕〉》ー…‥ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ%")
#: punctuation that must not end a line (it stays with the atom after it)
_NO_END = set("（「『【〔〈《")


@dataclass(frozen=True)
class Col:
    """A column: its header, whether its cells are never wrapped, and their alignment."""

    header: str
    whole: bool = False
    justify: Literal["left", "right"] = "left"


def _atoms(text: str) -> list[tuple[bool, str]]:
    """``text`` (one line) as (preceded by a space, atom) pairs."""
    found: list[tuple[bool, str]] = []
    space = False
    run = ""
    glue_next = False

    def close() -> None:
        nonlocal run, space
        if run:
            found.append((space, run))
            run, space = "", False

    for char in text:
        if char.isspace():
            close()
            space = bool(found) or space
            glue_next = False
            continue
        wide = cell_len(char) > 1
        if glue_next:
            run += char
            glue_next = char in _NO_END
            continue
        if char in _NO_START:
            if run:
                run += char
            elif found and not space:
                previous_space, previous = found.pop()
                found.append((previous_space, previous + char))
            else:
                run = char
            continue
        if wide or (run and cell_len(run[-1]) > 1):
            close()
        run += char
        glue_next = char in _NO_END
    close()
    return found


def _fold(atom: str, width: int) -> list[str]:
    """An atom wider than ``width`` cut into pieces of at most ``width`` cells (last resort)."""
    pieces, piece = [], ""
    for char in atom:
        if piece and cell_len(piece + char) > width:
            pieces.append(piece)
            piece = ""
        piece += char
    return [*pieces, piece] if piece else pieces


def wrap(text: str, width: int, indent: int = 0) -> list[str]:
    """``text`` broken into lines of at most ``width`` cells, between atoms only (an atom wider
    than the line is cut, which the layouts below never let happen); every line after the
    first is ``indent`` cells narrower (the caller indents it)."""
    lines: list[str] = []

    def limit() -> int:
        return max(width - indent, 1) if lines else width

    def put(line: str) -> str:
        while cell_len(line) > limit():
            head, *tail = _fold(line, limit())
            lines.append(head)
            line = "".join(tail)
        return line

    for paragraph in text.split("\n"):
        line = ""
        for spaced, atom in _atoms(paragraph):
            joined = line + (" " if spaced and line else "") + atom
            if not line or cell_len(joined) <= limit():
                line = put(joined)
                continue
            lines.append(line)
            line = put(atom)
        lines.append(line)
    return lines


def _natural(text: str) -> int:
    return max((cell_len(line) for line in text.split("\n")), default=0)


def _narrowest(text: str, whole: bool, run: int = 0) -> int:
    """The narrowest a cell may be: all of it when ``whole``; else its longest atom, and for
    East Asian text its longest stretch between spaces up to ``_EAST_ASIAN_RUN`` cells (a
    header of four Japanese characters is not stacked one character a line)."""
    if whole:
        return _natural(text)
    least = 0
    for line in text.split("\n"):
        for chunk in line.split():
            atoms = [atom for _, atom in _atoms(chunk)]
            least = max(least, *(cell_len(atom) for atom in atoms))
            if len(atoms) > 1:
                least = max(least, min(cell_len(chunk), run or _EAST_ASIAN_RUN))
    return least


def column_widths(
    cols: Sequence[Col], rows: Sequence[Sequence[str]], width: int
) -> list[int] | None:
    """Each column's width in a table ``width`` cells wide, or ``None`` when the table cannot
    be drawn without breaking an atom or a whole cell."""
    room = width - _PER_COLUMN * len(cols) - 1
    natural = [_natural(c.header) for c in cols]
    least = [_narrowest(c.header, False, _EAST_ASIAN_HEADER_RUN) for c in cols]
    for row in rows:
        for n, (col, cell) in enumerate(zip(cols, row, strict=True)):
            natural[n] = max(natural[n], _natural(cell))
            least[n] = max(least[n], _narrowest(cell, col.whole))
    natural = [max(a, b) for a, b in zip(natural, least, strict=True)]
    if sum(natural) <= room:
        return natural
    if sum(least) > room:
        return None
    widths = list(least)
    spare = room - sum(widths)
    while spare > 0:
        wants = [natural[n] - widths[n] for n in range(len(cols))]
        most = max(range(len(cols)), key=lambda n: wants[n])
        if wants[most] <= 0:
            break
        widths[most] += 1
        spare -= 1
    return widths


def _cell(text: str, width: int, whole: bool) -> str:
    if whole:
        return text
    return "\n".join(wrap(text, width))


def print_title(title: str, console: Console | None = None) -> None:
    say(title, console=console, style="bold")


def say(
    text: str, *, console: Console | None = None, indent: int = 0, style: str | None = None
) -> None:
    """A line of plain text wrapped between atoms to the terminal's width; its leading spaces
    are kept, and continuation lines start ``indent`` cells in."""
    target = console or out
    width = max(target.width, 20)
    body = for_terminal(text).lstrip(" ")
    lead = min(len(text) - len(text.lstrip(" ")), width // 2)
    indent = max(min(indent, width // 2), lead)
    for n, line in enumerate(wrap(body, width - lead, indent - lead)):
        pad = " " * (indent if n else lead)
        target.print(Text(pad + line, style=style or ""), soft_wrap=True)


def show(
    cols: Sequence[Col],
    rows: Sequence[Sequence[str]],
    *,
    title: str | None = None,
    styles: Sequence[str | None] | None = None,
    console: Console | None = None,
) -> None:
    """``rows`` as a table when it fits the terminal, else as one block of lines per row."""
    target = console or out
    # control characters are measured as they will be shown (API-10: ``\u001b`` …)
    cols = [Col(for_terminal(c.header), c.whole, c.justify) for c in cols]
    rows = [[for_terminal(cell) for cell in row] for row in rows]
    if title:
        print_title(title, target)
    widths = column_widths(cols, rows, target.width)
    if widths is None:
        _stacked(cols, rows, target, styles)
        return
    table = Table(
        *(
            Column(
                "\n".join(wrap(c.header, w)),
                width=w,
                no_wrap=True,
                overflow="fold",
                justify=c.justify,
            )
            for c, w in zip(cols, widths, strict=True)
        )
    )
    for n, row in enumerate(rows):
        table.add_row(
            *(
                Text(_cell(cell, w, c.whole), justify=c.justify)
                for c, w, cell in zip(cols, widths, row, strict=True)
            ),
            style=styles[n] if styles else None,
        )
    target.print(table, soft_wrap=True)


def _stacked(
    cols: Sequence[Col],
    rows: Sequence[Sequence[str]],
    console: Console,
    styles: Sequence[str | None] | None,
) -> None:
    """Each row as ``key  value`` lines, rows apart by a blank line; a value that does not fit
    beside its key goes on the next lines, indented."""
    width = max(console.width, 20)
    key_width = min(max(cell_len(c.header) for c in cols), width // 3)
    for n, row in enumerate(rows):
        if n:
            console.print("", soft_wrap=True)
        style = (styles[n] if styles else None) or ""
        for col, cell in zip(cols, row, strict=True):
            key = col.header
            value_room = width - key_width - 2
            value_lines = [cell] if col.whole else wrap(cell, value_room)
            fits = cell_len(key) <= key_width and all(
                cell_len(line) <= value_room for line in value_lines
            )
            if fits:
                pad = " " * (key_width - cell_len(key) + 2)
                console.print(Text(key + pad + value_lines[0], style=style), soft_wrap=True)
                for line in value_lines[1:]:
                    console.print(Text(" " * (key_width + 2) + line, style=style), soft_wrap=True)
                continue
            console.print(Text(key, style=style), soft_wrap=True)
            for line in [cell] if col.whole else wrap(cell, width - 2):
                console.print(Text("  " + line, style=style), soft_wrap=True)
