"""What `protect_in_use` guarantees, over random policies, image sets and in-use sets (hypothesis).

Protection is the shield rule first in the policy plus shield tags on exactly the images in use
(`model.protection`), judged by the same evaluator as everything else. The issue asked for "no
image in use is ever expired, and every other decision is the same as without it". The first
half holds for every image in standard storage (ACTIVE), the only storage the shield covers. The
second half is not true in general under ECR's semantics, because a shield tag changes the tags
of the image it is put on: an untagged image in use becomes tagged (it leaves `untagged` rules'
selections and may join `tagged` ones), and a rule whose prefix or pattern matches the shield tag
(`*`, `*-*`, ...) now selects an image in use it did not before. Where that moves an image in use
into or out of an `imageCountMoreThan` rule's selection, the count shifts and an image not in use
can be kept or expired differently. What holds exactly, and is tested here:

1. no ACTIVE image in use is expired or archived;
2. the shield rule itself only keeps: on every image without a shield tag, the decision is the
   one the user's rules make on the same shield-tagged images;
3. with no shield tags before, every ACTIVE image in use tagged, and no rule's prefix or pattern
   matching a shield tag, every decision on the images not in use is the one made without
   protection;
4. a policy without `imageCountMoreThan` rules decides every image not in use as without
   protection, whatever its tags;
and an example shows that 3's conditions are needed.
"""

from __future__ import annotations

from dataclasses import replace
from fnmatch import fnmatchcase

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from generator.model.lifecycle import Image, Policy, Rule, evaluate
from generator.model.lifecycle.images import ACTIVE
from generator.model.protection import is_shield_tag, plan, protect, shield_tag, shielded
from tests.test_lifecycle_properties import NOW, images, outcome, policies


def free_first(policy: Policy) -> Policy:
    """The same policy with priority 1 free for the shield rule (moving every rule up by one
    keeps their order, which is all that ECR's evaluation depends on)."""
    return Policy(tuple(replace(rule, priority=rule.priority + 1) for rule in policy.rules))


@st.composite
def cases(draw: st.DrawFn, shields_before: bool = True) -> tuple[Policy, list[Image], set[str]]:
    """A policy, images (some already carrying shield tags, own or odd ones, some only those),
    and a set of digests in use."""
    policy = free_first(draw(policies()))
    found = draw(images())
    if shields_before:
        found = [replace(image, tags=image.tags + tuple(draw(st.lists(st.sampled_from(
            [shield_tag(image.digest), "ecrgen-in-use-old"]), max_size=2, unique=True))))
            if draw(st.booleans()) else image for image in found]
    in_use = draw(st.sets(st.sampled_from([image.digest for image in found]))) if found else set()
    return policy, found, in_use


def protected(policy: Policy, found: list[Image], in_use: set[str]) -> tuple[list[Image], dict[str, int]]:
    """The images once post-deploy has written their shield tags, and the protected policy's
    decisions on them (digest -> rule priority)."""
    after = shielded(found, plan(found, in_use))
    return after, outcome(protect(policy), after)


@settings(max_examples=300, deadline=None)
@given(cases())
def test_no_active_image_in_use_is_expired_or_archived(case: tuple[Policy, list[Image], set[str]]) -> None:
    policy, found, in_use = case
    after, decided = protected(policy, found, in_use)
    assert not [image for image in after if image.status == ACTIVE and image.digest in in_use
                and image.digest in decided]


@settings(max_examples=300, deadline=None)
@given(cases())
def test_the_shield_rule_only_keeps(case: tuple[Policy, list[Image], set[str]]) -> None:
    policy, found, in_use = case
    after, decided = protected(policy, found, in_use)
    unshielded = {image.digest for image in after if not any(map(is_shield_tag, image.tags))}
    users_rules = outcome(policy, after)
    assert {d: p for d, p in decided.items() if d in unshielded} == \
        {d: p for d, p in users_rules.items() if d in unshielded}


def matches(rule: Rule, tag: str) -> bool:
    return any(tag.startswith(prefix) for prefix in rule.tag_prefixes) or \
        any(fnmatchcase(tag, pattern) for pattern in rule.tag_patterns)


@settings(max_examples=400, deadline=None)
@given(cases(shields_before=False))
def test_decisions_on_images_not_in_use_are_unchanged_when_no_rule_sees_a_shield_tag(
        case: tuple[Policy, list[Image], set[str]]) -> None:
    policy, found, in_use = case
    shielding = [image for image in found if image.status == ACTIVE and image.digest in in_use]
    tags = [shield_tag(image.digest) for image in shielding]
    # outside the conditions, see test_a_shield_tag_can_shift_a_count
    assume(all(image.tags for image in shielding))
    assume(not any(matches(rule, tag) for rule in policy.rules for tag in tags))
    _, decided = protected(policy, found, in_use)
    before = outcome(policy, found)
    assert {d: p for d, p in decided.items() if d not in in_use} == \
        {d: p for d, p in before.items() if d not in in_use}


@settings(max_examples=300, deadline=None)
@given(cases(shields_before=False))
def test_without_count_rules_no_decision_on_an_image_not_in_use_changes(
        case: tuple[Policy, list[Image], set[str]]) -> None:
    policy, found, in_use = case
    policy = Policy(tuple(r for r in policy.rules if r.count_type != "imageCountMoreThan"))
    _, decided = protected(policy, found, in_use)
    before = outcome(policy, found)
    assert {d: p for d, p in decided.items() if d not in in_use} == \
        {d: p for d, p in before.items() if d not in in_use}


def test_a_shield_tag_can_shift_a_count() -> None:
    """Why 3 has conditions: "keep the newest untagged image" counts the untagged image in use
    until its shield tag makes it tagged; then the next untagged image is the newest and stays."""
    keep_one = Policy((Rule(priority=2, tag_status="untagged", count_type="imageCountMoreThan", count_number=1),))
    newest, older = (Image(f"sha256:{n:064x}", (), pushed_at=NOW - n * 86_400) for n in (1, 2))
    assert outcome(keep_one, [newest, older]) == {older.digest: 2}
    _, decided = protected(keep_one, [newest, older], {newest.digest})
    assert decided == {}  # the image in use is kept, and so, now, is the one not in use
    after = shielded([newest, older], plan([newest, older], {newest.digest}))
    assert [image.digest for image in evaluate(protect(keep_one), after, NOW).kept] == [newest.digest, older.digest]
