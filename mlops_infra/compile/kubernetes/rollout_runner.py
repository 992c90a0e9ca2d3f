"""The rollout runner on Kubernetes: a CronJob making one reconcile pass a minute, with no terminal.

Only namespaces with an endpoint whose rollout is staged (``canary``, ``blue_green``: the endpoints in
``graph.rollouts``) get it; every object is ``mlops-rollout-runner`` under the platform:

- **ConfigMap**: mlops-infra's own rollout modules (:data:`rollout_code.KUBERNETES`: the same reconcile,
  fleet pass, KServe driver and Prometheus gates as ``mlops-infra rollout``, read as text, never
  imported here) and ``rollouts.json``, the runner's document (namespace, Prometheus URL, each
  endpoint's rollout plan). Keys cannot hold ``/`` (ConfigMap keys are ``[-._a-zA-Z0-9]+``), so each
  file is stored under its path with ``/`` spelled ``--`` and the volume's ``items`` put it back at its
  path (``ConfigMapVolumeSource.items``: "the key to project" -> "the relative path of the file").
- **Parts** (only when one ConfigMap would be too big: see "Size" below): ConfigMaps
  ``mlops-rollout-runner-2``, ``-3``... each holding one part of the document's rollouts,
  ``rollouts-2.json``, ``rollouts-3.json``... (``{"rollouts": [...]}``); ``rollouts.json`` then holds
  no rollout itself and lists the parts (``"parts": ["rollouts-2.json", ...]``, the format in
  ``rollout/scheduled.py``), and the CronJob mounts all of them into one directory with a
  ``projected`` volume (one ``configMap`` source per ConfigMap, each with its ``items``:
  ``ProjectedVolumeSource.sources`` of ``VolumeProjection.configMap``, a ``ConfigMapProjection``
  ``{name, items, optional}``; "Projected Volumes": "A projected volume maps several existing volume
  sources into the same directory", https://kubernetes.io/docs/concepts/storage/projected-volumes/).
- **ServiceAccount** (token mounted: the runner calls the API) bound by a **RoleBinding** to a **Role**
  allowing exactly ``get`` and ``patch`` on ``inferenceservices.serving.kserve.io`` named after the
  rolled-out endpoints, and on their rollout status ConfigMaps ``rollout-<endpoint>``
  (``serving.status_config_map``), all by ``resourceNames`` (RBAC "Referring to resources": get and patch name one
  object, so they can be restricted by name, https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-resources),
  and ``get`` on ``revisions.serving.knative.dev`` in the namespace: the driver reads the Knative Revision
  an InferenceService names as its newest while it is not ready, to judge it only if it is of the version
  being rolled out and to time it from its creation (``drivers/kserve.py`` ``observe_isvc``). Knative names
  revisions ``<name>-predictor-<n>``, unknown at compile time, so that rule has no ``resourceNames``; it is
  read-only (Revisions hold the serving spec, which the InferenceServices show anyway).
  That is every request the KServe driver makes (``drivers/kserve.py``); no ``list`` is needed.
- **Order** (audit k8srbac-4). Every ConfigMap above (and so the CronJob, which depends on them)
  depends on the Role and on each InferenceService and status ConfigMap the document names
  (:func:`driven`). Without it, a first ``pulumi up`` created the CronJob seconds in, while the
  InferenceServices waited behind the capture sink's Deployment and Service (pulumi-kubernetes
  awaits those: ``provider/pkg/await/deployment.go``, ``service.go``), so each tick in that window read 404 (``drivers/kserve.py``
  ``read``: ``GET .../inferenceservices/<endpoint>``), failed its Job (``backoffLimit: 0``) and fired the
  critical ``rollout_runner_failed`` page; a later apply adding a staged endpoint raced the same way
  (the new document against the new InferenceService, status ConfigMap and Role rule: 404 or 403).
  ``dependsOn`` "ensures that resource creation, update, and deletion operations are executed in the
  correct order" (https://www.pulumi.com/docs/iac/concepts/resources/options/dependson/): the document
  naming an endpoint is written only once its objects and the Role rule for them are there. A 404 is
  still a failed pass (an InferenceService deleted outside Pulumi is a fault to report, not "nothing
  to do").
- **CronJob** (``batch/v1``), depending on every ConfigMap above: ``* * * * *`` (every minute, the
  finest a CronJob schedule expresses), UTC, ``concurrencyPolicy: Forbid`` (a pass still running
  skips the tick; two at once would be safe anyway: a ``resourceVersion`` conflict makes one of them
  do nothing), ``backoffLimit: 0`` and ``activeDeadlineSeconds: 300`` (the next tick is the retry). It runs ``python -m
  mlops_infra.rollout.scheduled`` in the stock Python image (``images.PYTHON``), which has no
  ``kubernetes`` package: the runner reaches the API with the pod's service account through the
  standard library (``ServiceAccountKube`` in ``rollout/scheduled.py``), in the "restricted" security
  context of every mlops-infra helper.
- Prometheus: gated rollouts read their alerts from :data:`PROMETHEUS_URL` (the ``prometheus-operated``
  Service the Prometheus operator creates for a Prometheus in namespace ``monitoring``, as
  kube-prometheus-stack installs it), unless the platform team's optional ConfigMap
  ``mlops-rollout-settings`` has a ``prometheusUrl`` key (then ``MLOPS_PROMETHEUS_URL`` wins). Alerts
  that cannot be read hold the rollout, then roll it back: never advance blind.

Rollback notices (``rollout/scheduled.py``, "Rollback notices"): when some endpoint's rollbacks are
announced (``routing.announced_endpoints``: its ``rollback_on`` alerts notify channels), each such
endpoint gets its rollback alert (``alerting.compile_rollback_rule``), the document's entry
``"notify": true`` and the document ``"notifications"``: the Pushgateway's in-cluster URL, the job
``mlops-rollout``, the grouping labels (system, environment), the gauge's name and ``gates``
(``alerting.rollback_gates``: each ``rollback_on`` alert's threshold as written, so the notice's facts
give a fired alert's value in its unit, ``rollout/scheduled.py`` ``notice_facts``). The Pushgateway is
then compiled if no drift monitor made it (``monitoring.ensure_pushgateway``); the runner's pod reaches
it like the drift jobs do (no NetworkPolicy selects either). The CronJob needs no new permission: the
push is an HTTP request to a Service, not a Kubernetes API call, and recording the notice sent is a
``patch`` of the endpoint's rollout status ConfigMap, which the Role already allows.

Size. The API server refuses a ConfigMap whose data is over 1 MiB: ``ValidateConfigMap``
(kubernetes ``pkg/apis/core/validation/validation.go``, run on create and, through
``ValidateConfigMapUpdate``, on every update, patch and apply) adds up ``len(value)`` of every
``data`` and ``binaryData`` entry (the values' bytes; the keys are not counted) and, when the total
is over ``core.MaxSecretSize`` (``1 * 1024 * 1024``), returns ``field.TooLong(field.NewPath(""), ...)``:
the request fails with 422 ``Invalid``, ``ConfigMap "<name>" is invalid: []: Too long: must have at
most 1048576 bytes`` (apimachinery ``field.TooLong`` up to Kubernetes 1.31; "may not be more than
1048576 bytes" from 1.32; the ``[]`` is how ``field.Path.String`` spells the empty root path), so
``pulumi up`` fails. The object as stored (data plus metadata and ``managedFields``) must also stay
under etcd's request limit (``--max-request-bytes``, 1.5 MiB by default). :func:`data_size` counts
more than the API server does (keys too, in UTF-8 bytes) and every ConfigMap stays within
:data:`BUDGET`, 7/8 MiB: a 128 KiB margin under the cap, and far under etcd's limit with the few
kilobytes of metadata. A namespace whose runner fits in one ConfigMap gets exactly that one (the
objects are as before parts existed). Otherwise the rollouts, sorted by address, fill
``rollouts-2.json``, then ``rollouts-3.json``... in order, each part as full as :data:`BUDGET`
allows: deterministic, and a new endpoint moves only the parts from its own on (by one entry at
their edges), never the code's ConfigMap (which changes only when the number of parts does). One
rollout's entry is never split (it is a few hundred bytes: its steps and alert names).
"""

from __future__ import annotations

from typing import Any

from mlops_infra.compile import rollout_code
from mlops_infra.compile.kubernetes import alerting, images, monitoring, names, routing
from mlops_infra.compile.kubernetes import labels as lbl
from mlops_infra.compile.kubernetes import workloads as wl
from mlops_infra.compile.kubernetes.objects import KubeTarget, type_token
from mlops_infra.compile.kubernetes.serving import status_config_map_name
from mlops_infra.jsoncodec import stdlib_pretty_bytes

NAME = "mlops-rollout-runner"
"""The runner's objects' name; its parts' ConfigMaps are ``<NAME>-2``, ``<NAME>-3``... (:func:`part_name`)."""
ADDRESS = "platform"
SETTINGS = "mlops-rollout-settings"
"""ConfigMap the platform team may create (never mlops-infra) to point the runner at its Prometheus."""
PROMETHEUS_URL = "http://prometheus-operated.monitoring.svc:9090"
MOUNT = "/opt/mlops-infra-rollout"
SCHEDULE = "* * * * *"
RBAC = "rbac.authorization.k8s.io/v1"
CONFIGMAP_CAP = 1024 * 1024
"""Kubernetes' cap on a ConfigMap's data, ``core.MaxSecretSize`` (see "Size" in the module contract)."""
BUDGET = CONFIGMAP_CAP * 7 // 8
"""What each of the runner's ConfigMaps holds at most, by :func:`data_size` (see "Size")."""


def key(path: str) -> str:
    """The ConfigMap key of a shipped file (``/`` is not allowed in a key)."""
    return path.replace("/", "--")


def announced(kube: KubeTarget) -> dict[str, tuple[Any, list[str]]]:
    """``{address: (endpoint, channels)}`` of the rolled-out endpoints whose rollbacks are announced."""
    rollouts = kube.ctx.builder.rollouts
    return {f"endpoints.{e.name}": (e, told) for e, told in routing.announced_endpoints(kube.ctx.system)
            if f"endpoints.{e.name}" in rollouts}


def document(kube: KubeTarget) -> dict[str, Any]:
    rollouts = kube.ctx.builder.rollouts
    notify = announced(kube)
    doc = {"target": "kubernetes", "namespace": kube.namespace, "prometheusUrl": PROMETHEUS_URL,
           "rollouts": [{"address": address, "plan": rollouts[address], **({"notify": True} if address in notify else {})}
                        for address in sorted(rollouts)]}
    if notify:
        group = alerting.rollback_push_group(kube)
        doc["notifications"] = {
            "gates": alerting.rollback_gates(kube),
            "grouping": {k: v for k, v in group.items() if k != "job"}, "job": group["job"],
            "metric": alerting.ROLLED_BACK_METRIC,
            "pushgatewayUrl": names.service_url(kube.ctx, names.PUSHGATEWAY, names.PUSHGATEWAY_PORT)}
    return doc


def role_rules(kube: KubeTarget) -> list[dict[str, Any]]:
    """Exactly get and patch on the InferenceServices being rolled out and on their rollout status
    ConfigMaps (``serving.status_config_map``), and get on Knative Revisions (see the module contract)."""
    endpoints = sorted(address.split(".", 1)[1] for address in kube.ctx.builder.rollouts)
    return [{"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"], "resourceNames": endpoints,
             "verbs": ["get", "patch"]},
            {"apiGroups": [""], "resources": ["configmaps"],
             "resourceNames": [status_config_map_name(e) for e in endpoints], "verbs": ["get", "patch"]},
            {"apiGroups": ["serving.knative.dev"], "resources": ["revisions"], "verbs": ["get"]}]


def driven(kube: KubeTarget) -> list[str]:
    """URNs of what the runner's document names: each rolled-out endpoint's InferenceService (its plan's
    ``resource``) and its rollout status ConfigMap (a sibling under the endpoint's component), sorted by
    address (see "Order" in the module contract)."""
    builder = kube.ctx.builder
    urns: list[str] = []
    for address in sorted(builder.rollouts):
        service = builder.rollouts[address]["resource"]
        endpoint = address.split(".", 1)[1]
        parent = builder.resource(service).parent
        urns += [service, builder.urn_for(type_token("v1", "ConfigMap"), status_config_map_name(endpoint), parent)]
    return urns


def data_size(data: dict[str, str]) -> int:
    """The bytes a ConfigMap's ``data`` counts here: keys and values, UTF-8 (the API server counts
    the values only, see "Size" in the module contract)."""
    return sum(len(k.encode()) + len(v.encode()) for k, v in data.items())


def part_key(number: int) -> str:
    """The key (and file name) of part ``number`` (2, 3...) of a split document."""
    return f"rollouts-{number}.json"


def part_name(number: int) -> str:
    """The ConfigMap holding part ``number``."""
    return f"{NAME}-{number}"


def _entry_sizes(rollouts: list[dict[str, Any]]) -> list[int]:
    """What each entry adds to a part's text: :func:`rollout_code.document_text` writes an entry of
    ``{"rollouts": [...]}`` as its own pretty text (trailing newline dropped), every line indented by
    four more spaces, followed by ``,\\n`` (the last: ``\\n``)."""
    sizes = []
    for entry in rollouts:
        text = stdlib_pretty_bytes(entry)
        sizes.append(len(text) + 1 + 4 * text.count(b"\n"))
    return sizes


def split_rollouts(rollouts: list[dict[str, Any]], budget: int = 0) -> list[list[dict[str, Any]]]:
    """``rollouts`` (sorted by address) cut in order into parts 2, 3...: each part as full as it can
    be before the next one starts, its ConfigMap data (``{part_key(n): document_text({"rollouts":
    part})}``) at most ``budget`` (default :data:`BUDGET`) bytes by :func:`data_size`."""
    budget = budget or BUDGET
    empty = len(rollout_code.document_text({"rollouts": []}).encode()) + 2  # "[]" -> "[\n" ... "\n  ]"
    parts: list[list[dict[str, Any]]] = [[]]
    used = empty + len(part_key(2))
    for entry, size in zip(rollouts, _entry_sizes(rollouts), strict=True):
        if parts[-1] and used + size > budget:
            parts.append([])
            used = empty + len(part_key(len(parts) + 1))
        parts[-1].append(entry)
        used += size
    return parts


def config_maps(kube: KubeTarget) -> list[tuple[str, dict[str, str]]]:
    """``(name, data)`` of the runner's ConfigMaps: one when code and document fit in :data:`BUDGET`,
    else the code with a head document listing the parts, then one ConfigMap per part (see "Size")."""
    shipped = dict(rollout_code.files(rollout_code.KUBERNETES))
    doc = document(kube)
    shipped[rollout_code.DOCUMENT] = rollout_code.document_text(doc)
    whole = {key(p): shipped[p] for p in sorted(shipped)}
    if data_size(whole) <= BUDGET:
        return [(NAME, whole)]
    parts = split_rollouts(doc["rollouts"])
    numbers = range(2, len(parts) + 2)
    whole[rollout_code.DOCUMENT] = rollout_code.document_text(
        {**doc, "parts": [part_key(n) for n in numbers], "rollouts": []})
    out = [(NAME, whole)] + [(part_name(n), {part_key(n): rollout_code.document_text({"rollouts": part})})
                             for n, part in zip(numbers, parts, strict=True)]
    for name, data in out:
        if data_size(data) > BUDGET:
            raise AssertionError(f"the rollout runner's ConfigMap {name} holds {data_size(data)} bytes, over "
                                 f"{BUDGET}: this is a bug in mlops-infra")
    return out


def path(config_key: str) -> str:
    """The file path of a ConfigMap key (:func:`key` reversed)."""
    return config_key.replace("--", "/")


def code_volume(sources: list[tuple[str, dict[str, str]]]) -> dict[str, Any]:
    """The ``code`` volume: the one ConfigMap's files at their paths, or every ConfigMap projected
    into the one directory (``projected.sources[].configMap``, each with its items), in order."""
    def source(name: str, data: dict[str, str]) -> dict[str, Any]:
        return {"items": [{"key": k, "path": p} for p, k in sorted((path(k), k) for k in data)], "name": name}

    if len(sources) == 1:
        return {"configMap": source(*sources[0]), "name": "code"}
    return {"name": "code", "projected": {"sources": [{"configMap": source(*s)} for s in sources]}}


def cronjob(kube: KubeTarget, sources: list[tuple[str, dict[str, str]]]) -> dict[str, Any]:
    container = wl.helper_container(
        "runner", images.PYTHON, command=["python", "-m", "mlops_infra.rollout.scheduled",
                                          f"{MOUNT}/{rollout_code.DOCUMENT}"],
        env=[{"name": "PYTHONPATH", "value": MOUNT},
             {"name": "MLOPS_PROMETHEUS_URL", "valueFrom": {"configMapKeyRef": {
                 "key": "prometheusUrl", "name": SETTINGS, "optional": True}}}],
        mounts=[{"mountPath": MOUNT, "name": "code", "readOnly": True}])
    pod = wl.pod_spec(NAME, [container], automount=True, restart_policy="Never", volumes=[code_volume(sources)])
    pod_labels = lbl.labels(kube.ctx, ADDRESS)
    spec = {"concurrencyPolicy": "Forbid", "failedJobsHistoryLimit": 3,
            "jobTemplate": {"metadata": {"labels": pod_labels},
                            "spec": {"activeDeadlineSeconds": 300, "backoffLimit": 0,
                                     "template": {"metadata": {"labels": pod_labels}, "spec": pod}}},
            "schedule": SCHEDULE, "startingDeadlineSeconds": 60, "successfulJobsHistoryLimit": 1,
            "suspend": False, "timeZone": "Etc/UTC"}
    return kube.obj("batch/v1", "CronJob", NAME, ADDRESS, {"spec": spec})


def compile_rollout_runner(kube: KubeTarget) -> None:
    """The runner's ConfigMap(s), ServiceAccount, Role, RoleBinding and CronJob (nothing without a rollout);
    with rollback notices, the rollback alerts and the Pushgateway (see "Rollback notices")."""
    if not kube.ctx.builder.rollouts:
        return
    for endpoint, channels in announced(kube).values():
        alerting.compile_rollback_rule(kube, endpoint, channels)
        monitoring.ensure_pushgateway(kube)
    sources = config_maps(kube)
    add = lambda obj, role, deps=(): kube.add(obj, parent=kube.platform, address=ADDRESS, role=role,  # noqa: E731
                                              depends_on=deps)
    account = add(kube.obj("v1", "ServiceAccount", NAME, ADDRESS, {"automountServiceAccountToken": True}),
                  "rollout-runner-service-account")
    role = add(kube.obj(RBAC, "Role", NAME, ADDRESS, {"rules": role_rules(kube)}), "rollout-runner-role")
    code = [add(kube.obj("v1", "ConfigMap", name, ADDRESS, {"data": data}),
                f"rollout-runner-rollouts-{number}" if number > 1 else "rollout-runner-code", [role, *driven(kube)])
            for number, (name, data) in enumerate(sources, start=1)]
    binding = add(kube.obj(RBAC, "RoleBinding", NAME, ADDRESS, {
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": kube.namespace}]}),
        "rollout-runner-role-binding", [account, role])
    add(cronjob(kube, sources), "rollout-runner", [*code, binding])
