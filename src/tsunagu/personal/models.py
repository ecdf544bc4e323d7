"""The personal-data store: the only place names, addresses, e-mails and message texts live.

Events and projections carry a pseudonymous ``subject_id``; erasing a person deletes their rows
here and leaves every event and figure intact.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.core.db import Base, UTCDateTime


class PersonalRecord(Base):
    """The personal values of one subject, or of one thing of theirs, as a JSON object.

    ``about`` is ``""`` for the person (name, e-mail, phone, address) and otherwise names what the
    values belong to (``message:<id>``, ``feedback:<order>``): the part of each field name before
    its last ``:``. So an order's buyer is one row however many fields the file gives, and a
    customer's hundredth message does not rewrite the ninety-nine before it (ADR 0023).
    """

    __tablename__ = "personal_records"
    __table_args__ = {"sqlite_with_rowid": False}

    subject_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    about: Mapped[str] = mapped_column(String(200), primary_key=True)
    seller_id: Mapped[str] = mapped_column(String(40))
    #: JSON object, full field name -> value: ``{"ship_city": "Kyoto", ...}``
    fields: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PersonalLink(Base):
    """Which orders a subject is connected to (pseudonymous on both sides)."""

    __tablename__ = "personal_links"
    __table_args__ = (
        Index("ix_personal_links_subject", "subject_id"),
        {"sqlite_with_rowid": False},
    )

    seller_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(8), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(60), primary_key=True)


class InstallationSecret(Base):
    """Per-installation secrets (e.g. the pseudonym key); created once, never logged."""

    __tablename__ = "installation_secrets"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
