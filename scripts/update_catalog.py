"""Refresh the message catalogs from the source.

    .venv/bin/python scripts/update_catalog.py           # extract -> messages.pot, merge -> ja .po
    .venv/bin/python scripts/update_catalog.py --check   # exit 1 listing ids without Japanese text

The default run extracts every `_("...")`/`N_("...")` in src and every `t("...")` in the templates
(rules in babel.cfg) into src/tsunagu/locale/messages.pot and merges it into
src/tsunagu/locale/ja/LC_MESSAGES/messages.po: translations are kept, new ids are added with an
empty (or fuzzy, guessed) translation, ids no longer in the source move to the obsolete section.

`--check` writes nothing: it compares the source with the .po and fails on any id whose Japanese
text is missing, empty or fuzzy, and on translations whose {placeholders} differ from the id's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from tsunagu.core import catalog_tools as ct  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if any message lacks a Japanese translation",
    )
    parser.add_argument("--lang", default="ja", help="catalog language (default: ja)")
    args = parser.parse_args(argv)
    lang: str = args.lang

    if args.check:
        template = ct.extract(ROOT)
        catalog = ct.load(ct.po_path(ROOT, lang), lang)
        missing = ct.untranslated(template, catalog)
        mismatched = ct.placeholder_mismatches(catalog)
        for msgid in missing:
            print(f"untranslated: {msgid!r}")
        for msgid, expected, got in mismatched:
            print(
                f"placeholders differ: {msgid!r}: id has {sorted(expected)}, "
                f"translation has {sorted(got)}"
            )
        total = sum(1 for m in template if m.id)
        print(
            f"{total} messages, {len(missing)} without a {lang} translation, "
            f"{len(mismatched)} with mismatched placeholders"
        )
        return 1 if missing or mismatched else 0

    template, catalog, wrote_pot, wrote_po = ct.update(ROOT, lang)
    total = sum(1 for m in template if m.id)
    missing = ct.untranslated(template, catalog)
    pot, po = ct.TEMPLATE_FILE, ct.po_path(ROOT, lang).relative_to(ROOT)
    print(f"{pot}: {total} messages ({'written' if wrote_pot else 'unchanged'})")
    print(
        f"{po}: {len(missing)} to translate, {len(catalog.obsolete)} obsolete "
        f"({'written' if wrote_po else 'unchanged'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
