"""One HTTP attempt to a webhook, and nothing a delivery must not do (ADR 0027).

Before connecting, the URL is checked against the operator's allowlist again (it may have
changed since the webhook was made), the host is resolved once, and *every* address it resolves
to must be public or listed by the operator; the request then goes to that checked address
(the ``Host`` header and, for https, the TLS server name and certificate check keep the name),
so a DNS answer that changes between the check and the connection cannot redirect it. Redirects
are never followed, proxies from the environment are ignored, every phase has a timeout, and at
most ``max_response_bytes`` of the answer is read.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tsunagu.notifications.rules import (
    Allowlist,
    IPAddress,
    Target,
    literal_ip,
    parse_target,
    pick_address,
    url_problem,
)

log = logging.getLogger("tsunagu.notifications")

#: host, port → the addresses it resolves to (tests pass their own)
Resolver = Callable[[str, int], list[IPAddress]]


def system_resolver(host: str, port: int) -> list[IPAddress]:
    found: list[IPAddress] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = literal_ip(str(sockaddr[0]).split("%", 1)[0])
        if address is not None and address not in found:
            found.append(address)
    return found


@dataclass(frozen=True)
class Outcome:
    """What the attempt found; ``contacted`` is False when nothing was sent anywhere."""

    status_code: int | None
    error: str | None
    duration_ms: int
    contacted: bool


def _pinned_url(target: Target, address: IPAddress) -> str:
    shown = f"[{address}]" if address.version == 6 else str(address)
    return f"{target.scheme}://{shown}:{target.port}{target.resource}"


def send(
    *,
    url: str,
    allowlist: Allowlist,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float,
    max_response_bytes: int,
    resolve: Resolver = system_resolver,
) -> Outcome:
    """POST ``body`` to ``url`` if, and only if, the operator allows where it would go."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    problem = url_problem(url, allowlist)
    target = parse_target(url)
    if problem is not None or target is None:
        return Outcome(None, f"refused: {problem or 'invalid_url'}", elapsed(), False)
    try:
        addresses = [target.address] if target.address else resolve(target.host, target.port)
    except OSError:
        return Outcome(None, "dns_failed", elapsed(), False)
    address = pick_address(addresses, allowlist)
    if address is None:
        log.warning("webhook host %s resolves to an address that is not allowed", target.host)
        return Outcome(None, "refused: address_not_allowed", elapsed(), False)
    return _post(target, address, body, headers, timeout, max_response_bytes, started)


def _post(
    target: Target,
    address: IPAddress,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float,
    max_response_bytes: int,
    started: float,
) -> Outcome:
    import httpx  # only the worker and `notifications deliver` send anything

    extensions = {}
    if target.scheme == "https" and target.address is None:
        extensions["sni_hostname"] = target.host  # SNI and the certificate check use the name
    sent_headers = {
        **headers,
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": "tsunagu-webhooks/1",
    }
    deadline = started + 3 * timeout
    try:
        with (
            httpx.Client(
                follow_redirects=False, trust_env=False, timeout=httpx.Timeout(timeout)
            ) as client,
            client.stream(
                "POST",
                _pinned_url(target, address),
                content=body,
                headers=sent_headers,
                extensions=extensions,
            ) as response,
        ):
            read = 0
            for chunk in response.iter_raw():
                read += len(chunk)
                if read >= max_response_bytes or time.monotonic() > deadline:
                    break  # the status is what counts; the rest of the answer is not read
            status = response.status_code
    except httpx.TimeoutException:
        return Outcome(None, "timeout", _ms(started), True)
    except httpx.ConnectError:
        return Outcome(None, "connect_failed", _ms(started), True)
    except httpx.HTTPError as exc:
        return Outcome(None, f"http_error: {type(exc).__name__}", _ms(started), True)
    error = None
    if 300 <= status < 400:
        error = "redirect_not_followed"
    elif not 200 <= status < 300:
        error = f"http_{status}"
    return Outcome(status, error, _ms(started), True)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
