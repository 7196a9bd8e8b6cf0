"""`protect_in_use`: keep images in use from expiry with nothing but ECR's documented semantics.

ECR documents that an image matching the tag requirements of a rule cannot be expired (or
archived) by any rule of lower priority. So a protected repository's policy starts with the
*shield rule*: priority 1, tagged images matching `ecrgen-in-use-*`, keep the newest
2,147,483,647 of them (more than a repository can hold: it never acts). post-deploy then keeps a
*shield tag*, `ecrgen-in-use-<the digest's hex>`, on exactly the images in use: one tag per
image, unique to it, so that PutImage can add it even where tags are IMMUTABLE.

A shield tag is taken off an image no longer in use, except when it is the image's last tag:
ECR deletes an image whose last tag is deleted, and protection never deletes an image. Such a
tag stays and is reported (`ShieldPlan.kept`).

What protection changes, precisely (tests/test_protection_properties.py checks each):
- no ACTIVE image in use is expired or archived (an archived image is not in standard storage,
  which the shield rule covers; archived images cannot be pulled anyway);
- on every image without a shield tag, the decision is the one the user's rules make on the
  same (shield-tagged) images: the shield rule takes nothing, and lower rules still count every
  image they select, shielded ones included;
- compared with no protection at all, the decisions on images not in use are unchanged when no
  image in use is untagged and no tag prefix or pattern of the user's rules matches a shield tag.
  Otherwise a shield tag can move an image in use into (or out of) a rule's selection, which
  shifts that rule's `imageCountMoreThan` count; `sinceImage*` rules judge each image alone and
  are never affected.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

from generator.model.lifecycle.constraints import MAX_COUNT
from generator.model.lifecycle.images import ACTIVE, Image
from generator.model.lifecycle.policy import Policy, Rule

SHIELD_TAG_PREFIX = "ecrgen-in-use-"
SHIELD_PATTERN = SHIELD_TAG_PREFIX + "*"
SHIELD_PRIORITY = 1
SHIELD_RULE = Rule(priority=SHIELD_PRIORITY, tag_status="tagged", tag_patterns=(SHIELD_PATTERN,),
                   count_type="imageCountMoreThan", count_number=MAX_COUNT,
                   description="ecrgen protect_in_use: never expire an image in use (tagged ecrgen-in-use-*)")
LAST_TAG = ("its last tag: ECR deletes an image when its last tag is removed, so removing it would "
            "delete the image")


def shield_tag(digest: str) -> str:
    """`sha256:ab12...` -> `ecrgen-in-use-ab12...`: one tag per image, never another image's."""
    return SHIELD_TAG_PREFIX + digest.partition(":")[2]


def is_shield_tag(tag: str) -> bool:
    return tag.startswith(SHIELD_TAG_PREFIX)


def is_shield_rule(rule: Rule) -> bool:
    """The rule `protect` adds (whatever its description), in a policy read back from anywhere."""
    return replace(rule, description=None) == replace(SHIELD_RULE, description=None)


def protect(policy: Policy) -> Policy:
    """The shield rule first, then `policy`'s rules as they are: priority 1 must be free (the
    caller validates the result, which reports a clash like any duplicate priority)."""
    return Policy((SHIELD_RULE, *policy.rules))


def is_protected(policy: Policy) -> bool:
    return any(is_shield_rule(rule) for rule in policy.rules)


@dataclass(frozen=True)
class ShieldPlan:
    """The shield tags to add and to remove in one repository, as (digest, tag) pairs, and those
    left in place because they are an image's last tag."""

    add: tuple[tuple[str, str], ...] = ()
    remove: tuple[tuple[str, str], ...] = ()
    kept: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        """True when there is something to write."""
        return bool(self.add or self.remove)


def plan(images: Sequence[Image], in_use: Collection[str]) -> ShieldPlan:
    """Shield tags on exactly the ACTIVE images in `in_use` (digests), never removing a last tag."""
    add, remove, kept = [], [], []
    for image in images:
        shields = [tag for tag in image.tags if is_shield_tag(tag)]
        if image.digest in in_use:
            if image.status == ACTIVE and shield_tag(image.digest) not in image.tags:
                add.append((image.digest, shield_tag(image.digest)))
            continue
        if not shields:
            continue
        if len(shields) == len(image.tags):  # nothing else tags it: one shield stays
            last = shield_tag(image.digest) if shield_tag(image.digest) in shields else shields[0]
            kept.append((image.digest, last))
            shields.remove(last)
        remove += [(image.digest, tag) for tag in shields]
    return ShieldPlan(tuple(add), tuple(remove), tuple(kept))


def shielded(images: Sequence[Image], shield: ShieldPlan) -> list[Image]:
    """The images as ECR will hold them once `shield` is written."""
    added: dict[str, list[str]] = {}
    for digest, tag in shield.add:
        added.setdefault(digest, []).append(tag)
    removed = set(shield.remove)
    out = []
    for image in images:
        tags = [tag for tag in image.tags if (image.digest, tag) not in removed] + added.get(image.digest, [])
        out.append(image if tuple(tags) == image.tags else replace(image, tags=tuple(tags)))
    return out
