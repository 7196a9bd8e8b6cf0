"""What YAML makes of a plain scalar, in every file ecrgen reads (issue 19, item 14).

YAML 1.1 reads `2027-01-31` as a date, `1.0` as a number, `yes` and `On` as true, and PyYAML
raises a bare ValueError on an impossible date (`2027-02-30`). ecrgen reads dates as the text
written, as CloudFormation does (only the ignore file's `expires` means a date, and parses it);
keys are the text written; a number or true/false where text belongs is bad input that quotes
what was written; an explicit tag that does not fit its value is bad input, never a traceback.
"""

from __future__ import annotations

import contextlib
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.base import source, template_body
from generator.base.errors import InputError
from generator.findings import ignore
from generator.model import config


def write(tmp_path: Path, text: str, name: str = "ecr.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path: Path, caught: pytest.ExceptionInfo[InputError]) -> str:
    return caught.value.render().replace(f"{tmp_path}/", "")


def test_an_impossible_expiry_date_is_bad_input_with_its_line(ecrgen, tmp_path: Path) -> None:
    write(tmp_path, """\
        ignore:
          - id: CVE-2024-0001
            reason: accepted
            expires: 2027-02-30
        """, "ignore.yaml")
    result = ecrgen("findings", "-r", "web", "--ignore", "ignore.yaml", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == ("ignore.yaml:4: ignore[0].expires: must be a date like 2027-01-31, "
                                     "got '2027-02-30' (day is out of range for month)")


@pytest.mark.parametrize(("expires", "shown"), [
    ("2027-13-01", "'2027-13-01' (month must be in 1..12)"),
    ("2027-01-31 10:00:00", "'2027-01-31 10:00:00'"),
    ("20270131", "20270131"),
    ("86400", "86400"),  # not Unix time: a day is written as a day
    ("true", "true"),
])
def test_expires_is_a_day_written_as_a_day(tmp_path: Path, expires: str, shown: str) -> None:
    path = write(tmp_path, f"ignore:\n  - {{id: CVE-1, reason: r, expires: {expires}}}\n", "ignore.yaml")
    with pytest.raises(InputError) as caught:
        ignore.load(path)
    assert problems(tmp_path, caught) == f"ignore.yaml:2: ignore[0].expires: must be a date like 2027-01-31, got {shown}"


def test_dates_in_ecr_yaml_are_the_text_written(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        system_name: myapp
        defaults:
          tags: {Expires: 2027-02-30, Built: 2027-01-01 25:00:00, Day: 2027-01-31}
        repositories:
          - name: web
            image_tag_mutability: IMMUTABLE_WITH_EXCLUSION
            mutability_exclusions: [2027-01-01]
        """)
    web, = config.load(path).repositories
    assert web.tags == {"Expires": "2027-02-30", "Built": "2027-01-01 25:00:00", "Day": "2027-01-31"}
    assert web.mutability_exclusions == ("2027-01-01",)


def test_keys_are_the_text_written(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        system_name: myapp
        defaults:
          tags: {On: a, yes: b, 2024: c, 1.0: d, null: e}
        repositories:
          - name: web
        """)
    web, = config.load(path).repositories
    assert web.tags == {"On": "a", "yes": "b", "2024": "c", "1.0": "d", "null": "e"}


def test_a_number_or_boolean_where_text_belongs_quotes_what_was_written(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        system_name: myapp
        defaults:
          tags: {Cost: 1.10, Window: 1:30, Public: no, Owner: 0x1F}
        repositories:
          - name: web
        """)
    with pytest.raises(InputError) as caught:
        config.load(path)
    assert problems(tmp_path, caught).splitlines() == [
        "ecr.yaml:3: defaults.tags.Cost: must be text, got 1.10 (YAML reads it as a number: put it in quotes)",
        "ecr.yaml:3: defaults.tags.Window: must be text, got 1:30 (YAML reads it as a number: put it in quotes)",
        "ecr.yaml:3: defaults.tags.Public: must be text, got no (YAML reads it as false: put it in quotes)",
        "ecr.yaml:3: defaults.tags.Owner: must be text, got 0x1F (YAML reads it as a number: put it in quotes)",
    ]


@pytest.mark.parametrize("value", ["!!float abc", "!!int 1.5", "!!bool maybe", "!!timestamp x", "!!binary aGk="])
def test_an_explicit_tag_that_does_not_fit_is_bad_input(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, f"system_name: myapp\nrepositories:\n  - name: web\n    tags: {{A: {value}}}\n")
    with pytest.raises(InputError) as caught:
        config.load(path)
    tag = value.split()[0].removeprefix("!!")
    assert problems(tmp_path, caught) == (f"ecr.yaml:4: repositories[0].tags.A: unsupported YAML tag "
                                          f"'tag:yaml.org,2002:{tag}': plain values only")


@pytest.mark.parametrize(("value", "data"), [("!!str 1", "1"), ("!!float 1.5", 1.5), ("!!str 2027-02-30", "2027-02-30")])
def test_an_explicit_tag_that_fits_is_read(tmp_path: Path, value: str, data: object) -> None:
    assert source.load(write(tmp_path, f"a: {value}\n")).data == {"a": data}


def test_a_yaml_policy_file_with_an_unquoted_version_is_read(tmp_path: Path) -> None:
    write(tmp_path, """\
        Version: 2012-10-17
        Statement:
          - Sid: pull
            Effect: Allow
            Principal: {AWS: "arn:aws:iam::111122223333:root"}
            Action: [ecr:BatchGetImage]
            Condition: {DateLessThan: {aws:CurrentTime: 2027-01-01T00:00:00Z}}
        """, "policy.yaml")
    path = write(tmp_path, "system_name: myapp\nrepositories:\n  - {name: web, repository_policy_file: policy.yaml}\n")
    web, = config.load(path).repositories
    assert web.access_policy is not None
    aws = web.access_policy.to_aws()
    assert aws["Version"] == "2012-10-17"
    assert aws["Statement"][0]["Condition"] == {"DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}}


def test_a_deployed_template_with_an_impossible_date_is_read_as_cloudformation_does() -> None:
    body = ("Resources:\n  Repo:\n    Type: AWS::ECR::Repository\n    Properties:\n"
            "      Tags: [{Key: Expires, Value: 2027-02-30}, {Key: Day, Value: !Sub '${AWS::Region}'}]\n")
    tags = template_body.parse(body, "stack")["Resources"]["Repo"]["Properties"]["Tags"]
    assert tags == [{"Key": "Expires", "Value": "2027-02-30"}, {"Key": "Day", "Value": {"Fn::Sub": "${AWS::Region}"}}]


DATE_LIKE = st.builds("{:04d}-{:02d}-{:02d}{}".format, st.integers(0, 9999), st.integers(0, 99), st.integers(0, 99),
                      st.sampled_from(["", " 25:00:00", "T23:59:60Z", "T00:00:00+99:00", " 1:2:3.4 -5"]))
SCALARS = DATE_LIKE | st.sampled_from(["1:30", "0o17", "0b2", "1_0", ".inf", "~", "On", "0x", "!!float", "!!int x"])


@given(SCALARS)
def test_any_scalar_is_read_or_is_bad_input(text: str) -> None:
    with contextlib.suppress(InputError):
        source.load("f.yaml", f"a: {text}\n{text}: b\n")

