"""Who the demo sellers are, how each one behaves, and what their buyers and carriers look like.

:mod:`tsunagu.demo.generate` is mechanical; everything that makes one demo seller look different
from another lives here, so every knob of a profile can be read (and tuned) in one place.

Order split (``orders`` = the requested total; the realised total equals it unless a floor
kicks in):

* ``trademark_jp`` — ``min(150, max(20, orders // 10))``: always far below the 200 fulfilled
  orders that earn the first AHR volume credit, so its score shows the bare violation deduction.
* ``cancels_us`` — ``max(80, orders // 10)``: enough orders that a seven-day cancel rate and a
  handful of lost parcels are visible.
* ``extra`` sellers — 5 % of ``orders`` each, all of them together at most 60 %, and at least 40
  orders each; an extra seller in two marketplaces splits its orders between them.
* ``healthy`` — everything left (at least 200), split evenly between JP and US.
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

TRADEMARK_JP = "trademark_jp"
CANCELS_US = "cancels_us"
HEALTHY = "healthy"
EXTRA = "extra"

#: Reasons a demo seller gives when it cancels an order itself.
STOCK_OUT = ("out_of_stock",)


@dataclass(frozen=True)
class Traits:
    """Per-order rates for one seller.

    The defect rates (the first group) are applied as evenly spaced quotas, not coin flips, so a
    small seller's seven-day window is not wrecked by one unlucky streak and each profile shows
    the metric it was designed to show. The everyday rates (second group) are plain coin flips.
    """

    late_ship: float = 0.0
    unscanned: float = 0.0
    late_delivery: float = 0.0
    seller_cancel: float = 0.0
    system_cancel: float = 0.0
    negative_feedback: float = 0.0
    claim: float = 0.0
    chargeback: float = 0.0
    late_answer: float = 0.0
    survey_unsatisfied: float = 0.0
    return_negative: float = 0.0
    missing_invoice: float = 0.0

    afn_share: float = 0.3
    expedited_share: float = 0.12
    business_share: float = 0.04
    points_share: float = 0.3
    buyer_cancel: float = 0.01
    feedback: float = 0.1
    message: float = 0.06
    no_response_needed: float = 0.08
    survey: float = 0.3
    returns: float = 0.02
    #: Share of removals among 1-star ratings (Amazon strikes some through on request).
    feedback_removal: float = 0.25

    seller_cancel_reasons: tuple[str, ...] = STOCK_OUT
    claim_reasons: tuple[str, ...] = ("not_as_described", "damaged", "not_received", "other")
    claim_outcomes: tuple[str, ...] = ("denied", "withdrawn", "granted_amazon_funded")
    #: cancels_us only: parcels shipped with tracking that never get a scan, each with an A-to-z
    #: "not received" claim. ``None`` means "none"; a number is a floor (scaled up with volume).
    lost_parcels: int | None = None


#: The metric-bearing rates of :class:`Traits`; each becomes an evenly spaced quota.
DEFECTS = (
    "late_ship",
    "unscanned",
    "late_delivery",
    "seller_cancel",
    "system_cancel",
    "negative_feedback",
    "claim",
    "chargeback",
    "late_answer",
    "survey_unsatisfied",
    "return_negative",
    "missing_invoice",
)
CATALOGUE_SIZES = {TRADEMARK_JP: 12, CANCELS_US: 25, HEALTHY: 60, EXTRA: 20}


class Quota:
    """Turns a rate into evenly spaced hits, starting at a random phase.

    Coin flips at 0.4 % would sometimes put three late shipments in one ten-day window of a
    healthy seller; a quota keeps every window close to the intended rate.
    """

    __slots__ = ("level", "rate")

    def __init__(self, rate: float, rng: random.Random) -> None:
        self.rate = rate
        self.level = rng.random()

    def hit(self) -> bool:
        self.level += self.rate
        if self.level >= 1.0:
            self.level -= 1.0
            return True
        return False


@dataclass(frozen=True)
class ViolationPlan:
    """A policy violation to open ``opened_days_ago`` days before the end of the data."""

    policy: str
    severity: str
    opened_days_ago: int
    resolved_after_days: int | None = None
    how: str = "listing_corrected"


@dataclass(frozen=True)
class SellerPlan:
    """Everything the generator needs to play one seller."""

    index: int
    profile: str
    name: str
    description: str
    orders: tuple[tuple[str, int], ...]  # (marketplace, order count), in marketplace order
    traits: Traits
    violations: tuple[ViolationPlan, ...] = ()

    @property
    def marketplaces(self) -> tuple[str, ...]:
        return tuple(mk for mk, _ in self.orders)


# A seller with nothing wrong at all: used as is by trademark_jp (its only problem is the
# violation) and as the base that the other profiles add problems to.
CLEAN = Traits(afn_share=0.15, points_share=0.2, returns=0.01, message=0.05, survey=0.25)

HEALTHY_TRAITS = Traits(
    late_ship=0.004,
    unscanned=0.003,
    late_delivery=0.012,
    negative_feedback=0.0015,
    claim=0.001,
    chargeback=0.0003,
    late_answer=0.02,
    survey_unsatisfied=0.04,
    afn_share=0.35,
    claim_outcomes=("denied", "withdrawn", "granted_amazon_funded", "seller_refunded"),
)

CANCELS_TRAITS = Traits(
    late_ship=0.03,
    unscanned=0.005,
    late_delivery=0.04,
    seller_cancel=0.09,
    system_cancel=0.004,
    negative_feedback=0.006,
    claim=0.003,
    late_answer=0.06,
    survey_unsatisfied=0.12,
    return_negative=0.05,
    missing_invoice=0.05,
    afn_share=0.08,
    message=0.08,
    claim_outcomes=("denied", "granted_seller_funded", "seller_refunded", "withdrawn"),
    lost_parcels=6,
)

#: Small problems an extra seller may have: (label for the description, the trait it raises).
EXTRA_PROBLEMS: tuple[tuple[str, dict[str, float]], ...] = (
    ("some late shipments", {"late_ship": 0.03}),
    ("slow replies to buyers", {"late_answer": 0.14}),
    ("parcels without a carrier scan", {"unscanned": 0.03}),
    ("late deliveries", {"late_delivery": 0.06}),
    ("missing business invoices", {"missing_invoice": 0.12}),
    ("unhappy returns", {"return_negative": 0.12}),
    ("occasional negative feedback", {"negative_feedback": 0.007}),
    ("occasional stock-outs", {"seller_cancel": 0.015}),
)

EXTRA_POLICIES = (
    "listingPolicyViolations",
    "productConditionCustomerComplaints",
    "productAuthenticityCustomerComplaints",
    "restrictedProductPolicyViolations",
    "otherPolicyViolations",
)

_FIRST = ("Blue", "Maple", "Harbor", "Kaze", "Sora", "Cedar", "Tsuki", "North", "Yuki", "Lantern")
_SECOND = ("Goods", "Supply", "Trading", "Works", "Market", "Select", "Store", "Crafts")


def order_split(total: int, sellers: int) -> tuple[int, int, int, list[int]]:
    """Orders for (trademark_jp, cancels_us, healthy, [each extra]); see the module docstring."""
    extras = sellers - 3
    trademark = min(150, max(20, total // 10))
    cancels = max(80, total // 10)
    extra_pool = int(total * min(0.6, 0.05 * extras))
    extra_each = [max(40, extra_pool // extras)] * extras if extras else []
    healthy = max(200, total - trademark - cancels - sum(extra_each))
    return trademark, cancels, healthy, extra_each


def plan_sellers(rng: random.Random, total: int, sellers: int) -> list[SellerPlan]:
    """The three required profiles first, then ``sellers - 3`` extras drawn from ``rng``."""
    trademark, cancels, healthy, extra_each = order_split(total, sellers)
    plans = [
        SellerPlan(
            index=1,
            profile=TRADEMARK_JP,
            name="Hanamizuki Zakka",
            description=(
                "Small Japan seller whose only issue is one open low-severity trademark "
                "complaint, with fewer than 200 fulfilled orders in 180 days."
            ),
            orders=(("JP", trademark),),
            traits=CLEAN,
            violations=(
                ViolationPlan("receivedIntellectualPropertyComplaints", "low", rng.randint(20, 80)),
            ),
        ),
        SellerPlan(
            index=2,
            profile=CANCELS_US,
            name="Pinecrest Outfitters",
            description=(
                "US seller that often cancels orders for lack of stock and has several lost "
                "parcels with not-received A-to-z claims."
            ),
            orders=(("US", cancels),),
            traits=CANCELS_TRAITS,
        ),
        SellerPlan(
            index=3,
            profile=HEALTHY,
            name="Kumo & Co.",
            description=(
                "Established seller with thousands of orders in Japan and the US and every "
                "metric well inside its target."
            ),
            orders=(("JP", healthy - healthy // 2), ("US", healthy // 2)),
            traits=HEALTHY_TRAITS,
            violations=(
                ViolationPlan("listingPolicyViolations", "low", 160, resolved_after_days=6),
            ),
        ),
    ]
    for offset, count in enumerate(extra_each):
        plans.append(_extra_seller(rng, 4 + offset, count))
    return plans


def _extra_seller(rng: random.Random, index: int, count: int) -> SellerPlan:
    markets = rng.choice((("JP",), ("US",), ("JP", "US")))
    problems = rng.sample(EXTRA_PROBLEMS, k=rng.randint(1, 3))
    changes: dict[str, Any] = {}
    for _, raised in problems:
        changes.update(raised)
    traits = replace(HEALTHY_TRAITS, afn_share=rng.uniform(0.1, 0.5), **changes)
    violations: tuple[ViolationPlan, ...] = ()
    labels = [label for label, _ in problems]
    if rng.random() < 0.4:
        opened = rng.randint(10, 170)
        resolved = rng.choice((None, rng.randint(3, min(20, opened - 2))))  # never in the future
        policy, severity = rng.choice(EXTRA_POLICIES), rng.choice(("low", "low", "medium"))
        violations = (ViolationPlan(policy, severity, opened, resolved_after_days=resolved),)
        labels.append("a resolved policy violation" if resolved else "an open policy violation")
    share = count // len(markets)
    orders = tuple(
        (mk, share + (count - share * len(markets) if i == 0 else 0))
        for i, mk in enumerate(markets)
    )
    name = f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {index:02d}"
    where = " and ".join("Japan" if mk == "JP" else "the US" for mk in markets)
    description = f"Mid-sized seller in {where} with {_join(labels)}."
    return SellerPlan(index, EXTRA, name, description, orders, traits, violations)


def _join(labels: list[str]) -> str:
    if len(labels) == 1:
        return labels[0]
    return ", ".join(labels[:-1]) + " and " + labels[-1]


# -- marketplaces, buyers, catalogue and carriers -------------------------------------------------

ZONES = {"JP": ZoneInfo("Asia/Tokyo"), "US": ZoneInfo("America/Los_Angeles")}
CURRENCIES = {"JP": "JPY", "US": "USD"}
ORDER_PREFIXES = {"JP": ("503", "249", "250"), "US": ("111", "112", "113", "114")}
#: Buyers shop in the evening far more than at night (local clock, hour 0 to 23).
HOUR_WEIGHTS = (3, 2, 1, 1, 1, 1, 2, 4, 6, 8, 9, 10, 12, 10, 9, 9, 10, 11, 12, 14, 16, 17, 14, 8)


def day_weight(day: date, mk: str, progress: float) -> float:
    """Weekends, paydays (JP the 25th, US the 1st and 15th), the year-end season, and growth.

    ``progress`` runs from 0 at the start of the data to 1 at the end; a gently growing seller
    makes the recent windows slightly busier than old ones, as for most real shops.
    """
    weight = 1.35 if day.weekday() >= 5 else 1.0
    if (mk == "JP" and day.day in (25, 26)) or (mk == "US" and day.day in (1, 15)):
        weight *= 1.3
    if (day.month == 11 and day.day >= 20) or (day.month == 12 and day.day <= 24):
        weight *= 1.4
    return weight * (0.85 + 0.3 * progress)


#: (category, SKU stem, JPY price points, USD price points in cents) — unit prices.
CATEGORIES: tuple[tuple[str, str, tuple[int, ...], tuple[int, ...]], ...] = (
    ("home_kitchen", "HK", (980, 1480, 1980, 2480, 3280, 4980), (1299, 1899, 2499, 3499, 4599)),
    ("beauty", "BT", (780, 1280, 1650, 2200, 3300), (899, 1499, 1999, 2899)),
    ("toys", "TY", (1280, 1980, 2980, 4380, 6980), (1499, 2499, 3499, 5999)),
    ("stationery", "ST", (330, 550, 880, 1200, 1650), (499, 799, 1199, 1599)),
    ("grocery", "GR", (420, 648, 980, 1580), (599, 999, 1499)),
    ("books", "BK", (990, 1540, 2200, 3080), (1299, 1799, 2499)),
    ("electronics_accessories", "EA", (1180, 1980, 2980, 5480), (1399, 1999, 2999, 4999)),
)


@dataclass(frozen=True)
class Product:
    sku: str
    category: str
    price: dict[str, int]  # unit price per marketplace, minor units


def catalogue(rng: random.Random, size: int) -> list[Product]:
    """A seller's products, most popular first; one SKU sells in every marketplace it serves."""
    products = []
    for number in range(size):
        category, stem, jpy, usd = rng.choice(CATEGORIES)
        sku = f"{stem}-{1000 + number * 7 + rng.randrange(7)}"
        products.append(Product(sku, category, {"JP": rng.choice(jpy), "US": rng.choice(usd)}))
    return products


def basket(
    rng: random.Random, mk: str, products: Sequence[Product], popularity: list[float]
) -> tuple[list[dict[str, object]], list[tuple[str, int]]]:
    """An order's items (event form) and its (sku, line price) pairs for later refunds.

    Most orders hold one line of one unit; popular products sell far more than the tail. US
    lines carry the sales tax Amazon collects, JP prices already include consumption tax.
    """
    wanted = rng.choices((1, 2, 3), weights=(88, 9, 3))[0]
    picked: list[Product] = []
    while len(picked) < wanted:
        product = rng.choices(products, cum_weights=popularity)[0]
        if product not in picked:
            picked.append(product)
    tax_bp = rng.choice(US_TAX_BP)
    items: list[dict[str, object]] = []
    lines: list[tuple[str, int]] = []
    for product in picked:
        quantity = rng.choices((1, 2, 3), weights=(85, 12, 3))[0]
        price = product.price[mk] * quantity
        item: dict[str, object] = {"sku": product.sku, "quantity": quantity, "price": price}
        if mk == "US":
            item["tax"] = (price * tax_bp + 5000) // 10000
        items.append(item | {"category": product.category})
        lines.append((product.sku, price))
    return items, lines


#: carrier -> (relative share, services, tracking-number style)
CARRIERS: dict[str, tuple[tuple[str, int, tuple[str, ...], str], ...]] = {
    "JP": (
        ("Yamato Transport", 5, ("TA-Q-BIN", "Nekopos"), "digits12"),
        ("Japan Post", 3, ("Yu-Pack", "Click Post"), "digits12"),
        ("Sagawa Express", 2, ("Hikyaku Express",), "digits12"),
    ),
    "US": (
        ("UPS", 4, ("Ground", "2nd Day Air"), "ups"),
        ("USPS", 4, ("Ground Advantage", "Priority Mail"), "usps"),
        ("FedEx", 2, ("Home Delivery", "2Day"), "digits12"),
    ),
}

#: Neutral message subjects by language; message bodies are never generated (personal data).
SUBJECTS = {
    "ja": (
        "配送状況について",
        "商品についての質問",
        "領収書の発行について",
        "注文内容の変更について",
        "返品について",
    ),
    "en": (
        "Where is my order?",
        "Question about this item",
        "Request for an invoice",
        "Change to my order",
        "Question about a return",
    ),
}

#: US sales-tax rates in basis points, roughly the spread of state plus local rates.
US_TAX_BP = (600, 625, 725, 800, 825, 875, 950, 1025)


def tracking_number(rng: random.Random, style: str) -> str:
    """Carrier-shaped numbers, so an import preview looks like the real thing."""
    if style == "ups":
        return "1Z" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=16))
    if style == "usps":
        return "9400" + "".join(rng.choices(string.digits, k=18))
    return "".join(rng.choices(string.digits, k=12))


def asin(rng: random.Random) -> str:
    return "B0" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=8))
