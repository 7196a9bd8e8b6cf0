"""What does not count for the gate, and why: the ignore file (ecrgen's words and trivy's), OpenVEX
statements, `--ignore-unfixed` and `--exploitable-only` (issue 19, item 17). Pure: no AWS."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from generator.base.errors import InputError
from generator.findings import ignore, suppress, vex
from generator.findings.gate import Finding, ImageFindings

TODAY = dt.date(2026, 11, 29)
DIGEST = "sha256:" + "ab" * 32
OPENSSL = Finding("CVE-2024-6119", "HIGH", "openssl", "0:3.0.13-0ubuntu3.1", "0:3.0.13-0ubuntu3.4",
                  fix_available="YES", exploit_available="NO", package_manager="OS")
LIBSSL = Finding("CVE-2024-6119", "HIGH", "libssl3t64", "0:3.0.13-0ubuntu3.1", None,
                 fix_available="NO", exploit_available="NO", package_manager="OS")
URLLIB3 = Finding("CVE-2024-37891", "MEDIUM", "urllib3", "1.26.5", "1.26.19", fix_available="YES",
                  exploit_available="YES", package_manager="PIP",
                  path="usr/local/lib/python3.12/site-packages/urllib3-1.26.5.dist-info/METADATA")
CURL = Finding("CVE-2024-0002", "HIGH", "curl", "8.0")  # basic scanning: no fix or exploit information


def image(*findings: Finding, repository: str = "myapp-ecr-web", status: str = "COMPLETE") -> ImageFindings:
    return ImageFindings(repository, digest=DIGEST, tags=("v1",), scan_status=status, findings=findings)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def applied(images: list[ImageFindings], **options: Any) -> tuple[list[list[str | None]], list[str]]:
    """Each image's findings as the suppression kind of each (None: it counts), and the warnings."""
    out, warnings = suppress.apply(images, suppress.Options(**options), TODAY)
    return [[f.suppression.kind if f.suppression else None for f in i.findings] for i in out], warnings


def relative(text: str, tmp_path: Path) -> str:
    return text.replace(f"{tmp_path}/", "")


# --- the ignore file ------------------------------------------------------------------------

def test_ids_match_whatever_their_case(tmp_path: Path) -> None:
    rules = ignore.load(write(tmp_path, "ignore.yaml", "ignore:\n  - {id: cve-2024-0002, reason: build only}\n"))
    assert applied([image(CURL)], rules=rules) == ([["ignore"]], [])


def test_an_entry_scoped_to_a_package_and_version(tmp_path: Path) -> None:
    rules = ignore.load(write(tmp_path, "ignore.yaml", """\
        ignore:
          - id: CVE-2024-6119
            reason: libssl3t64 is only linked by the unused ldap client
            packages: [{name: libssl3t64, version: 3.0.13-0ubuntu3.1}]   # "0:" is the same version
          - id: CVE-2024-6119
            reason: not this version
            packages: [{name: openssl, version: 3.0.14}]
        """))
    kinds, warnings = applied([image(OPENSSL, LIBSSL)], rules=rules)
    assert kinds == [[None, "ignore"]]
    assert [relative(w, tmp_path) for w in warnings] == [
        "ignore.yaml:5: ignore of CVE-2024-6119 (openssl 3.0.14) matched no finding in myapp-ecr-web: "
        "remove it, or check its id, packages and paths"]


def test_trivy_s_words_purls_paths_statement_and_expired_at(tmp_path: Path) -> None:
    rules = ignore.load(write(tmp_path, ".trivyignore.yaml", """\
        vulnerabilities:
          - id: CVE-2024-6119
            purls: ["pkg:deb/ubuntu/openssl@3.0.13-0ubuntu3.1?arch=amd64"]
            statement: the TLS client is never used
            expired_at: 2027-01-31
          - id: CVE-2024-37891
            paths: ["usr/local/lib/python3.12/site-packages/urllib3-*"]
            statement: no proxy is configured
        """))
    assert rules[0].entry.reason == "the TLS client is never used" and rules[0].entry.expires == dt.date(2027, 1, 31)
    assert applied([image(OPENSSL, LIBSSL, URLLIB3)], rules=rules) == ([["ignore", None, "ignore"]], [])


@pytest.mark.parametrize(("purl", "covers"), [
    ("pkg:deb/ubuntu/openssl", True),
    ("pkg:rpm/amzn/openssl@3.0.13-0ubuntu3.1", True),   # an OS package; ECR does not say which distribution
    ("pkg:deb/ubuntu/openssl@3.0.13-0ubuntu3.2", False),
    ("pkg:npm/openssl", False),                            # not an npm package
    ("pkg:deb/ubuntu/OpenSSL", True),
    ("pkg:rpm/amzn/openssl@3.0.13-0ubuntu3.1?epoch=0", True),
    ("pkg:rpm/amzn/openssl@3.0.13-0ubuntu3.1?epoch=1", False),
])
def test_a_purl_names_a_package_by_ecosystem_name_and_version(tmp_path: Path, purl: str, covers: bool) -> None:
    path = write(tmp_path, "ignore.yaml", f"ignore:\n  - {{id: CVE-2024-6119, reason: r, purls: ['{purl}']}}\n")
    assert applied([image(OPENSSL)], rules=ignore.load(path))[0] == [["ignore" if covers else None]]


@pytest.mark.parametrize(("text", "message"), [
    ("ignore:\n  - {id: CVE-1}\n",
     "ignore.yaml:2: ignore[0].reason: is required: say why this finding is accepted (or trivy's statement)"),
    ("ignore:\n  - {id: CVE-1, reason: a, statement: b}\n",
     "ignore.yaml:2: ignore[0].statement: give reason or statement (trivy's word for it), not both"),
    ("ignore:\n  - {id: CVE-1, reason: a, expires: 2027-01-01, expired_at: 2027-01-01}\n",
     "ignore.yaml:2: ignore[0].expired_at: give expires or expired_at (trivy's word for it), not both"),
    ("ignore:\n  - id: CVE-1\n    reason: a\n    purls: [openssl]\n",
     "ignore.yaml:4: ignore[0].purls[0]: must be a package URL like pkg:deb/ubuntu/openssl@3.0.13, got 'openssl'"),
    ("ignore:\n  - id: CVE-1\n    reason: a\n    packages: [{version: '1.0'}]\n",
     "ignore.yaml:4: ignore[0].packages[0].name: is required"),
    ("ignore: []\nvulnerabilities: []\n",
     "ignore.yaml:2: vulnerabilities: give ignore or vulnerabilities (trivy's word for it), not both"),
    ("vulnerabilities: []\nmisconfigurations: []\n",
     "ignore.yaml:2: misconfigurations: unknown key; allowed: ignore, vulnerabilities"),
    ("ignore:\n  - {id: CVE-1, reason: x, expire: 2027-01-01}\n",
     "ignore.yaml:2: ignore[0].expire: unknown key; allowed: id, reason, statement, expires, expired_at, "
     "repositories, packages, purls, paths"),
])
def test_ignore_file_problems(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        ignore.load(write(tmp_path, "ignore.yaml", text))
    assert relative(caught.value.render(), tmp_path) == message


def test_an_entry_for_repositories_not_checked_is_not_reported_unmatched(tmp_path: Path) -> None:
    rules = ignore.load(write(tmp_path, "ignore.yaml", """\
        ignore:
          - {id: CVE-9, reason: r, repositories: ["batch-*"]}
          - {id: CVE-9, reason: r}
        """))
    _, warnings = applied([image(CURL), image(CURL, repository="api", status="FAILED")], rules=rules)
    assert [relative(w, tmp_path) for w in warnings] == [
        "ignore.yaml:3: ignore of CVE-9 matched no finding in myapp-ecr-web: remove it, or check its id, "
        "packages and paths"]


def test_an_entry_applies_through_its_expiry_day_and_not_after(tmp_path: Path) -> None:
    rules = ignore.load(write(tmp_path, "ignore.yaml", "ignore:\n  - {id: CVE-2024-0002, reason: r, expires: 2026-11-29}\n"))
    assert applied([image(CURL)], rules=rules) == ([["ignore"]], [])
    out, warnings = suppress.apply([image(CURL)], suppress.Options(rules=rules), TODAY + dt.timedelta(days=1))
    assert out[0].findings[0].suppression is None
    assert [relative(w, tmp_path) for w in warnings] == [
        "ignore.yaml:2: ignore of CVE-2024-0002 expired on 2026-11-29 and no longer applies; "
        "it now counts in myapp-ecr-web"]


# --- --ignore-unfixed and --exploitable-only ------------------------------------------------------

def test_ignore_unfixed_suppresses_what_no_version_fixes_and_keeps_what_the_scan_does_not_say() -> None:
    kinds, warnings = applied([image(OPENSSL, LIBSSL, CURL)], ignore_unfixed=True)
    assert kinds == [[None, "unfixed", None]]
    assert warnings == ["--ignore-unfixed: 1 finding does not say whether a fix exists (basic scanning); "
                        "it still counts"]


def test_exploitable_only_suppresses_what_has_no_known_exploit() -> None:
    kinds, warnings = applied([image(OPENSSL, URLLIB3, CURL)], exploitable_only=True)
    assert kinds == [["not-exploitable", None, None]]
    assert warnings == ["--exploitable-only: 1 finding does not say whether an exploit exists (basic "
                        "scanning); it still counts"]


def test_the_first_reason_is_kept_ignore_file_then_vex_then_flags(tmp_path: Path) -> None:
    rules = ignore.load(write(tmp_path, "ignore.yaml", "ignore:\n  - {id: CVE-2024-6119, reason: r}\n"))
    statements = vex.load(write(tmp_path, "vex.json", openvex(statement(products=[{"@id": IMAGE_PURL}]))))
    assert applied([image(LIBSSL)], rules=rules, vex=statements, ignore_unfixed=True,
                   exploitable_only=True)[0] == [["ignore"]]
    assert applied([image(LIBSSL)], vex=statements, ignore_unfixed=True)[0] == [["vex"]]


# --- OpenVEX ------------------------------------------------------------------------------

IMAGE_PURL = f"pkg:oci/myapp-ecr-web@{DIGEST.replace(':', '%3A')}?repository_url=123456789012.dkr.ecr.us-east-1.amazonaws.com/myapp-ecr-web"


def statement(**fields: Any) -> dict[str, Any]:
    """A not_affected statement for CVE-2024-6119; a field given as None is left out."""
    out = {"vulnerability": {"name": "CVE-2024-6119"}, "status": "not_affected",
           "justification": "vulnerable_code_not_in_execute_path",
           "impact_statement": "the TLS client is never used", **fields}
    return {key: value for key, value in out.items() if value is not None}


def openvex(*statements: dict[str, Any], **fields: Any) -> str:
    return json.dumps({"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/1",
                       "author": "Platform team", "timestamp": "2026-11-01T10:00:00.123456789-06:00",
                       "version": 1, "statements": list(statements), **fields}, indent=2)


@pytest.mark.parametrize(("products", "kinds"), [
    ([{"@id": IMAGE_PURL}], [["vex", "vex"], [None]]),                       # the image: all its packages
    ([{"@id": IMAGE_PURL, "subcomponents": [{"@id": "pkg:deb/ubuntu/libssl3t64"}]}], [[None, "vex"], [None]]),
    ([{"@id": "pkg:deb/ubuntu/openssl@3.0.13-0ubuntu3.1"}], [["vex", None], ["vex"]]),  # a package anywhere
    ([{"@id": "pkg:oci/myapp-ecr-web"}], [["vex", "vex"], [None]]),          # by name, any registry
    ([{"@id": "123456789012.dkr.ecr.us-east-1.amazonaws.com/myapp-ecr-web:v1"}], [["vex", "vex"], [None]]),
    ([{"@id": f"myapp-ecr-web@{DIGEST}"}], [["vex", "vex"], [None]]),
    ([{"@id": "myapp-ecr-web:v2"}], [[None, None], [None]]),
    ([{"@id": "pkg:npm/openssl"}], [[None, None], [None]]),
])
def test_a_statement_suppresses_for_the_images_and_packages_it_names(tmp_path: Path, products, kinds) -> None:
    statements = vex.load(write(tmp_path, "vex.json", openvex(statement(products=products))))
    images = [image(OPENSSL, LIBSSL), image(OPENSSL, repository="other-web")]
    assert applied(images, vex=statements)[0] == kinds


def test_the_statement_s_status_and_justification_are_the_reason(tmp_path: Path) -> None:
    statements = vex.load(write(tmp_path, "vex.json", openvex(statement(products=[{"@id": IMAGE_PURL}]))))
    out, _ = suppress.apply([image(OPENSSL)], suppress.Options(vex=statements), TODAY)
    suppression = out[0].findings[0].suppression
    assert suppression is not None
    assert relative(json.dumps(suppression.to_json()), tmp_path) == json.dumps(
        {"kind": "vex", "reason": "the TLS client is never used", "source": "vex.json:8", "status": "not_affected",
         "justification": "vulnerable_code_not_in_execute_path"})
    assert suppression.text == ("not_affected (vulnerable_code_not_in_execute_path): the TLS client is never used")


def test_the_latest_statement_wins_and_only_not_affected_or_fixed_suppress(tmp_path: Path) -> None:
    product = [{"@id": IMAGE_PURL}]
    earlier = statement(products=product, timestamp="2026-10-01T00:00:00Z")
    later_affected = {"vulnerability": {"name": "CVE-2024-6119"}, "products": product, "status": "affected",
                      "action_statement": "upgrade openssl", "timestamp": "2026-11-20T00:00:00Z"}
    statements = vex.load(write(tmp_path, "vex.json", openvex(earlier, later_affected)))
    assert applied([image(OPENSSL)], vex=statements)[0] == [[None]]
    fixed = {"vulnerability": {"name": "CVE-2024-6119"}, "products": product, "status": "fixed"}
    investigating = {"vulnerability": {"name": "CVE-2024-6119"}, "products": product, "status": "under_investigation"}
    statements = vex.load(write(tmp_path, "vex.json", openvex(investigating, fixed)))
    assert applied([image(OPENSSL)], vex=statements)[0] == [["vex"]]  # the same time: the later in the file


def test_openvex_0_0_1_plain_strings(tmp_path: Path) -> None:
    old = {"vulnerability": "cve-2024-6119", "products": [IMAGE_PURL], "subcomponents": ["pkg:deb/ubuntu/openssl"],
           "status": "fixed"}
    text = openvex(old, **{"@context": "https://openvex.dev/ns"})
    assert applied([image(OPENSSL, LIBSSL)], vex=vex.load(write(tmp_path, "vex.json", text)))[0] == [["vex", None]]


def test_a_vulnerability_is_named_by_its_name_or_an_alias(tmp_path: Path) -> None:
    aliased = statement(vulnerability={"name": "GHSA-v7vj-xxxx-yyyy", "aliases": ["cve-2024-6119"]},
                        products=[{"@id": IMAGE_PURL}])
    assert applied([image(OPENSSL)], vex=vex.load(write(tmp_path, "vex.json", openvex(aliased))))[0] == [["vex"]]


@pytest.mark.parametrize(("document", "message"), [
    (openvex(statement(products=[{"@id": IMAGE_PURL}], justification=None, impact_statement=None)),
     "vex.json:8: statements[0]: a not_affected statement needs a justification or an impact_statement"),
    (openvex(statement(products=[{"@id": IMAGE_PURL}], status="unaffected")),
     "vex.json:12: statements[0].status: must be one of not_affected, affected, fixed, under_investigation, "
     "got 'unaffected'"),
    (openvex(statement(products=[{"@id": IMAGE_PURL}], justification="not_reachable")),
     "vex.json:13: statements[0].justification: must be one of component_not_present, vulnerable_code_not_present, "
     "vulnerable_code_not_in_execute_path, vulnerable_code_cannot_be_controlled_by_adversary, "
     "inline_mitigations_already_exist, got 'not_reachable'"),
    (openvex(statement()), "vex.json:8: statements[0].products: is required: the images or packages it is about"),
    (openvex(statement(products=[{"@id": "pkg:"}])),
     "vex.json:17: statements[0].products[0].@id: must be a package URL or an image like "
     "NAME@sha256:..., got 'pkg:'"),
    (openvex(statement(products=[{"@id": IMAGE_PURL}], timestamp="yesterday")),
     "vex.json:20: statements[0].timestamp: must be a time like 2026-01-31T12:00:00Z, got 'yesterday'"),
    (json.dumps({"bomFormat": "CycloneDX", "vulnerabilities": []}),
     "vex.json:1: not an OpenVEX document (@context https://openvex.dev/ns/...); ecrgen reads OpenVEX only"),
    ('{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [}',
     "vex.json:1: JSON syntax error: did not find expected node content"),
])
def test_vex_problems_name_line_and_field(tmp_path: Path, document: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        vex.load(write(tmp_path, "vex.json", document))
    assert relative(caught.value.render(), tmp_path) == message
