"""``CardEvent.parse`` builds the event without the frozen ``__init__`` (issue 18's hot path):
what it makes must be what ``CardEvent(**values)`` makes, and as frozen."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bff.domain.events.parse import _TEXT, CardEvent, event_values

NAMES = [*_TEXT.values(), "CreateTime", "IsGiveByFriend", "IsReturnBack", "ModifyBonus",
         "ModifyBalance", "Other"]
VALUES = st.sampled_from(["", "0", "1", "-12", "12a", "²", " 7 ", "user_get_card", "o-1"])


def by_init(fields: dict[str, str]) -> CardEvent:
    return CardEvent(**event_values(fields))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(NAMES), VALUES))
def test_parse_makes_what_init_makes(fields):
    parsed, made = CardEvent.parse(fields), by_init(fields)
    assert parsed == made and hash(parsed) == hash(made)
    assert dataclasses.asdict(parsed) == dataclasses.asdict(made)
    assert vars(parsed) == vars(made) and parsed.fields is fields
    assert repr(parsed) == repr(made)


def test_a_parsed_event_is_frozen():
    event = CardEvent.parse({"Event": "user_get_card", "UserCardCode": "1"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.code = "2"  # type: ignore[misc]
    assert dataclasses.replace(event, code="2").code == "2"
