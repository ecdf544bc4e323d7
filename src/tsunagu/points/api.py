"""``/v1`` routes of the points slice (stub until the routes land)."""

from __future__ import annotations

from tsunagu.http.deps import signed_in_router

router = signed_in_router()
