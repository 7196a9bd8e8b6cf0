"""`repository_policy_file:`: a raw repository policy JSON file, the twin of `lifecycle_policy_file:`.

For a policy that the `access:` model does not express (an adopted repository's, say): the file
is read once however many repositories name it, parsed by the same policy model, and then treated
exactly like an `access:` policy (rendered as RepositoryPolicyText, recorded for post-deploy).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from generator.base import source
from generator.base.errors import InputError, Problem
from generator.base.source import Document, Path_
from generator.model import access

if TYPE_CHECKING:
    from generator.model.config import Settings


class RepositoryPolicyFiles:
    """Resolves each repository's policy: its own `access`/file first, then the defaults'."""

    def __init__(self, doc: Document, base: Path, problems: list[Problem]) -> None:
        self.doc, self.base, self.problems = doc, base, problems
        self.files: dict[str, access.Policy | None] = {}

    def policy_for(self, entry: Settings, defaults: Settings, at: Path_) -> access.Policy | None:
        """The repository policy to manage, or None: the policy is left alone."""
        for settings, where in ((entry, at), (defaults, ("defaults",))):
            if settings.access is not None:
                return access.policy_of(settings.access)
            if settings.repository_policy_file is not None:
                return self._load(settings.repository_policy_file, (*where, "repository_policy_file"))
        return None

    def _load(self, name: str, at: Path_) -> access.Policy | None:
        if name not in self.files:
            self.files[name] = self._read(name, at)
        return self.files[name]

    def _read(self, name: str, at: Path_) -> access.Policy | None:
        try:
            policy_doc = source.load(self.base / name)
        except InputError as exc:
            self.problems.extend(self.doc.problem(at, p.render(exc.source)) for p in exc.problems)
            return None
        try:
            return access.parse(policy_doc.data)
        except access.PolicyError as exc:
            for p in exc.problems:
                where: Path_ = () if p.statement is None else ("Statement", p.statement)
                line = policy_doc.line_of((*where, *p.field.split(".")) if p.field else where)
                self.problems.append(self.doc.problem(at, f"{policy_doc.source}:{line}: {p.describe()}"))
            return None
