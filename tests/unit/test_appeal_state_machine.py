"""API-08 / SH-01: the appeal lifecycle as a hypothesis state machine.

A reviewer-side model is kept beside the table of :mod:`tsunagu.appeals.rules`, written from
issue 14 rather than from the table: who may act when, what a decision is, what is final. Every
step tries any action (legal or not) and checks that the rules accept exactly the ones the
model allows, and the invariants hold after every step: the status is one of the table's, at
most one final decision (ACCEPTED or REJECTED) is ever made, a final status never changes, and
every decision follows a review of a submission. 200 examples of up to 50 steps.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tsunagu.appeals import rules
from tsunagu.appeals.rules import (
    ACCEPTED,
    DRAFT,
    EXPIRED,
    INFO_REQUESTED,
    REJECTED,
    SUBMITTED,
    UNDER_REVIEW,
    WITHDRAWN,
)

ANY_ACTION = st.sampled_from([*rules.ACTIONS, rules.EDIT])


def model_allows(status: str, action: str) -> bool:
    """Issue 14 item 5 and ADR 0026 in words: the seller submits a draft or answers a request
    for information; a reviewer takes a submission and then decides; the seller may withdraw
    until a reviewer has it; the deadline ends what the seller still holds."""
    seller_holds = status in (DRAFT, INFO_REQUESTED)
    if action == rules.SUBMIT:
        return seller_holds
    if action == rules.EDIT:
        return seller_holds
    if action == rules.REVIEW:
        return status == SUBMITTED
    if action in (rules.ACCEPT, rules.REJECT, rules.REQUEST_INFO):
        return status == UNDER_REVIEW
    if action == rules.WITHDRAW:
        return status in (DRAFT, SUBMITTED, INFO_REQUESTED)
    if action == rules.EXPIRE:
        return seller_holds
    return False


class AppealLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.status = DRAFT
        self.history: list[tuple[str, str, str]] = []
        self.refused = 0

    @rule(action=ANY_ACTION)
    def act(self, action: str) -> None:
        allowed = model_allows(self.status, action)
        error: rules.SequenceFail | None = None
        after = self.status
        try:
            if action == rules.EDIT:
                rules.require_editable(self.status)
            else:
                after = rules.next_status(self.status, action)
        except rules.SequenceFail as refused:
            error = refused
        if error is not None:
            assert not allowed, f"{action} refused from {self.status}"
            assert (error.status, error.code) == (409, "sequence_fail")
            assert error.details == {"status": self.status, "action": action}
            self.refused += 1
            return
        assert allowed, f"{action} accepted from {self.status}"
        if action == rules.EDIT:
            return
        self.history.append((self.status, action, after))
        self.status = after

    @rule()
    def resubmit_after_a_request_for_information(self) -> None:
        """A plausible path through the happy loop, so deep states are reached often."""
        for action in (rules.SUBMIT, rules.REVIEW, rules.REQUEST_INFO):
            if (self.status, action) in rules.TRANSITIONS:
                self.act(action)

    @invariant()
    def status_is_in_the_table(self) -> None:
        assert self.status in rules.STATUSES

    @invariant()
    def at_most_one_final_decision(self) -> None:
        finals = [h for h in self.history if h[2] in (ACCEPTED, REJECTED)]
        assert len(finals) <= 1

    @invariant()
    def nothing_follows_a_final_status(self) -> None:
        for index, (before, _action, _after) in enumerate(self.history):
            assert before not in rules.FINAL, self.history[: index + 1]
        if self.status in (ACCEPTED, REJECTED, WITHDRAWN, EXPIRED):
            assert rules.legal_actions(self.status) == ()

    @invariant()
    def every_decision_follows_a_review_of_a_submission(self) -> None:
        for index, (before, _action, after) in enumerate(self.history):
            if after in rules.DECIDED:
                assert before == UNDER_REVIEW
                assert self.history[index - 1][2] == UNDER_REVIEW
                assert self.history[index - 1][0] == SUBMITTED


AppealLifecycle.TestCase.settings = settings(
    max_examples=200, stateful_step_count=50, deadline=None
)
TestAppealLifecycle = AppealLifecycle.TestCase
