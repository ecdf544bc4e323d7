"""The pure rules of notifications (ADR 0027): the SP-API-shaped envelope, HMAC signatures and
their replay window, the operator's allowlist and the address check, the back-off."""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tsunagu.notifications import rules
from tsunagu.notifications.rules import (
    Allowlist,
    address_allowed,
    parse_allow_entry,
    pick_address,
    retry_delay,
    signature_header,
    signature_problem,
    url_problem,
    verify_signature,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
T = int(NOW.timestamp())
SECRET = "whsec_test-secret-0123456789"


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


# -- the envelope ------------------------------------------------------------------------------


def test_account_status_payload_sits_where_amazon_puts_it():
    assert rules.payload_key("ACCOUNT_STATUS_CHANGED") == "accountStatusChangeNotification"
    assert rules.payload_key("APPEAL_STATUS_CHANGED") == "appealStatusChangeNotification"
    assert rules.payload_key("FEE_PROMOTION") == "feePromotionNotification"


def test_envelope_has_the_sp_api_shape_with_seller_and_marketplace_in_the_metadata():
    body = rules.envelope(
        notification_id="ntf_1",
        kind="ACCOUNT_STATUS_CHANGED",
        seller_id="sel_1",
        marketplace="US",
        payload={"previousAccountStatus": "NORMAL", "currentAccountStatus": "AT_RISK"},
        occurred_at=NOW,
        published_at=NOW + timedelta(minutes=3),
        webhook_id="whk_1",
    )
    assert body == {
        "notificationVersion": "1.0",
        "notificationType": "ACCOUNT_STATUS_CHANGED",
        "payloadVersion": "2021-01-01",
        "eventTime": "2026-11-25T12:00:00.000Z",
        "payload": {
            "accountStatusChangeNotification": {
                "previousAccountStatus": "NORMAL",
                "currentAccountStatus": "AT_RISK",
            }
        },
        "notificationMetadata": {
            "applicationId": "tsunagu",
            "subscriptionId": "whk_1",
            "publishTime": "2026-11-25T12:03:00.000Z",
            "notificationId": "ntf_1",
            "sellerId": "sel_1",
            "marketplace": "US",
        },
    }
    # the bytes sent are that JSON, compact, UTF-8 (a Japanese reason stays readable)
    raw = rules.body_of({"reason": "出品停止", "a": 1})
    assert raw == '{"a":1,"reason":"出品停止"}'.encode()
    assert json.loads(raw) == {"reason": "出品停止", "a": 1}


# -- signatures --------------------------------------------------------------------------------


def test_a_signed_body_verifies_and_the_header_has_the_documented_form():
    body = b'{"notificationType":"ACCOUNT_STATUS_CHANGED"}'
    header = signature_header(SECRET, T, body)
    assert header.startswith(f"t={T},v1=")
    assert len(header.split("v1=")[1]) == 64
    assert verify_signature(SECRET, header, body, NOW)
    assert verify_signature(SECRET, header, body.decode(), T + 1.5)  # str body, unix seconds


@pytest.mark.parametrize(
    ("offset", "problem"),
    [
        (0, None),
        (300, None),  # exactly the tolerance: still accepted
        (-300, None),
        (301, "too_old"),  # a replay a little later
        (3600, "too_old"),
        (-301, "in_future"),
    ],
)
def test_the_timestamp_must_be_within_five_minutes_of_now(offset: int, problem: str | None):
    body = b"{}"
    header = signature_header(SECRET, T, body)
    assert signature_problem(SECRET, header, body, T + offset) == problem


def test_an_old_timestamp_is_refused_even_with_a_valid_signature_for_it():
    """A replayed delivery carries its original, correctly signed timestamp: only its age gives
    it away, and changing the timestamp breaks the signature."""
    body = b'{"a":1}'
    old = signature_header(SECRET, T - 3600, body)
    assert signature_problem(SECRET, old, body, NOW) == "too_old"
    forged = old.replace(f"t={T - 3600}", f"t={T}")
    assert signature_problem(SECRET, forged, body, NOW) == "mismatch"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "v1=abc",
        "t=notanumber,v1=abc",
        f"t={T}",
        f"t={T},t={T},v1=abc",
        "garbage",
        f"t=-{T},v1=abc",
    ],
)
def test_malformed_headers_are_refused(header: str | None):
    assert not verify_signature(SECRET, header, b"{}", NOW)


def test_any_one_of_several_signatures_may_match_while_a_secret_is_replaced():
    body = b"{}"
    old = rules.sign("whsec_old", T, body)
    new = rules.sign(SECRET, T, body)
    assert verify_signature(SECRET, f"t={T},v1={old},v1={new}", body, NOW)
    assert not verify_signature(SECRET, f"t={T},v1={old}", body, NOW)


@given(
    secret=st.text(min_size=1, max_size=60),
    body=st.binary(max_size=300),
    skew=st.integers(min_value=-300, max_value=300),
)
def test_property_a_signature_verifies_within_the_window_and_fails_on_any_change(
    secret: str, body: bytes, skew: int
):
    header = signature_header(secret, T, body)
    assert verify_signature(secret, header, body, T + skew)
    assert not verify_signature(secret + "x", header, body, T + skew)
    assert not verify_signature(secret, header, body + b" ", T + skew)
    if body:
        flipped = bytes([body[0] ^ 1]) + body[1:]
        assert not verify_signature(secret, header, flipped, T + skew)


def test_verify_refuses_a_naive_now():
    with pytest.raises(ValueError, match="aware"):
        verify_signature(SECRET, signature_header(SECRET, T, b""), b"", datetime(2026, 11, 25))


# -- the allowlist -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "host", "port", "plain"),
    [
        ("hooks.example.com", "hooks.example.com", None, False),
        ("HOOKS.Example.com.", "hooks.example.com", None, False),
        ("hooks.example.com:8443", "hooks.example.com", 8443, False),
        ("https://hooks.example.com", "hooks.example.com", None, False),
        ("http://127.0.0.1:8765", "127.0.0.1", 8765, True),
        ("[::1]:9000", "::1", 9000, False),
        ("203.0.113.7", "203.0.113.7", None, False),
    ],
)
def test_allow_entries_are_hosts_with_optional_port_and_scheme(
    text: str, host: str, port: int | None, plain: bool
):
    entry = parse_allow_entry(text)
    assert (entry.host, entry.port, entry.plain_http, entry.network) == (host, port, plain, None)


def test_a_network_entry_is_a_network():
    entry = parse_allow_entry("10.20.0.0/16")
    assert entry.network == ipaddress.ip_network("10.20.0.0/16")
    assert entry.host is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "hooks example.com",
        "ftp://hooks.example.com",
        "https://hooks.example.com/path",
        "user:pw@hooks.example.com",
        "hooks.example.com:99999",
        "hooks.example.com:port",
        "hooks.example.com:0",
        "10.0.0.0/99",
        "under_score..dots",
        "https://hooks.example.com?q=1",
    ],
)
def test_bad_allow_entries_are_refused(text: str):
    with pytest.raises(ValueError):
        parse_allow_entry(text)


ALLOW = Allowlist.of(
    ["hooks.example.com", "alerts.example.jp:8443", "http://127.0.0.1:8765", "10.20.0.0/16"]
)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://hooks.example.com/tsunagu", None),
        ("https://HOOKS.example.com./tsunagu?x=1", None),
        ("https://hooks.example.com:443/x", None),
        ("https://alerts.example.jp:8443/in", None),
        ("http://127.0.0.1:8765/hook", None),
        ("http://hooks.example.com/tsunagu", "https_required"),
        ("https://hooks.example.com:8443/x", "host_not_allowed"),  # another port
        ("https://alerts.example.jp/in", "host_not_allowed"),  # the default port is not 8443
        ("https://evil.example.net/", "host_not_allowed"),
        ("https://hooks.example.com.evil.example.net/", "host_not_allowed"),
        ("https://10.20.0.5/x", "host_not_allowed"),  # a network allows no URL by itself
        ("http://127.0.0.1:8766/hook", "host_not_allowed"),
        ("https://user:pw@hooks.example.com/", "invalid_url"),
        ("https://hooks.example.com/#frag", "invalid_url"),
        ("hooks.example.com/x", "invalid_url"),
        ("file:///etc/passwd", "invalid_url"),
        ("https://hooks.example.com/a b", "invalid_url"),
        ("https://hooks.example.com/\x1b[2J", "invalid_url"),
        ("https://hooks.example.com/" + "x" * 2000, "invalid_url"),
        ("https://hooks.example.com:0/", "invalid_url"),
        ("https://hooks.example.com:70000/", "invalid_url"),
    ],
)
def test_a_url_is_allowed_only_on_a_listed_host_port_and_scheme(url: str, problem: str | None):
    assert url_problem(url, ALLOW) == problem


def test_no_allowlist_allows_nothing():
    assert url_problem("https://hooks.example.com/", Allowlist()) == "host_not_allowed"


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.216.34", True),  # public
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", True),  # listed as http://127.0.0.1:8765
        ("127.0.0.2", False),  # loopback, not listed
        ("::1", False),
        ("10.20.3.4", True),  # inside the listed network
        ("10.21.0.1", False),  # private, outside it
        ("192.168.1.1", False),
        ("172.16.0.1", False),
        ("169.254.169.254", False),  # link-local: the cloud metadata address
        ("100.64.0.1", False),  # shared address space
        ("0.0.0.0", False),
        ("224.0.0.1", False),  # multicast
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:169.254.169.254", False),  # IPv4-mapped link-local
        ("::ffff:127.0.0.1", True),  # the listed loopback address, mapped
        ("::ffff:93.184.216.34", True),
    ],
)
def test_an_address_is_allowed_when_public_or_listed(address: str, allowed: bool):
    assert address_allowed(ip(address), ALLOW) is allowed


def test_a_name_with_any_internal_address_is_refused_whole():
    assert pick_address([ip("93.184.216.34")], ALLOW) == ip("93.184.216.34")
    assert pick_address([ip("93.184.216.34"), ip("192.168.0.10")], ALLOW) is None
    assert pick_address([ip("127.0.0.2")], ALLOW) is None
    assert pick_address([], ALLOW) is None


# -- back-off ----------------------------------------------------------------------------------

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def test_back_off_doubles_from_one_minute_and_is_capped_with_up_to_a_fifth_of_jitter():
    waits = [retry_delay(n, first=MINUTE, cap=HOUR, seed="dlv_1") for n in range(1, 10)]
    bases = [1, 2, 4, 8, 16, 32, 60, 60, 60]
    for wait, base in zip(waits, bases, strict=True):
        assert timedelta(minutes=base) <= wait <= timedelta(minutes=base) * 1.2
    # deterministic per delivery, different between deliveries
    assert waits == [retry_delay(n, first=MINUTE, cap=HOUR, seed="dlv_1") for n in range(1, 10)]
    assert waits != [retry_delay(n, first=MINUTE, cap=HOUR, seed="dlv_2") for n in range(1, 10)]


@given(
    failures=st.integers(min_value=1, max_value=60),
    first=st.integers(min_value=1, max_value=600),
    cap=st.integers(min_value=1, max_value=86400),
    seed=st.text(max_size=30),
)
def test_property_back_off_stays_within_its_bounds(failures: int, first: int, cap: int, seed: str):
    wait = retry_delay(
        failures, first=timedelta(seconds=first), cap=timedelta(seconds=cap), seed=seed
    )
    base = timedelta(seconds=min(cap, first * 2 ** (failures - 1)))
    assert base <= wait <= base * 1.2
    if failures > 1:
        before = retry_delay(
            failures - 1, first=timedelta(seconds=first), cap=timedelta(seconds=cap), seed=seed
        )
        assert wait >= before / 1.2  # never shorter than the previous base


@pytest.mark.parametrize(
    ("code", "ok"),
    [(200, True), (204, True), (299, True), (302, False), (500, False), (None, False)],
)
def test_only_a_2xx_answer_delivers(code: int | None, ok: bool):
    assert rules.is_success(code) is ok
