"""The pure parts of in-use discovery and protection: references, the in-use file, this
registry's references, resolution to digests, shield plans, the config and the template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.base.errors import InputError
from generator.model import config, in_use_file
from generator.model.in_use import (
    Reference,
    Registry,
    Use,
    index,
    parse_reference,
    parse_services,
    resolve,
)
from generator.model.lifecycle import Image
from generator.model.protection import SHIELD_RULE, ShieldPlan, is_shield_rule, plan, shield_tag, shielded
from generator.render import template

HEX = "a" * 64
OURS = Registry("123456789012", "us-east-1")
HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


@pytest.mark.parametrize(("text", "default", "expected"), [
    ("web:v1", None, Reference(None, "web", "v1")),
    ("web", None, Reference(None, "web", "latest")),
    (f"team/web@sha256:{HEX}", None, Reference(None, "team/web", None, f"sha256:{HEX}")),
    (f"web:v1@sha256:{HEX}", None, Reference(None, "web", "v1", f"sha256:{HEX}")),
    (f"{HOST}/team/web:v1", None, Reference(HOST, "team/web", "v1")),
    ("nginx:1.27", "docker.io", Reference("docker.io", "nginx", "1.27")),
    ("localhost:5000/web", "docker.io", Reference("localhost:5000", "web", "latest")),
    ("ghcr.io/org/tool:2", "docker.io", Reference("ghcr.io", "org/tool", "2")),
])
def test_references_read_as_docker_reads_them(text: str, default: str | None, expected: Reference) -> None:
    assert parse_reference(text, default) == expected


@pytest.mark.parametrize("text", ["Web:v1", "web:", "web:v1@sha256:short", "web@md5:" + HEX, "-web", "a//b",
                                  "web:v 1", ""])
def test_what_is_no_reference_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_reference(text, None)


@pytest.mark.parametrize(("host", "registry"), [
    (HOST, OURS),
    ("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com", OURS),
    ("123456789012.dkr-ecr.us-east-1.on.aws", OURS),
    ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", Registry("123456789012", "cn-north-1")),
    ("public.ecr.aws", None),
    ("docker.io", None),
])
def test_ecr_hosts_name_their_account_and_region(host: str, registry: Registry | None) -> None:
    assert Reference(host, "web", "v1").registry() == registry


def test_other_registries_are_counted_and_left_out() -> None:
    uses = [Use(Reference(None, "web", "v1"), "file:1"), Use(Reference(HOST, "web", "v2"), "ecs:prod/api"),
            Use(Reference("docker.io", "web", "v1"), "ecs:prod/api"),
            Use(Reference("210987654321.dkr.ecr.us-east-1.amazonaws.com", "web", "v1"), "lambda:f:$LATEST"),
            Use(Reference(HOST.replace("us-east-1", "eu-west-1"), "web", "v1"), "lambda:f:live")]
    found = index(uses, OURS)
    assert [use.user for use in found.by_repository["web"]] == ["file:1", "ecs:prod/api"]
    assert found.other_registries == 3


def image(n: int, *tags: str, pulled: float | None = None, status: str = "ACTIVE") -> Image:
    return Image(f"sha256:{n:064x}", tags, pushed_at=1000.0 * n, last_pulled_at=pulled, status=status)


def test_tags_resolve_to_the_image_that_carries_them_digests_as_they_are() -> None:
    images = [image(1, "v1"), image(2, "v2", "latest"), image(3, pulled=86_400 * 29.5)]
    uses = [Use(Reference(None, "web", "latest"), "a"), Use(Reference(None, "web", None, image(1).digest), "b"),
            Use(Reference(None, "web", "v9"), "c"), Use(Reference(None, "web", None, f"sha256:{HEX}"), "d")]
    resolved = resolve(uses, images, now=86_400 * 30, pulled_within_days=1)
    assert resolved.users == {image(2).digest: ("a",), image(1).digest: ("b",),
                              image(3).digest: ("pulled:1970-01-30",)}
    assert [use.user for use in resolved.unknown] == ["c", "d"]
    assert resolve(uses, images, now=86_400 * 40, pulled_within_days=1).users.keys() == {
        image(1).digest, image(2).digest}


def test_in_use_file_one_reference_a_line(tmp_path: Path) -> None:
    path = tmp_path / "in-use.txt"
    path.write_text(f"# deployed elsewhere\n\nweb:v1\n  {HOST}/api@sha256:{HEX}  \n")
    uses = in_use_file.read(path)
    assert [(str(u.reference), u.user) for u in uses] == [("web:v1", "file:3"), (f"{HOST}/api@sha256:{HEX}", "file:4")]


def test_in_use_file_names_every_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "in-use.txt"
    path.write_text("web:v1\nWeb:v2\nweb:v1 # note\nok\n")
    with pytest.raises(InputError) as caught:
        in_use_file.read(path)
    lines = caught.value.render().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{path}:2: 'Web:v2' is not an image reference")
    assert lines[1].startswith(f"{path}:3: 'web:v1 # note' is not an image reference")


def test_in_use_file_kubectl_pods(tmp_path: Path) -> None:
    pods = {"apiVersion": "v1", "kind": "List", "items": [{
        "metadata": {"name": "api-7d9f", "namespace": "shop"},
        "spec": {"initContainers": [{"image": f"{HOST}/migrate:v3"}], "containers": [{"image": f"{HOST}/api:v2"}]},
        "status": {"containerStatuses": [{"image": f"{HOST}/api:v2",
                                          "imageID": f"docker-pullable://{HOST}/api@sha256:{HEX}"},
                                         {"image": "busybox", "imageID": "docker://sha256:" + "b" * 64}]}}]}
    path = tmp_path / "pods.json"
    text = json.dumps(pods, indent=2)
    path.write_text(text)

    def line(fragment: str) -> int:
        return next(n for n, line in enumerate(text.splitlines(), 1) if fragment in line)

    found = [(str(u.reference), u.user) for u in in_use_file.read(path)]
    assert (f"{HOST}/migrate:v3", f"file:{line('migrate')}:shop/api-7d9f") in found
    assert (f"{HOST}/api@sha256:{HEX}", f"file:{line('docker-pullable')}:shop/api-7d9f") in found
    assert ("docker.io/busybox:latest", f"file:{line('busybox')}:shop/api-7d9f") in found
    assert len(found) == 5  # the image id that names no repository is not a reference


def test_in_use_file_kubectl_problems_have_lines(tmp_path: Path) -> None:
    path = tmp_path / "pods.json"
    path.write_text('{"items": [\n  {"spec": {"containers": [{"image": "Bad:Name"}]}},\n  7\n]}\n')
    with pytest.raises(InputError) as caught:
        in_use_file.read(path)
    assert caught.value.render().splitlines() == [
        f"{path}:2: items[0].spec.containers[0].image: 'Bad:Name' is not an image reference: 'Bad' is not a "
        "repository name",
        f"{path}:3: items[1]: must be a pod (an object)"]
    path.write_text('{"kind": "Pod"}')
    with pytest.raises(InputError, match="kubectl get pods -A -o json"):
        in_use_file.read(path)


def test_services_flag() -> None:
    assert parse_services("lambda, ecs,ecs") == ("lambda", "ecs")
    for wrong in ("", "ecs,eks", "docker"):
        with pytest.raises(ValueError, match="must be ecs or lambda or both"):
            parse_services(wrong)


def test_shield_plan_tags_exactly_the_images_in_use_and_never_a_last_tag() -> None:
    mine = shield_tag(image(2).digest)
    images = [image(1, "v1"),                                     # in use: gets its tag
              image(2, "v2", mine),                               # in use, shielded: nothing to do
              image(3, "v3", shield_tag(image(3).digest)),        # no longer in use: tag removed
              image(4, shield_tag(image(4).digest)),              # its shield is its last tag: kept
              image(5, "ecrgen-in-use-x", "ecrgen-in-use-y"),     # only shield tags: one stays
              image(6, status="ARCHIVED")]                        # archived: cannot be tagged
    used = {image(1).digest, image(2).digest, image(6).digest}
    shield = plan(images, used)
    assert shield.add == ((image(1).digest, shield_tag(image(1).digest)),)
    assert shield.remove == ((image(3).digest, shield_tag(image(3).digest)), (image(5).digest, "ecrgen-in-use-y"))
    assert shield.kept == ((image(4).digest, shield_tag(image(4).digest)), (image(5).digest, "ecrgen-in-use-x"))
    after = {i.digest: i.tags for i in shielded(images, shield)}
    assert after[image(1).digest] == ("v1", shield_tag(image(1).digest)) and after[image(3).digest] == ("v3",)
    assert all(after[i.digest] for i in images if i.tags)  # no image loses its last tag
    assert not ShieldPlan(kept=shield.kept)  # nothing to write


PROTECTED = """\
system_name: shop
in_use: {sources: [ecs, lambda], pulled_within_days: 30, file: in-use.txt}
post_deploy_policy: true
defaults:
  protect_in_use: true
  lifecycle:
    - {tag_status: untagged, since_pushed_days: 14}
    - {tag_status: any, keep_last: 20}
repositories:
  - name: web
  - name: plain
    protect_in_use: false
  - name: none
    lifecycle: []
"""


def test_protect_in_use_puts_the_shield_rule_first(tmp_path: Path) -> None:
    (tmp_path / "ecr.yaml").write_text(PROTECTED)
    cfg = config.load(tmp_path / "ecr.yaml")
    web, plain, none = cfg.repositories
    assert web.protect_in_use and web.policy.rules[0] == SHIELD_RULE
    assert [r.priority for r in web.policy.by_priority()] == [1, 2, 3]
    assert not plain.protect_in_use and not any(map(is_shield_rule, plain.policy.rules))
    assert not none.protect_in_use and none.policy is None  # nothing to protect against
    assert cfg.in_use.services == ("ecs", "lambda") and cfg.in_use.file == str(tmp_path / "in-use.txt")

    built = template.build(cfg).to_dict()
    assert built["Resources"]["EcrWeb"]["Metadata"]["ecrgen"]["protectInUse"] is True
    assert "protectInUse" not in built["Resources"]["EcrPlain"]["Metadata"]["ecrgen"]
    statements = built["Resources"][template.POST_DEPLOY_POLICY_ID]["Properties"]["PolicyDocument"]["Statement"]
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["FindImagesInUse"]["Action"] == [
        "ecs:ListClusters", "ecs:ListServices", "ecs:DescribeServices", "ecs:ListTasks", "ecs:DescribeTasks",
        "ecs:DescribeTaskDefinition", "lambda:ListFunctions", "lambda:ListAliases", "lambda:GetFunction"]
    assert by_sid["ReadAndEnforceRepositorySettings"]["Action"][-4:] == [
        "ecr:DescribeImages", "ecr:BatchGetImage", "ecr:PutImage", "ecr:BatchDeleteImage"]


def test_without_in_use_the_template_is_as_before(tmp_path: Path) -> None:
    (tmp_path / "ecr.yaml").write_text("system_name: shop\npost_deploy_policy: true\nrepositories: [{name: web}]\n")
    built = template.build(config.load(tmp_path / "ecr.yaml")).to_dict()
    statements = built["Resources"][template.POST_DEPLOY_POLICY_ID]["Properties"]["PolicyDocument"]["Statement"]
    assert [s["Sid"] for s in statements] == ["ReadAndEnforceRepositorySettings", "ReadThisStack"]
    assert statements[0]["Action"] == ["ecr:DescribeRepositories", "ecr:GetLifecyclePolicy",
                                       "ecr:PutImageTagMutability", "ecr:PutImageScanningConfiguration",
                                       "ecr:PutLifecyclePolicy"]


@pytest.mark.parametrize(("change", "message"), [
    ("    - {tag_status: untagged, since_pushed_days: 14}\n",
     "ecr.yaml:5: defaults.protect_in_use: the in-use shield rule takes priority 1: 1 is used by 2 rules"),
])
def test_the_shield_rule_is_validated_with_the_users_rules(tmp_path: Path, change: str, message: str) -> None:
    text = PROTECTED.replace(change, "    - {priority: 1, tag_status: untagged, since_pushed_days: 14}\n")
    (tmp_path / "ecr.yaml").write_text(text)
    with pytest.raises(InputError) as caught:
        config.load(tmp_path / "ecr.yaml")
    assert message in caught.value.render().replace(str(tmp_path) + "/", "")


def test_a_policy_file_that_takes_priority_1_cannot_be_protected(tmp_path: Path) -> None:
    (tmp_path / "policy.json").write_text(json.dumps({"rules": [{"rulePriority": 1, "selection": {
        "tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 5}, "action": {"type": "expire"}}]}))
    (tmp_path / "ecr.yaml").write_text("system_name: shop\nrepositories:\n  - name: web\n    protect_in_use: true\n"
                                       "    lifecycle_policy_file: policy.json\n")
    with pytest.raises(InputError) as caught:
        config.load(tmp_path / "ecr.yaml")
    assert caught.value.render().endswith(
        "ecr.yaml:4: repositories[0].protect_in_use: with the in-use shield rule (priority 1) first: rule priority 1 "
        "rulePriority: 1 is used by 2 rules; each rule needs a unique priority")
