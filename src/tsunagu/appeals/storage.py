"""Evidence files of appeals on disk: ``<files_dir>/appeals/<appeal id>/<sha256>``.

The path is made of tsunagu's own appeal id and the content's SHA-256, never of anything the
client named (the file name is a label, :func:`tsunagu.core.uploads.file_label`). The type is
judged from the content, not from the name or a declared content type: PDF, PNG, JPEG, or
UTF-8 text (plain text or CSV) without control characters other than tab and line breaks
(ADR 0026). A file is written to a temporary name and renamed, so a reader never sees half of
one; the same content twice is one file.

A file written for a transaction that then rolls back stays on disk, unreferenced: harmless
(the next upload of the same content reuses it) and cheaper than a two-phase write.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from tsunagu.core.errors import InvalidInput, TsunaguError
from tsunagu.core.i18n import N_
from tsunagu.core.text import control_character

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
TEXT = "text/plain"
CSV = "text/csv"
MEDIA_TYPES = (PDF, PNG, JPEG, TEXT, CSV)

_MAGIC = ((b"%PDF-", PDF), (b"\x89PNG\r\n\x1a\n", PNG), (b"\xff\xd8\xff", JPEG))
_APPEAL_ID = re.compile(r"^apl_[0-9a-z]{26}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    media_type: str


class AttachmentTooLarge(TsunaguError):
    status = 413
    code = "attachment_too_large"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            N_("The file is {size} bytes; evidence files may be at most {limit} bytes."),
            size=size,
            limit=limit,
            details={"size": size, "limit_bytes": limit},
        )


def type_error(reason: str) -> InvalidInput:
    return InvalidInput(
        N_("Evidence must be a PDF, PNG or JPEG file, or UTF-8 text or CSV ({reason})."),
        code="attachment_type",
        reason=reason,
        details={"reason": reason, "allowed": list(MEDIA_TYPES)},
    )


def sniff(content: bytes, label: str) -> str:
    """The media type of ``content`` judged by its bytes; ``attachment_type`` (422) otherwise.
    Text is CSV when its label ends in ``.csv``."""
    if not content:
        raise type_error("empty")
    for magic, media_type in _MAGIC:
        if content.startswith(magic):
            return media_type
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise type_error("binary") from None
    if control_character(text, free_text=True) is not None:
        raise type_error("binary")
    return CSV if label.lower().endswith(".csv") else TEXT


def check(content: bytes, *, label: str, max_bytes: int) -> StoredFile:
    """Size, type and checksum of an upload, before anything is written."""
    if len(content) > max_bytes:
        raise AttachmentTooLarge(len(content), max_bytes)
    media_type = sniff(content, label)
    return StoredFile(hashlib.sha256(content).hexdigest(), len(content), media_type)


def path_of(files_dir: Path, appeal_id: str, sha256: str) -> Path:
    """Where an evidence file lives; only tsunagu's own ids and hex digests make a path."""
    if not _APPEAL_ID.fullmatch(appeal_id) or not _SHA256.fullmatch(sha256):
        raise ValueError("not an appeal id and a SHA-256")
    return files_dir / "appeals" / appeal_id / sha256


def save(
    files_dir: Path, appeal_id: str, content: bytes, *, label: str, max_bytes: int
) -> StoredFile:
    """Check ``content`` (:func:`check`) and store it; the same content again is not rewritten."""
    found = check(content, label=label, max_bytes=max_bytes)
    target = path_of(files_dir, appeal_id, found.sha256)
    if target.is_file() and target.stat().st_size == found.size:
        return found
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{found.sha256}.{secrets.token_hex(8)}.part")
    try:
        with partial.open("xb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return found


def read(files_dir: Path, appeal_id: str, sha256: str) -> bytes:
    return path_of(files_dir, appeal_id, sha256).read_bytes()
