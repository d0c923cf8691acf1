import math
from functools import reduce
from operator import add

import numpy as np

from microconv.engine.sums import exact_sum


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


def test_infinities_give_what_a_float_sum_gives():
    assert exact_sum(np.array([math.inf, 1.0])) == math.inf
    assert math.isnan(exact_sum(np.array([math.inf, -math.inf])))
