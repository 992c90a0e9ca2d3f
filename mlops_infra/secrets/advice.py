"""How to store a secret in each target's secret store, in the shape mlops-infra reads it.

Contract: :func:`store_advice` returns the commands that store a value under ``name`` for each
given target: AWS Secrets Manager (``aws secretsmanager create-secret``: the whole SecretString is
the value, which the alert forwarder reads with ``GetSecretValue``) and a Kubernetes Secret
(``kubectl create secret generic`` with the value under the key ``value``, the default key a
``{secret: name}`` reference reads). The value is read from a file so it stays out of shell
history; the file name is a placeholder. Nothing here ever sees the value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SecretStore:
    """Where one environment keeps its secrets: ``kind`` ``aws`` (with ``region``) or
    ``kubernetes`` (with ``namespace``), and the environments that share it."""

    kind: str
    envs: tuple[str, ...]
    region: str = ""
    namespace: str = ""


def store_command(name: str, store: SecretStore) -> str:
    """The one command that stores ``./secret.txt`` as secret ``name`` in ``store``."""
    if store.kind == "aws":
        region = f" --region {store.region}" if store.region else ""
        return f"aws secretsmanager create-secret --name {name}{region} --secret-string file://secret.txt"
    namespace = f" --namespace {store.namespace}" if store.namespace else ""
    return f"kubectl create secret generic {name}{namespace} --from-file=value=./secret.txt"


def store_advice(name: str, stores: Sequence[SecretStore]) -> str:
    """Lines saying how to store the value as ``name`` in every store (see the module contract)."""
    if not stores:
        stores = (SecretStore("aws", ()), SecretStore("kubernetes", ()))
    lines = []
    for store in stores:
        label = "AWS Secrets Manager" if store.kind == "aws" else "Kubernetes Secret"
        envs = f" ({', '.join(store.envs)})" if store.envs else ""
        lines.append(f"  {label}{envs}: {store_command(name, store)}")
    return "\n".join(lines)
