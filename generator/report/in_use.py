"""The report's images in use: how many of a repository's images are in use and which of them
its policy's evaluation expires or archives (*at risk*: the outage ECR's next evaluation causes),
in total, and as JSON.

Pure: takes a repository's images in use (`model.in_use.Resolved`, from `aws.in_use`) and the
evaluation the figures already made; each image at risk is a `reconcile.in_use.Victim`, the
shape post-deploy reports as `atRisk`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from generator.model.in_use import Resolved, Use
from generator.model.lifecycle import Evaluation
from generator.reconcile.in_use import Victim, victims_in


@dataclass(frozen=True)
class InUseFigures:
    """One repository's images in use (or several repositories' together) and those at risk."""

    images: int  # images in use
    at_risk: tuple[Victim, ...] = ()  # in use, and expired or archived at ECR's next evaluation
    unknown: tuple[Use, ...] = ()  # references to no image of the repository (a tag since moved)

    @property
    def expiring(self) -> int:
        return sum(victim.action == "EXPIRE" for victim in self.at_risk)

    @property
    def archiving(self) -> int:
        return len(self.at_risk) - self.expiring


@dataclass(frozen=True)
class InUseSeen:
    """What in-use discovery looked at, for the whole report."""

    sources: str  # in words: `ecs, lambda, pulled within 30 days`
    other_registries: int = 0  # references to other registries' images, ignored


def figures(resolved: Resolved, evaluation: Evaluation | None) -> InUseFigures:
    """The images in use, and those of them that the evaluation (None: no policy to evaluate)
    expires or archives."""
    at_risk = victims_in(evaluation, resolved.users) if evaluation is not None else ()
    return InUseFigures(len(resolved.users), at_risk, resolved.unknown)


def total(found: Iterable[InUseFigures]) -> InUseFigures:
    """Several repositories' images in use and at risk, together."""
    each = list(found)
    return InUseFigures(sum(f.images for f in each), tuple(v for f in each for v in f.at_risk),
                        tuple(u for f in each for u in f.unknown))


def repository_json(found: InUseFigures) -> dict[str, Any]:
    return {"images": found.images, "expiringImages": found.expiring, "archivingImages": found.archiving,
            "atRisk": [victim.to_json() for victim in found.at_risk],
            "unknownReferences": [{"reference": str(use.reference), "user": use.user}
                                  for use in found.unknown]}


def summary_json(seen: InUseSeen, together: InUseFigures, at_risk: Sequence[str]) -> dict[str, Any]:
    """The summary's `inUse`; `at_risk` names the repositories with images at risk."""
    return {"sources": seen.sources, "images": together.images, "expiringImages": together.expiring,
            "archivingImages": together.archiving, "repositoriesAtRisk": list(at_risk),
            "unknownReferences": len(together.unknown), "otherRegistries": seen.other_registries}
