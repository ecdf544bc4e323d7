"""The web dashboard's router: the home page, the vendored static files and every area's pages.

Pages are thin: they read through ``app.state.read_factory`` (uploads and account changes write
through ``app.state.factory``), call the same services as the API and the CLI, and render a
template. Every page except sign-in, the password-reset pages and ``/static`` needs a signed-in
session (:func:`tsunagu.web.session.page_actor`): without one a visit is sent to sign in and back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse

from tsunagu.api.deps import Actor
from tsunagu.core.errors import NotFound
from tsunagu.core.i18n import N_
from tsunagu.sellers.service import list_sellers
from tsunagu.web import (
    account_pages,
    auth_pages,
    health_pages,
    imports_pages,
    order_pages,
    seller_pages,
)
from tsunagu.web.render import PageRoute, page_language, render
from tsunagu.web.session import page_actor

__all__ = ["page_language", "router"]

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


router.include_router(auth_pages.router)
for area in (account_pages, seller_pages, health_pages, order_pages, imports_pages):
    router.include_router(area.router, dependencies=[Depends(page_actor)])
