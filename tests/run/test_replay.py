"""run.replay: the config's funnel turned into the engine's plan (held values, 4.11)."""
from __future__ import annotations

import pandas as pd

from microconv.engine.hold import MISSING
from microconv.run.replay import held_codes


def test_held_codes_are_one_per_combination_of_value_texts():
    """Rule 4.11.1: values compare as text (3 and 3.0 are one value), and a missing value in any
    held property is missing for the combination."""
    frame = pd.DataFrame({"a": ["x", "y", None, "x", "y", "x"], "b": [1.0, 1.0, 2.0, None, 1.0, 3.0]})
    one = held_codes(frame, ("a",))
    two = held_codes(frame, ("a", "b"))
    assert one[2] == MISSING and len({one[0], one[3], one[5]}) == 1 and one[0] != one[1]
    assert list(two[[2, 3]]) == [MISSING, MISSING]
    assert two[1] == two[4] and len({two[0], two[1], two[5]}) == 3
    assert (held_codes(pd.DataFrame({"n": [3, 3.0, "3"]}).astype(object), ("n",)) == 0).all()
