"""Reading which keys a Secret holds, and whether each value has surrounding whitespace, for
``plan --refresh`` on Kubernetes (what that means: :mod:`mlops_infra.plan.secret_refs`, pure).

``GET /api/v1/namespaces/<ns>/secrets/<name>`` needs RBAC ``get`` on ``secrets`` (API group ``""``)
in that namespace; a 403 is :class:`~mlops_infra.kube.errors.KubeForbidden`. Values are base64 in
``data`` (core/v1 Secret; ``stringData`` is write-only and never returned). Each value is decoded only
to compare it with itself stripped: the caller gets key names and booleans, never a value.
"""

from __future__ import annotations

import base64
import binascii

from mlops_infra.kube.alertmanager_secrets import SECRET
from mlops_infra.kube.client import KubeClient

WHITESPACE = b" \t\r\n\v\f"


def read_padded_keys(kube: KubeClient, namespace: str, name: str) -> dict[str, bool] | None:
    """``{key: whether its value has leading or trailing whitespace}`` of Secret ``namespace/name``,
    or None when it does not exist. Errors are the client's (:mod:`mlops_infra.kube.errors`); a value
    that is not base64 counts as padded-free (the API server only stores valid base64)."""
    secret = kube.get_or_none(SECRET, name, namespace)
    if secret is None:
        return None
    keys: dict[str, bool] = {}
    for key, raw in ((secret.get("data") or {}).items()):
        try:
            value = base64.b64decode(raw or "", validate=True)
        except (binascii.Error, ValueError):
            value = b""
        keys[key] = value != value.strip(WHITESPACE)
    return keys
