"""Dashboard pages of the points programme (stub until the pages land)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
