"""No page ever shows a raw code (issue 16, item 7): every page of the demo, in English and in
Japanese, is read for snake_case and camelCase tokens drawn from tsunagu's enums and Amazon's
keys (event types and their fields, metric names and components, enforcement and appeal
statuses, notification kinds, V2 report keys, points kinds and reasons, violation policies and
severities, defect reasons…). Only the text a reader sees counts: tags, attribute values,
scripts and styles are left out.

The pages are every link reachable from the home page for a signed-in demo user (an owner of
every demo seller who is also an operator, so the review queue and the customer points pages are
reached too), every GET route of the dashboard with the demo's ids filled in, and the error pages
for a missing seller, store, metric and order.
"""

from __future__ import annotations

import ast
import html
import importlib
import inspect
import re
from collections import deque
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.auth import OWNER_EMAIL, PASSWORD, create_user
from tests.conftest import Db
from tests.web.conftest import both_stores
from tests.web.test_sign_in import browser_client
from tsunagu.appeals.models import Appeal
from tsunagu.demo.generate import DemoDataset
from tsunagu.orders.models import Order, OrderCase
from tsunagu.web import labels
from tsunagu.web.render import PageRoute

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

#: the modules whose string constants are codes a reader must never see
CODE_MODULES = (
    "tsunagu.events.rules",
    "tsunagu.health.metrics",
    "tsunagu.health.rules",
    "tsunagu.health.drilldown",
    "tsunagu.health.alerts",
    "tsunagu.enforcement.rules",
    "tsunagu.appeals.rules",
    "tsunagu.notifications.rules",
    "tsunagu.connectors.amazon.health_report",
    "tsunagu.points.rules",
    "tsunagu.violations.rules",
    "tsunagu.orders.service",
    "tsunagu.web.labels",
)
SNAKE = r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+"
CAMEL = r"[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+"
TOKEN = re.compile(rf"(?<![A-Za-z0-9_])(?:{SNAKE}|{CAMEL})(?![A-Za-z0-9_])")
WHOLE = re.compile(rf"^(?:{SNAKE}|{CAMEL})$")

#: per route, at most this many different addresses are read (the order pages are many)
PER_ROUTE = 12
MAX_PAGES = 400


def _strings(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value


def forbidden_tokens() -> frozenset[str]:
    """Every code-shaped string constant of :data:`CODE_MODULES` (a module not there yet is
    skipped), plus every key of the dashboard's label tables."""
    found: set[str] = set()
    for name in CODE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        found |= {s for s in _strings(ast.parse(inspect.getsource(module))) if WHOLE.match(s)}
    for value in vars(labels).values():
        if isinstance(value, dict):
            found |= {k for k in value if isinstance(k, str) and WHOLE.match(k)}
    return frozenset(found)


def visible_text(page: str) -> str:
    """What a reader sees: the page without scripts, styles, comments, tags and attributes."""
    text = re.sub(r"<(script|style)\b.*?</\1\s*>", " ", page, flags=re.S | re.I)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", text)
    return html.unescape(text)


def raw_codes(page: str, forbidden: frozenset[str]) -> set[str]:
    return {t for t in TOKEN.findall(visible_text(page)) if t in forbidden}


def test_the_guard_sees_codes_only_in_visible_text():
    forbidden = frozenset({"order_cancelled", "negativeFeedback", "AT_RISK"})
    page = (
        '<p title="order_cancelled" data-x="negativeFeedback">Cancelled</p>'
        "<script>var a = 'AT_RISK';</script><style>.order_cancelled{}</style>"
        "<!-- negativeFeedback --><td>order_cancelled</td><td>x negativeFeedback, AT_RISK</td>"
        "<td>my_order_cancelled_x</td>"
    )
    assert raw_codes(page, forbidden) == {"order_cancelled", "negativeFeedback", "AT_RISK"}
    assert raw_codes('<a href="/x?s=order_cancelled">Cancelled</a>', forbidden) == set()


def test_the_forbidden_set_is_drawn_from_the_code():
    forbidden = forbidden_tokens()
    expected = {
        "order_cancelled",  # an event type
        "negative_feedback",  # a defect reason
        "orderDefectRate",  # a V2 report key
        "negativeFeedback",  # a metric component
        "order_defect_rate_mfn",  # a metric
        "AT_RISK",  # an enforcement status
        "INFO_REQUESTED",  # an appeal status
        "out_of_stock",  # a cancellation reason
    }
    assert expected <= forbidden


# --------------------------------------------------------------------------- the crawl


def _links(page: str) -> Iterable[str]:
    for href in re.findall(r'<a\b[^>]*\bhref="([^"]+)"', page):
        href = html.unescape(href)
        if href.startswith("/") and not href.startswith("//"):
            yield href


def _without_lang(url: str) -> str:
    parts = urlsplit(url)
    query = "&".join(p for p in parts.query.split("&") if p and not p.startswith("lang="))
    return parts.path + (f"?{query}" if query else "")


def _skip(url: str) -> bool:
    path = urlsplit(url).path
    return (
        path.startswith(("/static/", "/v1/", "/api/", "/openapi", "/docs", "/redoc"))
        or path == "/sign-out"
        or path.endswith(".csv")
    )


def _route_of(routes: list[APIRoute], path: str) -> str:
    for route in routes:
        if route.path_regex.match(path):
            return route.path
    return path


def _filled(route: APIRoute, values: dict[str, list[str]]) -> list[str]:
    """The route's address with each parameter filled from the demo (every metric name for
    ``name``); an unknown parameter gets a value that is nobody's, so its error page is read."""
    params = re.findall(r"{(\w+)(?::\w+)?}", route.path)
    urls = [route.path]
    for param in params:
        choices = values.get(param, ["nothing-here"])
        urls = [re.sub(rf"{{{param}(?::\w+)?}}", choice, url) for url in urls for choice in choices]
    return urls


def page_routes() -> list[APIRoute]:
    """Every GET page route of the dashboard, as the composition root lists the areas."""
    from tsunagu.slices import SLICES, router_of
    from tsunagu.web import pages

    routers = [pages.router] + [
        router_of(ref) for s in SLICES for ref in (*s.pages, *s.public_pages)
    ]
    return [
        r
        for router in routers
        for r in router.routes
        if isinstance(r, PageRoute) and "GET" in r.methods
    ]


def crawl(client: TestClient, start: list[str], routes: list[APIRoute]) -> dict[str, str]:
    """Every page reachable from ``start`` (at most :data:`PER_ROUTE` per route), by address."""
    seen: dict[str, str] = {}
    per_route: dict[str, int] = {}
    queue = deque(start)
    queued = set(start)
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        r = client.get(url)
        if "text/html" not in r.headers.get("content-type", ""):
            continue
        seen[url] = r.text
        for link in _links(r.text):
            link = _without_lang(link)
            if link in queued or _skip(link):
                continue
            key = _route_of(routes, urlsplit(link).path)
            if per_route.get(key, 0) >= PER_ROUTE:
                continue
            per_route[key] = per_route.get(key, 0) + 1
            queued.add(link)
            queue.append(link)
    return seen


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_no_page_of_the_demo_shows_a_raw_code(db: Db, demo: DemoDataset, lang: str):
    create_user(db, OWNER_EMAIL, operator=True)  # the demo's owner, an operator as well
    seller = both_stores(demo)
    with db.factory() as session:
        orders = {
            mp: session.scalars(
                select(Order.order_id)
                .where(Order.seller_id == seller, Order.marketplace == mp)
                .order_by(Order.order_id)
                .limit(2)
            ).all()
            for mp in ("JP", "US")
        }
        appeals = list(session.scalars(select(Appeal.id).order_by(Appeal.id).limit(2)))
        # orders with something to say in their timeline: each kind of case, a cancellation
        eventful = [
            session.execute(
                select(OrderCase.seller_id, OrderCase.marketplace, OrderCase.order_id)
                .where(OrderCase.kind == kind)
                .order_by(OrderCase.case_id)
                .limit(1)
            ).first()
            for kind in ("claim", "chargeback", "return")
        ] + [
            session.execute(
                select(Order.seller_id, Order.marketplace, Order.order_id)
                .where(Order.cancelled_at.is_not(None))
                .order_by(Order.order_id)
                .limit(1)
            ).first()
        ]
    forbidden = forbidden_tokens()
    with browser_client(db) as client:
        r = client.post("/sign-in", data={"email": OWNER_EMAIL, "password": PASSWORD})
        assert r.status_code == 303, r.text
        client.cookies.set("lang", lang)
        routes = page_routes()
        values = {
            "seller_id": [seller],
            "marketplace": ["US"],
            "name": list(labels.METRICS),
            "order_id": orders["US"][:1],
            "appeal_id": appeals[:2] or ["nothing-here"],
        }
        start = ["/"]
        for route in routes:
            start += [u for u in _filled(route, values) if not _skip(u) and u not in start]
        start += [
            "/sellers/nobody",
            f"/sellers/{seller}/stores/XX",
            f"/sellers/{seller}/stores/US/metrics/no_such_metric",
            f"/sellers/{seller}/orders/JP/nothing-here",
            f"/sellers/{seller}/orders/JP/{orders['JP'][0]}",
        ]
        start += [f"/sellers/{s}/orders/{mp}/{o}" for s, mp, o in filter(None, eventful)]
        pages = crawl(client, start, routes)
    assert len(pages) > 30
    found = sorted(
        (url, token) for url, page in pages.items() for token in raw_codes(page, forbidden)
    )
    report = "\n".join(f"{lang} {url}: {token}" for url, token in found)
    assert not found, f"raw codes on {len({u for u, _ in found})} pages:\n{report}"
