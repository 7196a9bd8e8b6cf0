"""The base of every model that reads a section of ecr.yaml, and plain words for its errors.

Each section (repositories, registry, notifications, access, ...) is a pydantic model in its own
module beside `config`; all of them are strict, frozen and refuse unknown keys, so a typo is a
located error rather than a silently ignored setting. `plain_message` words pydantic's errors the
way the rest of ecrgen speaks ("must be a whole number, got 'abc'"), so no validation-library
phrasing ("Input should be a valid integer") reaches a user.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict


def placeholder_problem(value: str) -> str | None:
    """Why `value` cannot go into a template as it is: CloudFormation substitutes `${...}` only
    inside Fn::Sub, so elsewhere the text would stay as written (and cfn-lint reports E1029)."""
    if "${" not in value:
        return None
    return (f"{shown(value)} holds '${{': the template carries this text as it is, where CloudFormation "
            "substitutes nothing (cfn-lint: E1029); write it without ${...}")


def _literal_text(value: str) -> str:
    problem = placeholder_problem(value)
    if problem:
        raise ValueError(problem)
    return value


# Text the template carries as it is (a rule's description, a tag): no `${...}` placeholder.
LiteralText = Annotated[str, AfterValidator(_literal_text)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# What each pydantic error type means, in ecr.yaml's terms (YAML has text, numbers, lists, mappings).
_EXPECTED = {
    "string_type": "must be text",
    "int_type": "must be a whole number", "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number", "float_parsing": "must be a number",
    "bool_type": "must be true or false", "bool_parsing": "must be true or false",
    "dict_type": "must be a mapping (key: value)", "mapping_type": "must be a mapping (key: value)",
    "model_type": "must be a mapping (key: value)", "model_attributes_type": "must be a mapping (key: value)",
    "list_type": "must be a list", "tuple_type": "must be a list", "set_type": "must be a list",
    "none_required": "must be empty",
}
# Bounds: the message, filled from the error's context.
_BOUNDS = {
    "greater_than": "must be greater than {gt}", "greater_than_equal": "must be {ge} or more",
    "less_than": "must be less than {lt}", "less_than_equal": "must be {le} or less",
    "multiple_of": "must be a multiple of {multiple_of}",
    "string_pattern_mismatch": "must match the pattern {pattern}",
    "enum": "must be one of {expected}", "literal_error": "must be one of {expected}",
}
SHOWN_CHARACTERS = 60


def plain_message(err: Any, written: str | None = None) -> str:
    """One pydantic error (an item of `ValidationError.errors()`) as 'must be ..., got ...'.

    `missing`, `extra_forbidden` and `value_error` are worded by the caller, who knows the model
    (allowed keys) and wrote the validator's own message. `written` is the value's text in the
    file when YAML read it as a number or true/false (`Document.written`): text is wanted, so the
    message quotes the user and says how to write text.
    """
    kind, ctx, value = err["type"], err.get("ctx", {}), err.get("input")
    if kind == "string_type" and written:
        return f"must be text, got {written} (YAML reads it as {_yaml_kind(value)}: put it in quotes)"
    if kind in _EXPECTED:
        return f"{_EXPECTED[kind]}, got {shown(value)}"
    if kind in _BOUNDS:
        return f"{_BOUNDS[kind].format(**ctx)}, got {shown(value)}"
    if kind in ("too_short", "too_long"):
        count = ctx["min_length"] if kind == "too_short" else ctx["max_length"]
        bound = "at least" if kind == "too_short" else "at most"
        return f"needs {bound} {_items(count)}, got {ctx.get('actual_length', len(value))}"
    if kind in ("string_too_short", "string_too_long"):
        if kind == "string_too_short" and ctx["min_length"] == 1:
            return "must not be empty"
        count = ctx.get("min_length", ctx.get("max_length"))
        bound = "at least" if kind == "string_too_short" else "at most"
        return f"must be {bound} {count} characters long, got {len(value)}"
    message = str(err["msg"])
    return f"{message[:1].lower()}{message[1:]}, got {shown(value)}"


def shown(value: Any) -> str:
    """A value as the user wrote it in YAML, cut short: 'abc', 1.5, true, nothing (empty)."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= SHOWN_CHARACTERS else text[:SHOWN_CHARACTERS - 3] + "..."


def _yaml_kind(value: Any) -> str:
    if isinstance(value, bool):
        return shown(value)
    return "a number" if isinstance(value, int | float) else "nothing"


def _items(count: int) -> str:
    return f"{count} item" + ("" if count == 1 else "s")
