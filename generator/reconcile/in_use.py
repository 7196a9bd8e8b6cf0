"""post-deploy's in-use guard, decided purely: which lifecycle writes to refuse, which policies
in sync are at risk, and how the report says so.

For each repository with a lifecycle policy (about to be written, or already in sync), given
its live images and the images in use (digest -> users):
1. a protected repository's images are taken as ECR will hold them once its shield tags are
   written (`model.protection`);
2. the policy is evaluated on them exactly as ECR will (`model.lifecycle.evaluate`);
3. every image it would expire or archive that is in use is a *victim*: a new or changed policy
   with victims is refused, and a policy in sync with victims is *at risk* (ECR's next
   evaluation removes an image in use), unless the run allows expiring images in use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from generator.base.errors import InputError
from generator.base.wording import plural
from generator.model.lifecycle import Evaluation, Image, Policy, evaluate
from generator.model.protection import LAST_TAG, ShieldPlan, is_shield_tag, shielded
from generator.reconcile.diff import Change

if TYPE_CHECKING:
    from generator.reconcile.desired import RepositorySettings

ALLOW_FLAG = "--allow-expiring-in-use"


@dataclass(frozen=True)
class Victim:
    """An image in use that the policy expires or archives."""

    digest: str
    tags: tuple[str, ...]
    action: str  # EXPIRE or TRANSITION, as GetLifecyclePolicyPreview says
    rule: int
    users: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"imageDigest": self.digest, "imageTags": list(self.tags), "action": self.action,
                "appliedRulePriority": self.rule, "users": list(self.users)}

    def phrase(self) -> str:
        """`sha256:5d4cc820b37f (v1) expired by rule 2, used by ecs:prod/api` (shield tags, long
        and all alike, left out)."""
        tags = ", ".join(tag for tag in self.tags if not is_shield_tag(tag)) or "untagged"
        verb = "archived" if self.action == "TRANSITION" else "expired"
        return f"{self.digest[:19]} ({tags}) {verb} by rule {self.rule}, used by {', '.join(self.users)}"


def require_discovery(wishes: Sequence[RepositorySettings], discovering: bool) -> None:
    """Shield tags follow what is in use: without discovery to say so, protection cannot run (it
    would take every shield tag off)."""
    protected = [wish.name for wish in wishes if wish.protect_in_use]
    if protected and not discovering:
        named = ", ".join(protected[:3]) + (" ..." if len(protected) > 3 else "")
        raise InputError("post-deploy", f"{named} want protect_in_use, which needs to know the images in "
                         "use: pass --in-use ecs,lambda, --pulled-within DAYS or --in-use-file FILE (or set "
                         "in_use: in ecr.yaml)")


def victims(policy: Policy, images: Sequence[Image], users: Mapping[str, tuple[str, ...]],
            now: float) -> tuple[Victim, ...]:
    """The images in use that `policy` expires or archives at `now`, in the evaluation's order."""
    return victims_in(evaluate(policy, images, now), users)


def victims_in(evaluation: Evaluation, users: Mapping[str, tuple[str, ...]]) -> tuple[Victim, ...]:
    """The images in use that an evaluation already made expires or archives, in its order."""
    return tuple(Victim(d.image.digest, d.image.tags, d.action, d.rule.priority, users[d.image.digest])
                 for d in evaluation.decisions if d.image.digest in users)


def summary(found: Sequence[Victim]) -> str:
    return f"{plural(len(found), 'image')} in use: " + "; ".join(v.phrase() for v in found)


@dataclass(frozen=True)
class Verdict:
    """The guard's word on one repository."""

    name: str
    change: Change | None = None       # the lifecycle write judged; None: the policy is in sync
    victims: tuple[Victim, ...] = ()
    allow: bool = False                # --allow-expiring-in-use: victims are reported, not refused
    shield: ShieldPlan | None = None   # a protected repository's shield tags
    shield_error: str | None = None    # a shield write that failed (None: written, or not attempted)
    error: str | None = None           # the check itself failed (images unreadable, discovery failed)

    @property
    def refused(self) -> Change | None:
        """The lifecycle write to hold back."""
        if self.change is not None and (self.error is not None or (self.victims and not self.allow)):
            return self.change
        return None

    @property
    def at_risk(self) -> bool:
        return self.change is None and bool(self.victims) and not self.allow

    @property
    def reason(self) -> str:
        if self.error is not None:
            return f"refused: cannot check for images in use: {self.error}"
        return (f"refused: the new policy would remove {summary(self.victims)}; {ALLOW_FLAG} writes it "
                "anyway")


def judge(name: str, policy: Policy, change: Change | None, images: Sequence[Image],
          users: Mapping[str, tuple[str, ...]], now: float, allow: bool,
          shield: ShieldPlan | None = None, shield_error: str | None = None) -> Verdict:
    """The verdict on `policy` (the one `change` writes, or the one in sync when `change` is
    None) over `images` as ECR holds them once `shield` (if any) is written."""
    held = shielded(images, shield) if shield is not None else images
    return Verdict(name, change, victims(policy, held, users, now), allow, shield, shield_error)


# --- the report ---------------------------------------------------------------------------

def annotate(entry: dict[str, Any], verdict: Verdict, applied: bool) -> None:
    """Add the verdict to a repository's report entry (design.md's post-deploy JSON, keys only
    added): a refused change is `failed` with the reason, its `inUse` victims listed; a policy in
    sync with victims gives the repository `atRisk` (and, unless allowed, status `at-risk`); a
    protected repository gets `shield`: the tags added, removed, and kept as an image's last tag.
    `applied`: the run writes (not --dry-run or --check)."""
    for change in entry["changes"]:
        if change["setting"] != "lifecyclePolicy" or change["status"] == "unmanaged":
            continue
        if verdict.victims:
            change["inUse"] = [v.to_json() for v in verdict.victims]
        if verdict.refused is not None:
            change["status"], change["error"] = "failed", verdict.reason
    if verdict.change is None and verdict.victims:
        entry["atRisk"] = [v.to_json() for v in verdict.victims]
    if verdict.shield is not None:
        entry["shield"] = _shield(verdict.shield, verdict.shield_error, applied)
    if entry["status"] == "missing":
        return
    if verdict.error is not None and verdict.change is None:
        entry["error"] = f"cannot check for images in use: {verdict.error}"
    if verdict.error is not None or verdict.refused is not None or verdict.shield_error is not None:
        entry["status"] = "failed"
    elif verdict.at_risk and entry["status"] != "failed":
        entry["status"] = "at-risk"
    elif verdict.shield and entry["status"] in ("in-sync", "unmanaged"):
        entry["status"] = "changed" if applied else "planned"


def _shield(plan: ShieldPlan, error: str | None, applied: bool) -> dict[str, Any]:
    status = "in-sync" if not plan else "planned" if not applied else "failed" if error else "applied"
    return {"status": status,
            "added": [{"imageDigest": d, "tag": t} for d, t in plan.add],
            "removed": [{"imageDigest": d, "tag": t} for d, t in plan.remove],
            "kept": [{"imageDigest": d, "tag": t, "reason": LAST_TAG} for d, t in plan.kept],
            "error": error}


def rows(entry: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(setting, from, to, status) rows of the text table for what `annotate` added."""
    out = []
    if "atRisk" in entry:
        found = entry["atRisk"]
        words = "; ".join(f"{v['imageDigest'][:19]} used by {', '.join(v['users'])}" for v in found)
        out.append(("lifecyclePolicy", "in sync", "", f"at-risk: expires {plural(len(found), 'image')} "
                                                      f"in use: {words}"))
    shield = entry.get("shield")
    if shield and (shield["added"] or shield["removed"] or shield["error"]):
        status = shield["status"] + (f": {shield['error']}" if shield["error"] else "")
        out.append(("shieldTags", f"-{len(shield['removed'])}", f"+{len(shield['added'])}", status))
    for kept in (shield or {}).get("kept", []):
        out.append(("shieldTags", kept["imageDigest"][:19], "", f"kept: its shield tag is {LAST_TAG}"))
    return out
