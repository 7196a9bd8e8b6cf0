"""`ecrgen lifecycle preview|validate` end to end, as a user or a pipeline runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from generator.aws.images import describe_images

FIXTURES = Path(__file__).parent / "fixtures" / "lifecycle"
POLICY = str(FIXTURES / "all-rule-types.json")
IMAGES = str(FIXTURES / "all-rule-types-images.json")
NOW = "2026-01-10T12:00:00Z"


def preview(ecrgen: Any, *args: str, input: str | None = None) -> Any:
    return ecrgen("lifecycle", "preview", *args, input=input)


def test_preview_json_is_ecr_preview_shape_with_savings(ecrgen: Any) -> None:
    result = preview(ecrgen, "--policy", POLICY, "--images", IMAGES, "--now", NOW, "--output", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["previewResults"] == [
        {"imageDigest": "sha256:aaaa", "imageTags": ["alpha-1", "beta-1"],
         "imagePushedAt": "2026-01-06T12:00:00Z", "action": {"type": "EXPIRE"}, "appliedRulePriority": 1},
        {"imageDigest": "sha256:bbbb", "imageTags": [], "imagePushedAt": "2026-01-07T12:00:00Z",
         "action": {"type": "EXPIRE"}, "appliedRulePriority": 2},
        {"imageDigest": "sha256:dddd", "imageTags": ["git hash"], "imagePushedAt": "2026-01-09T12:00:00Z",
         "action": {"type": "EXPIRE"}, "appliedRulePriority": 3},
    ]
    # 1 GiB + 512 MiB + 512 MiB at 0.10 USD per GB-month.
    assert report["summary"] == {"expiringImageTotalCount": 3, "transitioningImageTotalCount": 0,
                                 "bytesFreed": 2 * 2**30, "monthlyStorageSavingsUsd": 0.2}


def test_preview_text_lists_each_rule_the_kept_images_and_the_saving(ecrgen: Any) -> None:
    result = preview(ecrgen, "--policy", POLICY, "--images", IMAGES, "--now", NOW, "--price-per-gb", "0.5")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "5 images evaluated at 2026-01-10T12:00:00Z against 3 rules"
    rule_1 = lines.index("rule 1 (Rule 1): expires 1 image, 1.0 GiB")
    assert lines[rule_1 + 1].split() == ["sha256:aaaa", "alpha-1,", "beta-1", "4.0", "days", "1.0", "GiB"]
    assert "rule 2 (Rule 2): expires 1 image, 512.0 MiB" in lines
    kept = lines.index("kept: 2 images, 300 B")
    assert [line.split()[0] for line in lines[kept + 1:kept + 3]] == ["sha256:eeee", "sha256:cccc"]
    assert lines[-1] == ("freed: 2.0 GiB (2,147,483,648 bytes), saving 1.00 USD per month "
                         "at 0.50 USD per GB-month")


def test_preview_reads_images_from_stdin_as_a_bare_list(ecrgen: Any) -> None:
    details = json.loads(Path(IMAGES).read_text())["imageDetails"]
    result = preview(ecrgen, "--policy", POLICY, "--images", "-", "--now", NOW, "-o", "json",
                     input=json.dumps(details))
    assert result.returncode == 0, result.stderr
    assert [r["imageDigest"] for r in json.loads(result.stdout)["previewResults"]] == [
        "sha256:aaaa", "sha256:bbbb", "sha256:dddd"]


def test_preview_takes_the_policy_from_ecr_yaml(ecrgen: Any, tmp_path: Path) -> None:
    (tmp_path / "ecr.yaml").write_text(
        "system_name: myapp\nrepositories:\n  - name: web\n    lifecycle:\n"
        "      - {tag_status: any, keep_last: 2}\n")
    images = [{"imageDigest": f"sha256:{i}", "imagePushedAt": f"2026-01-0{i}T00:00:00Z"} for i in range(1, 5)]
    for name in ("web", "myapp-ecr-web"):
        result = preview(ecrgen, "--config", str(tmp_path / "ecr.yaml"), "--repository", name,
                         "--images", "-", "-o", "json", input=json.dumps(images))
        assert result.returncode == 0, result.stderr
        assert [r["imageDigest"] for r in json.loads(result.stdout)["previewResults"]] == [
            "sha256:1", "sha256:2"]


@pytest.mark.parametrize(("args", "stdin", "expected"), [
    (["--images", str(FIXTURES / "bad-images.json")], None, [
        "bad-images.json: imageDetails[0].imagePushedAt: 'yesterday' is not an ISO 8601 time",
        "bad-images.json: imageDetails[1].imageDigest: is required",
        "bad-images.json: imageDetails[1].imageSizeInBytes: must be a whole number of bytes, got -5",
        "bad-images.json: imageDetails[3].imageStatus: must be one of ACTIVE, ARCHIVED, ACTIVATING"]),
    (["--images", "-"], '{"images": []}', ["<stdin>: expected the output of `aws ecr describe-images`"]),
    (["--images", "-"], "[{]", ["<stdin>:1: not valid JSON"]),
    (["--images", "-"], '[{"imageDigest": "a", "imagePushedAt": "2026-01-01"}, '
                        '{"imageDigest": "a", "imagePushedAt": "2026-01-02"}]',
     ["<stdin>: [1].imageDigest: duplicates the digest of [0]"]),
    (["--images", IMAGES, "--now", "next tuesday"], None, ["lifecycle preview: --now: 'next tuesday'"]),
    (["--images", IMAGES, "--price-per-gb", "-1"], None, ["lifecycle preview: --price-per-gb: must be a price"]),
    (["--images", IMAGES, "--price-per-gb", "nan"], None, ["lifecycle preview: --price-per-gb: must be a price"]),
    (["--images", "missing.json"], None, ["missing.json: file not found"]),
    (["--live"], None, ["lifecycle preview: --repository: --live needs --repository NAME"]),
])
def test_preview_bad_input_is_one_line_per_problem_and_exit_2(ecrgen: Any, args: list[str], stdin: str | None,
                                                              expected: list[str]) -> None:
    result = preview(ecrgen, "--policy", POLICY, *args, input=stdin)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == len(expected)
    for line, start in zip(lines, expected, strict=True):
        assert start in line
    assert "Traceback" not in result.stderr


def test_preview_rejects_an_invalid_policy_naming_rule_and_field(ecrgen: Any) -> None:
    result = preview(ecrgen, "--policy", str(FIXTURES / "invalid-policy.json"), "--images", IMAGES)
    assert result.returncode == 2
    assert any(line.endswith("invalid-policy.json:11: rule priority 2 action.type: must be one of expire, "
                             "transition, got 'delete'") for line in result.stderr.splitlines())


def test_preview_without_policy_or_images_says_what_is_missing(ecrgen: Any) -> None:
    result = preview(ecrgen)
    assert result.returncode == 2
    assert [line.split(": ")[1] for line in result.stderr.splitlines()] == ["--policy", "--images"]


def test_validate_exit_codes_and_messages(ecrgen: Any) -> None:
    good, bad = POLICY, str(FIXTURES / "invalid-policy.json")
    assert ecrgen("lifecycle", "validate", good).returncode == 0
    invalid = ecrgen("lifecycle", "validate", good, bad)
    assert invalid.returncode == 1 and invalid.stderr == ""
    assert invalid.stdout.splitlines() == [
        f"{good}: valid (3 rules)",
        f"{bad}:5: rule priority 1 selection.countUnit: must be 'days' with countType 'sinceImagePushed', "
        "got None",
        f"{bad}:5: rule priority 1 selection.tagPrefixList: tagStatus 'tagged' needs exactly one of "
        "tagPrefixList or tagPatternList",  # semantic, in a rule with a schema problem: also at once
        f"{bad}:11: rule priority 2 action.type: must be one of expire, transition, got 'delete'",
        f"{bad}:10: rule priority 2 selection.countNumber: must be an integer of at least 1, got 0",
    ]
    unreadable = ecrgen("lifecycle", "validate", bad, str(FIXTURES / "truncated-policy.json"), "nope.json")
    assert unreadable.returncode == 2
    assert "truncated-policy.json:3: not valid JSON" in unreadable.stderr
    assert "nope.json: file not found" in unreadable.stderr
    assert f"{bad}:11: rule priority 2 action.type" in unreadable.stdout
    assert "not valid JSON" not in unreadable.stdout


def test_counts_are_in_the_singular_for_one(ecrgen: Any, tmp_path: Path) -> None:
    policy = tmp_path / "one.json"
    policy.write_text(json.dumps({"rules": [{
        "rulePriority": 1, "selection": {"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1},
        "action": {"type": "expire"}}]}))
    validated = ecrgen("lifecycle", "validate", str(policy))
    assert validated.stdout == f"{policy}: valid (1 rule)\n" and validated.stderr == ""
    images = tmp_path / "images.json"
    images.write_text(json.dumps({"imageDetails": [{
        "imageDigest": "sha256:" + "a" * 64, "imageTags": ["v1"], "imageSizeInBytes": 1,
        "imagePushedAt": "2026-01-01T00:00:00Z"}]}))
    previewed = ecrgen("lifecycle", "preview", "--policy", str(policy), "--images", str(images),
                       "--now", "2026-01-10T00:00:00Z")
    assert previewed.returncode == 0, previewed.stderr
    lines = previewed.stdout.splitlines()
    assert lines[0] == "1 image evaluated at 2026-01-10T00:00:00Z against 1 rule"
    assert lines[2] == "rule 1 (all images, pushed over 1 day ago): expires 1 image, 1 B"
    assert "(1 byte)" in lines[-1]


def test_validate_reports_semantic_constraints(ecrgen: Any, tmp_path: Path) -> None:
    rules = [{"rulePriority": 5, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                                               "countNumber": 3}, "action": {"type": "expire"}},
             {"rulePriority": 9, "selection": {"tagStatus": "tagged", "tagPatternList": ["a*b*c*d*e*f"],
                                               "countType": "imageCountMoreThan", "countNumber": 3},
              "action": {"type": "expire"}}]
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"rules": rules}, indent=1))
    result = ecrgen("lifecycle", "validate", str(path))
    assert result.returncode == 1
    assert "rule priority 5 rulePriority: a rule with tagStatus 'any' must have the highest priority" in result.stdout
    assert "rule priority 9 selection.tagPatternList: 'a*b*c*d*e*f' has 5 wildcards" in result.stdout


# --- live, against the moto server ----------------------------------------------------------

def _push(ecr: Any, repository: str, number: int, tag: str | None) -> str:
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 100,
                   "digest": f"sha256:{number:064x}"},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1000 + number,
                    "digest": f"sha256:{number + 1000:064x}"}]})
    kwargs = {"imageTag": tag} if tag else {}
    return ecr.put_image(repositoryName=repository, imageManifest=manifest, **kwargs)["image"]["imageId"][
        "imageDigest"]


def _keep_two_policy() -> str:
    return json.dumps({"rules": [
        {"rulePriority": 1, "description": "Keep one untagged",
         "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1},
         "action": {"type": "expire"}},
        {"rulePriority": 2, "description": "Keep two images",
         "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 2},
         "action": {"type": "expire"}}]})


def test_preview_live_uses_the_repository_images_and_policy(aws: str, ecrgen: Any) -> None:
    ecr = boto3.client("ecr")
    ecr.create_repository(repositoryName="myapp-ecr-web")
    tagged = [_push(ecr, "myapp-ecr-web", n, f"v{n}") for n in range(4)]
    untagged = [_push(ecr, "myapp-ecr-web", n, None) for n in range(10, 12)]
    ecr.put_lifecycle_policy(repositoryName="myapp-ecr-web", lifecyclePolicyText=_keep_two_policy())
    result = preview(ecrgen, "--live", "--repository", "myapp-ecr-web", "-o", "json")
    assert result.returncode == 0, result.stderr
    decisions = {r["imageDigest"]: r["appliedRulePriority"] for r in json.loads(result.stdout)["previewResults"]}
    # moto stamps pushes to the second, so ties are likely: the digest then decides.
    details = ecr.describe_images(repositoryName="myapp-ecr-web")["imageDetails"]
    newest_first = [d["imageDigest"] for d in sorted(
        details, key=lambda d: (-d["imagePushedAt"].timestamp(), d["imageDigest"]))]
    assert sorted(newest_first) == sorted(tagged + untagged)
    untagged_newest_first = [d for d in newest_first if d in untagged]
    expected = {d: 1 for d in untagged_newest_first[1:]}
    expected.update({d: 2 for d in newest_first[2:] if d in tagged})
    assert decisions == expected


def test_preview_live_with_a_policy_file_and_missing_repository(aws: str, ecrgen: Any) -> None:
    ecr = boto3.client("ecr")
    ecr.create_repository(repositoryName="bare")
    _push(ecr, "bare", 1, "v1")
    no_policy = preview(ecrgen, "--live", "--repository", "bare")
    assert no_policy.returncode == 2
    assert no_policy.stderr.startswith("bare: has no lifecycle policy")
    with_file = preview(ecrgen, "--live", "--repository", "bare", "--policy", POLICY, "-o", "json")
    assert with_file.returncode == 0, with_file.stderr
    assert json.loads(with_file.stdout)["previewResults"] == []
    missing = preview(ecrgen, "--live", "--repository", "nope-repo", "--policy", POLICY)
    assert missing.returncode == 2
    assert missing.stderr.strip() == "nope-repo: repository not found in this account and region"


def test_describe_images_follows_every_page_and_asks_for_archived_images() -> None:
    ecr = boto3.client("ecr", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    pages = [([{"imageDigest": "sha256:1"}], "t1"), ([{"imageDigest": "sha256:2"}], "t2"),
             ([{"imageDigest": "sha256:3"}], None)]
    with Stubber(ecr) as stub:
        token = None
        for details, next_token in pages:
            expected = {"repositoryName": "web", "filter": {"imageStatus": "ANY"}}
            if token:
                expected["nextToken"] = token
            response: dict[str, Any] = {"imageDetails": details}
            if next_token:
                response["nextToken"] = next_token
            stub.add_response("describe_images", response, expected)
            token = next_token
        assert [d["imageDigest"] for d in describe_images(ecr, "web")] == ["sha256:1", "sha256:2", "sha256:3"]
        stub.assert_no_pending_responses()


def test_a_refused_call_is_a_message_not_a_traceback() -> None:
    from generator.aws.images import current_policy_text
    from generator.base.errors import InputError

    ecr = boto3.client("ecr", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(ecr) as stub:
        stub.add_client_error("get_lifecycle_policy", "AccessDeniedException", "not allowed to read it")
        with pytest.raises(InputError) as caught:
            current_policy_text(ecr, "web")
    assert caught.value.render() == ("web: cannot read the lifecycle policy: AccessDeniedException: "
                                     "not allowed to read it")


def test_preview_text_says_what_moves_to_archive(ecrgen: Any, tmp_path: Path) -> None:
    policy = {"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any", "countType": "sinceImagePulled",
                                                          "countUnit": "days", "countNumber": 30},
                         "action": {"type": "transition", "targetStorageClass": "archive"}}]}
    (tmp_path / "p.json").write_text(json.dumps(policy))
    images = [{"imageDigest": "sha256:old", "imageTags": ["v1"], "imagePushedAt": "2025-01-01T00:00:00Z",
               "lastRecordedPullTime": "2025-06-01T00:00:00Z", "imageSizeInBytes": 2**20}]
    result = preview(ecrgen, "--policy", str(tmp_path / "p.json"), "--images", "-", "--now", NOW,
                     input=json.dumps(images))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "rule 1 (all images, not pulled for 30 days): archives 1 image, 1.0 MiB" in lines
    assert lines[-2].startswith("freed: 0 B (0 bytes), saving 0.00 USD")
    assert lines[-1].startswith("archived: 1 image, 1.0 MiB moved to archive storage")
