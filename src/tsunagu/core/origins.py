"""Where tsunagu is reached from, decided by configuration and never by the request (AUTH-17).

A request's ``Host`` header and ``X-Forwarded-*`` headers are chosen by whoever sends the
request. Anything trusted that is built from them — a link in a password-reset e-mail, the origin
a form must come from, the client address a throttle counts — would be chosen by an attacker. So:

* links in e-mails are built from the configured public URL (``TSUNAGU_PUBLIC_URL``);
* a request whose ``Host`` is not an allowed host (the public URL's, ``TSUNAGU_ALLOWED_HOSTS``
  and the loopback names) is refused before routing, which also defeats DNS rebinding against a
  server on 127.0.0.1;
* a cookie-carried write must come from the configured origin (scheme, host and port), or, on a
  loopback host, from exactly the address the browser is on;
* forwarded headers are read only from configured proxy addresses (``TSUNAGU_TRUSTED_PROXIES``).

Pure functions: no I/O, nothing imported from the slices.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

#: names that only a browser on this very machine can send as ``Host``
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


class BadOrigin(ValueError):
    """A configured URL or host that cannot be an origin."""


@dataclass(frozen=True)
class Origin:
    """An origin as browsers compare them: scheme, host (lower case, no brackets) and port."""

    scheme: str
    host: str
    port: int

    @property
    def url(self) -> str:
        """``scheme://host[:port]`` without a trailing slash; the default port is left out."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if _DEFAULT_PORTS.get(self.scheme) == self.port:
            return f"{self.scheme}://{host}"
        return f"{self.scheme}://{host}:{self.port}"

    def link(self, path: str) -> str:
        """An absolute link to ``path`` (which starts with ``/``) on this origin."""
        return self.url + path


def parse_origin(value: str | None) -> Origin | None:
    """The origin of a URL such as an ``Origin`` or ``Referer`` header, or None when it has none
    (empty, ``null``, not http(s), no host, a malformed port)."""
    if not value or value == "null":
        return None
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return Origin(scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme])


def public_origin(url: str) -> Origin:
    """The configured public URL as an origin: ``http(s)://host[:port]``, no path, query or user
    part (:class:`BadOrigin` otherwise, with the reason)."""
    parts = urlsplit(url.strip())
    origin = parse_origin(url)
    if origin is None:
        raise BadOrigin("must look like https://tsunagu.example.com (http or https, a host)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BadOrigin("must not have a path, query or fragment: tsunagu serves from /")
    if parts.username or parts.password:
        raise BadOrigin("must not carry a user name or password")
    return origin


def host_name(header: str | None) -> str | None:
    """The host name of a ``Host`` header (lower case, without port or IPv6 brackets), or None
    when it is missing or malformed."""
    if not header or len(header) > 300:
        return None
    value = header.strip().lower()
    if any(ch <= " " or ch in "/\\@?#" for ch in value):
        return None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1 :]
        if rest and not (rest.startswith(":") and rest[1:].isdigit()):
            return None
        return name or None
    name, _, port = value.partition(":")
    if port and not port.isdigit():
        return None
    return name or None


def host_allowed(name: str | None, allowed: frozenset[str]) -> bool:
    """Whether ``name`` (from :func:`host_name`) is an allowed host: one of ``allowed`` or a
    loopback name. ``allowed`` entries starting with ``.`` also match their subdomains."""
    if name is None:
        return False
    if name in LOOPBACK_NAMES or name in allowed:
        return True
    return any(entry.startswith(".") and name.endswith(entry) for entry in allowed)


def is_loopback(name: str) -> bool:
    return name in LOOPBACK_NAMES


def trusted_origin(
    source: str | None, *, configured: Origin | None, request_scheme: str, request_host: str | None
) -> bool:
    """Whether a write's ``Origin`` (or ``Referer``) is this site (CSRF).

    The configured public origin always counts. Besides it, only on a loopback host (a server on
    127.0.0.1, the demo) the exact address the browser is on counts too: a page elsewhere cannot
    make a browser send a loopback ``Host`` with a matching ``Origin``, and another name that
    resolves to 127.0.0.1 (DNS rebinding) is refused by the host allow-list before this runs.
    """
    origin = parse_origin(source)
    if origin is None:
        return False
    if configured is not None and origin == configured:
        return True
    own = parse_origin(f"{request_scheme}://{request_host}") if request_host else None
    return own is not None and is_loopback(own.host) and origin == own


@dataclass(frozen=True)
class Network:
    """One ``TSUNAGU_TRUSTED_PROXIES`` entry: an address or a CIDR block."""

    network: ipaddress.IPv4Network | ipaddress.IPv6Network

    def __contains__(self, address: str) -> bool:
        try:
            return ipaddress.ip_address(address) in self.network
        except ValueError:
            return False


def parse_networks(text: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDR blocks (:class:`BadOrigin` for a malformed one)."""
    found = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            found.append(Network(ipaddress.ip_network(item, strict=False)))
        except ValueError as exc:
            raise BadOrigin(f"{item!r} is not an IP address or CIDR block") from exc
    return tuple(found)


def forwarded_client(
    peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]
) -> str | None:
    """The client address: the TCP peer, unless the peer is a trusted proxy, in which case the
    right-most ``X-Forwarded-For`` entry that is not itself a trusted proxy (entries further
    left were written by the client and prove nothing)."""
    if peer is None or not trusted or not any(peer in net for net in trusted):
        return peer
    if not forwarded_for:
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            address = str(ipaddress.ip_address(hop))
        except ValueError:
            return peer  # a garbled chain: fall back to what the proxy itself is
        if not any(address in net for net in trusted):
            return address
    return peer
