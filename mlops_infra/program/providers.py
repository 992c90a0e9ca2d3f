"""Explicit providers, and the stack-config overrides an apply may add to them.

Contract: the graph's provider resources (``pulumi:providers:aws``, ``pulumi:providers:kubernetes``)
are registered as explicit providers with exactly the graph's inputs, except for the keys listed in
:data:`OVERRIDE_KEYS`: explicit providers never read stack configuration, so when the stack config
sets one of those keys (for example ``aws:endpoints`` to point at a local moto server), the
program copies it into every provider of that package. Without such config nothing is added.
:func:`configured_text` (the value the program reads) and :func:`parse_value` (what it registers) are
the read :mod:`mlops_infra.program.expected_graph` reuses to pin these settings (audit closing-37b-3).
"""

from __future__ import annotations

import json
from typing import Any

import pulumi

from mlops_infra.program.types import package_of

OVERRIDE_KEYS: dict[str, tuple[str, ...]] = {
    "aws": ("endpoints", "skipCredentialsValidation", "skipRequestingAccountId", "skipMetadataApiCheck",
            "s3UsePathStyle", "insecure"),
    "kubernetes": ("kubeconfig", "context"),
}
"""Package -> engine names of provider inputs that stack config may override (apply-time only)."""


def config_overrides(provider_type: str) -> dict[str, Any]:
    """Provider inputs set in stack config under the provider's package namespace (see contract)."""
    package = package_of(provider_type)
    overrides: dict[str, Any] = {}
    for key in OVERRIDE_KEYS.get(package, ()):
        text = configured_text(package, key)
        if text is not None:
            overrides[key] = parse_value(text)
    return overrides


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
