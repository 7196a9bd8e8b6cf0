"""Invariants of the evaluator over random policies and image sets (hypothesis).

The oracle below restates the user guide's evaluation rules as plainly as possible (fnmatch for
wildcards, "does any higher rule select it?" for protection), so the fast evaluator is checked
against an independent reading, not against itself.
"""

from __future__ import annotations

import random
from fnmatch import fnmatchcase

from hypothesis import given, settings
from hypothesis import strategies as st

from generator.model.lifecycle import Image, Policy, Rule, evaluate
from generator.model.lifecycle.evaluate import DAY, last_used, tag_matcher

NOW = 1_800_000_000.0
TAGS = ["prod-1", "prod-2", "prod", "dev-1", "dev-22", "v1.2", "v1.10", "latest", "rc-prod", "x"]
PREFIXES = ["prod", "dev", "v1", "latest", "rc", "x", "p"]
PATTERNS = ["prod*", "*prod", "*-*", "v1.*", "latest", "*", "d*v-2*", "*1*"]


# Strategies built once: building one inside a draw (`st.none() | st.integers(...)`) costs
# hypothesis more than the draw itself.
STATUSES = st.sampled_from(["ACTIVE"] * 4 + ["ARCHIVED", "ACTIVATING"])
PULLED_OR_ACTIVATED = st.none() | st.integers(0, 90)
ARCHIVED = st.none() | st.integers(0, 400)
IMAGE_TAGS = st.lists(st.sampled_from(TAGS), max_size=3, unique=True)
PUSHED_DAYS = st.integers(0, 60)
SIZES = st.integers(0, 10**9)


@st.composite
def images(draw: st.DrawFn) -> list[Image]:
    count = draw(st.integers(0, 30))
    out = []
    for n in range(count):
        status = draw(STATUSES)
        pulled = draw(PULLED_OR_ACTIVATED)
        archived = draw(ARCHIVED) if status != "ACTIVE" else None
        activated = draw(PULLED_OR_ACTIVATED)
        out.append(Image(
            digest=f"sha256:{n:04d}", tags=tuple(draw(IMAGE_TAGS)),
            # whole days make equal push times common, so ties are exercised too
            pushed_at=NOW - draw(PUSHED_DAYS) * DAY, size=draw(SIZES),
            last_pulled_at=None if pulled is None else NOW - pulled * DAY,
            archived_at=None if archived is None else NOW - archived * DAY,
            activated_at=None if activated is None else NOW - activated * DAY, status=status))
    return out


TAG_STATUSES = st.sampled_from(["tagged", "tagged", "untagged", "any"])
RULE_PREFIXES = st.lists(st.sampled_from(PREFIXES), min_size=1, max_size=2, unique=True)
RULE_PATTERNS = st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=2, unique=True)
RULE_KINDS = st.sampled_from(["count", "pushed", "pulled", "archived"])
EXPIRE_OR_TRANSITION = st.sampled_from(["expire", "transition"])
COUNT_NUMBERS = st.integers(1, 40)


@st.composite
def rules(draw: st.DrawFn, priority: int) -> Rule:
    tag_status = draw(TAG_STATUSES)
    prefixes: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    if tag_status == "tagged":
        if draw(st.booleans()):
            prefixes = tuple(draw(RULE_PREFIXES))
        else:
            patterns = tuple(draw(RULE_PATTERNS))
    kind = draw(RULE_KINDS)
    count_type, storage, action = {
        "count": ("imageCountMoreThan", "standard", draw(EXPIRE_OR_TRANSITION)),
        "pushed": ("sinceImagePushed", "standard", draw(EXPIRE_OR_TRANSITION)),
        "pulled": ("sinceImagePulled", "standard", "transition"),
        "archived": ("sinceImageTransitioned", "archive", "expire"),
    }[kind]
    return Rule(priority=priority, tag_status=tag_status, count_type=count_type,  # type: ignore[arg-type]
                count_number=draw(COUNT_NUMBERS), tag_prefixes=prefixes, tag_patterns=patterns,
                storage_class=storage, action=action)  # type: ignore[arg-type]


@st.composite
def policies(draw: st.DrawFn, max_rules: int = 5) -> Policy:
    priorities = draw(st.lists(st.integers(1, 100), min_size=1, max_size=max_rules, unique=True))
    return Policy(tuple(draw(rules(p)) for p in priorities))


def outcome(policy: Policy, found: list[Image]) -> dict[str, int]:
    return {d.image.digest: d.rule.priority for d in evaluate(policy, found, NOW).decisions}


def oracle_selects(rule: Rule, image: Image) -> bool:
    if image.storage_class != rule.storage_class:
        return False
    if rule.tag_status == "any":
        return True
    if rule.tag_status == "untagged":
        return not image.tags
    return bool(image.tags) and all(any(tag.startswith(p) for tag in image.tags) for p in rule.tag_prefixes) \
        and all(any(fnmatchcase(tag, p) for tag in image.tags) for p in rule.tag_patterns)


def oracle(policy: Policy, found: list[Image]) -> dict[str, int]:
    """The guide's rules, literally: mark per rule over all images, apply by priority."""
    ordered = policy.by_priority()
    newest_first = sorted(found, key=lambda i: (-i.pushed_at, i.digest))
    result: dict[str, int] = {}
    for position, rule in enumerate(ordered):
        selected = [image for image in newest_first if oracle_selects(rule, image)]
        cutoff = NOW - rule.count_number * DAY
        marked = {
            "imageCountMoreThan": selected[rule.count_number:],
            "sinceImagePushed": [i for i in selected if i.pushed_at < cutoff],
            "sinceImagePulled": [i for i in selected if last_used(i) < cutoff],
            "sinceImageTransitioned": [i for i in selected if i.archived_at is not None and i.archived_at < cutoff],
        }[rule.count_type]
        for image in marked:
            shielded = any(oracle_selects(higher, image) for higher in ordered[:position])
            if image.digest not in result and not shielded:
                result[image.digest] = rule.priority
    return result


@settings(max_examples=300, deadline=None)
@given(policies(), images())
def test_matches_the_literal_reading_of_the_guide(policy: Policy, found: list[Image]) -> None:
    assert outcome(policy, found) == oracle(policy, found)


@settings(max_examples=200, deadline=None)
@given(policies(), images())
def test_each_image_is_acted_on_at_most_once_and_kept_otherwise(policy: Policy, found: list[Image]) -> None:
    result = evaluate(policy, found, NOW)
    acted = [d.image.digest for d in result.decisions]
    kept = [i.digest for i in result.kept]
    assert len(acted) == len(set(acted))
    assert sorted(acted + kept) == sorted(i.digest for i in found)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10), st.sampled_from(["any", "untagged", "tagged"]), images())
def test_keep_last_n_alone_never_leaves_fewer_than_n(keep: int, tag_status: str, found: list[Image]) -> None:
    rule = Rule(priority=1, tag_status=tag_status, count_type="imageCountMoreThan",  # type: ignore[arg-type]
                count_number=keep, tag_patterns=("prod*",) if tag_status == "tagged" else ())
    result = evaluate(Policy((rule,)), found, NOW)
    mine = [i for i in found if oracle_selects(rule, i)]
    left = [i for i in result.kept if oracle_selects(rule, i)]
    assert len(left) == min(keep, len(mine))
    newest = sorted(mine, key=lambda i: -i.pushed_at)[:keep]
    assert min((i.pushed_at for i in left), default=0) >= min((i.pushed_at for i in newest), default=0)


@settings(max_examples=200, deadline=None)
@given(policies(), images(), st.randoms(use_true_random=False))
def test_result_does_not_depend_on_input_order(policy: Policy, found: list[Image], rnd: random.Random) -> None:
    shuffled = list(found)
    rnd.shuffle(shuffled)
    assert outcome(policy, shuffled) == outcome(policy, found)
    assert evaluate(policy, shuffled, NOW) == evaluate(policy, found, NOW)


@settings(max_examples=200, deadline=None)
@given(policies(max_rules=4), images(), st.data())
def test_a_lower_priority_rule_never_rescues_an_image(policy: Policy, found: list[Image],
                                                      data: st.DataObject) -> None:
    lowest = max(rule.priority for rule in policy.rules)
    extra = data.draw(rules(lowest + data.draw(st.integers(1, 10))))
    before = outcome(policy, found)
    after = outcome(Policy((*policy.rules, extra)), found)
    assert {d: p for d, p in after.items() if p != extra.priority} == before


@settings(max_examples=500, deadline=None)
@given(st.text("ab.-*", min_size=1, max_size=6), st.lists(st.text("ab.-", min_size=1, max_size=6),
                                                          min_size=1, max_size=3))
def test_tag_pattern_regex_agrees_with_shell_wildcards(pattern: str, tags: list[str]) -> None:
    rule = Rule(priority=1, tag_status="tagged", count_type="imageCountMoreThan", count_number=1,
                tag_patterns=(pattern,))
    matcher = tag_matcher(rule)
    assert matcher is not None
    assert (matcher.match("\n".join(tags)) is not None) == any(fnmatchcase(t, pattern) for t in tags)
