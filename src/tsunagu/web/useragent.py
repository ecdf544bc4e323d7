"""A browser's name and operating system from its User-Agent header, simply ("Chrome on Windows").

Good enough to recognise one's own sessions on the sessions page; not a full parser (no
versions, no device models). Anything not recognised shows its first product token ("curl"), or
nothing when the header is empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: (token in the header, browser name), most specific first: Edge and Opera also say "Chrome",
#: Chrome also says "Safari"
_BROWSERS = (
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("OPR/", "Opera"),
    ("Opera", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("FxiOS/", "Firefox"),
    ("Firefox/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("HeadlessChrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Windows", "Windows"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Macintosh", "macOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)
_PRODUCT = re.compile(r"^\s*([A-Za-z][A-Za-z0-9 .+-]{0,39}?)(?:/|\s|$)")


@dataclass(frozen=True)
class Agent:
    """What a User-Agent header says: a browser (or program) name and an operating system, each
    ``None`` when not recognised."""

    browser: str | None
    system: str | None


def parse(header: str | None) -> Agent:
    """``Mozilla/5.0 (Windows NT 10.0; Win64; x64) … Chrome/126.0 Safari/537.36`` →
    ``Agent("Chrome", "Windows")``."""
    if not header:
        return Agent(None, None)
    browser = next((name for token, name in _BROWSERS if token in header), None)
    system = next((name for token, name in _SYSTEMS if token in header), None)
    if browser is None and not header.startswith("Mozilla/"):
        found = _PRODUCT.match(header)
        browser = found.group(1).strip() if found else None
    return Agent(browser, system)
