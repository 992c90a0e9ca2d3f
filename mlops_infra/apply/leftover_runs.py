"""After an apply that removed a Kubernetes training job: report the runs it left behind (audit removal-4).

A run is a PyTorchJob the launcher creates from the job's template, with no ``ownerReferences``, labelled
``mlops-infra/training-job: <job>`` (``compile/kubernetes/training.py`` ``run_template``). So removing the
job (its CronJob and template) deletes none of them: a running one keeps its nodes until it ends or
reaches ``runPolicy.activeDeadlineSeconds``. apply does not delete them: a finished run is its logs and
history, a running one may be wanted to the end, and a suspended one may have been evicted by a drain
(``apply/queue_drain.py``) from a queue the user recreates; which to keep is the user's choice.

Contract of :func:`removed_jobs`: ``[(address, job)]`` of the training jobs whose run template the plan
deletes (a ConfigMap ``DELETE`` under ``training_jobs.<job>``), sorted. :func:`leftover_lines`: one LIST of
PyTorchJobs per removed job by its label in the namespace; for each job with runs, a line naming each
run and its state (``Succeeded``/``Failed`` from its conditions, the launcher's ``is_active`` rule, else ``suspended`` when
``spec.runPolicy.suspend`` is true, else ``running``) and the ``kubectl delete`` command; a failed read is
one line saying so (the apply itself succeeded).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mlops_infra.kube.client import KubeClient
from mlops_infra.kube.errors import KubeError
from mlops_infra.kube.resources import resource_type
from mlops_infra.plan.model import Action
from mlops_infra.plan.queue_removal import JOB_LABEL, TEMPLATE_TYPE

PYTORCH_JOB = resource_type("kubeflow.org/v1", "PyTorchJob")


def removed_jobs(changes: Iterable[Any]) -> list[tuple[str, str]]:
    return sorted({(c.address, c.address.removeprefix("training_jobs.")) for c in changes
                   if c.action is Action.DELETE and c.type == TEMPLATE_TYPE and c.address.startswith("training_jobs.")})


def state_of(run: dict[str, Any]) -> str:
    for condition in (run.get("status") or {}).get("conditions") or []:
        if condition.get("type") in ("Succeeded", "Failed") and condition.get("status") == "True":
            return str(condition["type"])
    suspended = ((run.get("spec") or {}).get("runPolicy") or {}).get("suspend") is True
    return "suspended" if suspended else "running"


def leftover_lines(kube: KubeClient, namespace: str, jobs: Iterable[tuple[str, str]]) -> list[str]:
    lines = []
    for address, job in jobs:
        selector = f"{JOB_LABEL}={job}"
        try:
            runs = kube.list(PYTORCH_JOB, namespace, label_selector=selector)
        except KubeError as exc:
            lines.append(f"{address}: could not list its runs ({exc.summary}); check: "
                         f"kubectl get pytorchjobs -n {namespace} -l {selector}")
            continue
        if runs:
            listed = ", ".join(f"{r['metadata']['name']} ({state_of(r)})"
                               for r in sorted(runs, key=lambda r: r["metadata"]["name"]))
            lines.append(f"{address}: removed, but its runs stay (they have no owner): {listed}. Delete them when "
                         f"you no longer need them: kubectl delete pytorchjobs -n {namespace} -l {selector}")
    return lines
