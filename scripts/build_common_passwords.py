"""Build ``src/tsunagu/identity/data/common-passwords.txt.gz`` from a Django wheel (offline).

Django ships ``django/contrib/auth/common-passwords.txt.gz``: about 20,000 of the most common
passwords seen in breaches (BSD-3-Clause, see ``identity/data/NOTICE``). tsunagu does not depend
on Django; the list is copied once into the repository so nothing is fetched at run time:

    .venv/bin/pip download --no-deps -d /root/scratch/dl "django==5.2.19"
    .venv/bin/python scripts/build_common_passwords.py /root/scratch/dl/django-5.2.19-py3-none-any.whl

Each entry is NFKC-normalised and case-folded (the form ``identity.passwords`` compares), then
the list is de-duplicated, sorted and written with a fixed gzip time stamp, so the same wheel
always gives the same bytes.
"""

from __future__ import annotations

import gzip
import io
import sys
import unicodedata
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEMBER = "django/contrib/auth/common-passwords.txt.gz"
TARGET = ROOT / "src/tsunagu/identity/data/common-passwords.txt.gz"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: build_common_passwords.py DJANGO_WHEEL", file=sys.stderr)
        return 2
    with zipfile.ZipFile(argv[0]) as wheel:
        raw = gzip.decompress(wheel.read(MEMBER)).decode("utf-8")
    words = sorted(
        {unicodedata.normalize("NFKC", line.strip()).casefold() for line in raw.splitlines()} - {""}
    )
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, filename="") as out:
        out.write(("\n".join(words) + "\n").encode("utf-8"))
    TARGET.write_bytes(buffer.getvalue())
    print(f"{len(words)} passwords written to {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
