"""The Pushgateway's first restart with a persistence file, which loses what it held (finding upgrade-1).

Before f7a1c2e the Kubernetes Pushgateway kept the pushed groups in memory only (prometheus/pushgateway
README, "Run it": "By default, Pushgateway does not persist metrics"). The compiled Deployment now runs
it with ``--persistence.file`` on a claim and the ``Recreate`` strategy
(``compile/kubernetes/monitoring.ensure_pushgateway``). So the apply that adds the flag to a Deployment
that ran without it changes the pod template, which rolls the Deployment (Kubernetes "Deployments":
a rollout is triggered when ``.spec.template`` changes; with ``Recreate`` "All existing Pods are killed
before new ones are created", https://kubernetes.io/docs/concepts/workloads/controllers/deployment/),
and the new pod starts from a new, empty file: every pushed drift value, its ``push_time_seconds`` and
any rollback notice are gone once.

What follows is what ``compile/kubernetes/monitoring.py`` states of a lost value: a firing drift alert
over a pushed value resolves when its ``keep_firing_for`` ends, fires again (with a new ``startsAt``)
its ``for`` after its monitor's next push, and the retrain launcher counts that as a new firing
(``compile/kubernetes/scripts/launcher.py``, "One run per firing"): one more run of every training job
whose ``on_alerts`` names the alert. A rollback notice pushed in the last
:data:`~mlops_infra.spec.alerting.ROLLBACK_NOTICE_SECONDS` ends early.

Contract of :func:`restart_warnings` (pure): one warning when a change of role ``pushgateway`` (an
update or a replace of the Deployment) takes a prior Deployment none of whose containers runs with
``--persistence.file`` to a desired one that does; none otherwise (a Pushgateway that already persisted
restarts from its file, and a new one has nothing to lose). The warning names, from the desired
graph's ML facts, the alerts over pushed values (alerts whose monitor runs a scheduled drift or quality
job: its facts carry ``jobScheduleSeconds``), the training jobs whose ``on_alerts`` names one of them,
and the drift CronJobs to run once right after the apply to shorten the gap.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from mlops_infra.graph import DesiredResource
from mlops_infra.name_lists import join_names
from mlops_infra.plan.cost import facts_by_address
from mlops_infra.plan.model import Action, ResourceChange
from mlops_infra.plan.normalize import get_dotted
from mlops_infra.spec.alerting import ROLLBACK_NOTICE_SECONDS
from mlops_infra.state.model import PriorState

ROLE = "pushgateway"
"""The role of the Pushgateway's Deployment in the compiled graph (``compile/kubernetes/monitoring.py``)."""
PERSISTENCE_FLAG = "--persistence.file="
MONITOR_JOB_ROLE = "monitor-job"


def persists(inputs: Any) -> bool:
    """Whether a Deployment's containers run the Pushgateway with a persistence file."""
    containers = get_dotted(inputs, "spec.template.spec.containers")
    if not isinstance(containers, list):
        return False
    return any(isinstance(arg, str) and arg.startswith(PERSISTENCE_FLAG)
               for container in containers if isinstance(container, dict)
               for arg in container.get("args") or ())


def restart_warnings(changes: Sequence[ResourceChange], prior: PriorState,
                     desired: Mapping[str, DesiredResource]) -> list[str]:
    """The warning of the module contract, or none; ``desired`` is the desired graph's resources by URN."""
    for change in changes:
        if change.role != ROLE or change.action not in (Action.UPDATE, Action.REPLACE):
            continue
        before, after = prior.resources.get(change.urn), desired.get(change.urn)
        if before is not None and after is not None and not persists(before.inputs) and persists(after.inputs):
            return [_warning(desired.values())]
    return []


def _warning(resources: Collection[DesiredResource]) -> str:
    facts = facts_by_address(resources)
    pushed = {f["name"] for f in facts.values() if f.get("kind") == "monitor" and f.get("jobScheduleSeconds")}
    alerts = sorted(f["name"] for f in facts.values() if f.get("kind") == "alert" and f.get("monitor") in pushed)
    jobs = sorted(f["name"] for f in facts.values()
                  if f.get("kind") == "training_job" and set(f.get("onAlerts") or ()) & set(alerts))
    cronjobs = sorted((get_dotted(r.inputs, "metadata.namespace"), get_dotted(r.inputs, "metadata.name"))
                      for r in resources if r.role == MONITOR_JOB_ROLE)
    text = ("platform: this apply restarts the Pushgateway without what it holds (it ran without a persistence "
            "file; it now keeps one on a claim), once: every pushed drift and quality value is lost")
    if alerts:
        text += (f"; each of {_list(alerts)} that is firing resolves, then fires again its `for` after its "
                 "monitor's next run (a new firing)")
    if jobs:
        text += f", which starts one more run of {_list(jobs)} (on_alerts)"
    text += f"; a rollback notice of the last {ROLLBACK_NOTICE_SECONDS // 60} minutes ends early"
    if cronjobs:
        runs = "; ".join(f"kubectl -n {namespace} create job --from=cronjob/{name} {name}-now"
                         for namespace, name in cronjobs)
        text += f". To shorten the gap, run each drift job once right after the apply: {runs}"
    return text


def _list(names: list[str]) -> str:
    return join_names(names)
