"""The first thing every request meets: who sent it, which host it names, and the headers every
answer carries.

* **Forwarded headers (API-11).** ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed only
  when the TCP peer is one of ``TSUNAGU_TRUSTED_PROXIES``; then the client address is the
  right-most forwarded hop that is not itself a trusted proxy. From anybody else they are
  ignored, so rotating the header neither escapes the sign-in throttle nor forges the address in
  the audit log. (``tsunagu serve`` turns uvicorn's own header handling off, so this is the one
  place that decides.)
* **Host allow-list (AUTH-17).** A request naming a host that is neither the public URL's, one of
  ``TSUNAGU_ALLOWED_HOSTS`` nor a loopback name is answered 400 ``host_not_allowed`` before any
  route runs: no page or e-mail is ever built for a host an attacker chose, and a DNS name
  rebound to 127.0.0.1 reaches nothing.
* **Response headers (API-09).** Every answer says ``nosniff``. Pages (HTML) also refuse to be
  framed, allow scripts, styles and images from this origin only (htmx is vendored), keep the
  address to this site as referrer and are never cached; so are the API's answers, which carry
  seller data or tokens.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tsunagu.core.origins import Network, forwarded_client, host_allowed, host_name
from tsunagu.http.responses import envelope

#: the pages' content security policy: nothing from another origin, no inline script, no framing
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_PAGE_HEADERS = {
    "content-security-policy": PAGE_CSP,
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


class Guard:
    def __init__(
        self, app: ASGIApp, *, hosts: frozenset[str], trusted_proxies: tuple[Network, ...]
    ) -> None:
        self.app = app
        self.hosts = hosts
        self.trusted = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if self.trusted:
            scope = self._forwarded(scope, headers)
        if not host_allowed(host_name(headers.get("host")), self.hosts):
            response = envelope(
                400,
                "host_not_allowed",
                "This server does not answer for that host name.",
            )
            await response(scope, receive, self._headed(scope, send))
            return
        await self.app(scope, receive, self._headed(scope, send))

    def _forwarded(self, scope: Scope, headers: Headers) -> Scope:
        client = scope.get("client")
        if not client or not any(client[0] in net for net in self.trusted):
            return scope
        peer, port = client[0], client[1]
        scope = dict(scope)
        address = forwarded_client(peer, headers.get("x-forwarded-for"), self.trusted)
        scope["client"] = (address, port if address == peer else 0)
        proto = (headers.get("x-forwarded-proto") or "").split(",")[-1].strip().lower()
        if proto in ("http", "https") and scope["type"] == "http":
            scope["scheme"] = proto
        return scope

    @staticmethod
    def _headed(scope: Scope, send: Send) -> Send:
        api = str(scope.get("path", "")).startswith("/v1/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("x-content-type-options", "nosniff")
                if headers.get("content-type", "").startswith("text/html"):
                    for name, value in _PAGE_HEADERS.items():
                        headers.setdefault(name, value)
                elif api:
                    headers.setdefault("cache-control", "no-store")
            await send(message)

        return send_with_headers
