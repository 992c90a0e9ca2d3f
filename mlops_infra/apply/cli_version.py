"""The oldest Pulumi CLI whose engine does what the compiled graph and the plan rely on.

Contract: :data:`MINIMUM_CLI` is the least CLI version ``apply`` runs ``pulumi up`` with. The
Automation API checks only its own minimum (``pulumi/automation/_minimum_version.py``
``_MINIMUM_VERSION``, 3.1.0); the checks that read this one (``apply/engine.py`` ``_check_version``
and the ``PulumiCommand`` of :meth:`mlops_infra.apply.pulumi_process.SignalGuard.command`, whose
``version`` argument raises the minimum ``PulumiCommand.__init__`` validates, ``_cmd.py``) refuse an
older CLI before anything is changed, with the Automation API's own message (``InvalidVersionError``:
"The minimum CLI version requirement is ...").

Why 3.260.0 (audit closing-40a-1):
- an endpoint's scalable target and policy are ``deletedWith`` the endpoint, and the plan shows them
  replaced with it (``plan/planner.py``, reason ``deleted-with-replaced``; audit autoscale-1). The engine
  replaces a resource whose ``deletedWith`` target is replaced only from pulumi/pulumi 5cd93859e8
  "Replace resources whose `deletedWith` target is being replaced (#23818)", released after 3.259.0
  (``CHANGELOG.md`` ends at ``## 3.259.0 (2026-08-20)``; the entry is in
  ``changelog/pending/engine-fix-deletedwith-replace-cascade.yaml``): an older engine leaves them in its
  state while AWS deregisters them with the old endpoint, and the new endpoint runs without autoscaling;
- adopting a kept SageMaker model or configuration with the ``import`` option needs the engine's
  import-then-update (pulumi/pulumi 961156bb35 "New eventual state import system (#19339)", 3.174.0),
  which the first bound covers.
"""

from __future__ import annotations

from semver import VersionInfo

MINIMUM_CLI = VersionInfo.parse("3.260.0")
