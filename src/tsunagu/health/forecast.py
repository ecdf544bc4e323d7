"""Where a store's Account Health Rating is going, and what hypothetical changes would do to it.

Pure: no database, no clock. Both functions only re-apply :func:`tsunagu.health.rules.rate` to
different days or to edited facts, so a forecast day is exactly the rating that ``rate`` gives for
that day with the same orders and violations.

``fulfilled_dates`` are the local purchase dates of the store's fulfilled (shipped, not cancelled)
orders. An order placed on local day P counts on days P … P+window−1 (180 by default); a violation
counts as :meth:`Violation.open_on` says (until resolved or 180 days after it opened).
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Collection, Sequence
from datetime import date, timedelta

from tsunagu.core.errors import InvalidInput
from tsunagu.core.i18n import N_
from tsunagu.health.rules import AhrConfig, Rating, Violation, rate


@dataclasses.dataclass(frozen=True)
class _WindowCount:
    ordered: list[date]
    window_days: int

    def on(self, day: date) -> int:
        """Orders placed in the ``window_days`` ending ``day`` (both ends included)."""
        first = day - timedelta(days=self.window_days - 1)
        return bisect.bisect_right(self.ordered, day) - bisect.bisect_left(self.ordered, first)


def _counter(fulfilled_dates: Sequence[date], window_days: int) -> _WindowCount:
    return _WindowCount(sorted(fulfilled_dates), window_days)


def forecast(
    *,
    start: date,
    days: int,
    fulfilled_dates: Sequence[date],
    violations: Sequence[Violation],
    config: AhrConfig,
    missed_metrics: Collection[str] = (),
) -> list[tuple[date, Rating]]:
    """The rating on each day ``start``+1 … ``start``+``days`` if nothing new happens: no new
    orders or violations; orders leave the window and violations age out (or stay open).

    ``missed_metrics`` (``metrics`` profile only) are carried unchanged to every day.
    """
    window = _counter(fulfilled_dates, config.window_days)
    result = []
    for n in range(1, max(days, 0) + 1):
        day = start + timedelta(days=n)
        rating = rate(
            on=day,
            fulfilled_orders=window.on(day),
            violations=violations,
            missed_metrics=missed_metrics,
            config=config,
        )
        result.append((day, rating))
    return result


def what_if(
    *,
    day: date,
    fulfilled_dates: Sequence[date],
    violations: Sequence[Violation],
    config: AhrConfig,
    resolve: Collection[str] = (),
    add_orders: int = 0,
    missed_metrics: Collection[str] = (),
) -> tuple[Rating, Rating]:
    """(the rating on ``day``, the rating on ``day`` had the violations named in ``resolve`` been
    resolved that day and ``add_orders`` more fulfilled orders been placed that day)."""
    known = {v.violation_id for v in violations}
    for violation_id in resolve:
        if violation_id not in known:
            raise InvalidInput(
                N_("No violation {violation} in this store"),
                code="unknown_violation",
                violation=violation_id,
                details={"field": "resolve", "value": violation_id},
            )
    if add_orders < 0:
        raise InvalidInput(
            N_("The number of added orders cannot be negative: {count}"),
            code="invalid_add_orders",
            count=add_orders,
            details={"field": "add_orders", "value": add_orders},
        )
    fulfilled = _counter(fulfilled_dates, config.window_days).on(day)
    current = rate(
        on=day,
        fulfilled_orders=fulfilled,
        violations=violations,
        missed_metrics=missed_metrics,
        config=config,
    )
    after = rate(
        on=day,
        fulfilled_orders=fulfilled + add_orders,
        violations=_resolved(violations, resolve, day),
        missed_metrics=missed_metrics,
        config=config,
    )
    return current, after


def what_if_forecast(
    *,
    day: date,
    days: int,
    fulfilled_dates: Sequence[date],
    violations: Sequence[Violation],
    config: AhrConfig,
    resolve: Collection[str] = (),
    add_orders: int = 0,
    missed_metrics: Collection[str] = (),
) -> list[tuple[date, Rating]]:
    """The rating on ``day`` and on each of the ``days`` following days had the changes of
    :func:`what_if` been made on ``day`` and nothing new happened after: its first rating is
    :func:`what_if`'s second. Check ``resolve`` with :func:`what_if` first."""
    return forecast(
        start=day - timedelta(days=1),
        days=days + 1,
        fulfilled_dates=[*fulfilled_dates, *([day] * add_orders)],
        violations=_resolved(violations, resolve, day),
        config=config,
        missed_metrics=missed_metrics,
    )


def _resolved(
    violations: Sequence[Violation], resolve: Collection[str], day: date
) -> list[Violation]:
    """The violations with those named in ``resolve`` resolved on ``day`` (or earlier, if they
    already were)."""
    wanted = set(resolve)
    return [
        dataclasses.replace(
            v,
            resolved_on=day if v.resolved_on is None else min(v.resolved_on, day),
        )
        if v.violation_id in wanted
        else v
        for v in violations
    ]
