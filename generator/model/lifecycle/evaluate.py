"""Which images a lifecycle policy expires or archives: ECR's evaluation, offline and exact.

The semantics are those of the ECR user guide ("How lifecycle policies work", "Lifecycle
policy properties", "Examples of lifecycle policies"):

- every rule marks images on its own, looking at all images of its storage class, including
  those that other rules act on ("can still identify them as if they haven't been expired");
- the marks are then applied in priority order, lowest number first; an image is acted on
  by at most one rule;
- an image that matches the tagging requirements of a rule (its tag status, tag list and
  storage class) cannot be expired or archived by any rule with a lower priority;
- `tagPrefixList` / `tagPatternList` match when every entry matches at least one tag;
- `imageCountMoreThan` keeps the newest N by push time and marks the rest; the `since*`
  counts mark images whose reference time is more than N days before `now`.

Cost: one sort by push time (n log n) plus one linear pass per rule.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from operator import attrgetter
from typing import NamedTuple

from generator.model.lifecycle.images import Image, format_timestamp
from generator.model.lifecycle.policy import Policy, Rule

DAY = 86_400.0
GIB = 2**30  # AWS bills storage per GB-month of 2**30 bytes


class Decision(NamedTuple):
    """One image acted on, and the rule that acts on it (a tuple: cheap by the hundred thousand)."""

    image: Image
    rule: Rule

    @property
    def action(self) -> str:
        """ECR's action type in GetLifecyclePolicyPreview terms: EXPIRE or TRANSITION."""
        return self.rule.action.upper()


@dataclass(frozen=True)
class Evaluation:
    """The outcome: decisions by rule priority, oldest image first; the images kept, newest first."""

    decisions: tuple[Decision, ...]
    kept: tuple[Image, ...]

    @property
    def bytes_freed(self) -> int:
        """The size of every image the policy expires (archived images are still stored)."""
        return sum(d.image.size for d in self.decisions if d.rule.action == "expire")

    def monthly_saving(self, price_per_gb: float) -> float:
        """USD per month no longer paid for the expired images, at `price_per_gb` per GB-month."""
        return monthly_cost(self.bytes_freed, price_per_gb)

    def to_preview(self, price_per_gb: float) -> dict[str, object]:
        """The `--output json` document: ECR's GetLifecyclePolicyPreview results plus savings."""
        results = []
        for d in self.decisions:
            action: dict[str, str] = {"type": d.action}
            if d.rule.action == "transition":
                action["targetStorageClass"] = "ARCHIVE"
            results.append({"imageDigest": d.image.digest, "imageTags": list(d.image.tags),
                            "imagePushedAt": format_timestamp(d.image.pushed_at), "action": action,
                            "appliedRulePriority": d.rule.priority})
        expiring = sum(d.rule.action == "expire" for d in self.decisions)
        freed = self.bytes_freed
        return {"previewResults": results,
                "summary": {"expiringImageTotalCount": expiring,
                            "transitioningImageTotalCount": len(self.decisions) - expiring,
                            "bytesFreed": freed,
                            "monthlyStorageSavingsUsd": round(monthly_cost(freed, price_per_gb), 2)}}


def monthly_cost(size: int, price_per_gb: float) -> float:
    """USD per month for storing `size` bytes at `price_per_gb` per GB-month."""
    return size / GIB * price_per_gb


def tag_matcher(rule: Rule) -> re.Pattern[str] | None:
    """One regex that finds every tag requirement of a tagged rule in newline-joined tags.

    Each prefix or pattern becomes a lookahead, so the whole list is checked in one search:
    every entry must match some tag (a line). `*` matches zero or more characters.
    """
    if rule.tag_status != "tagged":
        return None
    entries = [re.escape(prefix) + "[^\n]*" for prefix in rule.tag_prefixes]
    entries += ["[^\n]*".join(re.escape(part) for part in pattern.split("*"))
                for pattern in rule.tag_patterns]
    return re.compile("".join(f"(?=(?:[^\n]*\n)*{entry}(?:\n|\\Z))" for entry in entries))


def evaluate(policy: Policy, images: Iterable[Image], now: float) -> Evaluation:
    """Apply `policy` to `images` at time `now` (UTC epoch seconds), as ECR would."""
    # Newest first; the digest breaks ties so the result never depends on the input order
    # (two stable sorts: no key tuples to allocate).
    order = sorted(images, key=attrgetter("digest"))
    order.sort(key=attrgetter("pushed_at"), reverse=True)
    joined = ["\n".join(image.tags) for image in order]
    by_class: dict[str | None, list[int]] = {"standard": [], "archive": []}
    for index, image in enumerate(order):
        by_class.setdefault(image.storage_class, []).append(index)

    # An image acted on was selected by that rule, so `protected` also stops a second action.
    protected = bytearray(len(order))
    acted = bytearray(len(order))
    decisions: list[Decision] = []
    for rule in policy.by_priority():
        selected = _select(rule, by_class[rule.storage_class], joined)
        taken = [index for index in _marked(rule, selected, order, now) if not protected[index]]
        for index in taken:
            acted[index] = 1
        decisions += [Decision(order[index], rule) for index in reversed(taken)]
        for index in selected:
            protected[index] = 1
    kept = tuple(image for image, done in zip(order, acted, strict=True) if not done)
    return Evaluation(tuple(decisions), kept)


def _select(rule: Rule, candidates: list[int], joined: list[str]) -> list[int]:
    """The candidates (newest first) that meet the rule's tagging requirements."""
    if rule.tag_status == "any":
        return candidates
    if rule.tag_status == "untagged":
        return [i for i in candidates if not joined[i]]
    match = tag_matcher(rule).match  # type: ignore[union-attr]
    return [i for i in candidates if joined[i] and match(joined[i])]


def _marked(rule: Rule, selected: list[int], order: list[Image], now: float) -> list[int]:
    """What the rule would act on by itself: past the count, or older than the cut-off."""
    if rule.count_type == "imageCountMoreThan":
        return selected[rule.count_number:]
    cutoff = now - rule.count_number * DAY
    if rule.count_type == "sinceImagePushed":  # `selected` is newest first: the old ones are a tail
        return selected[bisect_left(selected, True, key=lambda i: order[i].pushed_at < cutoff):]
    if rule.count_type == "sinceImagePulled":
        return [i for i in selected if last_used(order[i]) < cutoff]
    # sinceImageTransitioned: an archived image without an archive time is never old enough.
    return [i for i in selected if (at := order[i].archived_at) is not None and at < cutoff]


def last_used(image: Image) -> float:
    """What `sinceImagePulled` counts from: the last recorded pull, or the push when never
    pulled; a restore from archive counts as a fresh start."""
    used = image.last_pulled_at if image.last_pulled_at is not None else image.pushed_at
    return max(used, image.activated_at) if image.activated_at is not None else used
