"""Set Japanese translations from a JSON object ``{"English id": "日本語"}``.

    .venv/bin/python scripts/translate.py FILE.json      # refreshes the catalog, then fills it

Ids that the source no longer has are reported and skipped; fuzzy marks are cleared on the ids set.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from tsunagu.core import catalog_tools as ct  # noqa: E402


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: translate.py FILE.json", file=sys.stderr)
        return 2
    wanted: dict[str, str] = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    ct.update(ROOT, "ja")
    path = ct.po_path(ROOT, "ja")
    catalog = ct.load(path, "ja")
    unknown = []
    for msgid, text in wanted.items():
        message = catalog.get(msgid)
        if message is None:
            unknown.append(msgid)
            continue
        message.string = text
        message.flags.discard("fuzzy")
    ct.write_if_changed(catalog, path)
    for msgid in unknown:
        print(f"not in the source: {msgid!r}", file=sys.stderr)
    return 1 if unknown else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
