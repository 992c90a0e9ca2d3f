"""Plaintext secrets in free-form fields: warn about values that look like credentials.

Secret fields (webhook URLs, routing keys, tokens) are typed :class:`~mlops_infra.spec.base.SecretRef`
and reject plaintext in the models. Free-form maps (hyperparameters, labels) cannot be typed, so
this module warns when a key names a credential (token, password, secret, key, ...) and holds a
plaintext string, or when a value has the shape of a well-known credential.

Contract: warnings only; the value itself never appears in a message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from mlops_infra.diagnostics import Diagnostic, warning
from mlops_infra.spec.context import CheckContext

SECRET_WORDS = frozenset({"token", "password", "passwd", "pwd", "secret", "key", "apikey", "credential",
                          "credentials", "auth", "private"})
"""Words of a key (split at - _ . and case changes) that say its value is a credential."""

SECRET_SHAPES = re.compile(
    r"^(AKIA|ASIA)[0-9A-Z]{16}$"          # AWS access key id
    r"|^xox[abposr]-"                      # Slack token
    r"|^gh[pousr]_[A-Za-z0-9]{30,}"        # GitHub token
    r"|^sk-[A-Za-z0-9_-]{20,}"             # OpenAI-style API key
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|^https://hooks\.slack\.com/"
)
"""Values that are credentials whatever their key."""

_WORD_SPLIT = re.compile(r"[-_.\s]+|(?<=[a-z])(?=[A-Z])")


def check_plaintext_secrets(ctx: CheckContext) -> Iterator[Diagnostic]:
    """Warn about credential-looking plaintext in hyperparameters and labels."""
    for key, value in ctx.system.metadata.labels.items():
        yield from _check(key, value, ("metadata", "labels", key), "metadata.labels")
    for i, job in enumerate(ctx.system.training_jobs):
        for key, value in job.hyperparameters.items():
            yield from _check(key, value, ("training_jobs", i, "hyperparameters", key), f"training_jobs.{job.name}")


def _check(key: str, value: Any, path: tuple, address: str) -> Iterator[Diagnostic]:
    if not isinstance(value, str) or not value:
        return
    words = {w.lower() for w in _WORD_SPLIT.split(key) if w}
    named = bool(words & SECRET_WORDS)
    if named or SECRET_SHAPES.search(value):
        why = f'its key "{key}" names a credential' if named else "its value has the shape of a credential"
        yield warning("plaintext-secret", f'"{key}" looks like a plaintext secret',
                      f"The value of {path[-2]}.{key} is plain text and {why}. Documents end up in Git, plans "
                      "and logs: remove the value, keep it in the environment's secret store and let the job "
                      "read it from there at run time.", path, address)
