"""Splice one config's part into a live registry document, leaving every other part as it was.

Documents are in the API's own shapes: scanning `{"scanType", "rules"}` (as
GetRegistryScanningConfiguration returns it), replication `{"rules"}` (DescribeRegistry) and the
registry policy as parsed JSON (None when there is none). Pure: documents in, document out.

Guarantees, for any input (tested as properties): every element another team owns is in the
result exactly as it was, in its place; merging a merged document again changes nothing; an
owned element no longer declared is removed and nothing else. A merge that would break another
team's part (BASIC while another team scans continuously, more rules than ECR allows) raises
`Conflict` instead of writing.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from generator.model.registry import (
    CONTINUOUS_SCAN,
    MAX_DESTINATIONS,
    MAX_REPLICATION_RULES,
    MAX_SCAN_FILTERS,
    SCAN_ON_PUSH,
    Part,
)
from generator.model.registry_settings import MAX_SIGNING_RULES

SCANNING, REPLICATION, POLICY = "scanning", "replication", "registryPolicy"
SETTINGS = (SCANNING, REPLICATION, POLICY)
# Merged like the others, but read only when a part declares signing rules (`Part.signing`).
SIGNING = "signing"
POLICY_VERSION = "2012-10-17"

Document = Any  # a mapping in the API's shape, or None for "no registry policy"


class Conflict(ValueError):
    """This config's part cannot be merged without breaking someone else's."""


def merge(setting: str, document: Document, parts: Sequence[Part], registry_id: str) -> Document:
    """`document` with each part merged in, in order; `document` itself is never modified."""
    merged = copy.deepcopy(document)
    for part in parts:
        merged = MERGERS[setting](merged, part, registry_id)
    return merged


def merge_scanning(document: Mapping[str, Any], part: Part, registry_id: str = "") -> dict[str, Any]:
    """Owned wildcard filters of the SCAN_ON_PUSH and CONTINUOUS_SCAN rules, and the scan type
    when the part sets one. Filters stay in place; new ones go at the end of their rule; a rule
    left empty by removing owned filters is removed; other rules are kept as they are."""
    scan_type = part.scan_type or document.get("scanType") or "BASIC"
    rules: list[Any] = []
    done: set[str] = set()
    for rule in document.get("rules") or []:
        frequency = rule.get("scanFrequency") if isinstance(rule, Mapping) else None
        if frequency not in (SCAN_ON_PUSH, CONTINUOUS_SCAN) or frequency in done:
            rules.append(rule)
            continue
        done.add(frequency)
        wanted = part.filters_for(frequency)
        filters = rule.get("repositoryFilters") or []
        kept, present = [], set()
        for item in filters:
            value = item.get("filter") if isinstance(item, Mapping) else None
            if not part.owns(value):
                kept.append(item)
            elif value in wanted and value not in present:
                kept.append(item)
                present.add(value)
        kept += [_wildcard(value) for value in wanted if value not in present]
        if kept == filters:
            rules.append(rule)
        elif kept:  # a rule emptied of this config's filters was this config's alone: it goes
            rules.append({**rule, "repositoryFilters": kept})
    for frequency in (SCAN_ON_PUSH, CONTINUOUS_SCAN):
        if frequency not in done and part.filters_for(frequency):
            rules.append({"scanFrequency": frequency,
                          "repositoryFilters": [_wildcard(v) for v in part.filters_for(frequency)]})
    for rule in (r for r in rules if isinstance(r, Mapping)):
        filters = rule.get("repositoryFilters") or []
        if len(filters) > MAX_SCAN_FILTERS:
            raise Conflict(f"the {rule.get('scanFrequency')} rule would hold {len(filters)} filters; ECR "
                           f"allows at most {MAX_SCAN_FILTERS}")
        if part.scan_type == "BASIC" and document.get("scanType") == "ENHANCED" and \
                rule.get("scanFrequency") == CONTINUOUS_SCAN and filters:
            others = [_filter_of(f) for f in filters if not part.owns(_filter_of(f))]
            raise Conflict(f"scan type BASIC would break the registry's CONTINUOUS_SCAN rule (filters "
                           f"{others}), which only ENHANCED allows; leave scanning.type out or use ENHANCED")
    return {**document, "scanType": scan_type, "rules": rules}


def merge_replication(document: Mapping[str, Any], part: Part, registry_id: str) -> dict[str, Any]:
    """A rule is owned when it has prefixes and all of them are in the namespace. Owned rules are
    replaced by the declared ones, placed where the first owned rule was (else at the end);
    destinations without a registry id replicate within this account (`registry_id`)."""
    wanted = [{"destinations": [{"region": region, "registryId": account or registry_id}
                                for region, account in rule.destinations],
               "repositoryFilters": [{"filter": prefix, "filterType": "PREFIX_MATCH"}
                                     for prefix in rule.prefixes]}
              for rule in part.replication]
    rules = _splice(document.get("rules") or [], lambda rule: _owned_rule(rule, part), wanted)
    if len(rules) > MAX_REPLICATION_RULES:
        raise Conflict(f"the replication configuration would hold {len(rules)} rules; ECR allows at "
                       f"most {MAX_REPLICATION_RULES}")
    destinations = sum(len(r.get("destinations") or []) for r in rules if isinstance(r, Mapping))
    if destinations > MAX_DESTINATIONS:
        raise Conflict(f"the replication configuration would hold {destinations} destinations; ECR "
                       f"allows at most {MAX_DESTINATIONS} in all")
    return {**document, "rules": rules}


def merge_policy(document: Mapping[str, Any] | None, part: Part,
                 registry_id: str = "") -> dict[str, Any] | None:
    """Owned statements (Sid in the namespace) replaced by the declared ones, placed where the
    first owned statement was (else at the end); every other statement and key kept."""
    if document is None:
        if not part.statements:
            return None
        return {"Version": POLICY_VERSION, "Statement": [dict(s) for s in part.statements]}
    if not isinstance(document, Mapping):
        raise Conflict("the registry policy is not a JSON object; fix it by hand first")
    current = document.get("Statement") or []
    statements = [current] if isinstance(current, Mapping) else list(current)
    out = _splice(statements, part.owns_statement, [dict(s) for s in part.statements])
    if out == statements:
        return dict(document)
    if not out:
        raise Conflict("removing this config's last statements would leave an empty registry policy, "
                       "which ECR rejects; post-deploy never deletes: run `aws ecr delete-registry-policy`")
    return {**document, "Statement": out}


def merge_signing(document: Mapping[str, Any], part: Part, registry_id: str = "") -> dict[str, Any]:
    """Owned signing rules (filters all in the namespace, as for replication) replaced by the
    declared ones, placed where the first owned rule was (else at the end); a part that does not
    manage signing (`signing` None) changes nothing."""
    if part.signing is None:
        return dict(document)
    wanted = [rule.to_api() for rule in part.signing]
    rules = _splice(document.get("rules") or [], lambda rule: _owned_rule(rule, part), wanted)
    if len(rules) > MAX_SIGNING_RULES:
        raise Conflict(f"the signing configuration would hold {len(rules)} rules; ECR allows at most "
                       f"{MAX_SIGNING_RULES}")
    return {**document, "rules": rules}


def policy_text(document: Mapping[str, Any], original: str | None) -> str:
    """The registry policy text to write for `document`.

    Every statement the merge left as it was keeps its bytes from `original` (the live text the
    merge started from): other teams' spacing and characters are theirs. Only this config's
    statements are written anew, and nothing is escaped to ASCII (`équipe` stays `équipe`).
    Where `original` cannot be followed that closely (other keys changed, an odd layout), the
    whole document is written as plain JSON, still without escapes.
    """
    fresh = json.dumps(document, ensure_ascii=False)
    spans = _statement_spans(original) if original is not None else None
    if original is None or not spans or not isinstance(document.get("Statement"), list):
        return fresh
    before = json.loads(original)
    start, end, items = spans
    if {k: v for k, v in before.items() if k != "Statement"} != \
            {k: v for k, v in document.items() if k != "Statement"} or \
            not isinstance(before["Statement"], list) or len(before["Statement"]) != len(items):
        return fresh  # other keys changed, or a text that repeats "Statement"
    unused = list(zip(before["Statement"], items, strict=True))
    texts = []
    for statement in document["Statement"]:
        same = next((pair for pair in unused if pair[0] == statement), None)
        if same is None:
            texts.append(json.dumps(statement, ensure_ascii=False))
            continue
        unused.remove(same)
        texts.append(original[same[1][0]:same[1][1]])
    lead, trail = original[start + 1:items[0][0]], original[items[-1][1]:end - 1]
    between = original[items[0][1]:items[1][0]] if len(items) > 1 else "," + (lead or " ")
    text = original[:start] + "[" + lead + between.join(texts) + trail + "]" + original[end:]
    return text if json.loads(text) == document else fresh


_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


Spans = tuple[int, int, list[tuple[int, int]]]  # a list's start and end, and each item's


def _statement_spans(text: str) -> Spans | None:
    """Where the top-level `Statement` list of a JSON policy text is (start and end of the
    brackets) and each of its items; None when the text is not an object with a non-empty list
    there."""
    def skip(at: int) -> int:
        return _SPACE.match(text, at).end()  # type: ignore[union-attr]

    try:
        at = skip(0)
        if text[at] != "{":
            return None
        at = skip(at + 1)
        while text[at] != "}":
            key, at = _DECODER.raw_decode(text, at)
            at = skip(at)
            if text[at] != ":":
                return None
            at = skip(at + 1)
            if key == "Statement":
                return _items(text, at, skip) if text[at] == "[" else None
            _, at = _DECODER.raw_decode(text, at)
            at = skip(at)
            if text[at] == ",":
                at = skip(at + 1)
    except (ValueError, IndexError):
        return None
    return None


def _items(text: str, start: int, skip: Callable[[int], int]) -> Spans | None:
    items = []
    at = skip(start + 1)
    while text[at] != "]":
        _, end = _DECODER.raw_decode(text, at)
        items.append((at, end))
        at = skip(end)
        if text[at] == ",":
            at = skip(at + 1)
        elif text[at] != "]":
            return None
    return (start, at + 1, items) if items else None


MERGERS: dict[str, Callable[[Any, Part, str], Any]] = {
    SCANNING: merge_scanning, REPLICATION: merge_replication, POLICY: merge_policy, SIGNING: merge_signing}


def _splice(items: Sequence[Any], owned: Callable[[Any], bool], wanted: list[Any]) -> list[Any]:
    """`items` with the owned ones replaced by `wanted`, placed where the first owned one was
    (else at the end); every other item kept as it was, in its place."""
    out: list[Any] = []
    placed = False
    for item in items:
        if owned(item):
            if not placed:
                out += wanted
                placed = True
            continue
        out.append(item)
    return out if placed else out + wanted


def _wildcard(value: str) -> dict[str, str]:
    return {"filter": value, "filterType": "WILDCARD"}


def _filter_of(item: Any) -> Any:
    return item.get("filter") if isinstance(item, Mapping) else None


def _owned_rule(rule: Any, part: Part) -> bool:
    if not isinstance(rule, Mapping):
        return False
    filters = rule.get("repositoryFilters") or []
    return bool(filters) and all(part.owns(_filter_of(item)) for item in filters)


@dataclass(frozen=True)
class DocumentPlan:
    """One registry document that needs a write (`before` -> `after`) or cannot be merged (`error`)."""

    setting: str
    before: Document
    after: Document
    error: str | None = None


def plan(documents: Mapping[str, Document], errors: Mapping[str, str], parts: Sequence[Part],
         registry_id: str) -> list[DocumentPlan]:
    """The documents this run must write, or cannot; a document in sync is left out."""
    out = []
    for setting in SETTINGS:
        if setting in errors:
            out.append(DocumentPlan(setting, None, None, errors[setting]))
            continue
        before = documents.get(setting)
        try:
            after = merge(setting, before, parts, registry_id)
        except Conflict as exc:
            out.append(DocumentPlan(setting, before, before, str(exc)))
            continue
        if after != before:
            out.append(DocumentPlan(setting, before, after))
    return out


@dataclass(frozen=True)
class Left:
    """A live element the merge leaves as it is although it looks like this config's (`item`: the
    filter, the rule's prefixes or the Sid), and why."""

    setting: str
    item: str
    reason: str


def left_alone(documents: Mapping[str, Document], parts: Sequence[Part]) -> list[Left]:
    """Live elements that start with a part's namespace but lie in a longer SystemName's too:
    another config's, never removed. Reported, so that a stale one of this config's from before
    namespaces were delimited (`ecrgen-myapp-replicate-in`) can be removed by hand."""
    out = []
    for part in parts:
        candidates: list[tuple[str, list[str]]] = []  # (setting, the values that make one element)
        for rule in (documents.get(SCANNING) or {}).get("rules") or []:
            if isinstance(rule, Mapping) and rule.get("scanFrequency") in (SCAN_ON_PUSH, CONTINUOUS_SCAN):
                candidates += [(SCANNING, [f]) for f in map(_filter_of, rule.get("repositoryFilters") or [])
                               if isinstance(f, str) and f.startswith(part.namespace)]
        for rule in (documents.get(REPLICATION) or {}).get("rules") or []:
            prefixes = [_filter_of(f) for f in (rule.get("repositoryFilters") or [])] \
                if isinstance(rule, Mapping) else []
            if prefixes and all(isinstance(p, str) and p.startswith(part.namespace) for p in prefixes):
                candidates.append((REPLICATION, prefixes))
        policy = documents.get(POLICY)
        statements = policy.get("Statement") if isinstance(policy, Mapping) else None
        for statement in [statements] if isinstance(statements, Mapping) else statements or []:
            sid = statement.get("Sid") if isinstance(statement, Mapping) else None
            if isinstance(sid, str) and sid.startswith(part.sid_prefix):
                candidates.append((POLICY, [sid]))
        for setting, values in candidates:
            longer = next((owner for value in values
                           if (owner := part.longer_owner(value, sid=setting == POLICY))), None)
            if longer:
                start = part.sid_prefix if setting == POLICY else part.namespace
                out.append(Left(setting, ", ".join(values), f"starts with this config's {start!r} but is "
                                f"SystemName {longer!r}'s (a longer name): left as it is; if it is this "
                                "config's own from before ecrgen delimited namespaces, remove it by hand"))
    return out
