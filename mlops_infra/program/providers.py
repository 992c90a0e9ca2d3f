"""Explicit providers, and the stack-config overrides an apply may add to them.

Contract: the graph's provider resources (``pulumi:providers:aws``, ``pulumi:providers:kubernetes``)
are registered as explicit providers with exactly the graph's inputs, except for the keys listed in
:data:`OVERRIDE_KEYS`: explicit providers never read stack configuration, so when the stack config
sets one of those keys (for example ``aws:endpoints`` to point at a local moto server), the
program copies it into every provider of that package. Without such config nothing is added.
:func:`configured_text` (the value the program reads) and :func:`parse_value` (what it registers) are
the read :mod:`mlops_infra.program.expected_graph` reuses to pin these settings (audit closing-37b-3).

Secrecy (audit secrets-1): a key set with ``pulumi config set --secret`` (a cluster's kubeconfig) is
registered as a Pulumi secret (``pulumi.Output.secret``) and listed by :func:`secret_override_keys`
for the provider's ``additional_secret_outputs``, so the state stores it encrypted. ``Config.get``
alone returns the decrypted text as a plain string (pulumi/pulumi ``sdk/python/lib/pulumi/config.py``
``_get``: the "value is a secret" warning is commented out, TODO pulumi/pulumi#7127), and an explicit
provider's inputs are stored as the program sent them: the engine marks an input secret only when it
arrived as one (``pkg/resource/plugin/provider_plugin.go`` ``CheckConfig``, ``annotateSecrets``;
``pkg/resource/deploy/providers/registry.go`` ``Create`` returns the checked inputs as the outputs).
Which keys are secret: ``pulumi.runtime.is_config_secret`` (``sdk/python/lib/pulumi/runtime/config.py``),
the set the language host fills from ``PULUMI_CONFIG_SECRET_KEYS``
(``sdk/python/cmd/pulumi-language-python-exec``: ``set_all_config(config, get_config_secret_keys_env())``).
A non-secret key is registered as plain text, as before.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
from pulumi.runtime import is_config_secret

from mlops_infra.plan.rules import PROVIDERS
from mlops_infra.program.types import package_of

OVERRIDE_KEYS: dict[str, tuple[str, ...]] = {package: rule.stack_config
                                             for package, rule in PROVIDERS.items() if rule.stack_config}
"""Package -> engine names of provider inputs that stack config may override (apply-time only): the
provider rules' ``stack_config``, which the planner does not compare when the graph leaves them unset."""


def config_overrides(provider_type: str) -> dict[str, Any]:
    """Provider inputs set in stack config under the provider's package namespace (see contract)."""
    package = package_of(provider_type)
    overrides: dict[str, Any] = {}
    for key in OVERRIDE_KEYS.get(package, ()):
        text = configured_text(package, key)
        if text is not None:
            value = parse_value(text)
            overrides[key] = pulumi.Output.secret(value) if is_config_secret(f"{package}:{key}") else value
    return overrides


def secret_override_keys(provider_type: str) -> tuple[str, ...]:
    """The keys of :func:`config_overrides` whose stack config value is secret (see Secrecy)."""
    package = package_of(provider_type)
    return tuple(key for key in OVERRIDE_KEYS.get(package, ())
                 if is_config_secret(f"{package}:{key}") and configured_text(package, key) is not None)


def configured_text(package: str, key: str) -> str | None:
    """The stack config value of ``<package>:<key>`` as the program reads it (``pulumi.Config.get``: the
    engine's decrypted text), None when unset."""
    return pulumi.Config(package).get(key)


def parse_value(text: str) -> Any:
    """Config values are strings; objects, lists, booleans and numbers arrive JSON-encoded."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def provider_inputs(provider_type: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs a provider is registered with: the graph's, plus stack-config overrides."""
    return {**inputs, **config_overrides(provider_type)}


def provider_options(provider_type: str, opts: pulumi.ResourceOptions) -> pulumi.ResourceOptions:
    """``opts`` with the secret overrides (:func:`secret_override_keys`) added to its
    ``additional_secret_outputs``; ``opts`` itself when there are none."""
    secret = secret_override_keys(provider_type)
    if not secret:
        return opts
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=list(secret)))
