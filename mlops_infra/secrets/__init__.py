"""The one redaction layer: every output of mlops-infra passes through it.

What it offers (other commands call these; nothing else detects secrets):

- :func:`find_secrets`, :func:`contains_secret`, :func:`secret_kinds`, :func:`redact`: secret
  shapes in a text (:mod:`.rules`: detect-secrets' plugins plus the shapes it lacks; :mod:`.scan`:
  one RE2 pass, exact rules on windows); :func:`find_secrets_beside`: the same, looking for
  another pattern in the same pass.
- :func:`scan_tree`: secrets in structured data by path (a parsed document, a plan's JSON),
  including plaintext values under credential-like names.
- :func:`check_output`: refuse a document (plan, graph, plan file) that holds a secret, before a
  byte is printed or written; :class:`RedactingStream`: redact messages on their way to stderr.
- :func:`redact_url`: a URL (backend, endpoint) with its credentials replaced by ``***``.
- :func:`store_advice`: how to store a secret in AWS Secrets Manager or a Kubernetes Secret, in
  the shape mlops-infra reads.

Contract: no function here returns, prints or logs a secret value; findings carry kinds and
positions only. The layer is pure (no I/O besides the stream it wraps) and imports nothing of
mlops-infra above the top level, so every layer may use it.
"""

from __future__ import annotations

from mlops_infra.secrets.advice import SecretStore, store_advice, store_command
from mlops_infra.secrets.guard import RedactingStream, SecretInOutputError, check_output
from mlops_infra.secrets.scan import (
    Finding,
    contains_secret,
    find_secrets,
    find_secrets_beside,
    redact,
    secret_kinds,
)
from mlops_infra.secrets.tree import NAMED_KIND, TreeFinding, names_credential, scan_tree
from mlops_infra.secrets.urls import redact_url

__all__ = [
    "NAMED_KIND",
    "Finding",
    "RedactingStream",
    "SecretInOutputError",
    "SecretStore",
    "TreeFinding",
    "check_output",
    "contains_secret",
    "find_secrets",
    "find_secrets_beside",
    "names_credential",
    "redact",
    "redact_url",
    "scan_tree",
    "secret_kinds",
    "store_advice",
    "store_command",
]
