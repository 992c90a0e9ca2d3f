"""Which provider versions wrote the state, against the SDK versions this install runs ``pulumi up`` with.

Contract: :func:`installed_sdk_versions` gives the installed ``pulumi_aws`` / ``pulumi_kubernetes`` distribution
versions (``importlib.metadata``, read once); :func:`version_warnings` gives one warning per package whose provider
resources in the state record another ``version`` than that, naming both versions and the providers. Other packages
(docker-build) and providers that record no version are not compared.

Why: the provider plugin an ``up`` loads is the program's SDK's own version: ``pulumi_aws/_utilities.py``
``get_resource_opts_defaults`` -> ``ResourceOptions(version=get_version(), ...)``; the engine writes it into the
provider's inputs (pulumi/pulumi ``pkg/resource/deploy/source_eval.go``: ``providers.SetProviderVersion``) and loads
that version (``pkg/resource/deploy/providers/registry.go`` ``Check``: ``GetProviderVersion(req.News)``). So the
stored ``version`` of each ``pulumi:providers:<pkg>`` is the version that last wrote the state, and the planner's rules
(``plan/rules.py``, ``plan/normalize.py``) are those of the SDK installed here; a provider upgrade is where stored
inputs move (pulumi-aws docs/version-7-upgrade.md: "You may see a refresh diff as Pulumi migrates the state";
pulumi/pulumi-aws#5521), so the plan says when the two differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from mlops_infra.state.model import PriorState

SDK_DISTRIBUTIONS = {"aws": "pulumi_aws", "kubernetes": "pulumi_kubernetes"}
"""Provider package -> the Python SDK distribution the program registers its resources with."""

_DISPLAY = {"aws": "pulumi-aws", "kubernetes": "pulumi-kubernetes"}


@cache
def installed_sdk_versions() -> dict[str, str]:
    """Provider package -> the installed SDK's version (a package whose SDK is not installed is left out)."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package, distribution in SDK_DISTRIBUTIONS.items():
        try:
            found[package] = version(distribution)
        except PackageNotFoundError:
            continue
    return found


def version_warnings(prior: PriorState, installed: Mapping[str, str]) -> list[str]:
    """One warning per package whose providers in ``prior`` record a ``version`` other than ``installed``'s."""
    recorded: dict[str, dict[str, list[str]]] = {}
    for urn, state in prior.resources.items():
        if not state.type.startswith("pulumi:providers:"):
            continue
        package = state.type.rsplit(":", 1)[1]
        version = state.inputs.get("version") if package in installed else None
        if isinstance(version, str) and version and version != installed[package]:
            recorded.setdefault(package, {}).setdefault(version, []).append(urn.rsplit("::", 1)[-1])
    warnings = []
    for package, versions in sorted(recorded.items()):
        name, now = _DISPLAY.get(package, package), installed[package]
        written = "; ".join(f"{name} {v} (provider {', '.join(sorted(names))})" for v, names in sorted(versions.items()))
        major = any(v.split(".", 1)[0] != now.split(".", 1)[0] for v in versions)
        then = (f" A new major version: follow {name}'s upgrade guide for {now.split('.', 1)[0]}.x (run `pulumi up "
                "--refresh --run-program` once) before trusting this plan." if major else "")
        warnings.append(f"the state was last written by {written}, but this install runs `pulumi up` with {name} {now}: "
                        f"this plan assumes what {now} stores, and a provider upgrade can change the stored inputs, so "
                        f"the first `up` may show changes this plan does not.{then}")
    return warnings
