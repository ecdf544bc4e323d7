"""``/v1`` routes of the enforcement slice."""

from __future__ import annotations

from tsunagu.http.deps import signed_in_router

#: every route here needs a signed-in caller
router = signed_in_router()
