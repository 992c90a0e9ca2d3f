"""Whether each Alertmanager that loads this system's email channels has the SMTP settings they lean
on (``plan --refresh`` on Kubernetes; the Alertmanager objects are read by the CLI with the
monitoring selectors, the configuration Secrets by :mod:`mlops_infra.kube.alertmanager_secrets`).

Rules (prometheus-operator v0.89.0, 2d28b87c, ``pkg/alertmanager``):

- **An email receiver needs a smarthost and a sender.** ``amcfg.go`` ``convertEmailConfig`` returns
  "SMTP smarthost is a mandatory field, it is neither specified at global config nor at receiver
  level" when the emailConfig has no ``smarthost`` and the base configuration's ``global`` has no
  ``smtp_smarthost`` host, and "SMTP from is a mandatory field, ..." likewise for ``from`` /
  ``smtp_from``. The per-object check (``operator.go`` ``checkEmailConfigs``) looks only at the
  auth secrets and TLS, so the AlertmanagerConfig is accepted and selected.
- **That error stops the whole Alertmanager.** ``AddAlertmanagerConfigs`` returns it for the first
  such receiver; ``operator.go`` ``provisionAlertmanagerConfiguration`` returns "failed to generate
  Alertmanager configuration" before ``createOrUpdateGeneratedConfigSecret``, and ``sync`` returns
  before reconciling the StatefulSet. So the generated configuration is not written: no
  AlertmanagerConfig of that Alertmanager loads (any team's Slack, PagerDuty, webhooks), a running
  Alertmanager keeps its previous configuration, and the error shows in the operator's log (that
  no event or status names it is inferred from the code path, not documented).
  ``amtool check-config`` says "no global SMTP smarthost set" for the same configuration.
- **Where ``global`` comes from.** With ``spec.alertmanagerConfiguration`` set, the global section is
  built from its ``global`` (``initializeFromAlertmanagerConfig`` -> ``convertGlobalConfig`` ->
  ``convertSMTPConfig``: ``global.smtp.smartHost.host`` and ``global.smtp.from``) and the Secret is
  not read ("it takes precedence over the configSecret field", the CRD). Otherwise it is the
  ``global`` of key ``alertmanager.yaml`` of Secret ``spec.configSecret`` (default
  ``alertmanager-<name>``, ``statefulset.go`` ``defaultConfigSecretName``) in the Alertmanager's
  namespace (``loadConfigurationFromSecret``): ``smtp_smarthost`` (``host:port``) and ``smtp_from``.
  A missing Secret, key or empty value means the built-in default configuration, which has no
  ``global`` at all.
- Only Alertmanagers that select one of our email AlertmanagerConfigs are judged (selection:
  :func:`mlops_infra.plan.monitoring_selectors.verdict`); one selecting none is the selectors'
  warning.

Contract: :func:`email_objects` is pure (the graph's AlertmanagerConfigs with an emailConfig that
lacks ``smarthost`` or ``from``, and which of the two); :func:`secrets_to_read` names the Secrets
the check needs read (none when the graph emails no one or the Alertmanager sets
``alertmanagerConfiguration``); :func:`smtp_warnings` takes what was read and returns one warning
per Alertmanager that lacks a setting, or whose Secret could not be read ("could not check").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from mlops_infra.graph import DesiredGraph
from mlops_infra.name_lists import join_names
from mlops_infra.plan.monitoring_selectors import BY_KIND, Monitored, monitoring_objects, verdict

CONFIG_KEY = "alertmanager.yaml"
"""The key of the configuration Secret that holds Alertmanager's configuration (``alertmanagerConfigFile``)."""
SETTINGS = {"smarthost": ("smtp_smarthost", "smartHost.host"), "from": ("smtp_from", "from")}
"""Each setting an emailConfig may lean on: its name in the Secret's ``global`` and under
``spec.alertmanagerConfiguration.global.smtp``."""


@dataclass(frozen=True)
class EmailObject:
    """One of our AlertmanagerConfigs that emails: the object, and the settings (``smarthost``,
    ``from``) some of its emailConfigs leave to the Alertmanager's global configuration."""

    obj: Monitored
    needs: frozenset[str]


@dataclass(frozen=True)
class SecretAnswer:
    """What reading a configuration Secret gave: ``text`` (key ``alertmanager.yaml``, "" when the
    Secret or key is absent), or ``error`` (why it could not be read) and ``forbidden``."""

    text: str = ""
    error: str = ""
    forbidden: bool = False


def email_objects(graph: DesiredGraph) -> list[EmailObject]:
    """The graph's AlertmanagerConfigs whose receivers' emailConfigs leave ``smarthost`` or ``from`` unset."""
    specs = {(r.address, str((r.inputs.get("metadata") or {}).get("name") or "?")): r.inputs.get("spec") or {}
             for r in graph.resources if isinstance(r.inputs, dict) and r.inputs.get("kind") == "AlertmanagerConfig"}
    out = []
    for obj in monitoring_objects(graph):
        if obj.kind != "AlertmanagerConfig":
            continue
        receivers = (specs.get((obj.address, obj.name)) or {}).get("receivers") or []
        needs = {name for receiver in receivers for config in (receiver.get("emailConfigs") or [])
                 for name in SETTINGS if not config.get(name)}
        if needs:
            out.append(EmailObject(obj, frozenset(needs)))
    return out


def _where(owner: Mapping[str, Any]) -> tuple[str, str]:
    meta = owner.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "?")


def config_secret(alertmanager: Mapping[str, Any]) -> tuple[str, str]:
    """(namespace, name) of the Alertmanager's configuration Secret (``defaultConfigSecretName``)."""
    namespace, name = _where(alertmanager)
    return namespace, str((alertmanager.get("spec") or {}).get("configSecret") or f"alertmanager-{name}")


def _loaders(emails: Sequence[EmailObject], alertmanagers: Sequence[Mapping[str, Any]],
             ns_labels: Mapping[str, Mapping[str, str]]) -> list[tuple[Mapping[str, Any], list[EmailObject]]]:
    """Each Alertmanager that selects some of ``emails``, with those, ordered by namespace/name."""
    selection = BY_KIND["AlertmanagerConfig"]
    out = []
    for owner in sorted(alertmanagers, key=_where):
        chosen = [e for e in emails if verdict(selection, owner, e.obj, ns_labels.get(e.obj.namespace) or {}).selects]
        if chosen:
            out.append((owner, chosen))
    return out


def _from_cr(owner: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """``spec.alertmanagerConfiguration`` when set (it replaces the Secret), else None."""
    configuration = (owner.get("spec") or {}).get("alertmanagerConfiguration")
    return configuration if isinstance(configuration, Mapping) else None


def secrets_to_read(emails: Sequence[EmailObject], alertmanagers: Sequence[Mapping[str, Any]] | None,
                    ns_labels: Mapping[str, Mapping[str, str]]) -> list[tuple[str, str]]:
    """The configuration Secrets (namespace, name) whose ``global`` the check needs (module rules)."""
    if not emails or not alertmanagers:
        return []
    return sorted({config_secret(owner) for owner, _ in _loaders(emails, alertmanagers, ns_labels)
                   if _from_cr(owner) is None})


def _set_in_cr(configuration: Mapping[str, Any]) -> set[str]:
    smtp = ((configuration.get("global") or {}).get("smtp")) or {}
    found = set()
    if str((smtp.get("smartHost") or {}).get("host") or ""):
        found.add("smarthost")
    if str(smtp.get("from") or ""):
        found.add("from")
    return found


class _AsAlertmanagerReads(yaml.SafeLoader):
    """``yaml.SafeLoader`` without the implicit timestamp resolver: Alertmanager decodes its
    configuration into Go string fields, so an unquoted ``2024-02-30`` is the text it reads, where
    PyYAML's resolver would build a ``datetime.date`` (and raise ValueError for an impossible one,
    ``yaml/constructor.py`` ``construct_yaml_timestamp``: audit secrets-5)."""


_AsAlertmanagerReads.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def load_config(text: str) -> Mapping[str, Any] | str:
    """Key ``alertmanager.yaml`` of a configuration Secret as a mapping ({} when empty or not a mapping), or why it could
    not be parsed. The one parser of that text (the SMTP check here, the inhibit check in
    :mod:`mlops_infra.plan.alertmanager_inhibit`): dates stay text (:class:`_AsAlertmanagerReads`),
    and whatever else the loader raises (a YAML error, a nesting too deep to parse) is named by its
    type only, never by a value of the Secret."""
    if not text.strip():
        return {}
    try:
        config = yaml.load(text, Loader=_AsAlertmanagerReads)  # a SafeLoader subclass
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        return f"key {CONFIG_KEY} is not valid YAML ({type(exc).__name__})"
    return config if isinstance(config, Mapping) else {}  # not a mapping: no section Alertmanager would read


def _set_in_secret(text: str) -> set[str] | str:
    """The settings the Secret's ``global`` has, or why it could not be parsed."""
    config = load_config(text)
    if isinstance(config, str):
        return config
    glob = config.get("global")
    glob = glob if isinstance(glob, Mapping) else {}
    found = set()
    smarthost = str(glob.get("smtp_smarthost") or "")
    if (smarthost.rsplit(":", 1)[0] if ":" in smarthost else smarthost).strip("[]"):
        found.add("smarthost")  # config.HostPort: host:port; an empty host is no smarthost
    if str(glob.get("smtp_from") or ""):
        found.add("from")
    return found


def _channels(emails: Sequence[EmailObject]) -> str:
    names = sorted({f"{e.obj.namespace}/{e.obj.name}" for e in emails})
    return f"AlertmanagerConfig{'s' if len(names) > 1 else ''} {join_names(names)}"


CONSEQUENCE = ("prometheus-operator then refuses to generate that Alertmanager's configuration (\"SMTP {first} is a "
               "mandatory field, it is neither specified at global config nor at receiver level\"), so every route "
               "of the Alertmanager stops loading: none of the AlertmanagerConfigs it selects is applied (every "
               "channel of this system and of other teams), a running Alertmanager keeps its previous "
               "configuration, and only the operator's log says why")


def smtp_warnings(emails: Sequence[EmailObject], alertmanagers: Sequence[Mapping[str, Any]] | None,
                  ns_labels: Mapping[str, Mapping[str, str]],
                  secrets: Mapping[tuple[str, str], SecretAnswer]) -> list[str]:
    """One warning per Alertmanager that selects some of ``emails`` and lacks a setting they need, or
    whose configuration Secret (``secrets``, as read) could not be read (module contract)."""
    if not emails or not alertmanagers:
        return []
    warnings = []
    for owner, chosen in _loaders(emails, alertmanagers, ns_labels):
        namespace, name = _where(owner)
        needed = set().union(*(e.needs for e in chosen))
        configuration = _from_cr(owner)
        secret_ns, secret_name = config_secret(owner)
        if configuration is not None:
            found: set[str] | str = _set_in_cr(configuration)
            where = "spec.alertmanagerConfiguration.global.smtp"
            fix = ("set spec.alertmanagerConfiguration.global.smtp.smartHost ({host, port}) and .from on Alertmanager "
                   f"{namespace}/{name}")
        else:
            answer = secrets.get((secret_ns, secret_name), SecretAnswer(error="not read"))
            where = f"the global section of key {CONFIG_KEY} of Secret {secret_ns}/{secret_name}"
            fix = (f"set global.smtp_smarthost (host:port) and global.smtp_from in key {CONFIG_KEY} of Secret "
                   f"{secret_ns}/{secret_name} (or spec.alertmanagerConfiguration.global.smtp on Alertmanager "
                   f"{namespace}/{name})")
            found = answer.error or _set_in_secret(answer.text)
            if answer.forbidden:
                found = (f"{answer.error}; needs RBAC permission to get secrets (apiGroups [\"\"]) in namespace "
                         f"{secret_ns}; check with `kubectl auth can-i get secrets/{secret_name} -n {secret_ns}`")
        if isinstance(found, str):
            warnings.append(
                f"notifications: could not check the SMTP settings of Alertmanager {namespace}/{name} ({found}), "
                f"which loads this system's email channels ({_channels(chosen)}). If {where} sets no "
                "smtp_smarthost and smtp_from, " + CONSEQUENCE.format(first="smarthost") + f". Fix then: {fix}.")
            continue
        missing = [s for s in SETTINGS if s in needed and s not in found]
        if missing:
            shown = " and ".join(SETTINGS[s][0] if configuration is None else SETTINGS[s][1] for s in missing)
            warnings.append(
                f"notifications: Alertmanager {namespace}/{name} has no global SMTP {' and '.join(missing)} ({where} "
                f"sets no {shown}), which this system's email channels ({_channels(chosen)}) need: "
                + CONSEQUENCE.format(first=missing[0]) + f". Fix: {fix}.")
    return warnings
