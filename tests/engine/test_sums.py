import math
from functools import reduce
from operator import add

import numpy as np
import pytest

from microconv.engine.sums import MAX_AMOUNT, amounts, exact_sum


def test_the_sum_is_correctly_rounded_whatever_the_order():
    tenths = np.full(10, 0.1)
    assert reduce(add, tenths.tolist()) == 0.9999999999999999   # left to right: one unit in the last place off
    assert exact_sum(tenths) == 1.0
    big = np.array([1e16, 1.0, -1e16, 1.0])                    # 1e16 + 1 rounds back to 1e16
    assert exact_sum(big) == exact_sum(big[::-1]) == exact_sum(np.sort(big)) == 2.0


def test_missing_values_are_skipped_and_an_empty_sum_is_zero():
    assert exact_sum(np.array([19.99, np.nan, 5.01])) == 25.0
    assert exact_sum(np.array([])) == 0.0
    assert exact_sum(np.array([np.nan])) == 0.0


def test_infinite_values_are_not_amounts_and_are_skipped():
    assert exact_sum(np.array([math.inf, 1.0])) == 1.0
    assert exact_sum(np.array([math.inf, -math.inf, 2.5])) == 2.5


def test_finite_values_never_sum_to_infinity():
    # the probe: 1e308 + 1e308 overflowed (math.fsum raises, a float sum gives inf); both are beyond
    # MAX_AMOUNT, so neither is an amount
    assert exact_sum(np.array([1e308, 1e308, 7.0])) == 7.0
    assert exact_sum(np.array([-1e308, 1e300, 3.0])) == 3.0
    # at the bound they are amounts, and even 10^4 of them sum without overflow
    assert exact_sum(np.full(10_000, MAX_AMOUNT)) == pytest.approx(1e294)


def test_amounts_mark_the_invalid_values_and_leave_missing_ones_alone():
    values, invalid = amounts(np.array([1.5, np.nan, math.inf, -2e300, -MAX_AMOUNT]))
    assert invalid.tolist() == [False, False, True, True, False]
    assert np.isnan(values).tolist() == [False, True, True, True, False]
    assert values[0] == 1.5 and values[4] == -MAX_AMOUNT
