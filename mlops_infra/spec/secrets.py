"""Plaintext secrets in a document: found in any field, reported by place and kind, with how to store them.

Contract:
- :func:`check_document_secrets` walks the raw document once (every key and string value, the
  environments' overrides included) with the redaction layer (:func:`mlops_infra.secrets.scan_tree`)
  and returns one ``plaintext-secret`` **error** per place holding a credential: a secret shape
  (AWS key ids and secret keys, Slack/GitHub/GitLab/PagerDuty/bearer tokens, private keys, webhook
  URLs, URLs with credentials...) in any free-text field (image, command, args, labels,
  hyperparameters, descriptions, URLs...), or a plaintext value under a credential-like name
  (``password: hunter2``, ``args: [--api-key, abc123]``).
- :func:`explain_secret_diagnostics` merges these with the ``plaintext-secret`` errors the models
  raise for fields typed as secret references (:class:`~mlops_infra.spec.base.SecretRef`): one
  error per place, with the kind when known.
- Every message says where (the diagnostic's location), what kind, and how to store the value:
  ``aws secretsmanager create-secret`` for AWS environments and ``kubectl create secret generic``
  (key ``value``) for Kubernetes ones, the shapes the alert forwarder and ``secretKeyRef`` read.
  The value never appears in a message (and :mod:`mlops_infra.cli.output` never quotes the line).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from mlops_infra.diagnostics import Diagnostic, SourceLocation, error, with_location
from mlops_infra.secrets import NAMED_KIND, SecretStore, scan_tree, store_advice

CODE = "plaintext-secret"
REFERENCE_FIELDS = frozenset({"webhook_url", "url", "token", "routing_key"})
"""Fields typed ``SecretRef | ...`` in the spec: they take ``{secret: name}`` in place of the value."""


NO_SECRET_FOR_JOBS = (
    "mlops-infra cannot yet hand a stored secret to a training job, pipeline step or serving container: only a "
    "channel's webhook_url, url, token or routing_key takes {secret: name}, so nothing compiled reads that "
    "secret for the job. On AWS only the alert forwarders may read Secrets Manager (a training job's, "
    "pipeline's or endpoint's role is not granted secretsmanager:GetSecretValue), so the container must "
    "obtain it another way. On Kubernetes a key added "
    "to Secret mlops-object-store reaches the training, monitor and capture pods as an environment variable "
    "of that name (their envFrom), and so every one of those pods sees it.\n")
"""What a credential outside a channel's reference field can reach today (stop 38's secrets audit, finding
secrets-3): secret references exist only in channels (``$defs.SecretRef``); the AWS training role's policy
has no ``secretsmanager:*`` action (only the forwarders' ``ReadChannelSecrets``,
``compile/aws/alerting.py``), and an action no policy allows is implicitly denied (IAM User Guide,
"Policy evaluation logic"); on Kubernetes the training PyTorchJob, the monitor jobs and the capture sink
load ``envFrom: secretRef mlops-object-store`` (``compile/kubernetes/objects.py``
``object_store_env_from``), whose keys become environment variables (core/v1 ``EnvFromSource``)."""


def check_document_secrets(data: Any, locate: Callable[[tuple], SourceLocation] | None = None) -> list[Diagnostic]:
    """One ``plaintext-secret`` error per place in the raw document holding a credential.

    A secret-shaped mapping *key* is reported at its parent's path (paths appear in
    ``validate --format json``), located at the key itself when ``locate`` is given.
    """
    if not isinstance(data, dict):
        return []
    stores = secret_stores(data)
    out = []
    for finding in scan_tree(data):
        path = finding.path[:-1] if finding.in_key else finding.path
        d = error(CODE, _summary(path, finding.kind, finding.in_key),
                  _detail(path, finding.kind, finding.in_key, stores, data), path, _address(path, data))
        if finding.in_key and locate is not None:
            d = with_location(d, locate(finding.path))
        out.append(d)
    return out


def explain_secret_diagnostics(found: Sequence[Diagnostic], diagnostics: Sequence[Diagnostic],
                               data: Any) -> list[Diagnostic]:
    """``diagnostics`` with ``found`` added; a model's ``plaintext-secret`` error at the same place as
    one of ``found`` is dropped (``found`` says the kind), the others get the storage advice."""
    at = {d.path for d in found}
    stores = secret_stores(data) if isinstance(data, dict) else []
    out = list(found)
    for d in diagnostics:
        if d.code == CODE and d.path in at:
            continue
        if d.code == CODE and d.is_error and "Store it" not in d.detail:
            d = replace(d, detail=_detail(d.path, "", False, stores, data, lead=d.detail))
        out.append(d)
    return out


def secret_stores(data: dict[str, Any]) -> list[SecretStore]:
    """The secret stores of the document's environments: one per AWS region and per Kubernetes
    namespace, with the environments that use it."""
    envs = data.get("environments")
    stores: dict[tuple[str, str], list[str]] = {}
    if isinstance(envs, dict):
        for name, env in envs.items():
            target = env.get("target") if isinstance(env, dict) else None
            if not isinstance(target, dict) or target.get("kind") not in ("aws", "kubernetes"):
                continue
            where = str(target.get("region" if target["kind"] == "aws" else "namespace") or "")
            stores.setdefault((target["kind"], where), []).append(str(name))
    return [SecretStore(kind, tuple(names), region=where if kind == "aws" else "",
                        namespace=where if kind == "kubernetes" else "")
            for (kind, where), names in stores.items()]


def _summary(path: tuple, kind: str, in_key: bool) -> str:
    field = _field(path)
    if kind == NAMED_KIND:
        return f'Plaintext secret in "{field}"'
    what = "a key" if in_key else "the value"
    return f'Plaintext secret in "{field}": {what} looks like {kind}'


def _detail(path: tuple, kind: str, in_key: bool, stores: list[SecretStore], data: Any, lead: str = "") -> str:
    name = secret_name(path, data)
    env = _override_env(path)
    if env is not None:
        stores = [s for s in stores if env in s.envs] or stores
    field = _field(path)
    if lead:
        head = lead.rstrip(".") + "."
    elif kind == NAMED_KIND:
        head = f'"{field}" names a credential and holds a plaintext value.'
    elif in_key:
        head = f"A key under {_dotted(path)} has the shape of {kind}."
    else:
        head = f"The value of {_dotted(path)} has the shape of {kind}."
    if field in REFERENCE_FIELDS and not in_key:
        use, reach = f"then write {{secret: {name}}} here", ""
    else:
        use, reach = "then remove it from the document", NO_SECRET_FOR_JOBS
    return (f"{head} Documents end up in Git, plans, CI logs and the cloud, so a credential never belongs in "
            f"one (the value is not shown here). Store it in each environment's secret store, {use}:\n"
            f"{store_advice(name, stores)}\n"
            f"{reach}If the value was ever pushed or shared, rotate it.")


def secret_name(path: tuple, data: Any) -> str:
    """A suggested secret name: the item's name and the field, as a lowercase DNS label."""
    item = _item_name(path, data)
    field = _field(path)
    raw = "-".join(p for p in (item, field) if p) or "credential"
    name = re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-")[:63].rstrip("-")
    return name or "credential"


def _item_name(path: tuple, data: Any) -> str:
    if len(path) >= 2 and isinstance(path[1], int):
        section = data.get(path[0]) if isinstance(data, dict) else None
        if isinstance(section, list) and path[1] < len(section) and isinstance(section[path[1]], dict):
            return str(section[path[1]].get("name") or "")
    if len(path) >= 4 and path[0] == "environments" and path[2] == "overrides":
        parts = str(path[3]).split(".")
        return parts[1] if len(parts) > 1 else str(path[1])
    return str(path[0]) if path and path[0] == "metadata" else ""


def _field(path: tuple) -> str:
    for part in reversed(path):
        if isinstance(part, str):
            return part.rsplit(".", 1)[-1] if part.count(".") else part
    return "value"


def _dotted(path: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def _address(path: tuple, data: Any) -> str:
    item = _item_name(path, data)
    return f"{path[0]}.{item}" if item and path and path[0] != "environments" else ""


def _override_env(path: tuple) -> str | None:
    if len(path) >= 3 and path[0] == "environments" and path[2] == "overrides":
        return str(path[1])
    return None
