"""The A/B verdict: a pooled two-proportion z-test of conversion, checked against values
worked by hand, and the sentence staff read."""

from __future__ import annotations

import math

import pytest

from donations.campaigns.stats import Arm, percent, two_proportion_confidence, verdict


def arms(*samples: tuple[int, int]) -> list[Arm]:
    return [Arm(label, views, paid) for label, (views, paid) in zip("ABC", samples, strict=False)]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # p = 210/2000 = .105; se = √(.105·.895·(2/1000)) = .013710; z = .03/.013710 = 2.1882
        ((1000, 90), (1000, 120), 0.97135),
        # p = .225; se = √(.225·.775·.002) = .018675; z = .05/.018675 = 2.6774
        ((1000, 200), (1000, 250), 0.99258),
        # p = .105; z = .01/.013710 = .7294
        ((1000, 100), (1000, 110), 0.53426),
        # p = 72/1300 = .055385; se = √(.055385·.944615·(1/500 + 1/800)) = .013040; z = 1.9172
        ((500, 20), (800, 52), 0.94479),
    ],
)
def test_confidence_matches_the_z_test_worked_by_hand(a, b, expected):
    first, second = arms(a, b)
    assert two_proportion_confidence(first, second) == pytest.approx(expected, abs=5e-5)
    assert two_proportion_confidence(second, first) == pytest.approx(expected, abs=5e-5)


def test_a_significant_difference_names_the_better_variant():
    result = verdict(arms((1000, 90), (1000, 120)))
    assert result.text == "B converts better, 97% confidence"
    assert result.winner == "B"


def test_a_difference_that_may_be_luck_names_no_winner():
    result = verdict(arms((1000, 100), (1000, 110)))
    assert result.text == "no clear winner yet (53% confidence)"
    assert result.winner is None


def test_confidence_is_rounded_down_so_just_under_95_is_no_winner():
    result = verdict(arms((500, 20), (800, 52)))
    assert result.text == "no clear winner yet (94% confidence)"
    assert percent(0.9999) == 99
    assert percent(0.95) == 95


@pytest.mark.parametrize(
    "samples",
    [
        ((99, 30), (1000, 120)),  # one variant has fewer than 100 views
        ((100, 4), (100, 5)),  # fewer than 10 paid gifts in all
        ((0, 0), (0, 0)),
    ],
)
def test_small_samples_are_not_enough_data_yet(samples):
    result = verdict(arms(*samples))
    assert (result.text, result.winner, result.confidence) == ("not enough data yet", None, None)


def test_with_three_variants_the_best_must_beat_each_other_one():
    beats_both = verdict(arms((1000, 90), (1000, 150), (1000, 95)))
    assert beats_both.text.startswith("B converts better")
    close_second = verdict(arms((1000, 90), (1000, 150), (1000, 140)))
    assert close_second.winner is None
    assert close_second.confidence == pytest.approx(
        two_proportion_confidence(Arm("B", 1000, 150), Arm("C", 1000, 140))
    )


def test_a_single_variant_is_no_test():
    assert verdict(arms((5000, 400))).text == "add a second variant to start a test"


def test_views_lagging_behind_gifts_count_as_many_views_as_gifts():
    lagging = Arm("A", 100, 130)
    assert (lagging.trials, lagging.rate) == (130, 1.0)
    assert not math.isnan(two_proportion_confidence(lagging, Arm("B", 130, 130)))
    assert verdict([lagging, Arm("B", 130, 130)]).winner is None
