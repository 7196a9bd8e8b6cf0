"""The registry's singletons beside its documents: account settings and pull-time exclusions.

An account setting is put only when it is declared and differs; a pull-time exclusion is the
template's (`AWS::ECR::PullTimeUpdateExclusion`), so one that is not registered is reported
`missing` and never registered here. The signing configuration is a document, merged like the
others (`generator.reconcile.registry_merge.merge_signing`); `signing_entry` reports it.

Pure: live values in, plans and the report's sections out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from generator.reconcile.implicit import worst

PUT_ACCOUNT_SETTING = "put_account_setting"


@dataclass(frozen=True)
class AccountSettingPlan:
    name: str
    before: str | None
    after: str
    error: str | None = None  # the setting could not be read

    @property
    def params(self) -> dict[str, str]:
        return {"name": self.name, "value": self.after}


def plan_account_settings(wanted: Sequence[tuple[str, str]], live: Mapping[str, str | None],
                          errors: Mapping[str, str]) -> list[AccountSettingPlan]:
    """The declared settings that differ (or could not be read)."""
    return [AccountSettingPlan(name, live.get(name), value, errors.get(name)) for name, value in wanted
            if name in errors or live.get(name) != value]


def account_settings_entry(plans: Sequence[AccountSettingPlan],
                           results: Mapping[str, str | None] | None) -> dict[str, Any]:
    """`registry.accountSettings`: its status and each setting that differed."""
    changes = []
    for plan in plans:
        error = plan.error or (results.get(plan.name) if results is not None else None)
        status = "failed" if error else ("planned" if results is None else "applied")
        changes.append({"setting": plan.name, "from": plan.before, "to": plan.after, "status": status,
                        "error": error})
    statuses = ["failed" if c["status"] == "failed" else "planned" if results is None else "changed"
                for c in changes]
    return {"status": worst(statuses), "changes": changes}


def exclusions_entry(wanted: Sequence[str], live: Sequence[str] | None, error: str | None) -> dict[str, Any]:
    """`registry.pullTimeExclusions`: each wanted principal, `in-sync` or `missing`."""
    registered = set(live or ())
    principals = [{"principalArn": arn, "status": "in-sync" if arn in registered else "missing"}
                  for arn in wanted]
    status = "failed" if error else worst([p["status"] for p in principals])
    return {"status": status, "principals": [] if error else principals, "error": error}


def signing_entry(before: Any, after: Any, planned: bool, outcome: tuple[Any, str | None] | None,
                  error: str | None) -> dict[str, Any]:
    """`registry.signing`: the whole document before and after, as the registry's documents are
    reported. `outcome` is the write loop's (document now live, error); None when not written."""
    if error is None and outcome is not None:
        live, error = outcome
        after = after if error else live
    if error:
        status = "failed"
    elif before == after:
        status = "in-sync"
    else:
        status = "planned" if planned else "changed"
    return {"status": status, "from": before, "to": after, "error": error}
