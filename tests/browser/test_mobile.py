"""Every page of the dashboard on a phone: 390 × 844 in Chromium, English and Japanese (issue 16
item 11).

The test walks the demo's pages from the home page, following every link a signed-in seller can
follow (downloads, static files, sign-out and the language switch left out), so a page added
later is checked without anyone adding it here. On each page:

- the page is not wider than the viewport (nothing makes the whole page scroll sideways; a wide
  table may scroll inside its own box);
- the key figures a seller opens the page for (the rating, the account status, a metric's value,
  the banner of a missed metric) lie inside the viewport's width and are visible.
"""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

WIDTH, HEIGHT = 390, 844
#: links not to follow: files, actions, the language switch
SKIP = re.compile(r"(\.csv$|^/static/|^/sign-out|^/api/|^/v1/|/attachments/|[?&]lang=)")
#: at most this many pages of one shape (``/orders/JP/<id>`` → one shape)
PER_SHAPE = 2
#: never more than this many pages in one walk
MAX_PAGES = 120
#: what must be visible, inside the width, wherever it appears
KEY_FIGURES = (
    "[data-testid=ahr-score]",
    "[data-testid=account-status]",
    "[data-testid=ahr-band]",
    "[data-testid=metric-banner]",
    "[data-testid=metric-value]",
)


def shape(path: str) -> str:
    """``/sellers/sel_x/orders/JP/503-1`` → ``/sellers/*/orders/*/*``: pages of one template."""
    parts = urlsplit(path).path.strip("/").split("/")
    fixed = {"sellers", "stores", "orders", "metrics", "appeals", "points", "account", "operator"}
    return "/" + "/".join(p if p in fixed else "*" for p in parts)


def walk(page, lang: str) -> list[str]:
    page.goto(f"/?lang={lang}")
    # the home page first, then a seller's orders, whose pages a shorter walk might not reach
    queue: deque[str] = deque(["/", "/sellers/sel_demo7_02/orders"])
    seen: set[str] = set()
    shapes: dict[str, int] = {}
    visited: list[str] = []
    while queue and len(visited) < MAX_PAGES:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        if shapes.get(shape(path), 0) >= PER_SHAPE:
            continue
        shapes[shape(path)] = shapes.get(shape(path), 0) + 1
        response = page.goto(path)
        assert response is not None
        if response.status >= 500:
            pytest.fail(f"{path} answered {response.status}")
        if "text/html" not in (response.headers.get("content-type") or ""):
            continue
        visited.append(path)
        check(page, path, lang)
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
        for href in hrefs:
            if not href or not href.startswith("/") or href.startswith("//"):
                continue
            target = href.split("#", 1)[0]
            if target and not SKIP.search(target) and target not in seen:
                queue.append(target)
    return visited


def check(page, path: str, lang: str) -> None:
    assert page.locator("html").get_attribute("lang") == lang, path
    # compared with the device's width, not window.innerWidth: a phone widens its layout
    # viewport to a page that overflows, which would hide the overflow from innerWidth
    width = page.evaluate("() => document.documentElement.scrollWidth")
    inner = WIDTH
    if width > inner:
        culprit = page.evaluate(
            """() => {
                const w = 390;
                const wide = [...document.querySelectorAll('body *')].filter(e => {
                    const r = e.getBoundingClientRect();
                    return r.right > w + 1 && getComputedStyle(e).position !== 'fixed';
                });
                const outer = wide.filter(e => !wide.includes(e.parentElement));
                return outer.slice(0, 3).map(e => e.tagName.toLowerCase() +
                    (e.className ? '.' + e.className : '') + (e.dataset.testid ?
                    '[' + e.dataset.testid + ']' : ''));
            }"""
        )
        pytest.fail(f"{path} ({lang}) is {width}px wide at {inner}px: {culprit}")
    for selector in KEY_FIGURES:
        figures = page.locator(selector)
        for n in range(min(figures.count(), 5)):
            figure = figures.nth(n)
            if not figure.is_visible():
                continue  # e.g. inside a closed <details>: not a key figure on this page
            box = figure.bounding_box()
            assert box is not None, (path, selector)
            where = f"{path} ({lang}): {selector} lies outside the screen: {box}"
            assert box["x"] >= 0, where
            assert box["x"] + box["width"] <= inner + 1, where


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_every_page_fits_a_390_px_phone(browser, server, signed_in_state, lang) -> None:
    context = browser.new_context(
        base_url=server,
        locale="ja-JP" if lang == "ja" else "en-US",
        viewport={"width": WIDTH, "height": HEIGHT},
        is_mobile=True,
        has_touch=True,
        storage_state=signed_in_state,
    )
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        visited = walk(page, lang)
        # the walk reached the pages a seller lives in, not just the home page
        shapes = {shape(p) for p in visited}
        for needed in (
            "/sellers/*",
            "/sellers/*/stores/*",
            "/sellers/*/stores/*/metrics/*",
            "/sellers/*/orders/*/*",
            "/sellers/*/*",
        ):
            assert needed in shapes, (needed, sorted(shapes))
        # the store page's figures, checked by name: a phone shows the rating and the status
        page.goto("/sellers/sel_demo7_02/stores/US")
        assert page.locator("[data-testid=ahr-score]").first.is_visible()
        assert page.locator("[data-testid=account-status]").first.is_visible()
    finally:
        context.close()
