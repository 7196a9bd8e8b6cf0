"""Hypothesis strategies for valid ecr.yaml configs, lifecycle rules and access, valid by construction."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

WORD = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
NAME = st.builds(lambda parts, sep: sep.join(parts), st.lists(WORD, min_size=1, max_size=3),
                 st.sampled_from(["-", "_", "."]))
DAYS = st.integers(min_value=1, max_value=3650)
# Any text a template can carry as it is (`${...}` it cannot: the config refuses it).
DESCRIPTION = st.none() | st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]),
                                  max_size=30).filter(lambda text: "${" not in text)


@st.composite
def lifecycle_rules(draw: st.DrawFn) -> list[dict[str, Any]]:
    """ecr.yaml rule dicts that satisfy every constraint: distinct prefixes, at most one untagged
    and one `any` rule per storage class, archive rules only in their documented shapes."""
    rules: list[dict[str, Any]] = []
    if draw(st.booleans()):
        rules.append({"tag_status": "untagged", draw(st.sampled_from(["keep_last", "since_pushed_days"])):
                      draw(DAYS)})
    prefixes = draw(st.lists(WORD, unique=True, max_size=6))
    while prefixes:
        take, prefixes = prefixes[:draw(st.integers(1, 2))], prefixes[2:]
        rules.append({"tag_status": "tagged", "tag_prefixes": take, "keep_last": draw(DAYS)})
    for pattern in draw(st.lists(st.from_regex(r"[a-z]{0,3}(\*[a-z0-9]{0,3}){0,4}", fullmatch=True)
                                 .filter(bool), max_size=2)):
        rules.append({"tag_status": "tagged", "tag_patterns": [pattern],
                      "since_pushed_days": draw(DAYS)})
    last = draw(st.sampled_from(["none", "expire", "archive"]))
    if last == "expire":
        rules.append({"tag_status": "any", draw(st.sampled_from(["keep_last", "since_pushed_days"])):
                      draw(DAYS)})
    elif last == "archive":
        rules.append({"tag_status": "any", "since_pulled_days": draw(DAYS), "action": "archive"})
        rules.append({"tag_status": "any", "storage_class": "archive",
                      "since_archived_days": draw(st.integers(90, 3650))})
    for rule in rules:
        description = draw(DESCRIPTION)
        if description:
            rule["description"] = description
    return rules


ACCOUNT = st.from_regex(r"[1-9][0-9]{11}", fullmatch=True)
ORGANIZATION = st.from_regex(r"o-[a-z0-9]{10,14}", fullmatch=True)
_GRANT = {
    "accounts": st.lists(ACCOUNT, min_size=1, max_size=3),
    "organization": ORGANIZATION,
    "org_paths": st.lists(st.builds(lambda o: f"{o}/r-ab12/ou-ab12-11111111/*", ORGANIZATION),
                          min_size=1, max_size=2),
    "roles": st.lists(st.builds(lambda a, n: f"arn:aws:iam::{a}:role/{n}", ACCOUNT, WORD), min_size=1,
                      max_size=3),
}
# ecr.yaml `access:` sections: every kind of grant, push never to a service.
ACCESS = st.fixed_dictionaries({}, optional={
    "pull": st.fixed_dictionaries({}, optional={
        **_GRANT, "services": st.lists(st.sampled_from(["codebuild", "lambda"]), min_size=1, max_size=2)}),
    "push": st.fixed_dictionaries({}, optional=_GRANT),
}).map(lambda access: {kind: grant for kind, grant in access.items() if grant}).filter(bool)


@st.composite
def configs(draw: st.DrawFn, max_repositories: int = 6) -> dict[str, Any]:
    """A valid ecr.yaml as data."""
    names = draw(st.lists(NAME, min_size=1, max_size=max_repositories, unique_by=_logical)
                 .filter(lambda ns: len({n for n in ns}) == len(ns)))
    physical = draw(st.sampled_from(["none", "some", "all"]))  # all: nothing uses ${SystemName}
    repositories = []
    for name in names:
        repo: dict[str, Any] = {"name": name}
        if physical == "all" or (physical == "some" and draw(st.booleans())):
            repo["physical_name"] = f"legacy/{name}"
        mode = draw(st.sampled_from(["MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION",
                                     "MUTABLE_WITH_EXCLUSION", None]))
        if mode:
            repo["image_tag_mutability"] = mode
        if mode and mode.endswith("_WITH_EXCLUSION"):
            repo["mutability_exclusions"] = draw(st.lists(
                st.from_regex(r"[0-9a-zA-Z._-]{1,10}\*?", fullmatch=True), min_size=1, max_size=5, unique=True))
        if draw(st.booleans()):
            repo["scan_on_push"] = draw(st.booleans())
        if draw(st.booleans()):
            repo["lifecycle"] = draw(lifecycle_rules())
        if draw(st.booleans()):
            repo["encryption"] = draw(st.sampled_from([{"type": "AES256"}, {"type": "KMS"},
                                                       {"type": "KMS", "kms_key": "alias/ecr"}]))
        if draw(st.booleans()):
            repo["tags"] = {"Team": draw(WORD)}
        if draw(st.booleans()):
            repo["access"] = draw(ACCESS)
        repositories.append(repo)
    return {
        "system_name": draw(WORD),
        "settings_via": draw(st.sampled_from(["template", "post-deploy"])),
        "outputs": draw(st.sampled_from([[], ["uri"], ["uri", "arn"]])),
        "post_deploy_policy": draw(st.booleans()),
        "defaults": {"lifecycle": draw(lifecycle_rules())},
        "repositories": repositories,
    }


def _logical(name: str) -> str:
    from generator.model.repository import logical_id

    return logical_id(name)
