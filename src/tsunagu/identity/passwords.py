"""Argon2id hashing and the bundled list of common passwords (AUTH-01, AUTH-02).

The list ships in the package (``data/common-passwords.txt.gz``, built offline by
``scripts/build_common_passwords.py``; provenance in ``data/NOTICE``): nothing is fetched.
"""

from __future__ import annotations

import gzip
import secrets
from functools import cache
from importlib import resources

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from tsunagu.identity.rules import HashParams

_LIST = "common-passwords.txt.gz"


@cache
def common_passwords() -> frozenset[str]:
    """Case-folded, NFKC-normalised common passwords (about 20,000)."""
    data = resources.files("tsunagu.identity").joinpath("data", _LIST).read_bytes()
    return frozenset(gzip.decompress(data).decode("utf-8").split("\n")) - {""}


class Hasher:
    """One set of Argon2id parameters. ``needs_rehash`` drives the upgrade at sign-in."""

    def __init__(self, params: HashParams) -> None:
        self.params = params
        self._ph = PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
            hash_len=params.hash_len,
            salt_len=params.salt_len,
            type=Type.ID,
        )
        self._dummy: str | None = None

    def hash(self, secret: str) -> str:
        return self._ph.hash(secret)

    def verify(self, stored: str, secret: str) -> bool:
        try:
            return self._ph.verify(stored, secret)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._ph.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    def burn(self, secret: str) -> None:
        """Spend the time of one verification against a hash nobody knows the password of.

        Used when there is no account (or no password) so that "no such user" takes as long as
        "wrong password" (AUTH-07).
        """
        if self._dummy is None:
            self._dummy = self._ph.hash(secrets.token_urlsafe(24))
        self.verify(self._dummy, secret)


@cache
def hasher_for(params: HashParams) -> Hasher:
    return Hasher(params)
