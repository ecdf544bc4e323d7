"""The appeal lifecycle as a table, and the words a reviewer uses for an incomplete plan. Pure.

An appeal answers one deactivation (``enforcement``): the seller drafts a Plan of Action,
submits it, an operator reviews it and decides (ADR 0026; amazon-domain.md §5.3 has no
documented enum, so the statuses are tsunagu's)::

    DRAFT ──submit──▶ SUBMITTED ──review──▶ UNDER_REVIEW ──accept──▶ ACCEPTED
      │                  ▲   │                   ├──reject──▶ REJECTED
      │                  │   │                   └──request_info──▶ INFO_REQUESTED
      │                  └───┼────────────── submit (resubmit) ◀──────┘
      └─ withdraw ──▶ WITHDRAWN ◀── withdraw ── (SUBMITTED, INFO_REQUESTED)
    DRAFT, INFO_REQUESTED ── expire (the deadline passed) ──▶ EXPIRED

Anything not in :data:`TRANSITIONS` is refused with 409 ``sequence_fail`` (SH-01) naming the
status and the action. ACCEPTED, REJECTED, WITHDRAWN and EXPIRED are final.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from tsunagu.appeals.plan import SECTION, Missing, Plan, Section
from tsunagu.core.errors import Conflict, InvalidInput
from tsunagu.core.i18n import N_, current_language, translate
from tsunagu.enforcement.rules import (
    CANCELLATION_RATE,
    LATE_SHIPMENT_RATE,
    LOW_ACCOUNT_HEALTH,
    ORDER_DEFECT_RATE,
    POLICY_VIOLATION,
    RELATED_ACCOUNT,
    VALID_TRACKING_RATE,
    Issue,
)

DRAFT = "DRAFT"
SUBMITTED = "SUBMITTED"
UNDER_REVIEW = "UNDER_REVIEW"
ACCEPTED = "ACCEPTED"
REJECTED = "REJECTED"
INFO_REQUESTED = "INFO_REQUESTED"
WITHDRAWN = "WITHDRAWN"
EXPIRED = "EXPIRED"
STATUSES = (DRAFT, SUBMITTED, UNDER_REVIEW, ACCEPTED, REJECTED, INFO_REQUESTED, WITHDRAWN, EXPIRED)
#: no action leaves these
FINAL = frozenset({ACCEPTED, REJECTED, WITHDRAWN, EXPIRED})
#: the plan and its attachments may change only here
EDITABLE = frozenset({DRAFT, INFO_REQUESTED})
#: the seller has not (re)submitted yet: the deadline runs (ADR 0026)
EXPIRABLE = frozenset({DRAFT, INFO_REQUESTED})

SUBMIT = "submit"
REVIEW = "review"
ACCEPT = "accept"
REJECT = "reject"
REQUEST_INFO = "request_info"
WITHDRAW = "withdraw"
EXPIRE = "expire"
#: not a transition: changing the plan or adding evidence (allowed in :data:`EDITABLE`)
EDIT = "edit"
ACTIONS = (SUBMIT, REVIEW, ACCEPT, REJECT, REQUEST_INFO, WITHDRAW, EXPIRE)

#: SH-01: the only legal transitions, (status, action) → new status
TRANSITIONS: Mapping[tuple[str, str], str] = {
    (DRAFT, SUBMIT): SUBMITTED,
    (INFO_REQUESTED, SUBMIT): SUBMITTED,
    (SUBMITTED, REVIEW): UNDER_REVIEW,
    (UNDER_REVIEW, ACCEPT): ACCEPTED,
    (UNDER_REVIEW, REJECT): REJECTED,
    (UNDER_REVIEW, REQUEST_INFO): INFO_REQUESTED,
    (DRAFT, WITHDRAW): WITHDRAWN,
    (SUBMITTED, WITHDRAW): WITHDRAWN,
    (INFO_REQUESTED, WITHDRAW): WITHDRAWN,
    (DRAFT, EXPIRE): EXPIRED,
    (INFO_REQUESTED, EXPIRE): EXPIRED,
}

#: who may take each action: the seller (write access to the store), an operator, or the job
SELLER_ACTIONS = frozenset({SUBMIT, WITHDRAW, EDIT})
OPERATOR_ACTIONS = frozenset({REVIEW, ACCEPT, REJECT, REQUEST_INFO})
SYSTEM_ACTIONS = frozenset({EXPIRE})
#: a decision's spelling on the command line and in the API → the action
DECISIONS: Mapping[str, str] = {
    "accept": ACCEPT,
    "reject": REJECT,
    "request-info": REQUEST_INFO,
    "request_info": REQUEST_INFO,
}
#: the statuses a decision leads to (SH-02: one decision per review)
DECIDED = frozenset({ACCEPTED, REJECTED, INFO_REQUESTED})


class SequenceFail(Conflict):
    """409 ``sequence_fail`` (SH-01): the action is not a step of :data:`TRANSITIONS` from the
    appeal's status; ``details`` name both."""

    code = "sequence_fail"

    def __init__(self, current: str, action: str) -> None:
        super().__init__(
            N_("An appeal that is {current} cannot be {action}."),
            current=current,
            action=action,
            details={"status": current, "action": action},
        )
        self.current = current
        self.action = action

    def message(self, lang: str | None = None) -> str:
        lang = lang or current_language()
        words = translate(_ACTION_WORDS.get(self.action, self.action), lang)
        return translate(self.template, lang, current=self.current, action=words)


def sequence_fail(status: str, action: str) -> SequenceFail:
    return SequenceFail(status, action)


#: the action as the end of "An appeal that is X cannot be …"
_ACTION_WORDS = {
    SUBMIT: N_("submitted"),
    REVIEW: N_("taken under review"),
    ACCEPT: N_("accepted"),
    REJECT: N_("rejected"),
    REQUEST_INFO: N_("answered with a request for information"),
    WITHDRAW: N_("withdrawn"),
    EXPIRE: N_("expired"),
    EDIT: N_("changed"),
}


def next_status(status: str, action: str) -> str:
    """The status after ``action``, or 409 ``sequence_fail`` when the table has no such step."""
    found = TRANSITIONS.get((status, action))
    if found is None:
        raise sequence_fail(status, action)
    return found


def require_editable(status: str) -> None:
    """The plan and the evidence change only while DRAFT or INFO_REQUESTED."""
    if status not in EDITABLE:
        raise sequence_fail(status, EDIT)


def legal_actions(status: str) -> tuple[str, ...]:
    return tuple(a for a in ACTIONS if (status, a) in TRANSITIONS)


def decision_action(decision: str) -> str:
    """``accept``, ``reject`` or ``request-info`` as an action; 422 ``invalid_decision``."""
    action = DECISIONS.get(decision.strip().lower())
    if action is None:
        raise InvalidInput(
            N_("The decision must be accept, reject or request-info, not {value}."),
            code="invalid_decision",
            value=decision,
            details={"field": "decision", "value": decision},
        )
    return action


def overdue(status: str, deadline: datetime, now: datetime) -> bool:
    """Whether the job expires this appeal: the seller has not (re)submitted by the deadline."""
    return status in EXPIRABLE and now >= deadline


def info_deadline(current: datetime, now: datetime, days: int) -> datetime:
    """The deadline after a request for information: the seller has at least ``days`` days to
    answer, and never less time than the deactivation already gave (ADR 0026)."""
    return max(current, now + timedelta(days=days))


# -- the words of an incomplete plan ------------------------------------------------------------

#: what each issue code is about, for a seller
_ISSUE_WORDS = {
    ORDER_DEFECT_RATE: N_("the order defect rate"),
    LATE_SHIPMENT_RATE: N_("late shipments"),
    CANCELLATION_RATE: N_("cancellations by the seller"),
    VALID_TRACKING_RATE: N_("shipments without valid tracking"),
    POLICY_VIOLATION: N_("policy violations"),
    LOW_ACCOUNT_HEALTH: N_("the low Account Health Rating"),
    RELATED_ACCOUNT: N_("the related account"),
}
#: what a cause is, for a seller (claim reasons, cancellation reasons, defect kinds)
_CAUSE_WORDS = {
    "not_received": N_("orders not received"),
    "not_as_described": N_("items not as described"),
    "damaged": N_("damaged items"),
    "negative_feedback": N_("negative feedback"),
    "feedback": N_("negative feedback"),
    "claim": N_("A-to-z Guarantee claims"),
    "claims": N_("A-to-z Guarantee claims"),
    "chargeback": N_("chargebacks"),
    "chargebacks": N_("chargebacks"),
    "out_of_stock": N_("cancellations for items out of stock"),
    "pricing_error": N_("cancellations for pricing errors"),
    "address_issue": N_("cancellations for address problems"),
    "system": N_("orders cancelled because shipment was not confirmed"),
}
_PART_WORDS = {
    "root_cause": N_("the root cause"),
    "actions": N_("the actions taken"),
    "prevention": N_("the preventive measures"),
}


def _join(items: Sequence[str], lang: str) -> str:
    if lang == "ja":
        return "、".join(items)
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def issue_words(issue: Issue | str, lang: str) -> str:
    """An issue as a reviewer names it: its main causes in words (or what the code is about),
    then the code — "orders not received (ORDER_DEFECT_RATE)"."""
    code = issue if isinstance(issue, str) else issue.code
    causes = {} if isinstance(issue, str) else dict(issue.causes)
    known = [c for c, n in sorted(causes.items(), key=lambda kv: (-kv[1], kv[0])) if n > 0]
    named = [translate(_CAUSE_WORDS[c], lang) for c in known if c in _CAUSE_WORDS]
    if not named:
        named = [translate(_ISSUE_WORDS.get(code, code), lang)]
    return f"{_join(named, lang)} ({code})"


def incomplete_message(
    missing: Sequence[Missing], issues: Sequence[Issue | str], min_chars: int, lang: str
) -> str:
    """What keeps a plan from being submitted, in the seller's language: every issue with no
    section, then per issue the parts that are empty or too short."""
    by_code = {(i if isinstance(i, str) else i.code): i for i in issues}
    unaddressed = [m.issue for m in missing if m.part == SECTION]
    reasons: list[str] = []
    if unaddressed:
        names = [issue_words(by_code.get(code, code), lang) for code in unaddressed]
        reasons.append(
            translate(N_("it does not address {issues}"), lang, issues=_join(names, lang))
        )
    short: dict[str, list[str]] = {}
    for m in missing:
        if m.part != SECTION:
            short.setdefault(m.issue, []).append(translate(_PART_WORDS[m.part], lang))
    for code, parts in short.items():
        reasons.append(
            translate(
                N_("for {issue}, {parts} need at least {min} characters each"),
                lang,
                issue=issue_words(by_code.get(code, code), lang),
                parts=_join(parts, lang),
                min=min_chars,
            )
        )
    sep = "。" if lang == "ja" else "; "
    return translate(N_("Your plan is incomplete: {reasons}."), lang, reasons=sep.join(reasons))


class PlanIncomplete(InvalidInput):
    """422 ``plan_incomplete``: the message names each issue the plan leaves unanswered, in the
    language it is shown in; ``details.missing`` lists ``{issue, part}``."""

    code = "plan_incomplete"

    def __init__(
        self, missing: Sequence[Missing], issues: Sequence[Issue | str], min_chars: int
    ) -> None:
        super().__init__(
            N_("Your plan is incomplete: {reasons}."),
            details={
                "missing": [{"issue": m.issue, "part": m.part} for m in missing],
                "min_part_chars": min_chars,
            },
        )
        self.missing = tuple(missing)
        self.issues = tuple(issues)
        self.min_chars = min_chars

    def message(self, lang: str | None = None) -> str:
        return incomplete_message(
            self.missing, self.issues, self.min_chars, lang or current_language()
        )


# -- a plan file ----------------------------------------------------------------------------------

_TEXT_PARTS = ("root_cause", "actions", "prevention")


def invalid_plan(field: str, expected: str) -> InvalidInput:
    return InvalidInput(
        N_("The plan's {field} must be {expected}."),
        code="invalid_plan",
        field=field,
        expected=expected,
        details={"field": field, "expected": expected},
    )


def parse_plan(document: object) -> Plan:
    """A plan from its JSON shape (``tsunagu appeals set --plan FILE``)::

        {"sections": [{"issue": CODE, "root_cause": …, "actions": …, "prevention": …,
                       "evidence": [paths or attachment ids…]}]}

    422 ``invalid_plan`` naming the first field of the wrong shape; the issue codes and the
    evidence are checked against the appeal later."""
    if not isinstance(document, dict):
        raise invalid_plan("(top level)", "an object with sections")
    sections = document.get("sections")
    if not isinstance(sections, list):
        raise invalid_plan("sections", "a list")
    found: list[Section] = []
    for index, raw in enumerate(sections):
        where = f"sections[{index}]"
        if not isinstance(raw, dict):
            raise invalid_plan(where, "an object")
        issue = raw.get("issue")
        if not isinstance(issue, str) or not issue.strip():
            raise invalid_plan(f"{where}.issue", "an issue code")
        parts: dict[str, str] = {}
        for part in _TEXT_PARTS:
            value = raw.get(part, "")
            if not isinstance(value, str):
                raise invalid_plan(f"{where}.{part}", "text")
            parts[part] = value
        evidence = raw.get("evidence", [])
        if not isinstance(evidence, list) or not all(
            isinstance(e, str) and e.strip() for e in evidence
        ):
            raise invalid_plan(f"{where}.evidence", "a list of file paths")
        found.append(Section(issue=issue.strip(), evidence=tuple(evidence), **parts))
    return Plan(tuple(found))
