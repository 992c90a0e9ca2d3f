"""Retention that shortens on a store already holding data: S3 deletes the data already there (audit datasources-1).

Contract of :func:`shortened_retention` (pure: prior state inputs and desired inputs in, a finding out):
- It judges an UPDATE of an ``aws:s3/bucketLifecycleConfiguration`` whose rules (matched by ``id``) now expire
  current objects (``expiration.days``) or noncurrent versions (``noncurrentVersionExpiration.noncurrentDays``)
  sooner than before, or at all where they did not: ``retention: 400d -> 30d``, or a first ``retention`` on a
  store that had none. ``400d -> 500d`` (or removing the retention) deletes nothing sooner: no finding.
- Why this is loss, not a setting: "When you add a Lifecycle configuration to a bucket, the configuration rules
  apply to both existing objects and objects that you add later. For example, if you add a Lifecycle
  configuration rule today with an expiration action that causes objects with a specific prefix to expire 30
  days after creation, Amazon S3 will queue for removal any existing objects that are more than 30 days old."
  (S3 User Guide, "Managing the lifecycle of objects", section "Existing and new objects",
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lifecycle-mgmt.html). What expiring means per
  bucket state ("Expiring objects", .../userguide/lifecycle-expire-general-considerations.html): versioning
  enabled, the current version becomes noncurrent behind a delete marker (and this project's rule deletes it
  ``noncurrentDays`` later); suspended, "This delete marker replaces any object version with a null version ID
  ... which effectively deletes the object"; unversioned, S3 "permanently" removes it. A noncurrent version
  already noncurrent for longer than the new ``NoncurrentDays`` is deleted at once (botocore ``s3``
  ``NoncurrentVersionExpiration.NoncurrentDays``: "the number of days an object is noncurrent before Amazon S3
  can perform the associated action"). The planner turns a finding into a plan warning (text, markdown/PR
  comment, JSON ``warnings``) naming the data source, old -> new days and what S3 deletes.
- Blocked when the lifecycle is protected in the state (every protected data source's, and the platform
  buckets'): the planner sets ``ResourceChange.blocked`` to :meth:`RetentionLoss.unblock`, so ``apply`` refuses
  the plan (``cli/commands/apply.refuse_blocked_changes``), as it refuses the delete of a protected store. The
  data lost is the same data a delete of the store would discard, and ``protect`` is the user's statement that
  it must not go without an explicit step; Pulumi itself never refuses an update of a protected resource
  (``protect`` guards deletes only, pulumi/pulumi ``pkg/resource/deploy/step.go`` ``DeleteStep.Apply``), so
  without the block a one-number change in a PR would go through. The unblock is the delete's own: ``pulumi
  state unprotect '<lifecycle urn>'`` (only the lifecycle, the bucket stays protected), plan again (the change
  is then warned, not blocked), apply (the spec's ``protect`` protects the lifecycle again). An unprotected
  store (``protect: false``) is warned only.
- Not judged: the platform artifacts bucket's ``superseded-checkpoints`` rule (``compile/aws/storage``
  ``CHECKPOINTS_RULE``, audit datasources-6). It expires only noncurrent versions under ``checkpoints/``, spot
  checkpoints a newer save replaced, which no run reads (a resume reads the current version); deleting them is
  its purpose, not a retention of the user's data, so adding it to an existing stack is an ordinary update.
- Kubernetes: a data source is a declared ``data-<source>`` ConfigMap (``compile/kubernetes/storage.py``); the
  tool sets no lifecycle on the S3-compatible store, so nothing it applies deletes data. Its
  ``requirements.json`` ``retentionDays`` shortening is still warned (:func:`shortened_requirement`): a store
  configured from it expires existing objects the same way; never blocked (the tool deletes nothing there).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlops_infra.compile.aws.storage import CHECKPOINTS_RULE

LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
REQUIREMENTS = "requirements.json"
ROLES = frozenset({"bucket-lifecycle", "bucket-declaration"})
"""The roles of the resources judged: an AWS bucket's lifecycle, a Kubernetes data source's declaration."""


@dataclass(frozen=True, slots=True)
class RetentionLoss:
    """A retention that now deletes stored data sooner: ``before``/``after`` are the expiration days (None:
    never expired), ``noncurrent`` the new noncurrent-version days (None: not expired)."""

    address: str
    name: str
    before: int | None
    after: int | None
    noncurrent: int | None

    def change(self) -> str:
        return f"retention {_days(self.before)} -> {_days(self.after)}"

    def warning(self) -> str:
        """The plan warning: the data source, old -> new days and what S3 deletes."""
        deletes = []
        if self.after is not None:
            deletes.append(f"expires every current object older than {self.after} days (versioning enabled: the "
                           f"object becomes a noncurrent version{self._later()}; suspended or unversioned: it is "
                           "deleted)")
        if self.noncurrent is not None:
            deletes.append(f"deletes at once every version noncurrent for more than {self.noncurrent} days")
        return (f"{self.address}: {self.change()} deletes data already stored. S3 applies a lifecycle rule to the "
                f"objects already in the bucket, not only to new ones: after this apply S3 {' and '.join(deletes)}")

    def _later(self) -> str:
        return f", deleted {self.noncurrent} days later" if self.noncurrent is not None else ""

    def unblock(self, urn: str) -> str:
        """The ``blocked`` hint of a protected lifecycle: the same explicit step a protected delete needs."""
        keep = f"keep retention at {self.before}d" if self.before is not None else "remove the retention again"
        return (f"{self.name} is protected, and {self.change()} makes S3 delete objects already stored in "
                f"{self.address}, as a delete of it would. To apply it, first run `pulumi state unprotect "
                f"'{urn}'` (only this lifecycle; the apply protects it again), then plan and apply again; "
                f"or {keep}.")


def shortened_retention(address: str, name: str, before: dict[str, Any], after: dict[str, Any]) -> RetentionLoss | None:
    """The loss of an AWS lifecycle update from inputs ``before`` (state) to ``after`` (desired), or None."""
    old, new = _expiries(before.get("rules")), _expiries(after.get("rules"))
    sooner = [(rule, old.get(rule, (None, None)), days) for rule, days in new.items()
              if _sooner(old.get(rule, (None, None)), days)]
    if not sooner:
        return None
    _rule, (was, _), (expires, noncurrent) = min(sooner, key=lambda s: s[0] != "retention")
    return RetentionLoss(address, name, was, expires, noncurrent)


def shortened_requirement(address: str, name: str, before: dict[str, Any], after: dict[str, Any]) -> str | None:
    """The warning of a Kubernetes ``data-<source>`` ConfigMap whose declared ``retentionDays`` shortens, or None."""
    was, now = _declared(before), _declared(after)
    if now is None or (was is not None and now >= was):
        return None
    return (f"{address}: retention {_days(was)} -> {_days(now)} in the store's declared requirements ({name} "
            f"{REQUIREMENTS}). mlops-infra sets no lifecycle on the S3-compatible store, so this apply deletes "
            "nothing; but a lifecycle rule applies to objects already stored: a store configured from this "
            f"requirement expires every object older than {now} days at once")


def _expiries(rules: Any) -> dict[str, tuple[int | None, int | None]]:
    """Rule id -> (expiration days, noncurrent days) of the enabled rules that expire by days, but for the
    superseded-checkpoints rule (see the module contract)."""
    found: dict[str, tuple[int | None, int | None]] = {}
    for rule in rules if isinstance(rules, list) else ():
        if not isinstance(rule, dict) or rule.get("status") != "Enabled" or rule.get("id") == CHECKPOINTS_RULE:
            continue
        days = _int((rule.get("expiration") or {}).get("days"))
        noncurrent = _int((rule.get("noncurrentVersionExpiration") or {}).get("noncurrentDays"))
        if days is not None or noncurrent is not None:
            found[str(rule.get("id", ""))] = (days, noncurrent)
    return found


def _sooner(old: tuple[int | None, int | None], new: tuple[int | None, int | None]) -> bool:
    return any(n is not None and (o is None or n < o) for o, n in zip(old, new, strict=True))


def _declared(inputs: dict[str, Any]) -> int | None:
    text = (inputs.get("data") or {}).get(REQUIREMENTS)
    try:
        return _int(json.loads(text).get("retentionDays")) if isinstance(text, str) else None
    except (ValueError, AttributeError):
        return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _days(days: int | None) -> str:
    return "none" if days is None else f"{days} days"
