"""The base of every model that reads a section of ecr.yaml.

Each section (repositories, registry, notifications, access, ...) is a pydantic model in its own
module beside `config`; all of them are strict, frozen and refuse unknown keys, so a typo is a
located error rather than a silently ignored setting.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
