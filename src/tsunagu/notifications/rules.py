"""Notifications and webhook deliveries: the pure rules (ADR 0027). No database, no network.

* **The envelope** a receiver gets, shaped like an SP-API notification
  (``notificationVersion``, ``notificationType``, ``payloadVersion``, ``eventTime``, ``payload``,
  ``notificationMetadata``): ``ACCOUNT_STATUS_CHANGED`` carries
  ``payload.accountStatusChangeNotification.{previousAccountStatus, currentAccountStatus}`` as
  Amazon's does.
* **The signature**: HMAC-SHA256 over ``"{timestamp}.{body}"`` with the webhook's secret, sent as
  ``Tsunagu-Signature: t=<unix seconds>,v1=<hex>``; :func:`verify_signature` is what a receiver
  runs (constant-time compare, a timestamp outside the tolerance is a replay).
* **Where a delivery may go**: the operator's allowlist (``[notifications] allowed_hosts``), the
  URL's host checked against it, and every address the host resolves to checked again (a
  private, loopback or link-local address only when the operator listed that address).
* **When to try again**: exponential back-off with a deterministic jitter.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

ACCOUNT_STATUS_CHANGED = "ACCOUNT_STATUS_CHANGED"
APPEAL_STATUS_CHANGED = "APPEAL_STATUS_CHANGED"
#: the kinds a webhook may subscribe to (a notification of another kind is recorded, never sent)
KINDS = (ACCOUNT_STATUS_CHANGED, APPEAL_STATUS_CHANGED)
#: what a notification kind looks like (upper snake case, like Amazon's notification types)
KIND_SHAPE = re.compile(r"^[A-Z][A-Z0-9_]{1,59}$")

NOTIFICATION_VERSION = "1.0"
#: ``payloadVersion`` per kind: Amazon's for its own type, tsunagu's date for its own
PAYLOAD_VERSIONS = {ACCOUNT_STATUS_CHANGED: "2021-01-01", APPEAL_STATUS_CHANGED: "2026-12-01"}
APPLICATION_ID = "tsunagu"

SIGNATURE_HEADER = "Tsunagu-Signature"
ID_HEADER = "Tsunagu-Notification-Id"
DEFAULT_TOLERANCE = timedelta(seconds=300)

# delivery statuses
PENDING = "pending"
SENDING = "sending"
DELIVERED = "delivered"
FAILED = "failed"
CANCELLED = "cancelled"
DELIVERY_STATUSES = (PENDING, SENDING, DELIVERED, FAILED, CANCELLED)

MAX_URL_LENGTH = 2000
_DEFAULT_PORTS = {"https": 443, "http": 80}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


# -- the envelope ------------------------------------------------------------------------------


def payload_key(kind: str) -> str:
    """The key the payload sits under, as Amazon names it: ``ACCOUNT_STATUS_CHANGED`` →
    ``accountStatusChangeNotification`` (a trailing ``_CHANGED`` becomes ``Change``)."""
    words = kind.lower().split("_")
    if words[-1] == "changed":
        words[-1] = "change"
    return words[0] + "".join(w.capitalize() for w in words[1:]) + "Notification"


def iso(instant: datetime) -> str:
    """An instant as Amazon writes them: UTC, ``Z``, milliseconds."""
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope(
    *,
    notification_id: str,
    kind: str,
    seller_id: str,
    marketplace: str | None,
    payload: Mapping[str, Any],
    occurred_at: datetime,
    published_at: datetime,
    webhook_id: str,
) -> dict[str, Any]:
    """What one delivery sends. ``eventTime`` is when the change happened, ``publishTime`` when
    this attempt was made; ``notificationId`` is the same on every attempt (receivers drop
    repeats by it). tsunagu adds ``sellerId`` and ``marketplace`` to the metadata: Amazon's
    status notification names neither, and a receiver serving several stores needs both."""
    return {
        "notificationVersion": NOTIFICATION_VERSION,
        "notificationType": kind,
        "payloadVersion": PAYLOAD_VERSIONS.get(kind, NOTIFICATION_VERSION),
        "eventTime": iso(occurred_at),
        "payload": {payload_key(kind): dict(payload)},
        "notificationMetadata": {
            "applicationId": APPLICATION_ID,
            "subscriptionId": webhook_id,
            "publishTime": iso(published_at),
            "notificationId": notification_id,
            "sellerId": seller_id,
            "marketplace": marketplace,
        },
    }


def body_of(value: Mapping[str, Any]) -> bytes:
    """The exact bytes sent and signed: compact JSON, keys sorted, UTF-8."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


# -- signatures --------------------------------------------------------------------------------


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


def sign(secret: str, timestamp: int, body: bytes | str) -> str:
    """HMAC-SHA256 of ``"{timestamp}.{body}"`` with ``secret`` (its UTF-8 bytes), in hex."""
    message = str(timestamp).encode() + b"." + _as_bytes(body)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes | str) -> str:
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def _unix(now: datetime | float) -> float:
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        return now.timestamp()
    return float(now)


def _parse_header(header: str) -> tuple[int, list[str]] | None:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            return None
        if name == "t":
            if timestamp is not None or not value.isdigit() or len(value) > 12:
                return None
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        return None
    return timestamp, signatures


def signature_problem(
    secret: str,
    header: str | None,
    body: bytes | str,
    now: datetime | float,
    tolerance: timedelta | float = DEFAULT_TOLERANCE,
) -> str | None:
    """Why a delivery's signature is not acceptable, or None when it is.

    ``missing`` (no header), ``malformed``, ``too_old`` / ``in_future`` (the timestamp is more
    than ``tolerance`` away from ``now``: a replay, or clocks far apart), ``mismatch`` (another
    secret, or a body changed on the way). Every ``v1=`` value is tried, so a sender may sign
    with two secrets while one replaces the other."""
    if not header:
        return "missing"
    parsed = _parse_header(header)
    if parsed is None:
        return "malformed"
    timestamp, signatures = parsed
    window = tolerance.total_seconds() if isinstance(tolerance, timedelta) else float(tolerance)
    age = _unix(now) - timestamp
    if age > window:
        return "too_old"
    if age < -window:
        return "in_future"
    expected = sign(secret, timestamp, body)
    matched = False
    for candidate in signatures:
        # every candidate is compared, matched or not: the time taken says nothing
        matched |= hmac.compare_digest(expected, candidate)
    return None if matched else "mismatch"


def verify_signature(
    secret: str,
    header: str | None,
    body: bytes | str,
    now: datetime | float,
    tolerance: timedelta | float = DEFAULT_TOLERANCE,
) -> bool:
    """Whether ``header`` (the ``Tsunagu-Signature`` value) signs ``body`` (the raw request
    body, exactly as received) with ``secret``, at a time within ``tolerance`` of ``now``."""
    return signature_problem(secret, header, body, now, tolerance) is None


# -- the allowlist -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AllowEntry:
    """One ``allowed_hosts`` item: ``[http://|https://]HOST[:PORT]`` or a network ``ADDR/BITS``.

    ``HOST`` is a DNS name or an IP address (IPv6 in brackets when a port follows). Without a
    port the entry allows the scheme's default port only (443; 80 with ``http://``). Plain http
    is allowed only by an entry written with ``http://``. A network allows no URL by itself: it
    lets an allowed host resolve to private addresses inside it."""

    text: str
    host: str | None = None
    port: int | None = None
    plain_http: bool = False
    network: IPNetwork | None = None

    @property
    def address(self) -> IPAddress | None:
        return literal_ip(self.host) if self.host is not None else None


def literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_-]{1,63}$")


def _host_text(host: str) -> str | None:
    """A normalised host (lower-case name, compressed IP), or None when it is neither."""
    address = literal_ip(host)
    if address is not None:
        return str(address)
    name = host.lower().rstrip(".")
    return name if _NAME.match(name) else None


def parse_allow_entry(text: str) -> AllowEntry:
    """An ``allowed_hosts`` item; :class:`ValueError` saying what is wrong with it."""
    raw = text.strip()
    if not raw or any(c.isspace() for c in raw):
        raise ValueError("an empty item or one with spaces")
    if "/" in raw and "://" not in raw:
        try:
            return AllowEntry(text=raw, network=ipaddress.ip_network(raw, strict=False))
        except ValueError:
            raise ValueError("not a network like 10.0.0.0/8") from None
    plain = raw.lower().startswith("http://")
    parts = urlsplit(raw if "://" in raw else "https://" + raw)
    if parts.scheme not in _DEFAULT_PORTS or parts.path or parts.query or parts.fragment:
        raise ValueError("not HOST, HOST:PORT, http://HOST:PORT or ADDR/BITS")
    if parts.username is not None or parts.password is not None:
        raise ValueError("not HOST, HOST:PORT, http://HOST:PORT or ADDR/BITS")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ValueError("the port is not a number from 1 to 65535")
    host = _host_text(parts.hostname or "")
    if host is None:
        raise ValueError("not a host name or an IP address")
    return AllowEntry(text=raw, host=host, port=port, plain_http=plain)


@dataclass(frozen=True)
class Target:
    """A webhook URL taken apart: what is connected to, and what is asked for."""

    scheme: str
    host: str
    port: int
    #: path and query, as sent in the request line
    resource: str

    @property
    def address(self) -> IPAddress | None:
        return literal_ip(self.host)

    @property
    def host_header(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return shown if self.port == _DEFAULT_PORTS[self.scheme] else f"{shown}:{self.port}"


def parse_target(url: str) -> Target | None:
    """``url`` as a :class:`Target`, or None when it is not an absolute http(s) URL tsunagu
    would call: credentials in it, a fragment, control characters or spaces are refused."""
    if len(url) > MAX_URL_LENGTH or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return None
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or parts.fragment or "#" in url:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    try:
        port = parts.port if parts.port is not None else _DEFAULT_PORTS[parts.scheme]
    except ValueError:
        return None
    if port == 0:
        return None
    host = _host_text(parts.hostname or "")
    if host is None:
        return None
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme=parts.scheme, host=host, port=port, resource=resource)


@dataclass(frozen=True)
class Allowlist:
    entries: tuple[AllowEntry, ...] = ()

    @classmethod
    def of(cls, items: Iterable[str]) -> Allowlist:
        return cls(tuple(parse_allow_entry(item) for item in items))

    def entry_for(self, target: Target) -> AllowEntry | None:
        """The entry that allows ``target``'s host and port (any scheme), if one does."""
        for entry in self.entries:
            if entry.host is None or entry.host != target.host:
                continue
            default = _DEFAULT_PORTS["http" if entry.plain_http else "https"]
            if (entry.port or default) == target.port:
                return entry
        return None

    def address_listed(self, address: IPAddress) -> bool:
        """Whether the operator named this address, or a network holding it."""
        for entry in self.entries:
            if entry.network is not None and address.version == entry.network.version:
                if address in entry.network:
                    return True
            elif entry.address is not None and entry.address == address:
                return True
        return False


def url_problem(url: str, allowlist: Allowlist) -> str | None:
    """Why a webhook may not have this URL (``invalid_url``, ``host_not_allowed``,
    ``https_required``), or None. The same check runs again before every attempt."""
    target = parse_target(url)
    if target is None:
        return "invalid_url"
    entry = allowlist.entry_for(target)
    if entry is None:
        if target.scheme == "http" and allowlist.entry_for(
            replace(target, scheme="https", port=443)
        ):
            return "https_required"  # the host is allowed, over https
        return "host_not_allowed"
    if target.scheme == "http" and not entry.plain_http:
        return "https_required"
    return None


def _unmapped(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def address_allowed(address: IPAddress, allowlist: Allowlist) -> bool:
    """Whether a delivery may connect to ``address``: a public unicast address, or one the
    operator listed (an exact address or a network). Loopback, private, link-local, shared,
    reserved, multicast and unspecified addresses are refused otherwise, so an allowed name that
    resolves to ``127.0.0.1`` (or ``::ffff:169.254.169.254``) goes nowhere."""
    plain = _unmapped(address)
    if allowlist.address_listed(plain) or allowlist.address_listed(address):
        return True
    return plain.is_global and not plain.is_multicast


def pick_address(addresses: Iterable[IPAddress], allowlist: Allowlist) -> IPAddress | None:
    """The address to connect to: the first resolved one, provided *every* resolved address is
    allowed (a name that answers with one public and one internal address is refused), else
    None."""
    found = list(addresses)
    if not found or not all(address_allowed(a, allowlist) for a in found):
        return None
    return found[0]


# -- retries -----------------------------------------------------------------------------------


def retry_delay(failures: int, *, first: timedelta, cap: timedelta, seed: str) -> timedelta:
    """The wait after the ``failures``-th failed attempt: ``first``, doubled each time up to
    ``cap``, plus up to 20 % jitter (derived from ``seed``, the delivery id, so that many
    deliveries failing at once spread out, and a test can know the bounds)."""
    doubled = first.total_seconds() * 2.0 ** min(max(0, failures - 1), 64)
    base = timedelta(seconds=min(cap.total_seconds(), doubled))
    digest = hashlib.sha256(f"{seed}:{failures}".encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    jitter: timedelta = base * (0.2 * fraction)
    return base + jitter


def is_success(status_code: int | None) -> bool:
    """A 2xx answer delivers; anything else (3xx included: redirects are never followed) is a
    failed attempt."""
    return status_code is not None and 200 <= status_code < 300
