"""TOTP seeds sealed at rest with AES-256-GCM (ADR 0012).

A TOTP seed is a shared secret: unlike a password it cannot be hashed, because the server must
compute codes from it. Stored in clear, a copy of the database (a backup, a replica, a leaked
dump) would be enough to produce every user's codes. tsunagu seals each seed with a 256-bit key
that lives *outside* the database: ``TSUNAGU_SECRET_KEY`` (base64url), or a key file
(``TSUNAGU_SECRET_KEY_FILE``; for a SQLite database by default ``<database file>.key``, made on
first use, readable by its owner only).

A sealed seed is ``v1.`` + base64url(nonce ‖ ciphertext ‖ tag), a fresh 96-bit nonce each time.
A stored value without the prefix is a seed from before sealing: it is read as it is and sealed
the next time it verifies a code. Losing the key makes every sealed seed unreadable
(``seed_unreadable``): users then sign in with a recovery code and enrol again.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tsunagu.core.errors import TsunaguError
from tsunagu.core.i18n import N_

PREFIX = "v1."
KEY_BYTES = 32
_NONCE_BYTES = 12
#: binds a sealed value to its purpose: a sealed seed cannot be replayed as another kind of secret
_PURPOSE = b"tsunagu/totp-seed/v1"


class SeedUnreadable(TsunaguError):
    status = 500
    code = "seed_unreadable"

    def __init__(self) -> None:
        super().__init__(
            N_(
                "The two-step verification secret cannot be read with this installation's key. "
                "Sign in with a recovery code and set up two-step verification again."
            )
        )


class SecretKeyRequired(TsunaguError):
    """There is no key to seal seeds with; tsunagu never stores them in clear instead."""

    status = 500
    code = "secret_key_required"

    def __init__(self) -> None:
        super().__init__(
            N_(
                "Two-step verification secrets are stored sealed, and this database has no key. "
                "Set TSUNAGU_SECRET_KEY to 32 random bytes in base64url (for example the output "
                "of: python3 -c 'import secrets; print(secrets.token_urlsafe(32))') or "
                "TSUNAGU_SECRET_KEY_FILE to a file holding one, and back it up apart from the "
                "database."
            )
        )


class BadKey(ValueError):
    """The configured key is not 32 bytes of base64url."""


def parse_key(text: str) -> bytes:
    """32 bytes from base64url (padding optional); :class:`BadKey` otherwise."""
    cleaned = text.strip()
    try:
        raw = base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadKey("not base64url") from exc
    if len(raw) != KEY_BYTES:
        raise BadKey(f"{len(raw)} bytes instead of {KEY_BYTES}")
    return raw


def new_key_text() -> str:
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode().rstrip("=")


@dataclass(frozen=True)
class SeedKey:
    """Where the sealing key comes from: the key itself, or a file made on first use."""

    raw: bytes | None = None
    path: Path | None = None

    def key(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.path is None:
            raise BadKey("no key and no key file")
        return _read_or_create(self.path)


def _read_or_create(path: Path) -> bytes:
    """The key in ``path``, made first if the file does not exist. The new key is written to a
    file of its own and linked into place, so a process that starts at the same moment reads
    either nothing (and links its own, which fails: it then reads the winner's) or a whole key,
    never an empty file."""
    if not path.exists():
        fd, temporary = tempfile.mkstemp(prefix=".key-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(new_key_text() + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o600)
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    return parse_key(path.read_text(encoding="ascii"))


def seal(key: SeedKey | None, seed: str) -> str:
    """The value to store for ``seed``; :class:`SecretKeyRequired` without a key (never clear)."""
    if key is None:
        raise SecretKeyRequired()
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(key.key()).encrypt(nonce, seed.encode("ascii"), _PURPOSE)
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def unseal(key: SeedKey | None, stored: str) -> str:
    """The seed behind a stored value (a value from before sealing is returned as it is)."""
    if not is_sealed(stored):
        return stored
    if key is None:
        raise SeedUnreadable()
    body = stored[len(PREFIX) :]
    try:
        blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        plain = AESGCM(key.key()).decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], _PURPOSE)
    except (InvalidTag, ValueError, binascii.Error) as exc:
        raise SeedUnreadable() from exc
    return plain.decode("ascii")
