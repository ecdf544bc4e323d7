"""The event contract: what is accepted, what is refused with which code, and canonical form."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import event, placed
from tsunagu.events.rules import EVENT_TYPES, Candidate, Problem, validate
from tsunagu.marketplaces.registry import load_registry

REGISTRY = load_registry(None)


def ok(obj: dict[str, Any]) -> Candidate:
    result = validate(obj, REGISTRY)
    assert isinstance(result, Candidate), result
    return result


def problems(obj: object) -> list[tuple[str, str]]:
    result = validate(obj, REGISTRY)
    assert isinstance(result, list)
    return [(p.field, p.code) for p in result]


def test_order_placed_with_jst_offset_is_stored_in_utc():
    c = ok(placed("sel_1", "503-1", when="2026-10-01T09:30:00+09:00"))
    assert c.at.isoformat() == "2026-10-01T00:30:00+00:00"
    assert '"at":"2026-10-01T00:30:00Z"' in c.body


def test_same_event_written_differently_has_one_canonical_form():
    a = placed("sel_1", "503-1", when="2026-10-01T09:30:00+09:00", event_id="e1")
    b = dict(
        reversed(list(placed("sel_1", "503-1", when="2026-10-01T00:30:00Z", event_id="e1").items()))
    )
    b["marketplace"] = "A1VC38T7YXB528"  # the Amazon id of JP
    assert ok(a).body_hash == ok(b).body_hash


def test_promise_instants_are_normalised_too():
    a = ok(placed("s", "o", event_id="e", latest_ship_date="2026-10-03T23:59:59+09:00"))
    b = ok(placed("s", "o", event_id="e", latest_ship_date="2026-10-03T14:59:59Z"))
    assert a.body == b.body


def test_unknown_fields_are_kept():
    c = ok(placed("s", "o", gift_message_flag=True))
    assert orjson.loads(c.body)["gift_message_flag"] is True


def test_missing_required_field_names_the_field():
    obj = placed("s", "o")
    del obj["channel"]
    assert ("channel", "missing_field") in problems(obj)


def test_time_without_offset_is_refused():
    assert ("at", "invalid_timestamp") in problems(placed("s", "o", when="2026-10-01T09:30:00"))


def test_float_money_is_refused():
    obj = placed("s", "o")
    obj["items"][0]["price"] = 19.99
    assert ("items[0].price", "invalid_type") in problems(obj)


def test_boolean_is_not_a_quantity():
    obj = placed("s", "o")
    obj["items"][0]["quantity"] = True
    assert ("items[0].quantity", "invalid_type") in problems(obj)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"channel": "XFN"}, ("channel", "invalid_value")),
        ({"currency": "USD"}, ("currency", "currency_mismatch")),
        ({"items": []}, ("items", "invalid_value")),
        ({"points": -1}, ("points", "invalid_value")),
    ],
)
def test_order_placed_field_checks(fields: dict[str, Any], expected: tuple[str, str]):
    assert expected in problems({**placed("s", "o"), **fields})


def test_unknown_type_and_marketplace():
    assert problems(event("order_teleported", "s", order_id="o")) == [
        ("type", "unknown_event_type")
    ]
    assert ("marketplace", "unknown_marketplace") in problems(
        event("order_delivered", "s", marketplace="ZZ", order_id="o")
    )


def test_not_an_object():
    assert problems([1, 2]) == [("", "not_an_object")]


def test_feedback_rating_must_be_one_to_five():
    assert ("rating", "invalid_value") in problems(
        event("feedback_posted", "s", order_id="o", rating=6)
    )


def test_tracking_id_may_be_empty_meaning_none_given():
    c = ok(event("order_shipped", "s", order_id="o", tracking_id=""))
    assert orjson.loads(c.body)["tracking_id"] == ""


def test_message_text_is_lifted_out_of_the_event():
    c = ok(
        event(
            "message_received",
            "s",
            message_id="m1",
            subject="Where is it?",
            body="Call me on 090-0000-0000",
        )
    )
    assert "090-0000-0000" not in c.body
    assert "Where is it?" not in c.body
    assert dict(c.personal) == {"subject": "Where is it?", "body": "Call me on 090-0000-0000"}


def test_personal_data_fields_are_refused():
    found = problems(placed("s", "o", buyer_email="jane@example.com"))
    assert ("buyer_email", "personal_data_in_event") in found
    # the offending value itself is not echoed back
    result = validate(placed("s", "o", buyer_email="jane@example.com"), REGISTRY)
    assert isinstance(result, list)
    assert all("jane" not in str(p.value) for p in result)


def contract_examples() -> dict[str, dict[str, Any]]:
    """One valid event of every type of the contract."""
    return {
        "order_placed": placed("s", "o"),
        "order_promise_set": event(
            "order_promise_set", "s", order_id="o", latest_ship_date="2026-10-03T00:00:00Z"
        ),
        "order_shipped": event(
            "order_shipped", "s", order_id="o", carrier="Yamato", tracking_id="1"
        ),
        "tracking_scanned": event("tracking_scanned", "s", order_id="o"),
        "order_delivered": event("order_delivered", "s", order_id="o"),
        "order_cancelled": event(
            "order_cancelled", "s", order_id="o", by="seller", reason="out_of_stock"
        ),
        "feedback_posted": event("feedback_posted", "s", order_id="o", rating=2),
        "feedback_removed": event("feedback_removed", "s", order_id="o"),
        "claim_filed": event("claim_filed", "s", order_id="o", claim_id="c", reason="not_received"),
        "claim_decided": event(
            "claim_decided", "s", order_id="o", claim_id="c", outcome="granted_seller_funded"
        ),
        "chargeback_filed": event("chargeback_filed", "s", order_id="o", chargeback_id="k"),
        "chargeback_decided": event(
            "chargeback_decided", "s", order_id="o", chargeback_id="k", outcome="seller_won"
        ),
        "message_received": event("message_received", "s", message_id="m", language="ja"),
        "message_answered": event("message_answered", "s", message_id="m"),
        "message_no_response_needed": event("message_no_response_needed", "s", message_id="m"),
        "return_requested": event("return_requested", "s", order_id="o", return_id="r"),
        "return_resolved": event(
            "return_resolved",
            "s",
            order_id="o",
            return_id="r",
            outcome="refunded",
            buyer_satisfied=True,
        ),
        "violation_opened": event(
            "violation_opened",
            "s",
            violation_id="v",
            policy="receivedIntellectualPropertyComplaints",
            severity="low",
        ),
        "violation_resolved": event("violation_resolved", "s", violation_id="v", how="appeal"),
        "refund_issued": event("refund_issued", "s", order_id="o", amount=500),
        "invoice_uploaded": event("invoice_uploaded", "s", order_id="o"),
        "cs_survey_answered": event("cs_survey_answered", "s", order_id="o", satisfied=False),
    }


def test_every_contract_type_has_a_valid_example():
    examples = contract_examples()
    assert set(examples) == set(EVENT_TYPES)
    for example in examples.values():
        ok(example)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)


@settings(max_examples=300)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "event_id",
                "type",
                "seller",
                "marketplace",
                "at",
                "order_id",
                "items",
                "channel",
                "currency",
                "rating",
                "by",
                "tracking_id",
                "message_id",
                "amount",
                "claim_id",
            ]
        ),
        json_values,
        max_size=10,
    )
    | json_values
)
def test_any_json_gives_a_candidate_or_problems_never_an_exception(obj: object):
    result = validate(obj, REGISTRY)
    assert isinstance(result, Candidate) or (
        isinstance(result, list) and result and all(isinstance(p, Problem) for p in result)
    )


@settings(max_examples=200)
@given(
    seconds=st.integers(min_value=0, max_value=2_000_000_000),
    offset_minutes=st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: m - m % 15),
    price=st.integers(min_value=0, max_value=10**9),
)
def test_canonical_form_is_a_fixed_point(seconds: int, offset_minutes: int, price: int):
    from datetime import UTC, datetime, timedelta, timezone

    moment = datetime.fromtimestamp(seconds, UTC).astimezone(
        timezone(timedelta(minutes=offset_minutes))
    )
    first = ok(placed("s", "o", when=moment.isoformat(), price=price, event_id="e"))
    again = ok(orjson.loads(first.body))
    assert again.body == first.body
    assert again.at == first.at


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-05:00",
        "0005-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
    ],
)
def test_out_of_range_times_are_a_problem_not_a_crash(value: str):
    assert ("at", "invalid_timestamp") in problems(placed("s", "o", when=value))


# -- hostile text (API-10) ----------------------------------------------------------------------

#: every optional text field of the contract, so that each one is tried below
_OPTIONAL_TEXT = {
    "order_placed": {"customer_id": "c1", "ship_service": "Standard"},
    "order_shipped": {"service": "Express"},
    "message_received": {"customer_id": "c1", "subject": "Hi", "body": "Where is it?"},
    "message_answered": {"order_id": "o"},
    "violation_opened": {"asin": "B0CF3V9JQE"},
    "refund_issued": {"sku": "MATCHA-100"},
}


_INSTANTS = {"at", "latest_ship_date", "latest_delivery_date"}


def _string_fields(example: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(field, the example with that field made hostile) for every string of ``example``."""
    found = []
    for name, value in example.items():
        if isinstance(value, str) and name not in _INSTANTS:  # a time is checked as a time
            found.append((name, {**example, name: f"{value[:1]}\x00{value[1:]}"}))
    for index, item in enumerate(example.get("items", [])):
        for name, value in item.items():
            if isinstance(value, str):
                items = [dict(i) for i in example["items"]]
                items[index][name] = f"{value}\x1b[2J"
                found.append((f"items[{index}].{name}", {**example, "items": items}))
    return found


def _hostile_cases() -> list[tuple[str, str, dict[str, Any]]]:
    cases = []
    for kind, example in contract_examples().items():
        full = {**example, **_OPTIONAL_TEXT.get(kind, {})}
        if kind == "order_placed":
            full["items"] = [{**full["items"][0], "category": "tea"}]
        cases += [(kind, name, obj) for name, obj in _string_fields(full)]
    return cases


@pytest.mark.parametrize(
    ("kind", "field", "obj"),
    _hostile_cases(),
    ids=[f"{kind}-{field}" for kind, field, _ in _hostile_cases()],
)
def test_api_10_a_control_character_in_any_string_field_of_any_event_is_invalid_value(
    kind: str, field: str, obj: dict[str, Any]
):
    """API-10: a NUL (PostgreSQL refuses it: a 500 or a traceback before) or an ESC in any
    string field of any event type is refused with ``invalid_value`` naming the field. The
    cases come from the contract's examples, so a new field is covered without being listed."""
    assert (field, "invalid_value") in problems(obj)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"note": "gift\x00"}, "note"),
        ({"meta": {"tags": ["ok", "x\x1b[2J"]}}, "meta.tags[1]"),
        ({"meta": {"a\x00b": 1}}, "meta"),
        ({"\x1b[2J": 1}, "\x1b[2J"),
    ],
    ids=["unknown-field", "nested", "nested-key", "field-name"],
)
def test_api_10_unknown_fields_are_kept_but_not_with_control_characters(
    extra: dict[str, Any], field: str
):
    """API-10: unknown fields are kept (design.md), so their strings and names are checked too."""
    assert (field, "invalid_value") in problems(placed("s", "o", **extra))
    with_item = placed("s", "o")
    with_item["items"] = [{**with_item["items"][0], "note": "a\x00"}]
    assert ("items[0].note", "invalid_value") in problems(with_item)


@pytest.mark.parametrize("invisible", ["\u202e", "\u200b", "\u2028", "\u3000", "\ue000"])
def test_api_10_identifiers_are_printable_only(invisible: str):
    """API-10: an id with a bidi override, a zero-width space, a line separator, an ideographic
    space or a private-use character is refused; plain text fields (a carrier) only refuse
    control characters."""
    assert ("order_id", "invalid_value") in problems(placed("s", f"503{invisible}1"))
    assert ("event_id", "invalid_value") in problems(placed("s", "o", event_id=f"e{invisible}"))
    ok(event("order_shipped", "s", order_id="o", carrier=f"Yamato{invisible}"))


def test_api_10_slashes_and_dots_are_fine_in_ids_that_never_become_paths():
    """API-10: printable is the rule; ``/`` and ``..`` are printable and no id is a file path."""
    c = ok(placed("s", "../../../etc/passwd", event_id="a/../b"))
    assert (c.order_id, c.event_id) == ("../../../etc/passwd", "a/../b")


def test_api_10_free_text_keeps_tabs_and_line_breaks():
    c = ok(event("message_received", "s", message_id="m", body="Hello,\r\n\tmy order?\n"))
    assert dict(c.personal)["body"] == "Hello,\r\n\tmy order?\n"
    assert ("body", "invalid_value") in problems(
        event("message_received", "s", message_id="m", body="Hello\x00")
    )
