"""Whether the Secrets a Kubernetes environment refers to exist, hold their keys, and hold values that
work (``plan --refresh`` on Kubernetes; the Secrets are read by :mod:`mlops_infra.kube.secret_keys`).

mlops-infra never creates a Secret: the platform team stores each one (docs/compile-kubernetes.md
section 4; ``validate`` prints the command). What goes wrong when one is missing or malformed is
silent on the cluster, so the plan says it (stop 30's secrets audit, findings secrets-1 and secrets-2):

- **A channel's Secret or key is missing: that channel never delivers.** prometheus-operator (v0.89.0,
  ``pkg/alertmanager/operator.go`` ``selectAlertmanagerConfigs`` -> ``checkAlertmanagerConfigResource``
  -> ``checkSlackConfigs`` / ``checkWebhookConfigs`` / ``checkPagerDutyConfigs`` -> ``store.GetSecretKey``)
  skips the AlertmanagerConfig whose Secret or key cannot be read ("skipping alertmanagerconfig", a
  Warning event ``InvalidConfiguration`` on it); the other AlertmanagerConfigs still load.
- **A webhook URL with surrounding whitespace stops the whole Alertmanager.** ``checkWebhookConfigs``
  validates ``strings.TrimSpace(url)``, but ``amcfg.go`` ``convertWebhookConfig`` copies the value as
  stored, and the ``sanitize`` pass (``validation.ValidateSecretURL``, which parses the URL as a JSON
  string: a control character is refused) fails, so ``provisionAlertmanagerConfiguration`` returns
  "failed to generate Alertmanager configuration": no AlertmanagerConfig of that Alertmanager loads,
  other teams' included (``amtool check-config`` also refuses it: "net/url: invalid control character in
  URL"). ``kubectl create secret generic --from-file`` keeps a file's trailing newline. A Slack
  ``apiURL`` is trimmed by the operator (``getValidURLFromSecret``): no warning for it.
- **A bearer token with surrounding whitespace fails every delivery of its channel**: the operator
  copies ``authorization.credentials`` as stored (``convertHTTPConfig``), and Go's HTTP client refuses a
  header value holding a newline (``net/http`` ``Transport.roundTrip``: "invalid header field value").
- **A PagerDuty routing key with surrounding whitespace fails every page of its channel**: the
  operator copies ``pagerdutyConfigs.routingKey`` as stored (``amcfg.go`` ``convertPagerdutyConfig``:
  ``out.RoutingKey = routingKey`` from ``store.GetSecretKey``, untrimmed), and Alertmanager sends an
  inline ``routing_key`` as is (``notify/pagerduty/pagerduty.go`` ``notifyV2``: only a
  ``routing_key_file`` is ``strings.TrimSpace``-d). PagerDuty's Events API v2 answers a key that is not
  32 characters with 400 "Length of 'routing_key' is incorrect (should be 32 characters)"
  (https://v2.developer.pagerduty.com/docs/send-an-event-events-api-v2, its documented 400 example), which Alertmanager does not
  retry. (On AWS the forwarder strips it: same secret, different outcome; stop 38's secrets audit,
  finding secrets-2.) The channel kinds that reach this module are Slack, webhook and PagerDuty; an
  email channel's SMTP settings are global to the Alertmanager (:mod:`mlops_infra.plan.alertmanager_smtp`).
- **A pod's required Secret is missing: the pod never starts.** A ``secretKeyRef`` or ``envFrom``
  ``secretRef`` without ``optional: true`` must exist (core/v1 ``SecretKeySelector.optional``: "Specify
  whether the Secret or its key must be defined"; the kubelet's ``makeEnvironmentVariables`` fails the
  container with CreateContainerConfigError). Optional references are not checked.

Contract: :func:`secret_refs` is pure (every Secret key the graph refers to, with who uses it and how);
:func:`secret_warnings` takes what was read per Secret (:class:`SecretRead`) and returns one warning per
problem, or one per namespace whose Secrets could not be read ("not checked", naming the permission).
No value of a Secret reaches this module: the reader keeps, per key, only whether the value has
surrounding whitespace.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops_infra.graph import DesiredGraph
from mlops_infra.name_lists import join_names

URL, TOKEN, ROUTING_KEY, KEY, ENV = "url", "token", "routing_key", "key", "env"
"""How a key is used: a webhook URL, a bearer token, a PagerDuty routing key, another receiver secret
(a Slack URL, which the operator trims), a pod's environment."""
POD_KINDS = {"Deployment": ("spec", "template", "spec"), "Job": ("spec", "template", "spec"),
             "CronJob": ("spec", "jobTemplate", "spec", "template", "spec")}
"""Where each workload kind the compiler emits keeps its pod spec."""


@dataclass(frozen=True)
class SecretRef:
    """One key (None: the whole Secret, ``envFrom``) of Secret ``namespace/name`` that the graph refers to."""

    namespace: str
    name: str
    key: str | None
    use: str
    """:data:`URL`, :data:`TOKEN`, :data:`ROUTING_KEY`, :data:`KEY` or :data:`ENV`."""
    users: tuple[str, ...]
    """What refers to it: ``AlertmanagerConfig <name>`` or ``<Kind> <name>``, sorted."""


@dataclass(frozen=True)
class SecretRead:
    """What reading one Secret gave: ``missing``, or its keys (key -> whether the value has surrounding
    whitespace), or ``error`` (``forbidden`` for a 403)."""

    missing: bool = False
    keys: Mapping[str, bool] = field(default_factory=dict)
    error: str | None = None
    forbidden: bool = False


def _dig(obj: Any, path: Sequence[str]) -> Any:
    for step in path:
        obj = obj.get(step) if isinstance(obj, dict) else None
    return obj


def _receiver_refs(spec: Mapping[str, Any]) -> Iterator[tuple[dict, str]]:
    for receiver in spec.get("receivers") or []:
        for config in receiver.get("slackConfigs") or []:
            yield config.get("apiURL"), KEY
        for config in receiver.get("pagerdutyConfigs") or []:
            yield config.get("routingKey"), ROUTING_KEY
        for config in receiver.get("webhookConfigs") or []:
            yield config.get("urlSecret"), URL
            yield _dig(config, ("httpConfig", "authorization", "credentials")), TOKEN


def _pod_refs(pod: Mapping[str, Any]) -> Iterator[tuple[dict, str | None]]:
    for container in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
        for env in container.get("env") or []:
            ref = _dig(env, ("valueFrom", "secretKeyRef"))
            if isinstance(ref, dict) and not ref.get("optional"):
                yield ref, ref.get("key")
        for source in container.get("envFrom") or []:
            ref = source.get("secretRef")
            if isinstance(ref, dict) and not ref.get("optional"):
                yield ref, None


def secret_refs(graph: DesiredGraph) -> list[SecretRef]:
    """Every Secret key the graph's AlertmanagerConfigs and workloads require (sorted)."""
    found: dict[tuple[str, str, str | None, str], set[str]] = {}
    default_namespace = str(graph.metadata.get("namespace") or "default")
    for resource in graph.resources:
        obj = resource.inputs if isinstance(resource.inputs, dict) else {}
        kind, meta = obj.get("kind"), obj.get("metadata") or {}
        namespace = str(meta.get("namespace") or default_namespace)
        user = f"{kind} {meta.get('name') or '?'}"
        if kind == "AlertmanagerConfig" and str(obj.get("apiVersion", "")).startswith("monitoring.coreos.com/"):
            for ref, use in _receiver_refs(obj.get("spec") or {}):
                if isinstance(ref, dict) and ref.get("name"):
                    found.setdefault((namespace, ref["name"], ref.get("key"), use), set()).add(user)
        elif kind in POD_KINDS:
            for ref, key in _pod_refs(_dig(obj, POD_KINDS[kind]) or {}):
                if ref.get("name"):
                    found.setdefault((namespace, ref["name"], key, ENV), set()).add(user)
    return [SecretRef(ns, name, key, use, tuple(sorted(users)))
            for (ns, name, key, use), users in sorted(found.items(), key=lambda item: (*item[0][:2], item[0][2] or "",
                                                                                      item[0][3]))]


def secrets_to_read(refs: Sequence[SecretRef]) -> list[tuple[str, str]]:
    """(namespace, name) of each Secret :func:`secret_warnings` needs, once each, sorted."""
    return sorted({(ref.namespace, ref.name) for ref in refs})


def _consequence(ref: SecretRef) -> str:
    users = join_names(ref.users)
    if ref.use == ENV:
        return f"the pods of {users} do not start (CreateContainerConfigError) until it exists"
    return (f"prometheus-operator skips {users} (event InvalidConfiguration), so it never delivers "
            "(rollback notices and retrain webhooks included)")


def _harm(ref: SecretRef) -> str:
    users = join_names(ref.users)
    if ref.use == URL:
        return (f"prometheus-operator then generates no configuration for the Alertmanager that loads {users}: "
                "every route of that Alertmanager stops updating, other teams' included")
    if ref.use == ROUTING_KEY:
        return (f"every page of {users} fails (Alertmanager sends the routing key as stored, and PagerDuty "
                "refuses a routing key that is not 32 characters with 400)")
    return f"every delivery of {users} fails (an HTTP header may not hold a newline)"


def secret_warnings(refs: Sequence[SecretRef], reads: Mapping[tuple[str, str], SecretRead]) -> list[str]:
    """One warning per referenced Secret that is missing, per missing key, and per key whose value will
    not work as a URL, token or routing key; one per namespace whose Secrets could not be read (see the module rules)."""
    warnings: list[str] = []
    unread: dict[str, list[str]] = {}
    forbidden: set[str] = set()
    by_secret: dict[tuple[str, str], list[SecretRef]] = {}
    for ref in refs:
        by_secret.setdefault((ref.namespace, ref.name), []).append(ref)
    for (namespace, name), uses in by_secret.items():
        read = reads.get((namespace, name))
        if read is None:
            continue
        where = f"Secret {namespace}/{name}"
        if read.error is not None:
            errors = unread.setdefault(namespace, [])
            if read.error not in errors:
                errors.append(read.error)
            if read.forbidden:
                forbidden.add(namespace)
            continue
        keys = sorted({ref.key for ref in uses if ref.key})
        if read.missing:
            needs = f" (needs key {', '.join(keys)})" if keys else ""
            warnings.append(f"secrets: {where} does not exist{needs}: "
                            f"{'; '.join(_consequence(ref) for ref in uses)}. Create it in namespace {namespace} "
                            "(docs/compile-kubernetes.md section 4).")
            continue
        for key in keys:
            of_key = [ref for ref in uses if ref.key == key]
            if key not in read.keys:
                held = ", ".join(sorted(read.keys)) or "none"
                warnings.append(f"secrets: {where} has no key {key} (keys: {held}): "
                                f"{'; '.join(_consequence(ref) for ref in of_key)}. Add key {key}.")
                continue
            harmed = [ref for ref in of_key if ref.use in (URL, TOKEN, ROUTING_KEY)]
            if read.keys[key] and harmed:
                warnings.append(f"secrets: key {key} of {where} has leading or trailing whitespace (a file's "
                                f"trailing newline, kept by `kubectl create secret --from-file`): "
                                f"{'; '.join(_harm(ref) for ref in harmed)}. Store it again without it (e.g. "
                                f"`tr -d '\\n' < FILE > FILE.clean`, then --from-file={key}=FILE.clean).")
    for namespace, errors in sorted(unread.items()):
        needs = (f"; needs RBAC permission to get secrets in namespace {namespace}; check with "
                 f"`kubectl auth can-i get secrets -n {namespace}`" if namespace in forbidden else "")
        warnings.append(f"secrets: could not read the Secrets this environment refers to in namespace {namespace} "
                        f"({'; '.join(errors)}); whether they exist and hold working values was not checked{needs}")
    return warnings
