"""``columns.user: {known, anonymous}`` (docs/semantics.md 1.9) next to the plain forms."""
from __future__ import annotations

import pytest

import microconv
from microconv.config.model import Identity

CONVERSIONS = "conversions:\n  v: {event: view}\n"


def load(tmp_path, user: str) -> microconv.Config:
    path = tmp_path / "f.yaml"
    path.write_text(f"columns:\n  user: {user}\n{CONVERSIONS}")
    return microconv.load_config(path)


@pytest.mark.parametrize("user, known, anonymous", [
    ("user_id", ["user_id"], []),
    ("[user_id, userId]", ["user_id", "userId"], []),
    ("{known: user_id, anonymous: anonymous_id}", ["user_id"], ["anonymous_id"]),
    ("{known: [user_id, userId], anonymous: [anonymous_id, device_id]}", ["user_id", "userId"],
     ["anonymous_id", "device_id"]),
])
def test_the_forms_of_columns_user(tmp_path, user, known, anonymous):
    columns = load(tmp_path, user).columns
    assert (columns.known_user, columns.anonymous_user) == (known, anonymous)
    assert isinstance(columns.user, Identity) == bool(anonymous)


def test_plain_forms_stay_lists():
    default = microconv.parse_config({"conversions": {"v": {"event": "view"}}}).columns
    assert default.user == ["user_id", "userId", "client_id", "clientId", "distinct_id", "anonymous_id"]
    assert default.anonymous_user == []


@pytest.mark.parametrize("user, message", [
    ("{known: user_id}", "missing required key 'anonymous'"),
    ("{anonymous: a}", "missing required key 'known'"),
    ("{known: user_id, anonymous: a, extra: 1}", "unknown key 'extra'"),
    ("{known: [], anonymous: a}", "at least 1 item"),
    ("[]", "at least 1 item"),
    ("3", "Input should be a valid list, got 3"),
])
def test_a_wrong_user_form_is_one_problem_at_its_place(tmp_path, user, message):
    with pytest.raises(microconv.ConfigError) as err:
        load(tmp_path, user)
    problems = err.value.problems
    assert len(problems) == 1, problems
    assert message in problems[0].message
    assert problems[0].where.endswith("f.yaml:2:3")
