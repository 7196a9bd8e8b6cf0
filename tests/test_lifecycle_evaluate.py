"""The evaluator against ECR's documented semantics, rule by rule.

Every worked example of the ECR user guide ("Examples of lifecycle policies") is here, plus one
test per evaluation rule of "How lifecycle policies work", each with images chosen so that a
plausible misreading of the rule gives a different answer.
"""

from __future__ import annotations

from typing import Any

import pytest

from generator.model.lifecycle import Image, Rule, evaluate, parse
from generator.model.lifecycle.evaluate import DAY

NOW = 1_800_000_000.0
HOUR = 3600.0


def image(name: str, tags: list[str], days_ago: float, **extra: Any) -> Image:
    """An image whose digest is its name, pushed `days_ago` days before NOW."""
    return Image(digest=name, tags=tuple(tags), pushed_at=NOW - days_ago * DAY, **extra)


def rule(priority: int, tag_status: str, count: tuple[str, int], prefixes: list[str] | None = None,
         patterns: list[str] | None = None, action: str = "expire", storage: str | None = None
         ) -> dict[str, Any]:
    """An AWS JSON rule, so the tests read like the user guide's policies."""
    count_type, number = count
    selection: dict[str, Any] = {"tagStatus": tag_status, "countType": count_type, "countNumber": number}
    if count_type != "imageCountMoreThan":
        selection["countUnit"] = "days"
    if prefixes:
        selection["tagPrefixList"] = prefixes
    if patterns:
        selection["tagPatternList"] = patterns
    if storage:
        selection["storageClass"] = storage
    act: dict[str, Any] = {"type": action}
    if action == "transition":
        act["targetStorageClass"] = "archive"
    return {"rulePriority": priority, "description": f"Rule {priority}", "selection": selection,
            "action": act}


def run(rules: list[dict[str, Any]], images: list[Image]) -> dict[str, int]:
    """Digest -> priority of the rule that acts on it (validated policy, as ECR would)."""
    result = evaluate(parse({"rules": rules}), images, NOW)
    return {d.image.digest: d.rule.priority for d in result.decisions}


# --- the user guide's worked examples -------------------------------------------------------

def test_guide_filtering_on_image_count_keeps_one_untagged_image() -> None:
    images = [image("A", [], 3), image("B", [], 2), image("C", [], 1), image("T", ["v1"], 9)]
    assert run([rule(1, "untagged", ("imageCountMoreThan", 1))], images) == {"A": 1, "B": 1}


def test_guide_filtering_on_image_age_expires_old_prod_images() -> None:
    images = [image("old", ["prod-1"], 15), image("new", ["prod-2"], 13), image("dev", ["dev"], 30)]
    assert run([rule(1, "tagged", ("sinceImagePushed", 14), patterns=["prod*"])], images) == {"old": 1}


MULTI_RULE_IMAGES = [image("A", ["beta-1", "prod-1"], 10), image("B", ["beta-2", "prod-2"], 9),
                     image("C", ["beta-3"], 8)]


def test_guide_multiple_rules_example_a_higher_rule_protects_its_images() -> None:
    # Rule 2 marks A and B; A is already expired by rule 1, B matches rule 1's tags: skipped.
    rules = [rule(1, "tagged", ("imageCountMoreThan", 1), prefixes=["prod"]),
             rule(2, "tagged", ("imageCountMoreThan", 1), prefixes=["beta"])]
    assert run(rules, MULTI_RULE_IMAGES) == {"A": 1}


def test_guide_multiple_rules_example_b_priority_order_changes_the_outcome() -> None:
    rules = [rule(1, "tagged", ("imageCountMoreThan", 1), prefixes=["beta"]),
             rule(2, "tagged", ("imageCountMoreThan", 1), prefixes=["prod"])]
    assert run(rules, MULTI_RULE_IMAGES) == {"A": 1, "B": 1}


def test_guide_multiple_tags_example_a_every_prefix_must_match() -> None:
    images = [image("A", ["alpha-1"], 12), image("B", ["beta-1"], 11),
              image("C", ["alpha-2", "beta-2"], 10), image("D", ["alpha-3"], 4),
              image("E", ["beta-3"], 3), image("F", ["alpha-4", "beta-4"], 2)]
    rules = [rule(1, "tagged", ("sinceImagePushed", 5), prefixes=["alpha", "beta"])]
    assert run(rules, images) == {"C": 1}


def test_guide_multiple_tags_example_b_tags_are_not_exclusive() -> None:
    images = [image("A", ["alpha-1", "beta-1", "gamma-1"], 10), image("B", ["alpha-2", "beta-2"], 9),
              image("C", ["alpha-3", "beta-3", "gamma-2"], 8)]
    rules = [rule(1, "tagged", ("imageCountMoreThan", 1), prefixes=["alpha", "beta"])]
    assert run(rules, images) == {"A": 1, "B": 1}


def test_guide_all_images_example_a_any_keeps_the_newest() -> None:
    images = [image("A", ["alpha-1"], 4), image("B", ["beta-1"], 3), image("C", [], 2),
              image("D", ["alpha-2"], 1)]
    assert run([rule(1, "any", ("imageCountMoreThan", 1))], images) == {"A": 1, "B": 1, "C": 1}


def test_guide_all_images_example_b_lower_rule_counts_images_it_cannot_touch() -> None:
    # Rule 3 counts A, B, C, E although it may not act on them: E (the newest) is its one
    # to keep, so D goes. Excluding other rules' images from its count would keep D.
    images = [image("A", ["alpha-1", "beta-1"], 4), image("B", [], 3), image("C", ["alpha-2"], 2),
              image("D", ["git hash"], 1), image("E", [], 1 - 1 / 24)]
    rules = [rule(1, "tagged", ("imageCountMoreThan", 1), prefixes=["alpha"]),
             rule(2, "untagged", ("sinceImagePushed", 1)),
             rule(3, "any", ("imageCountMoreThan", 1))]
    assert run(rules, images) == {"A": 1, "B": 2, "D": 3}


# --- the evaluation rules, one by one -------------------------------------------------------

def test_lower_rule_counts_images_a_higher_rule_expires() -> None:
    # The "keep 20 also removed images" surprise: `any` keep 2 counts P2 and P1 (expired by
    # rule 1) among its newest, so both dev images go and only P3 is left.
    images = [image("P3", ["prod-3"], 1), image("P2", ["prod-2"], 2), image("D2", ["dev-2"], 3),
              image("P1", ["prod-1"], 4), image("D1", ["dev-1"], 5)]
    rules = [rule(1, "tagged", ("imageCountMoreThan", 1), prefixes=["prod"]),
             rule(2, "any", ("imageCountMoreThan", 2))]
    assert run(rules, images) == {"P2": 1, "P1": 1, "D2": 2, "D1": 2}


def test_tag_match_protects_even_when_the_higher_rule_keeps_the_image() -> None:
    # Rule 1 keeps prod images younger than 30 days; rule 2 may not expire them either.
    images = [image("prod", ["prod-1"], 20), image("dev", ["dev-1"], 20)]
    rules = [rule(1, "tagged", ("sinceImagePushed", 30), prefixes=["prod"]),
             rule(2, "any", ("sinceImagePushed", 10))]
    assert run(rules, images) == {"dev": 2}


def test_untagged_rule_protects_untagged_images_from_any_rule() -> None:
    images = [image("u-new", [], 1), image("u-old", [], 5), image("t", ["v1"], 6)]
    rules = [rule(1, "untagged", ("imageCountMoreThan", 5)), rule(2, "any", ("sinceImagePushed", 2))]
    assert run(rules, images) == {"t": 2}


def test_rules_apply_by_priority_not_by_position_in_the_list() -> None:
    rules = [rule(2, "tagged", ("imageCountMoreThan", 1), prefixes=["beta"]),
             rule(1, "tagged", ("imageCountMoreThan", 1), prefixes=["prod"])]
    assert run(rules, MULTI_RULE_IMAGES) == {"A": 1}


def test_image_acted_on_once_by_the_highest_priority_rule() -> None:
    images = [image("old", ["prod-1", "beta-1"], 40), image("new", ["prod-2", "beta-2"], 1)]
    rules = [rule(3, "tagged", ("sinceImagePushed", 30), prefixes=["beta"]),
             rule(7, "tagged", ("sinceImagePushed", 30), prefixes=["prod"])]
    result = evaluate(parse({"rules": rules}), images, NOW)
    assert [(d.image.digest, d.rule.priority) for d in result.decisions] == [("old", 3)]
    assert [i.digest for i in result.kept] == ["new"]


@pytest.mark.parametrize(("tags", "selected"), [
    (["prod-1"], False),              # only one of the two prefixes
    (["prod-1", "y"], False),
    (["prod-1", "x86"], True),        # each prefix matched by a different tag
    (["x86-prod"], False),            # a prefix matches the start of a tag, not its middle
    (["y", "x-1", "prod"], True),
])
def test_prefix_list_needs_every_prefix_matched_by_some_tag(tags: list[str], selected: bool) -> None:
    images = [image("img", tags, 2), image("newer", ["prod-9", "x-9"], 1)]
    got = run([rule(1, "tagged", ("imageCountMoreThan", 1), prefixes=["prod", "x"])], images)
    assert ("img" in got) is selected


def test_one_tag_may_satisfy_several_prefixes() -> None:
    images = [image("img", ["prod-1"], 2), image("newer", ["prod-2"], 1)]
    assert run([rule(1, "tagged", ("imageCountMoreThan", 1), prefixes=["prod", "pro"])], images) == {"img": 1}


@pytest.mark.parametrize(("pattern", "tag", "selected"), [
    ("prod*", "prod", True),          # * matches zero characters
    ("prod*", "prod-1", True),
    ("prod*", "preprod", False),      # anchored at the start
    ("*prod", "preprod", True),
    ("*prod", "prod-1", False),       # anchored at the end
    ("v*.*-rc*", "v1.2-rc3", True),
    ("v*.*-rc*", "v1-rc3", False),
    ("a.b", "axb", False),            # only * is special
    ("latest", "latest", True),
    ("latest", "latest-1", False),    # no wildcard: the whole tag
])
def test_tag_pattern_wildcards(pattern: str, tag: str, selected: bool) -> None:
    images = [image("img", [tag], 2), image("newer", ["zzz"], 1)]
    got = run([rule(1, "tagged", ("sinceImagePushed", 1), patterns=[pattern])], images)
    assert ("img" in got) is selected


def test_pattern_list_is_an_and_so_split_rules_to_protect_several_tags() -> None:
    # One rule listing latest and main protects nothing here; two rules protect both images.
    images = [image("latest", ["latest"], 50), image("main", ["main"], 40), image("x", ["x"], 30)]
    anded = [rule(1, "tagged", ("imageCountMoreThan", 1), patterns=["latest", "main"]),
             rule(2, "any", ("sinceImagePushed", 10))]
    split = [rule(1, "tagged", ("imageCountMoreThan", 1), patterns=["latest"]),
             rule(2, "tagged", ("imageCountMoreThan", 1), patterns=["main"]),
             rule(3, "any", ("sinceImagePushed", 10))]
    assert run(anded, images) == {"latest": 2, "main": 2, "x": 2}
    assert run(split, images) == {"x": 3}


def test_count_keeps_the_newest_by_push_time_whatever_the_input_order() -> None:
    images = [image("mid", ["v2"], 2), image("newest", ["v3"], 1), image("oldest", ["v1"], 3)]
    assert run([rule(1, "tagged", ("imageCountMoreThan", 2), prefixes=["v"])], images) == {"oldest": 1}


def test_since_pushed_is_strictly_more_than_n_days() -> None:
    images = [image("exact", [], 10), image("over", [], 10 + 1 / DAY), image("under", [], 10 - 1 / 24)]
    assert run([rule(1, "untagged", ("sinceImagePushed", 10))], images) == {"over": 1}


def test_since_pulled_uses_last_pull_then_push_then_restore() -> None:
    images = [
        image("pulled-recently", ["a"], 100, last_pulled_at=NOW - 5 * DAY),
        image("pulled-long-ago", ["b"], 100, last_pulled_at=NOW - 60 * DAY),
        image("never-pulled-old", ["c"], 45),
        image("never-pulled-new", ["d"], 10),
        image("restored", ["e"], 200, last_pulled_at=NOW - 150 * DAY, activated_at=NOW - 3 * DAY),
    ]
    rules = [rule(1, "any", ("sinceImagePulled", 30), action="transition")]
    assert run(rules, images) == {"pulled-long-ago": 1, "never-pulled-old": 1}


def test_storage_class_selects_active_or_archived_images() -> None:
    images = [
        image("active-old", ["a"], 400),
        image("archived-long", ["b"], 400, status="ARCHIVED", archived_at=NOW - 200 * DAY),
        image("archived-short", ["c"], 400, status="ARCHIVED", archived_at=NOW - 50 * DAY),
        image("restoring", ["d"], 400, status="ACTIVATING", archived_at=NOW - 300 * DAY),
    ]
    rules = [rule(1, "any", ("sinceImagePushed", 90), action="transition"),
             rule(2, "any", ("sinceImageTransitioned", 90), storage="archive")]
    result = evaluate(parse({"rules": rules}), images, NOW)
    assert {(d.image.digest, d.action) for d in result.decisions} == {
        ("active-old", "TRANSITION"), ("archived-long", "EXPIRE")}


def test_archive_rules_do_not_protect_or_count_standard_images() -> None:
    # The archive `any` rule (priority 1) must not shield active images from the standard rule,
    # and the standard count must not count the archived image (pushed last, for the test).
    images = [image("new", ["v2"], 1), image("old", ["v1"], 2),
              image("arch", ["v0"], 0.5, status="ARCHIVED", archived_at=NOW - 100 * DAY)]
    rules = [rule(1, "any", ("sinceImageTransitioned", 365), storage="archive"),
             rule(2, "any", ("imageCountMoreThan", 1))]
    assert run(rules, images) == {"old": 2}


def test_archived_image_without_archive_time_is_never_old_enough() -> None:
    images = [image("arch", ["v0"], 500, status="ARCHIVED")]
    assert run([rule(1, "any", ("sinceImageTransitioned", 90), storage="archive")], images) == {}


def test_equal_push_times_break_ties_by_digest() -> None:
    images = [image("b", ["v"], 1), image("a", ["v"], 1), image("c", ["v"], 1)]
    assert run([rule(1, "any", ("imageCountMoreThan", 1))], images) == {"b": 1, "c": 1}


def test_decisions_in_priority_order_oldest_first_and_kept_newest_first() -> None:
    images = [image("u1", [], 9), image("u2", [], 8), image("t1", ["v1"], 7), image("t2", ["v2"], 6),
              image("t3", ["v3"], 5)]
    rules = [rule(1, "untagged", ("imageCountMoreThan", 1)), rule(2, "any", ("imageCountMoreThan", 2))]
    result = evaluate(parse({"rules": rules}), images, NOW)
    assert [(d.image.digest, d.rule.priority) for d in result.decisions] == [("u1", 1), ("t1", 2)]
    assert [i.digest for i in result.kept] == ["t3", "t2", "u2"]


def test_rule_object_works_without_parsing() -> None:
    # The evaluator takes the shared model, so ecr.yaml rules preview the same way.
    from generator.model.lifecycle import Policy

    policy = Policy((Rule(priority=1, tag_status="any", count_type="imageCountMoreThan", count_number=1),))
    result = evaluate(policy, [image("a", [], 2), image("b", [], 1)], NOW)
    assert [d.image.digest for d in result.decisions] == ["a"]


# --- image lists ----------------------------------------------------------------------------

def test_image_list_accepts_cli_v2_cli_v1_and_boto3_times() -> None:
    from datetime import UTC, datetime

    from generator.model.lifecycle import parse_images

    same = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    details = [{"imageDigest": "iso", "imagePushedAt": "2026-01-01T09:00:00+09:00"},
               {"imageDigest": "naive", "imagePushedAt": "2026-01-01T00:00:00"},
               {"imageDigest": "epoch", "imagePushedAt": same},
               {"imageDigest": "boto3", "imagePushedAt": datetime(2026, 1, 1, tzinfo=UTC),
                "lastRecordedPullTime": "2026-01-02T00:00:00Z", "imageStatus": "ARCHIVED",
                "lastArchivedAt": "2026-01-03T00:00:00Z", "lastActivatedAt": None}]
    parsed = parse_images({"imageDetails": details}, "images.json")
    assert {image.pushed_at for image in parsed} == {same}
    assert parsed[3].last_pulled_at == same + DAY
    assert parsed[3].archived_at == same + 2 * DAY
    assert parsed[3].activated_at is None
    assert (parsed[3].storage_class, parsed[0].storage_class) == ("archive", "standard")
    assert parsed[0].tags == () and parsed[0].size == 0


@pytest.mark.parametrize(("value", "message"), [
    ("yesterday", "'yesterday' is not an ISO 8601 time"),
    (float("nan"), "nan is not a time in epoch seconds"),
    (1e20, "is not a time in epoch seconds"),
    (True, "must be an ISO 8601 time or epoch seconds"),
    ([2026], "must be an ISO 8601 time or epoch seconds"),
])
def test_image_list_rejects_times_that_do_not_parse(value: Any, message: str) -> None:
    from generator.base.errors import InputError
    from generator.model.lifecycle import parse_images

    with pytest.raises(InputError) as caught:
        parse_images([{"imageDigest": "a", "imagePushedAt": value}], "images.json")
    assert caught.value.render().startswith("images.json: [0].imagePushedAt: ")
    assert message in caught.value.render()


def test_image_list_caps_the_messages_at_twenty_and_counts_the_rest() -> None:
    from generator.base.errors import InputError
    from generator.model.lifecycle import parse_images

    with pytest.raises(InputError) as caught:
        parse_images([{"imageDigest": f"d{i}"} for i in range(25)], "images.json")
    lines = caught.value.render().splitlines()
    assert len(lines) == 21
    assert lines[-1] == "images.json: ... and 5 more problems"


def test_preview_document_reports_transitions_and_frees_only_expired_bytes() -> None:
    images = [image("gone", ["dev-1"], 40, size=3 * 2**30), image("cold", ["v1"], 100, size=2**30),
              image("new", ["v2"], 1, size=5)]
    rules = [rule(1, "tagged", ("sinceImagePushed", 30), prefixes=["dev"]),
             rule(2, "any", ("sinceImagePushed", 90), action="transition")]
    report = evaluate(parse({"rules": rules}), images, NOW).to_preview(0.10)
    assert [(r["imageDigest"], r["action"]) for r in report["previewResults"]] == [  # type: ignore[index]
        ("gone", {"type": "EXPIRE"}), ("cold", {"type": "TRANSITION", "targetStorageClass": "ARCHIVE"})]
    assert report["summary"] == {"expiringImageTotalCount": 1, "transitioningImageTotalCount": 1,
                                 "bytesFreed": 3 * 2**30, "monthlyStorageSavingsUsd": 0.3}
