"""The web dashboard's router: the home page, the vendored static files and every area's pages.

Pages are thin: they read through ``app.state.read_factory`` (uploads and account changes write
through ``app.state.factory``), call the same services as the API and the CLI, and render a
template. Every page except sign-in, the password-reset pages and ``/static`` needs a signed-in
session (:func:`tsunagu.web.session.page_actor`): without one a visit is sent to sign in and back.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from tsunagu.access.actor import Actor
from tsunagu.core.clock import utcnow
from tsunagu.core.errors import NotFound
from tsunagu.core.i18n import N_, ngettext, translate
from tsunagu.health.portfolio import StoreLine, portfolio
from tsunagu.web import labels
from tsunagu.web.render import PageRoute, page_language, render
from tsunagu.web.session import page_actor

__all__ = ["assemble", "page_language", "router"]

STATIC = Path(__file__).parent / "static"
_STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".txt": "text/plain"}

router = APIRouter(include_in_schema=False, route_class=PageRoute)


#: the home page's sortable columns: the ``sort`` value and the header's words
HOME_COLUMNS = (
    ("seller", N_("Seller")),
    ("rating", N_("Rating")),
    ("status", N_("Account status")),
    ("missed", N_("Missed metrics")),
)


def _line(line: StoreLine, lang: str) -> dict[str, Any]:
    """One store of the home page in words."""
    band, status = line.band or "", line.status or ""
    shown = {
        "seller_id": line.seller_id,
        "seller_name": line.seller_name,
        "marketplace": line.marketplace,
        "score": line.score,
        "band": band,
        "band_label": translate(labels.BANDS.get(band, N_("unknown")), lang) if band else "",
        "band_class": band,
        "status": status,
        "status_label": (
            translate(labels.ENFORCEMENT_STATUS.get(status, N_("unknown")), lang) if status else ""
        ),
        "missed": [
            {"name": m, "label": translate(labels.METRICS.get(m, N_("Other metric")), lang)}
            for m in line.missed
        ],
        "incomplete": line.incomplete,
    }
    if line.incomplete and band == "healthy":
        # never "healthy" on data that cannot show otherwise (as the store page says it)
        shown["band_label"] = translate(N_("incomplete data"), lang)
        shown["band_class"] = "at_risk"
    return shown


def _headers(sort: str, direction: str) -> list[dict[str, str | None]]:
    """Each sortable column's header: its link (the other direction when it is the sorted one)
    and its ``aria-sort``."""
    headers: list[dict[str, str | None]] = []
    for key, label in HOME_COLUMNS:
        current = key == sort
        ahead = "desc" if current and direction == "asc" else "asc"
        headers.append(
            {
                "key": key,
                "label": label,
                "href": f"?sort={key}&dir={ahead}",
                "aria_sort": ("ascending" if direction == "asc" else "descending")
                if current
                else None,
            }
        )
    return headers


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    actor: Annotated[Actor, Depends(page_actor)],
    sort: Annotated[str, Query(max_length=20)] = "seller",
    direction: Annotated[str, Query(alias="dir", max_length=4)] = "asc",
) -> HTMLResponse:
    """Every store of the sellers the caller reaches (its own and its linked accounts'; every
    one for an operator): rating, band, account status and missed metrics, sorted by
    ``sort`` (seller, rating, status, missed) in ``dir`` (asc, desc) on the server, so the
    column links work without JavaScript."""
    lang = page_language(request)
    reachable = actor.sellers
    with request.app.state.read_factory() as session:
        found = portfolio(
            session,
            only=reachable,
            registry=request.app.state.registry,
            now=utcnow(),
            sort=sort,
            direction=direction,
        )
    lines = [_line(line, lang) for line in found]
    stores = sum(1 for line in found if line.marketplace is not None)
    sellers = len({line.seller_id for line in found})
    counts = " · ".join(
        (
            ngettext("{n} seller", "{n} sellers", sellers, lang),
            ngettext("{n} store", "{n} stores", stores, lang),
        )
    )
    return render(
        request,
        "home.html",
        lines=lines,
        counts=counts,
        headers=_headers(sort, direction),
    )


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    """The vendored assets (no CDN: the dashboard works offline)."""
    path = STATIC / name
    media = _STATIC_TYPES.get(path.suffix)
    if media is None or "/" in name or not path.is_file():
        raise NotFound(N_("No such file"), code="not_found")
    return FileResponse(path, media_type=media, headers={"Cache-Control": "public, max-age=3600"})


def assemble(*, public: Iterable[APIRouter], signed_in: Iterable[APIRouter]) -> APIRouter:
    """The dashboard: the home page and static files, the ``public`` pages (sign-in, password
    reset) and the slices' ``signed_in`` pages, which send a visitor without a session to sign
    in first. The composition root lists the areas."""
    pages = APIRouter(include_in_schema=False, route_class=PageRoute)
    pages.include_router(router)
    for area in public:
        pages.include_router(area)
    for area in signed_in:
        pages.include_router(area, dependencies=[Depends(page_actor)])
    return pages
