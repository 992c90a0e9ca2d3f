"""Reading an Alertmanager's configuration Secret (key ``alertmanager.yaml``) for ``plan --refresh``:
which Secrets, and what their ``global`` SMTP settings and their ``inhibit_rules`` mean, is
:mod:`mlops_infra.plan.alertmanager_smtp` and :mod:`mlops_infra.plan.alertmanager_inhibit` (pure; each
Secret is read once for both).

``GET /api/v1/namespaces/<ns>/secrets/<name>`` needs RBAC ``get`` on ``secrets`` (API group ``""``)
in that namespace; a 403 is :class:`~mlops_infra.kube.errors.KubeForbidden`. The value is base64 in
``data`` (core/v1 Secret); a Secret that does not exist, or lacks the key, gives "" (the operator
then uses its default configuration, prometheus-operator v0.89.0 ``pkg/alertmanager/operator.go``
``loadConfigurationFromSecret``). Only this one key is decoded, and the callers keep only whether
two SMTP settings are set and which inhibit rules (by index) mute this system's info alerts: no value
of the Secret reaches a warning.
"""

from __future__ import annotations

import base64
import binascii

from mlops_infra.kube.client import KubeClient
from mlops_infra.kube.resources import resource_type

SECRET = resource_type("v1", "Secret")
"""The core/v1 Secret type."""


def read_config_text(kube: KubeClient, namespace: str, name: str, key: str) -> str:
    """The text of ``key`` of Secret ``namespace/name``, or "" when the Secret or key does not exist.
    Errors are the client's (:mod:`mlops_infra.kube.errors`); undecodable data raises ValueError."""
    secret = kube.get_or_none(SECRET, name, namespace)
    raw = ((secret or {}).get("data") or {}).get(key)
    if not raw:
        return ""
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"key {key} of Secret {namespace}/{name} is not base64 UTF-8 text") from exc
