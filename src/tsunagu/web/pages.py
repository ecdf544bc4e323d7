"""Web pages. For now one home page; the dashboard arrives with its own issue."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from tsunagu import __version__
from tsunagu.core.i18n import normalise, translate
from tsunagu.sellers.service import list_sellers

router = APIRouter(include_in_schema=False)
_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


def page_language(request: Request) -> str:
    chosen = request.query_params.get("lang") or request.cookies.get("lang")
    if chosen:
        return normalise(chosen)
    return normalise(request.headers.get("accept-language", "en").split(",")[0])


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    lang = page_language(request)
    with request.app.state.read_factory() as session:
        sellers = [
            {"id": s.id, "name": s.name, "stores": [st.marketplace for st in s.stores]}
            for s in list_sellers(session, limit=100)
        ]

    def t(msgid: str, **params: object) -> str:
        return translate(msgid, lang, **params)

    html = _env.get_template("home.html").render(
        t=t, lang=lang, sellers=sellers, version=__version__
    )
    response = HTMLResponse(html)
    if request.query_params.get("lang"):
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax", httponly=True)
    return response
