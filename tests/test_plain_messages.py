"""Every validation error reaches the user in ecrgen's words, never pydantic's ("Input should be ...")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, ValidationError

from generator.base.errors import InputError
from generator.model import config
from generator.model.schema import Strict, plain_message

# Phrases that only pydantic writes; a message containing one was passed through untranslated.
LIBRARY_WORDING = re.compile(r"input should|should have|after validation|instance of|valid (string|integer|"
                             r"boolean|dictionary|list)|\blist\[|\bdict\[", re.IGNORECASE)

REPO = "system_name: x\nrepositories: [{name: a, %s}]\n"
RULE = REPO % "lifecycle: [{tag_status: any, %s}]"
# (ecr.yaml, the message expected for the field), one per error type a user can reach.
CASES = {
    "too_short": ("system_name: x\nrepositories: []\n", "repositories: needs at least 1 item, got 0"),
    "string_type": ("system_name: 5\nrepositories: [{name: a}]\n", "system_name: must be text, got 5"),
    "string_type empty": ("system_name:\nrepositories: [{name: a}]\n", "system_name: must be text, got nothing"),
    "int_type": (RULE % "keep_last: abc", "keep_last: must be a whole number, got 'abc'"),
    "int_from_float": (RULE % "keep_last: 1.5", "keep_last: must be a whole number, got 1.5"),
    "bool_type": (REPO % "scan_on_push: yes please", "scan_on_push: must be true or false, got 'yes please'"),
    "bool from int": (REPO % "scan_on_push: 1", "scan_on_push: must be true or false, got 1"),
    "dict_type": (REPO % "tags: [a]", "repositories[0].tags: must be a mapping (key: value), got ['a']"),
    "model_type": (REPO % "encryption: AES256", "encryption: must be a mapping (key: value), got 'AES256'"),
    "model_type entry": ("system_name: x\nrepositories: [a]\n",
                         "repositories[0]: must be a mapping (key: value), got 'a'"),
    "list_type": ("system_name: x\nrepositories: {name: a}\n", "repositories: must be a list, got {'name': 'a'}"),
    "list_type exclusions": (REPO % "mutability_exclusions: latest",
                             "mutability_exclusions: must be a list, got 'latest'"),
    "greater_than": (RULE % "keep_last: 0", "keep_last: must be greater than 0, got 0"),
    "string_too_short": ("system_name: x\nrepositories: [{name: ''}]\n", "repositories[0].name: must not be empty"),
    "tag value": (REPO % "tags: {a: 1}", "repositories[0].tags.a: must be text, got 1"),
    "literal_error": (REPO % "image_tag_mutability: 3", "must be one of 'MUTABLE'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_config_errors_are_in_plain_words(tmp_path: Path, case: str) -> None:
    text, expected = CASES[case]
    path = tmp_path / "ecr.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        config.load(path)
    message = caught.value.render()
    assert expected in message
    assert message.startswith(f"{path}:")
    assert not LIBRARY_WORDING.search(message), message


class _Every(Strict):
    """A field of each kind a section model may declare, to reach the rarer error types."""

    number: float = 0.0
    ratio: float = Field(0.5, ge=0, le=1)
    below: int = Field(0, lt=10)
    step: int = Field(0, multiple_of=5)
    code: str = Field("a", pattern=r"^[a-z]+$", max_length=3)
    items: list[int] = Field(default_factory=list, max_length=2)
    pair: tuple[int, int] = (0, 0)


@pytest.mark.parametrize(("data", "expected"), [
    ({"number": "x"}, "must be a number, got 'x'"),
    ({"ratio": 2.0}, "must be 1.0 or less, got 2.0"),
    ({"ratio": -1.0}, "must be 0.0 or more, got -1.0"),
    ({"below": 10}, "must be less than 10, got 10"),
    ({"step": 3}, "must be a multiple of 5, got 3"),
    ({"code": "ABC"}, "must match the pattern ^[a-z]+$, got 'ABC'"),
    ({"code": "abcd"}, "must be at most 3 characters long, got 4"),
    ({"items": [1, 2, 3]}, "needs at most 2 items, got 3"),
    ({"pair": "ab"}, "must be a list, got 'ab'"),
])
def test_rarer_error_types_are_worded_too(data: dict, expected: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _Every.model_validate(data)
    assert [plain_message(err) for err in caught.value.errors()] == [expected]


class _Loose(BaseModel):
    """Every scalar and container type, to throw arbitrary YAML-like values at."""

    text: str
    whole: int
    flag: bool
    mapping: dict[str, str]
    listing: list[str]
    sub: _Every


yaml_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                           max_leaves=5)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["text", "whole", "flag", "mapping", "listing", "sub"]), yaml_values))
def test_no_value_of_any_type_gets_library_wording(data: dict) -> None:
    try:
        _Loose.model_validate(data, strict=True)
    except ValidationError as exc:
        for err in exc.errors():
            if err["type"] not in ("missing", "extra_forbidden", "value_error"):  # worded by config
                assert not LIBRARY_WORDING.search(plain_message(err)), err
