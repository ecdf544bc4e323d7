"""Query parameters and response texts the slices' list routes share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

#: the 404 of every route under ``/sellers/{seller_id}/…/{marketplace}``
STORE_404 = (
    "No such seller (`seller_not_found`), unknown marketplace (`unknown_marketplace`) or no "
    "store there (`marketplace_not_enabled`)."
)

Limit = Annotated[int, Query(ge=1, le=100, description="Page size (at most 100).")]
#: an opaque cursor from a list's ``next_cursor`` (read by :func:`tsunagu.core.paging.read_cursor`)
Cursor = Annotated[str | None, Query(max_length=500, description="From `next_cursor`.")]
