"""The pure plan: what differs, what it takes to fix, and that fixing it converges."""

from __future__ import annotations

import io
import json
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from generator.model import lifecycle
from generator.reconcile import report
from generator.reconcile.desired import MUTABILITIES, RepositorySettings, Unmanaged
from generator.reconcile.diff import WRITE_OPERATIONS, LiveRepository, LiveState, changes, plan

KEEP_20 = lifecycle.parse({"rules": [
    {"rulePriority": 1, "description": "untagged", "selection": {
        "tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14},
     "action": {"type": "expire"}},
    {"rulePriority": 2, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                                      "countNumber": 20}, "action": {"type": "expire"}}]})


def wish(**kwargs: object) -> RepositorySettings:
    base = {"name": "app", "origin": "test", "image_tag_mutability": "IMMUTABLE", "scan_on_push": True,
            "lifecycle_policy": KEEP_20}
    return RepositorySettings(**{**base, **kwargs})  # type: ignore[arg-type]


def live(**kwargs: object) -> LiveRepository:
    base = {"name": "app", "image_tag_mutability": "IMMUTABLE", "scan_on_push": True,
            "lifecycle_text": KEEP_20.to_text()}
    return LiveRepository(**{**base, **kwargs})  # type: ignore[arg-type]


def put(repo: LiveRepository, operation: str, params: dict) -> LiveRepository:
    """What ECR does on each write, for the convergence property."""
    if operation == "put_image_tag_mutability":
        filters = frozenset(f["filter"] for f in params.get("imageTagMutabilityExclusionFilters", []))
        return replace(repo, image_tag_mutability=params["imageTagMutability"], exclusion_filters=filters)
    if operation == "put_image_scanning_configuration":
        return replace(repo, scan_on_push=params["imageScanningConfiguration"]["scanOnPush"])
    assert operation == "put_lifecycle_policy"
    return replace(repo, lifecycle_text=params["lifecyclePolicyText"])


def test_in_sync_needs_nothing() -> None:
    assert changes(wish(), live()) == ()


def test_each_drifted_setting_is_one_write_with_before_and_after() -> None:
    found = changes(wish(), live(image_tag_mutability="MUTABLE", scan_on_push=False, lifecycle_text=None))
    assert [(c.setting, c.before, c.after, c.operation) for c in found] == [
        ("imageTagMutability", "MUTABLE", "IMMUTABLE", "put_image_tag_mutability"),
        ("scanOnPush", False, True, "put_image_scanning_configuration"),
        ("lifecyclePolicy", None, KEEP_20.to_text(indent=None), "put_lifecycle_policy"),
    ]
    assert found[0].params == {"repositoryName": "app", "imageTagMutability": "IMMUTABLE"}
    assert found[1].params == {"repositoryName": "app", "imageScanningConfiguration": {"scanOnPush": True}}


def test_exclusion_filters_compare_as_sets_and_are_sent_with_their_mode() -> None:
    want = wish(image_tag_mutability="IMMUTABLE_WITH_EXCLUSION", exclusion_filters=frozenset({"latest", "dev-*"}))
    assert changes(want, live(image_tag_mutability="IMMUTABLE_WITH_EXCLUSION",
                              exclusion_filters=frozenset({"dev-*", "latest"}))) == ()
    (change,) = changes(want, live(image_tag_mutability="IMMUTABLE_WITH_EXCLUSION",
                                   exclusion_filters=frozenset({"latest"})))
    assert (change.before, change.after) == ("IMMUTABLE_WITH_EXCLUSION [latest]",
                                             "IMMUTABLE_WITH_EXCLUSION [dev-*, latest]")
    assert change.params["imageTagMutabilityExclusionFilters"] == [
        {"filterType": "WILDCARD", "filter": "dev-*"}, {"filterType": "WILDCARD", "filter": "latest"}]


def test_lifecycle_policies_compare_by_meaning_not_layout() -> None:
    data = KEEP_20.to_aws()
    reordered = json.dumps({"rules": list(reversed(data["rules"]))}, indent=7, sort_keys=True)
    assert changes(wish(), live(lifecycle_text=reordered)) == ()
    data["rules"][1]["selection"]["countNumber"] = 30
    (change,) = changes(wish(), live(lifecycle_text=json.dumps(data)))
    assert change.setting == "lifecyclePolicy"
    assert '"countNumber":30' in change.before


def test_unreadable_live_policy_is_replaced() -> None:
    (change,) = changes(wish(), live(lifecycle_text="{not json"))
    assert change.before == "{not json"


def test_unmanaged_settings_are_never_written() -> None:
    want = wish(image_tag_mutability=None, scan_on_push=None, lifecycle_policy=None)
    assert changes(want, live(image_tag_mutability="MUTABLE", scan_on_push=False, lifecycle_text=None)) == ()


def test_plan_marks_missing_and_unreadable_repositories() -> None:
    wishes = [wish(name="ok"), wish(name="gone"), wish(name="denied"), wish(name="drifted")]
    state = LiveState({"ok": live(name="ok"), "drifted": live(name="drifted", scan_on_push=False)},
                      frozenset({"gone"}), {"denied": "AccessDeniedException: no"})
    result = plan(wishes, state)
    assert [(r.name, len(r.changes), r.missing, r.error) for r in result.repositories] == [
        ("ok", 0, False, None), ("gone", 0, True, None), ("denied", 0, False, "AccessDeniedException: no"),
        ("drifted", 1, False, None)]
    assert [c.repository for c in result.changes] == ["drifted"]


filters = st.frozensets(st.sampled_from(["latest", "dev-*", "main", "v*"]), max_size=4)
policies = st.one_of(st.none(), st.just(KEEP_20))
wishes = st.builds(RepositorySettings, name=st.just("app"), origin=st.just("test"),
                   image_tag_mutability=st.one_of(st.none(), st.sampled_from(MUTABILITIES)),
                   exclusion_filters=filters, scan_on_push=st.one_of(st.none(), st.booleans()),
                   lifecycle_policy=policies)
lives = st.builds(LiveRepository, name=st.just("app"), image_tag_mutability=st.sampled_from(MUTABILITIES),
                  exclusion_filters=filters, scan_on_push=st.booleans(),
                  lifecycle_text=st.one_of(st.none(), st.just(KEEP_20.to_text()), st.just("[]")))


@given(wishes, lives)
def test_applying_the_plan_converges_and_only_puts(want: RepositorySettings, have: LiveRepository) -> None:
    found = changes(want, have)
    assert len({c.setting for c in found}) == len(found)  # at most one write per setting
    for change in found:
        assert change.operation in WRITE_OPERATIONS.values() and change.operation.startswith("put_")
        have = put(have, change.operation, dict(change.params))
    assert changes(want, have) == ()


def test_report_statuses_exit_codes_and_table() -> None:
    wishes = [wish(name="ok"), wish(name="drifted", image_tag_mutability="IMMUTABLE_WITH_EXCLUSION",
                                    exclusion_filters=frozenset({"latest"})), wish(name="gone")]
    state = LiveState({"ok": live(name="ok"), "drifted": live(name="drifted", lifecycle_text=None)},
                      frozenset({"gone"}))
    result = plan(wishes, state)
    planned = report.build(result, None, {"DescribeRepositories": 1})
    assert [r["status"] for r in planned["repositories"]] == ["in-sync", "planned", "missing"]
    assert (report.exit_code(planned, check=False), report.exit_code(planned, check=True)) == (1, 1)
    applied = report.build(plan(wishes[:2], state), dict.fromkeys(plan(wishes[:2], state).changes), {})
    assert applied["summary"] | {"apiCalls": None} == {
        "repositories": 2, "inSync": 1, "changed": 1, "planned": 0, "failed": 0, "missing": 0, "unmanaged": 0,
        "apiCalls": None}
    assert report.exit_code(applied, check=False) == 0

    out = io.StringIO()
    report.render_text(planned, out)
    text = out.getvalue()
    assert "IMMUTABLE_WITH_EXCLUSION [latest]" in text  # brackets are not taken for markup
    assert "1: untagged, pushed > 14d; 2: any, keep 20" in text
    assert "gone" in text and "missing" in text and " ok " not in text
    assert text.splitlines()[-1] == "3 repositories: 1 in-sync, 1 planned, 1 missing (1 API calls)"


def test_unmanaged_settings_are_reported_with_their_reason_and_never_in_sync() -> None:
    dynamic = Unmanaged("lifecyclePolicy", "Resources.A.Properties.LifecyclePolicy: a dynamic reference")
    wishes = [wish(name="only-unmanaged", lifecycle_policy=None, unmanaged=(dynamic,)),
              wish(name="drifted-too", lifecycle_policy=None, scan_on_push=False, unmanaged=(dynamic,)),
              wish(name="ok")]
    state = LiveState({name: live(name=name) for name in ("only-unmanaged", "drifted-too", "ok")})
    checked = report.build(plan(wishes, state), None, {})
    unmanaged = {"setting": "lifecyclePolicy", "status": "unmanaged", "reason": dynamic.reason}
    assert checked["repositories"][0] == {"repositoryName": "only-unmanaged", "status": "unmanaged",
                                          "changes": [unmanaged]}
    assert checked["repositories"][1]["status"] == "planned"
    assert checked["repositories"][1]["changes"][1] == unmanaged
    summary = checked["summary"]
    assert (summary["unmanaged"], summary["planned"], summary["inSync"]) == (1, 1, 1)
    assert sum(summary[key] for key in ("inSync", "changed", "planned", "failed", "missing", "unmanaged")) == 3
    assert report.exit_code(report.build(plan(wishes[::2], state), None, {}), check=True) == 0

    out = io.StringIO()
    report.render_text(checked, out)
    lines = out.getvalue().splitlines()
    assert any(line.startswith("only-unmanaged") and "lifecyclePolicy" in line
               and line.endswith(f"unmanaged: {dynamic.reason}") for line in lines)
    assert lines[-1] == "3 repositories: 1 in-sync, 1 planned, 1 unmanaged (0 API calls)"


def test_a_drift_in_a_rule_description_alone_shows_the_descriptions() -> None:
    one_rule = lifecycle.Policy(KEEP_20.rules[:1])
    renamed = one_rule.to_text().replace('"untagged"', '"Expire untagged"', 1)
    assert lifecycle.parse_text(renamed).rules[0].description == "Expire untagged"
    state = LiveState({"app": live(lifecycle_text=renamed)})
    checked = report.build(plan([wish(lifecycle_policy=one_rule)], state), None, {})
    out = io.StringIO()
    report.render_text(checked, out)
    row = next(line for line in out.getvalue().splitlines() if "lifecyclePolicy" in line)
    live_cell, wanted_cell = ("1: untagged, pushed > 14d, description 'Expire untagged'",
                              "1: untagged, pushed > 14d, description 'untagged'")
    assert " ".join(row.split()) == f"app lifecyclePolicy {live_cell} {wanted_cell} planned"
