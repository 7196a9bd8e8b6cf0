"""Lint templates in-process with cfn-lint's Python API, ecrgen's ECR rules included.

The rules are loaded from `generator.lint.rules.RULES_DIR` exactly as `cfn-lint --append-rules`
loads them, once per process. Imported only by the commands that lint: cfn-lint takes about
0.5 s to import.

`lint_many` lints several templates: each template's exact bytes are looked up in the lint cache
(`cache.py`) first, identical ones are linted once, and the rest are linted on a pool of worker
processes (`pool.py`) or by a helper that loaded cfn-lint meanwhile (`helper.py`), one template
per task, largest first. Whatever the path, the outcomes are
the ones `check` gives one template at a time, in the order the templates were given.
"""

from __future__ import annotations

import functools
import gc
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.base.errors import InputError, Problem
from generator.base.source import read_text
from generator.lint import cache as lint_cache
from generator.lint import pool
from generator.lint.rules import RULES_DIR

if TYPE_CHECKING:
    from cfnlint.rules import Rules

BODY_SIZE_RULE = "W9504"
RULE_ID = re.compile(r"[EWI]\d{0,4}")  # a rule id or a prefix of ids, as cfn-lint matches them


@dataclass(frozen=True)
class Finding:
    """One cfn-lint match, located in the linted file."""

    filename: str
    line: int
    column: int
    rule_id: str
    level: str  # error | warning | informational
    message: str

    def render(self) -> str:
        return f"{self.filename}:{self.line}:{self.column}: {self.rule_id} {self.message}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ruleId"] = data.pop("rule_id")
        return data


@dataclass(frozen=True)
class Options:
    """The cfn-lint options that `ecrgen lint` passes on, as cfn-lint reads them (each value a rule
    id or prefix, or a region; "ALL_REGIONS" too). Empty: cfn-lint's default, which `.cfnlintrc` and
    the template's `Metadata.cfn-lint` may set."""

    include_checks: tuple[str, ...] = ()
    ignore_checks: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for flag, values in (("--include-checks", self.include_checks),
                             ("--ignore-checks", self.ignore_checks)):
            wrong = [value for value in values if not RULE_ID.fullmatch(value)]
            if wrong:
                raise InputError(flag, f"{wrong[0]!r} is no rule id: give ids such as W3005, or prefixes of "
                                 "them such as W30 or I")

    def settings(self, text: str) -> dict[str, Any]:
        """cfn-lint's manual settings for one template's text."""
        # Informational findings too (cfn-lint shows only W and E by default); the body size is the
        # text's, as the template has no file yet when `ecrgen template` writes to stdout.
        settings: dict[str, Any] = {"include_checks": ["I", *self.include_checks],
                                    "configure_rules": {BODY_SIZE_RULE: {"body_bytes": len(text.encode())}}}
        if self.ignore_checks:
            settings["ignore_checks"] = list(self.ignore_checks)
        if self.regions:
            settings["regions"] = list(self.regions)
        return settings

    def check_regions(self) -> None:
        """InputError for a region cfn-lint does not know (it would raise in the middle of a lint)."""
        from cfnlint.helpers import REGIONS

        unknown = [region for region in self.regions if region not in REGIONS and region != "ALL_REGIONS"]
        if unknown:
            raise InputError("--regions", f"cfn-lint {_cfn_lint_version()} knows no region {unknown[0]!r}; "
                             f"it knows {', '.join(REGIONS)} (or ALL_REGIONS)")


@dataclass(frozen=True)
class Template:
    """One template to lint: its name in findings and its text, or None to read the file `name`."""

    name: str
    text: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What linting one template gave: findings, or problems (exit 2) that stopped it."""

    findings: tuple[Finding, ...] = ()
    problems: tuple[Problem, ...] = ()

    def error(self, source: str) -> InputError | None:
        return InputError(source, list(self.problems)) if self.problems else None

    def to_entry(self) -> dict[str, Any]:
        """The outcome without the file name, for the cache."""
        return {"findings": [[f.line, f.column, f.rule_id, f.level, f.message] for f in self.findings],
                "problems": [[p.message, p.line] for p in self.problems]}

    @classmethod
    def from_entry(cls, entry: dict[str, Any], filename: str) -> Outcome | None:
        """The outcome a cache entry holds, named `filename`; None if the entry is not one."""
        findings, problems = entry.get("findings"), entry.get("problems")
        if not (isinstance(findings, list) and all(_row(f, (int, int, str, str, str)) for f in findings)
                and isinstance(problems, list) and all(_row(p, (str, (int, type(None)))) for p in problems)):
            return None
        return cls(tuple(Finding(filename, *f) for f in findings),
                   tuple(Problem(message, line=line) for message, line in problems))

    def named(self, filename: str) -> Outcome:
        return Outcome(tuple(replace(f, filename=filename) for f in self.findings), self.problems)


def _row(value: Any, types: tuple[type | tuple[type, ...], ...]) -> bool:
    return isinstance(value, list) and len(value) == len(types) and all(map(isinstance, value, types))


@dataclass(frozen=True)
class Job:
    """One template's text to lint; `strict`: text that is no template is a problem (a file given to
    `ecrgen lint`), else its syntax errors are findings (E0000), as cfn-lint reports them."""

    text: str
    filename: str
    strict: bool
    options: Options = Options()


def check(job: Job) -> Outcome:
    """Lint one template's text: the unit of work of every path, in this process or a worker."""
    from cfnlint.decode.decode import decode_str
    from cfnlint.exceptions import InvalidRegionException

    template, errors = decode_str(job.text)
    if errors:
        if job.strict:
            return Outcome(problems=tuple(Problem(f"not a template: {e.message}", line=e.linenumber or None)
                                          for e in errors))
        return Outcome(tuple(_findings(errors, job.filename)))
    if job.strict and (not isinstance(template, dict) or "Resources" not in template):
        return Outcome(problems=(Problem("not a CloudFormation template: it has no Resources section"),))
    try:
        return Outcome(tuple(_lint(template, job)))
    except InvalidRegionException as exc:  # from AWS_REGION, .cfnlintrc or the template's metadata
        return Outcome(problems=(Problem(f"cfn-lint: {exc}"),))


def lint_text(text: str, filename: str) -> list[Finding]:
    """cfn-lint findings for a template's text; a syntax error is a finding (E0000) too."""
    outcome = check(Job(text, filename, strict=False))
    if outcome.problems:
        raise InputError(filename, list(outcome.problems))
    return list(outcome.findings)


def lint_path(path: Path | str) -> list[Finding]:
    """cfn-lint findings for a template file; InputError if it cannot be read or is no template."""
    outcome = check(Job(read_text(path), str(path), strict=True))
    if outcome.problems:
        raise InputError(str(path), list(outcome.problems))
    return list(outcome.findings)


# run_jobs, or what runs it elsewhere: (jobs, options, how many at once, done(index)) -> outcomes
RunJobs = Callable[[list["Job"], "Options", int, Callable[[int], None]], list["Outcome | pool.Crash"]]


@dataclass(frozen=True)
class Linted:
    """What `lint_many` gave: each template's outcome, in order; how many templates it linted
    (the others came from the cache or were the same bytes as another); and why the cache could
    not be written, if it could not."""

    outcomes: list[Outcome]
    linted: int
    cache_error: str | None = None


def lint_many(templates: Sequence[Template], options: Options = Options(), jobs: int = 1, cache: bool = True,
              done: Callable[[], None] = lambda: None, run: RunJobs | None = None) -> Linted:
    """The outcome of each template, in order, exactly as `check` gives it one at a time.

    A template's bytes already linted with the same cfn-lint, rules and options come from the
    cache (unless `cache` is False, or `.cfnlintrc` names files the cache cannot follow);
    identical templates are linted once; the others on up to `jobs` worker processes (in this
    process when only one is left to lint, or `jobs` is 1), or by `run` instead of `run_jobs`
    here (a Helper's, which was loading cfn-lint meanwhile). `done()` is called as each
    template's outcome is known.
    """
    store, fingerprint = _cache(options) if cache else (None, "")
    outcomes: dict[int, Outcome] = {}
    work: dict[str, Job] = {}  # by cache key: the same bytes are linted once
    waiting: dict[str, list[int]] = {}
    for index, template in enumerate(templates):
        try:
            text = template.text if template.text is not None else read_text(template.name)
        except InputError as exc:
            outcomes[index] = Outcome(problems=tuple(exc.problems))
            done()
            continue
        strict = template.text is None
        key = lint_cache.entry_key(fingerprint, "strict" if strict else "text", text.encode())
        entry = store.get(key) if store else None
        hit = Outcome.from_entry(entry, template.name) if entry is not None else None
        if hit is not None:
            outcomes[index] = hit
            done()
            continue
        work.setdefault(key, Job(text, template.name, strict, options))
        waiting.setdefault(key, []).append(index)
    # Largest first, so that the last template to finish is a small one.
    keys = sorted(work, key=lambda key: -len(work[key].text))
    results = (run or run_jobs)([work[key] for key in keys], options, jobs,
                                lambda i: [done() for _ in waiting[keys[i]]])
    for key, result in zip(keys, results, strict=True):
        if isinstance(result, pool.Crash):
            crashed = f"not linted: the worker process linting it {result.describe()}"
            result = Outcome(problems=(Problem(f"{crashed}; lint it alone, or with --jobs 1, to see why"),))
        elif store:
            store.put(key, result.to_entry())
        for index in waiting[key]:
            outcomes[index] = result.named(templates[index].name)
    if store and keys:
        store.prune()
    return Linted([outcomes[index] for index in range(len(templates))], len(keys),
                  store.error if store else None)


def _cache(options: Options) -> tuple[lint_cache.LintCache | None, str]:
    """The cache and this run's fingerprint; no cache where `.cfnlintrc` names other files."""
    rc = lint_cache.rc_files()
    if lint_cache.uncacheable(rc):
        return None, ""
    settings = {"include_checks": options.include_checks, "ignore_checks": options.ignore_checks,
                "regions": options.regions}
    return lint_cache.LintCache(lint_cache.default_dir()), lint_cache.fingerprint(settings, rc)


def run_jobs(work: list[Job], options: Options, jobs: int,
             done: Callable[[int], None]) -> list[Outcome | pool.Crash]:
    """`check` of each job: here, one after another, or on a pool of workers that fork from this
    process once it holds cfn-lint and the rules, which they then share instead of loading."""
    if not work:
        return []
    options.check_regions()
    if len(work) == 1 or jobs == 1:
        results: list[Outcome | pool.Crash] = []
        for index, job in enumerate(work):
            results.append(check(job))
            done(index)
        return results
    load_rules()
    # What is loaded now lives as long as the workers: frozen, their garbage collections skip it
    # (and leave its memory pages shared).
    gc.freeze()
    try:
        return pool.run(check, work, min(jobs, len(work)), done)
    finally:
        gc.unfreeze()


def _lint(template: dict[str, Any], job: Job) -> list[Finding]:
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import run_template_by_data

    config = ConfigMixIn(**job.options.settings(job.text))
    return _findings(run_template_by_data(template, config, load_rules()), job.filename)


@functools.cache
def load_rules() -> Rules:
    """cfn-lint's rules plus ecrgen's, loaded from their folders as the cfn-lint command does."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.rules import Rules

    rules = Rules()
    for directory in ConfigMixIn(append_rules=[str(RULES_DIR)]).append_rules:
        rules.update(Rules.create_from_directory(directory))
    return rules


def _cfn_lint_version() -> str:
    from cfnlint.version import __version__

    return __version__


def _findings(matches: Any, filename: str) -> list[Finding]:
    found = [Finding(filename, m.linenumber, m.columnnumber, m.rule.id, m.rule.severity, m.message)
             for m in matches]
    return sorted(found, key=lambda f: (f.line, f.column, f.rule_id))
