from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class MemberOut(BaseModel):
    """A principal's role in a seller."""

    principal_id: str
    email: str
    display_name: str
    seller_id: str
    role: str
    granted_at: datetime
    granted_by: str
