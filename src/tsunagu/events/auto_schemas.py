"""Shapes of ``POST /v1/sellers/{seller_id}/imports/auto`` and ``…/imports/detect``: what
``tsunagu import auto --json`` prints."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class FileProblemOut(BaseModel):
    """Why a file as a whole was refused or failed (rows have their own `errors` in `report`)."""

    code: str = Field(examples=["file_marketplace_mismatch"])
    message: str = Field(
        examples=[
            "feedback-jp.txt is for JP, but this import is for US: nothing of it was imported"
        ]
    )
    details: dict[str, Any] = Field(examples=[{"file": "feedback-jp.txt", "found": ["JP"]}])


class AutoFileOut(BaseModel):
    name: str = Field(description="The file's name as sent.", examples=["feedback-jp.txt"])
    kind: str | None = Field(
        description="orders, unshipped, feedback, settlement, returns, shipconfirm, "
        "afn-shipments or health (the V2 account health JSON); null when not recognised.",
        examples=["feedback"],
    )
    marketplace: str | None = Field(description="The store it is (or would be) imported to.")
    attributed_by: str | None = Field(
        description="How the store was found: file (its own columns: sales channel, marketplace "
        "name or id, currency), orders (the orders it names, stored or sent in the same call), "
        "option (the `marketplace` given) or only_store.",
        examples=["orders"],
    )
    rows: int | None = Field(description="Data rows of a flat file; null for the JSON report.")
    status: str = Field(
        description="ready (detection only), imported, checked (dry run), refused (see "
        "`problems`; nothing of it written), failed (the import stopped on the file as a "
        "whole) or skipped (strict, and another file was refused).",
        examples=["imported"],
    )
    import_id: str | None = Field(description="The `import_runs` record; null if none.")
    problems: list[FileProblemOut]
    report: dict[str, Any] | None = Field(
        description="The file's import report (read, stored, duplicates, rejected, "
        "waiting_for_order, errors, file) as the one-file import route answers it."
    )


class AutoImportOut(BaseModel):
    dry_run: bool = Field(description="Nothing was written (always true for detection).")
    files: list[AutoFileOut] = Field(description="In the order they were (or would be) imported.")
    totals: dict[str, int] = Field(
        description="files, imported, refused, failed and the sums of read, stored, "
        "duplicates, rejected and waiting_for_order.",
        examples=[
            {
                "files": 3,
                "imported": 2,
                "refused": 1,
                "failed": 0,
                "read": 23,
                "stored": 23,
                "duplicates": 0,
                "rejected": 0,
                "waiting_for_order": 0,
            }
        ],
    )
