"""Which A/B variant converts better, said plainly: a two-proportion z-test (pooled,
two-sided) of conversion, paid gifts per view, between the best variant and each other.

Pure functions, so the staff page and the tests share one rule. A verdict needs
``MIN_VIEWS`` views of every variant and ``MIN_CONVERSIONS`` paid gifts among them all;
before that it is "not enough data yet". Confidence is 1 − p (the chance the difference
is not luck, as newsrooms read it), rounded down; a winner is named from 95%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_VIEWS = 100
MIN_CONVERSIONS = 10
SIGNIFICANT = 0.95


@dataclass(frozen=True)
class Arm:
    """One variant's sample: its label, views and paid gifts."""

    label: str
    views: int
    conversions: int

    @property
    def trials(self) -> int:
        """Views, at least as many as the conversions (views are counted in batches and
        may lag behind gifts, or lose a few seconds in a crash)."""
        return max(self.views, self.conversions)

    @property
    def rate(self) -> float:
        return self.conversions / self.trials if self.trials else 0.0


@dataclass(frozen=True)
class Verdict:
    text: str
    winner: str | None  #: the label of a variant that converts better, significantly
    confidence: float | None  #: the weakest of the best variant's comparisons


def normal_cdf(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def two_proportion_confidence(a: Arm, b: Arm) -> float:
    """1 − the two-sided p-value of a pooled two-proportion z-test of a and b."""
    pooled = (a.conversions + b.conversions) / (a.trials + b.trials)
    variance = pooled * (1 - pooled) * (1 / a.trials + 1 / b.trials)
    if variance == 0:
        return 0.0
    z = abs(a.rate - b.rate) / math.sqrt(variance)
    return 2 * normal_cdf(z) - 1


def percent(confidence: float) -> int:
    """Rounded down, so 94.9% never reads as 95%."""
    return math.floor(confidence * 100 + 1e-9)


def verdict(arms: list[Arm]) -> Verdict:
    """The staff page's sentence on a test of two or more variants."""
    if len(arms) < 2:
        return Verdict("add a second variant to start a test", None, None)
    if min(arm.views for arm in arms) < MIN_VIEWS or (
        sum(arm.conversions for arm in arms) < MIN_CONVERSIONS
    ):
        return Verdict("not enough data yet", None, None)
    best = max(arms, key=lambda arm: arm.rate)
    others = [arm for arm in arms if arm is not best]
    confidence = min(two_proportion_confidence(best, other) for other in others)
    if confidence >= SIGNIFICANT and all(best.rate > other.rate for other in others):
        return Verdict(
            f"{best.label} converts better, {percent(confidence)}% confidence",
            best.label,
            confidence,
        )
    return Verdict(f"no clear winner yet ({percent(confidence)}% confidence)", None, confidence)
