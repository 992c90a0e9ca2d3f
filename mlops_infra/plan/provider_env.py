"""The Kubernetes provider options ``pulumi_kubernetes.Provider`` reads from the environment of the program's process.

Contract:
- :data:`OPTIONS`: each provider input the SDK class fills from a ``PULUMI_K8S_*`` variable when the program passes
  none (the compiled provider sets none of them), with the value the provider's ``Configure`` takes when neither the
  input nor the variable gives one. :data:`VARIABLES`: their variable names (what the CLI reads from its environment
  into ``PlanOptions.program_env``; the core never reads ``os.environ``).
- :func:`sent`: the inputs the SDK sends for an environment, JSON-encoded as the engine stores them.
- :func:`configured`: the value of an option a provider registered with given inputs runs with in that environment.
- :func:`explained`: the planned changes with the reason of each Kubernetes provider update that an option causes
  naming its variable, and one warning per updated or unchanged provider whose apply mode or ConfigMap/Secret
  mutability changes (also with no input changed: a variable set to a value the SDK does not read as a boolean is
  sent by no one, and ``Configure`` reads it raw).

Why: ``pulumi_kubernetes/provider.py`` (4.34.2) ``Provider._internal_init``: ``if enable_server_side_apply is None:
enable_server_side_apply = _utilities.get_env_bool('PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY')``, sent through
``pulumi.runtime.to_json`` only ``if ... is not None`` (so ``"true"``/``"false"``); ``_utilities.get_env_bool`` takes
Go's ``strconv.ParseBool`` spellings and gives None for an unset or other value. The provider stores what it was sent
(pulumi-kubernetes provider/pkg/provider/provider.go @94977969d ``CheckConfig`` l.332-442 returns ``Inputs:
req.GetNews()``), and ``DiffConfig`` (l.454-566: ``diff := olds.Diff(news)``, every changed key a diff, none replaced
but ``clusterIdentifier``) answers an added, removed or changed option with an update of the provider. The update
configures the provider with the new inputs before any resource using it is diffed (pulumi/pulumi
pkg/resource/deploy/providers/registry.go @1b594989 ``Update``: ``provider.Configure(... Inputs: filteredProperties)``,
then ``setProviderAndCloseOld`` under the same reference), and ``Configure`` (provider.go l.620-760) takes each option
from the input, else from its variable in the provider's own environment (``enabled == "true"``), else its default:
``enableServerSideApply`` true (server-side apply of every object, l.651-665), ``enableConfigMapMutable`` and
``enableSecretMutable`` false (a ConfigMap's/Secret's data change replaces it unless true, l.696-726).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from mlops_infra.plan.model import Action, Reason, ResourceChange
from mlops_infra.state.model import PriorState

TYPE = "pulumi:providers:kubernetes"
OPTIONS: dict[str, tuple[str, bool]] = {
    "deleteUnreachable": ("PULUMI_K8S_DELETE_UNREACHABLE", False),
    "enableConfigMapMutable": ("PULUMI_K8S_ENABLE_CONFIGMAP_MUTABLE", False),
    "enablePatchForce": ("PULUMI_K8S_ENABLE_PATCH_FORCE", False),
    "enableSecretMutable": ("PULUMI_K8S_ENABLE_SECRET_MUTABLE", False),
    "enableServerSideApply": ("PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY", True),
    "skipUpdateUnreachable": ("PULUMI_K8S_SKIP_UPDATE_UNREACHABLE", False),
    "suppressDeprecationWarnings": ("PULUMI_K8S_SUPPRESS_DEPRECATION_WARNINGS", False),
    "suppressHelmHookWarnings": ("PULUMI_K8S_SUPPRESS_HELM_HOOK_WARNINGS", False),
    "upsertExistingObjects": ("PULUMI_K8S_UPSERT_EXISTING_OBJECTS", False),
}
"""Provider input -> (its ``PULUMI_K8S_*`` variable, ``Configure``'s default)."""
VARIABLES = frozenset(variable for variable, _ in OPTIONS.values())

_MODES = {
    "enableServerSideApply": ("server-side apply", "every object it manages is applied {how} from this `pulumi up` on "
                              "(field managers take over or are dropped)", ("client-side", "server-side")),
    "enableConfigMapMutable": ("ConfigMap mutability", "a ConfigMap whose data changes is {how} from this `pulumi up` on",
                               ("replaced", "updated in place")),
    "enableSecretMutable": ("Secret mutability", "a Secret whose data changes is {how} from this `pulumi up` on",
                            ("replaced", "updated in place")),
}
"""The options that change how every object of the stack is applied or replaced: warned about when they change."""
_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})
_FALSE = frozenset({"0", "f", "F", "false", "FALSE", "False"})


def env_bool(text: str | None) -> bool | None:
    """``pulumi_kubernetes._utilities.get_env_bool`` of a variable's value: True/False for Go's ParseBool
    spellings, None for unset or anything else."""
    return True if text in _TRUE else False if text in _FALSE else None


def sent(env: Mapping[str, str] | None) -> dict[str, str]:
    """The options ``pulumi_kubernetes.Provider`` sends from ``env`` (variable -> value) when the program passes none,
    as the engine stores them (``"true"``/``"false"``)."""
    found = {}
    for key, (variable, _) in OPTIONS.items():
        value = env_bool(env.get(variable)) if env else None
        if value is not None:
            found[key] = "true" if value else "false"
    return found


def configured(key: str, inputs: Mapping[str, Any], env: Mapping[str, str] | None) -> bool:
    """The value of option ``key`` a Kubernetes provider registered with ``inputs`` runs with when its process has
    ``env`` (provider.go ``Configure``: the input, else the variable ``== "true"``, else the default)."""
    variable, default = OPTIONS[key]
    if key in inputs:
        return inputs[key] in (True, "true")
    if env and variable in env:
        return env[variable] == "true"
    return default


def explained(changes: Iterable[ResourceChange], prior: PriorState, desired: Mapping[str, Any],
              env: Mapping[str, str] | None) -> tuple[tuple[ResourceChange, ...], list[str]]:
    """``changes`` with each Kubernetes provider update an option causes explained by its variable, and one warning per
    provider whose server-side apply or ConfigMap/Secret mutability changes (the last ``up``'s value: the stored
    input, else the default)."""
    out: list[ResourceChange] = []
    warnings: list[str] = []
    for change in changes:
        state, res = prior.resources.get(change.urn), desired.get(change.urn)
        if change.type != TYPE or change.action not in (Action.UPDATE, Action.NOOP) or state is None or res is None:
            out.append(change)
            continue
        moved = [a.path for a in change.changes if a.path in OPTIONS]
        if moved:
            said = "; ".join(_said(key, state.inputs, res.inputs, env) for key in moved)
            change = replace(change, reason=Reason(change.reason.code, f"{change.reason.message}: {said}"))
        for key, (what, effect, ways) in _MODES.items():
            before, after = configured(key, state.inputs, None), configured(key, res.inputs, env)
            if before != after:
                warnings.append(
                    f"the Kubernetes provider {change.name} changes its {what} from {'on' if before else 'off'} to "
                    f"{'on' if after else 'off'} ({_said(key, state.inputs, res.inputs, env)}): "
                    f"{effect.format(how=ways[after])} (pulumi-kubernetes Configure)")
        out.append(change)
    return tuple(out), warnings


def _said(key: str, stored: Mapping[str, Any], desired: Mapping[str, Any], env: Mapping[str, str] | None) -> str:
    """Why option ``key`` is sent as it is: its variable in this environment against the last ``up``'s stored value."""
    variable = OPTIONS[key][0]
    last = f"the last `pulumi up` sent {stored[key]!r}" if key in stored else "the last `pulumi up` sent none"
    value = env.get(variable) if env else None
    if key in desired:
        return f"{variable}={value} in this environment, so the SDK sends {desired[key]!r}; {last}"
    if value is None:
        return f"{variable} is not set in this environment, so the SDK sends no {key}; {last}"
    return f"{variable}={value!r} in this environment is not a boolean the SDK reads, so it sends no {key}; {last}"
