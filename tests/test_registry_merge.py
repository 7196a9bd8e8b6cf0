"""The pure registry merge: properties over generated documents, and the cases that must conflict."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from generator.model.registry import Part, Replication
from generator.reconcile.registry_merge import (
    POLICY,
    REPLICATION,
    SCANNING,
    SETTINGS,
    Conflict,
    merge,
    merge_policy,
    merge_scanning,
    plan,
    policy_text,
)

ACCOUNT = "123456789012"
NAMESPACE, SID_PREFIX = "myapp-ecr-", "ecrgen-myapp-"
suffix = st.text("abcxyz-*", min_size=1, max_size=6).filter(lambda s: s[-1] != "-")
owned_filter = suffix.map(lambda s: NAMESPACE + s)
# Other teams' filters: anything outside the namespace, including near misses.
foreign_filter = st.one_of(suffix.map(lambda s: "team-b-" + s), st.sampled_from(["myapp-ecr", "myapp-*", "*"]))
filter_item = st.one_of(owned_filter, foreign_filter).map(lambda f: {"filter": f, "filterType": "WILDCARD"})
frequencies = st.sampled_from(["SCAN_ON_PUSH", "CONTINUOUS_SCAN", "MANUAL"])
scanning_docs = st.builds(
    lambda scan_type, rules: {"scanType": scan_type, "rules": rules},
    st.sampled_from(["BASIC", "ENHANCED"]),
    st.lists(st.tuples(frequencies, st.lists(filter_item, max_size=4)), max_size=3,
             unique_by=lambda r: r[0]).map(lambda rs: [{"scanFrequency": f, "repositoryFilters": fs} for f, fs in rs]))
prefix = st.one_of(suffix.map(lambda s: NAMESPACE + s.replace("*", "")), suffix.map(lambda s: "team-b-" + s.replace("*", "")))
destination = st.sampled_from(["eu-west-1", "us-west-2"]).map(lambda r: {"region": r, "registryId": ACCOUNT})
replication_docs = st.lists(st.builds(
    lambda dests, prefixes: {"destinations": dests,
                             "repositoryFilters": [{"filter": p, "filterType": "PREFIX_MATCH"} for p in prefixes]},
    st.lists(destination, min_size=1, max_size=2), st.lists(prefix, max_size=2)), max_size=4).map(
    lambda rules: {"rules": rules})
sid = st.one_of(suffix.map(lambda s: SID_PREFIX + s), suffix.map(lambda s: "TeamB" + s), st.just("ecrgen-other-x"))
statement = sid.map(lambda s: {"Sid": s, "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "ecr:ReplicateImage"})
policy_docs = st.one_of(st.none(), st.builds(lambda ss, extra: {"Version": "2012-10-17", **extra, "Statement": ss},
                                             st.lists(statement, max_size=4), st.sampled_from([{}, {"Id": "x"}])))
parts = st.builds(
    lambda scan_type, on_push, continuous, rules, sids: Part(
        NAMESPACE, SID_PREFIX, scan_type, tuple(dict.fromkeys(on_push)),
        tuple(dict.fromkeys(continuous)) if scan_type == "ENHANCED" else (),
        tuple(Replication(tuple((r, None) for r in regions), tuple(dict.fromkeys(ps))) for regions, ps in rules),
        tuple({"Sid": s, "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
               "Action": "ecr:ReplicateImage"} for s in dict.fromkeys(sids))),
    st.sampled_from([None, "BASIC", "ENHANCED"]), st.lists(owned_filter, max_size=3),
    st.lists(owned_filter, max_size=3),
    st.lists(st.tuples(st.lists(st.sampled_from(["eu-west-1", "ap-south-1"]), min_size=1, max_size=2),
                       st.lists(owned_filter.map(lambda f: f.replace("*", "")), min_size=1, max_size=2)), max_size=2),
    st.lists(suffix.map(lambda s: SID_PREFIX + s), max_size=2))
documents = st.fixed_dictionaries({SCANNING: scanning_docs, REPLICATION: replication_docs, POLICY: policy_docs})


def foreign(setting: str, document: Any, part: Part) -> Any:
    """Everything of `document` another team owns, as JSON text: what must never change."""
    if setting == SCANNING:
        return json.dumps([(r["scanFrequency"], [f for f in r["repositoryFilters"] if not part.owns(f["filter"])])
                           for r in document["rules"] if r["repositoryFilters"] and
                           any(not part.owns(f["filter"]) for f in r["repositoryFilters"])])
    if setting == REPLICATION:
        return json.dumps([r for r in document["rules"]
                           if not r["repositoryFilters"] or not all(part.owns(f["filter"]) for f in r["repositoryFilters"])])
    if document is None:
        return "[]"
    return json.dumps([s for s in document["Statement"] if not part.owns_statement(s)])


def owned(setting: str, document: Any, part: Part) -> Any:
    if setting == SCANNING:
        return {r["scanFrequency"]: [f["filter"] for f in r["repositoryFilters"] if part.owns(f["filter"])]
                for r in document["rules"] if r["scanFrequency"] != "MANUAL"}
    if setting == REPLICATION:
        return [r for r in document["rules"] if json.dumps(r) not in foreign(setting, document, part)]
    return [s for s in (document or {}).get("Statement", []) if part.owns_statement(s)]


def merged_or_reject(setting: str, document: Any, part: Part) -> Any:
    """The merge, or the example is dropped when it is a conflict (tested on its own below)."""
    try:
        return merge(setting, document, [part], ACCOUNT)
    except Conflict:
        reject()


@settings(max_examples=300, deadline=None)
@given(documents=documents, part=parts, setting=st.sampled_from(SETTINGS))
def test_other_teams_parts_survive_byte_for_byte(documents: Mapping[str, Any], part: Part, setting: str) -> None:
    document = documents[setting]
    before = json.dumps(document)
    merged = merged_or_reject(setting, document, part)
    assert json.dumps(document) == before  # the input is not modified
    assert foreign(setting, merged, part) == foreign(setting, document, part)
    if setting == SCANNING and part.scan_type is None:
        assert merged["scanType"] == document["scanType"]
    if setting == POLICY and document is not None:
        assert {k: v for k, v in merged.items() if k != "Statement"} == \
            {k: v for k, v in document.items() if k != "Statement"}


@settings(max_examples=300, deadline=None)
@given(documents=documents, part=parts, setting=st.sampled_from(SETTINGS))
def test_merging_twice_changes_nothing_and_holds_exactly_the_part(documents: Mapping[str, Any], part: Part,
                                                                  setting: str) -> None:
    once = merged_or_reject(setting, documents[setting], part)
    assert merge(setting, once, [part], ACCOUNT) == once
    if setting == SCANNING:
        # Exactly the part's filters; an owned filter already there keeps its place, so a
        # reordering in ecr.yaml alone is no reason to write the document.
        held = owned(setting, once, part)
        assert sorted(held.get("SCAN_ON_PUSH", [])) == sorted(part.scan_on_push)
        assert sorted(held.get("CONTINUOUS_SCAN", [])) == sorted(part.continuous)
    elif setting == POLICY:
        assert owned(setting, once, part) == [dict(s) for s in part.statements]
    assert setting not in [p.setting for p in plan({**documents, setting: once}, {}, [part], ACCOUNT)]


@settings(max_examples=300, deadline=None)
@given(document=scanning_docs, part=parts, data=st.data())
def test_removing_an_owned_filter_removes_exactly_it(document: dict[str, Any], part: Part,
                                                     data: st.DataObject) -> None:
    if not part.scan_on_push:
        reject()
    merged = merged_or_reject(SCANNING, document, part)
    gone = data.draw(st.sampled_from(part.scan_on_push))
    smaller = replace(part, scan_on_push=tuple(f for f in part.scan_on_push if f != gone))
    after = merge_scanning(merged, smaller)
    expected = [{**rule, "repositoryFilters": [f for f in rule["repositoryFilters"]
                                               if not (rule["scanFrequency"] == "SCAN_ON_PUSH" and f["filter"] == gone)]}
                for rule in merged["rules"]]
    expected = [r for r in expected if r["repositoryFilters"] or r["scanFrequency"] != "SCAN_ON_PUSH"]
    assert after == {**merged, "rules": expected}


@settings(max_examples=200, deadline=None)
@given(document=policy_docs.filter(lambda d: d is not None and d["Statement"]), part=parts,
       indent=st.sampled_from([None, 1, 4]), team=st.sampled_from(["équipe", "チーム", "b"]))
def test_a_written_policy_keeps_every_untouched_statement_s_bytes(document: dict[str, Any], part: Part,
                                                                  indent: int | None, team: str) -> None:
    """Whatever the live layout, the text written means the merged document, holds every statement
    the merge kept exactly as the live text spelled it, and escapes nothing to ASCII."""
    for statement in document["Statement"]:
        statement["Condition"] = {"StringEquals": {"aws:PrincipalTag/team": team}}
    live = json.dumps(document, indent=indent, separators=(",", " : ") if indent else None, ensure_ascii=False)
    merged = merged_or_reject(POLICY, document, part)
    text = policy_text(merged, live)
    assert json.loads(text) == merged
    assert "\\u" not in text
    kept = [s for s in document["Statement"] if not part.owns_statement(s)]
    for statement in kept:
        spelled = json.dumps(statement, indent=indent, separators=(",", " : ") if indent else None,
                             ensure_ascii=False)
        spelled = spelled.replace("\n", "\n" + " " * (2 * indent)) if indent else spelled
        assert spelled in text
    if merged == document:
        assert text == live


PART = Part(NAMESPACE, SID_PREFIX, None, ("myapp-ecr-*",), (), (), ())


def test_basic_over_another_teams_continuous_rule_is_a_conflict() -> None:
    live = {"scanType": "ENHANCED", "rules": [
        {"scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": [{"filter": "team-b-*", "filterType": "WILDCARD"}]}]}
    with pytest.raises(Conflict, match="CONTINUOUS_SCAN rule"):
        merge_scanning(live, replace(PART, scan_type="BASIC"))
    assert merge_scanning(live, PART)["scanType"] == "ENHANCED"  # no type: never changed


def test_replication_limits_are_conflicts() -> None:
    theirs = [{"destinations": [{"region": "eu-west-1", "registryId": ACCOUNT}] * 3,
               "repositoryFilters": [{"filter": f"team-{i}-", "filterType": "PREFIX_MATCH"}]} for i in range(8)]
    ours = replace(PART, replication=(Replication((("us-west-2", None), ("eu-west-2", "111122223333")),
                                                           ("myapp-ecr-",)),))
    assert len(merge(REPLICATION, {"rules": theirs[:7]}, [ours], ACCOUNT)["rules"]) == 8
    with pytest.raises(Conflict, match="26 destinations"):
        merge(REPLICATION, {"rules": theirs[:8]}, [ours], ACCOUNT)
    ten = [{"destinations": [], "repositoryFilters": [{"filter": f"t{i}-", "filterType": "PREFIX_MATCH"}]}
           for i in range(10)]
    with pytest.raises(Conflict, match="11 rules"):
        merge(REPLICATION, {"rules": ten}, [ours], ACCOUNT)


def test_a_rule_with_no_filter_or_a_foreign_one_is_never_owned() -> None:
    everything = {"destinations": [{"region": "eu-west-1", "registryId": ACCOUNT}]}
    mixed = {**everything, "repositoryFilters": [{"filter": "myapp-ecr-", "filterType": "PREFIX_MATCH"},
                                                  {"filter": "team-b-", "filterType": "PREFIX_MATCH"}]}
    assert merge(REPLICATION, {"rules": [everything, mixed]}, [PART], ACCOUNT) == {"rules": [everything, mixed]}


def test_the_last_own_statement_is_not_deleted_silently() -> None:
    live = {"Version": "2012-10-17", "Statement": [{"Sid": "ecrgen-myapp-x", "Effect": "Allow"}]}
    with pytest.raises(Conflict, match="delete-registry-policy"):
        merge_policy(live, PART)
    assert merge_policy(None, PART) is None  # nothing to add to no policy: still no policy
