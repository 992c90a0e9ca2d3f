"""How to store a secret in each target's secret store, in the shape mlops-infra reads it.

Contract: :func:`store_advice` returns the commands that store a value under ``name`` for each
given target: AWS Secrets Manager (``aws secretsmanager create-secret``: the whole SecretString is
the value, which the alert forwarder reads with ``GetSecretValue``) and a Kubernetes Secret
(``kubectl create secret generic`` with the value under the key ``value``, the default key a
``{secret: name}`` reference reads). The value is read from a file so it stays out of shell
history; the file name is a placeholder. Nothing here ever sees the value.

The commands store the file's content without its trailing newlines (:data:`STRIPPED_FILE`; bash or
zsh): ``echo URL > secret.txt`` and most editors end the file with one, and ``--from-file`` and
``file://`` store the bytes as they are (kubectl ``create_secret.go`` ``addKeyFromFileToSecret`` is
``os.ReadFile``; aws-cli ``paramfile.py`` ``get_file`` is ``f.read()``). A webhook URL ending in
``\n`` makes prometheus-operator fail to generate the Alertmanager configuration of every team that
Alertmanager serves (``amcfg.go`` ``convertWebhookConfig`` copies the value untrimmed, and
``sanitize`` fails to parse it), and a bearer token ending in ``\n`` is refused as an HTTP header
(audit secrets-1). :data:`NEWLINE_NOTE` says so under the commands.
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


STRIPPED_FILE = '<(printf %s "$(cat secret.txt)")'
"""``secret.txt`` without its trailing newlines, as a file: the command substitution ``$(...)`` removes
"sequences of one or more newlines at the end of the substitution" (POSIX Shell Command Language,
2.6.3 Command Substitution), ``printf %s`` writes the rest without adding one, and the process
substitution ``<(...)`` passes it as a ``/dev/fd`` path (bash, zsh). ``printf`` is a shell builtin, so
the value is in no process's arguments."""
NEWLINE_NOTE = ("  (The commands drop the file's trailing newline, which editors and `echo` add: a URL or token ending "
                "in one is refused at delivery. Run them in bash or zsh.)")


def store_command(name: str, store: SecretStore) -> str:
    """The one command that stores ``./secret.txt`` as secret ``name`` in ``store``, without the
    file's trailing newlines (see the module contract)."""
    if store.kind == "aws":
        region = f" --region {store.region}" if store.region else ""
        return f"aws secretsmanager create-secret --name {name}{region} --secret-string file://{STRIPPED_FILE}"
    namespace = f" --namespace {store.namespace}" if store.namespace else ""
    return f"kubectl create secret generic {name}{namespace} --from-file=value={STRIPPED_FILE}"


def store_advice(name: str, stores: Sequence[SecretStore]) -> str:
    """Lines saying how to store the value as ``name`` in every store (see the module contract)."""
    if not stores:
        stores = (SecretStore("aws", ()), SecretStore("kubernetes", ()))
    lines = []
    for store in stores:
        label = "AWS Secrets Manager" if store.kind == "aws" else "Kubernetes Secret"
        envs = f" ({', '.join(store.envs)})" if store.envs else ""
        lines.append(f"  {label}{envs}: {store_command(name, store)}")
    return "\n".join([*lines, NEWLINE_NOTE])
