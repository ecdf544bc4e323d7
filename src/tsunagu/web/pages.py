"""The web dashboard's router: the home page, the vendored static files and every area's pages.

Pages are thin: they read through ``app.state.read_factory`` (uploads and account changes write
through ``app.state.factory``), call the same services as the API and the CLI, and render a
template. Every page except sign-in, the password-reset pages and ``/static`` needs a signed-in
session (:func:`tsunagu.web.session.page_actor`): without one a visit is sent to sign in and back.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse

from tsunagu.access.actor import Actor
from tsunagu.core.errors import NotFound
from tsunagu.core.i18n import N_
from tsunagu.sellers.service import list_sellers
from tsunagu.web.render import PageRoute, page_language, render
from tsunagu.web.session import page_actor

__all__ = ["assemble", "page_language", "router"]

STATIC = Path(__file__).parent / "static"
_STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".txt": "text/plain"}

router = APIRouter(include_in_schema=False, route_class=PageRoute)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, actor: Annotated[Actor, Depends(page_actor)]) -> HTMLResponse:
    """The sellers the caller reaches (its own and its linked accounts'; every one for an
    operator)."""
    reachable = actor.sellers
    with request.app.state.read_factory() as session:
        sellers = [
            {"id": s.id, "name": s.name, "stores": [st.marketplace for st in s.stores]}
            for s in list_sellers(
                session, limit=100, only=None if reachable is None else sorted(reachable)
            )
        ]
    return render(request, "home.html", sellers=sellers)


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
