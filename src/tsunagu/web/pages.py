"""The web dashboard's router: the home page, the vendored static files and every area's pages.

Pages are thin: they read through ``app.state.read_factory`` (uploads write through
``app.state.factory``), call the same services as the API and the CLI, and render a template.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from tsunagu.core.errors import NotFound
from tsunagu.core.i18n import N_
from tsunagu.sellers.service import list_sellers
from tsunagu.web import health_pages, imports_pages, order_pages, seller_pages
from tsunagu.web.render import PageRoute, page_language, render

__all__ = ["page_language", "router"]

STATIC = Path(__file__).parent / "static"
_STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".txt": "text/plain"}

router = APIRouter(include_in_schema=False, route_class=PageRoute)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    with request.app.state.read_factory() as session:
        sellers = [
            {"id": s.id, "name": s.name, "stores": [st.marketplace for st in s.stores]}
            for s in list_sellers(session, limit=100)
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


for area in (seller_pages, health_pages, order_pages, imports_pages):
    router.include_router(area.router)
