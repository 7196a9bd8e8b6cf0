"""A CloudFormation template body as data: JSON, or YAML with the short-form tags (`!Sub`, `!GetAtt`).

Read as CloudFormation reads it (JSON tried first), for post-deploy (a deployed stack's template)
and for the shards (the single template written before a split).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from typing import Any

import yaml

from generator.base.errors import InputError
from generator.base.source import SafeLoader


class _TemplateLoader(SafeLoader):  # type: ignore[misc,valid-type]
    """YAML with CloudFormation's short-form tags (`!Sub`, `!GetAtt`...) read as long form, and
    (as base.source reads them) dates as their text: `Version: 2012-10-17` is that string."""


def _short_form(loader: yaml.Loader, name: str, node: yaml.Node) -> dict[str, Any]:
    """`!Sub x` -> `{"Fn::Sub": x}`; the multi-constructor gives the tag without its `!`."""
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if name == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    key = name if name in ("Ref", "Condition") else f"Fn::{name}"
    return {key: value}


_TemplateLoader.add_multi_constructor("!", _short_form)


def parse(body: str | Mapping[str, Any], where: str) -> dict[str, Any]:
    """A template body as CloudFormation returns it: JSON or YAML text (block or flow style, with
    short-form tags), or already-parsed JSON. JSON is tried first, as CloudFormation does."""
    if isinstance(body, Mapping):
        data: Any = dict(body)
    else:
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as json_error:
            try:
                data = yaml.load(body, _TemplateLoader)
            except (yaml.YAMLError, RecursionError) as yaml_error:
                looks_like_json = body.lstrip().startswith("{")
                problem = f"JSON: {json_error}" if looks_like_json else f"YAML: {_one_line(yaml_error)}"
                raise InputError(where, f"the template is neither JSON nor YAML ({problem})") from None
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        raise InputError(where, "the template has no Resources mapping")
    return data


def scalar_text(value: Any) -> Any:
    """A YAML scalar as the text CloudFormation makes of it where a string goes: it has no dates
    (an unquoted `2012-10-17` is that text), and numbers and booleans are written as in JSON.
    Anything else (a string, null, a mapping, a list) is returned as it is."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.date):  # a datetime too
        return value.isoformat()
    if isinstance(value, int | float):
        return str(value)
    return value


def _one_line(error: yaml.YAMLError) -> str:
    return " ".join(str(error).split())
